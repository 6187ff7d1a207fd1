#!/usr/bin/env bash
# Sets up formcheck on a fresh Debian/Ubuntu machine with Python 3.10+: the few system libraries
# the OpenCV/MediaPipe wheels load but do not bundle (only if missing), a venv in .venv, and the
# package with its test tools, editable. Used by quickstart.sh and .ci/run alike.
# PYTHON=/path/to/python3 and VENV=dir override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${VENV:-.venv}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# read the linker cache once: `ldconfig -p | grep -q` can die of SIGPIPE under pipefail
ld_cache="$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)"
has_lib() { grep -qF "$1" <<<"$ld_cache"; }

# cv2 (opencv-contrib-python, which mediapipe requires) needs GL + GLib; libmediapipe.so needs
# EGL + GLES; Debian's python3 needs python3-venv for a venv.
missing=()
for pair in libGL.so.1:libgl1 libglib-2.0.so.0:libglib2.0-0 libEGL.so.1:libegl1 libGLESv2.so.2:libgles2; do
    has_lib "${pair%%:*}" || missing+=("${pair#*:}")
done
"$PYTHON" -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "apt: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A venv keeps us clear of Debian's externally-managed system Python (PEP 668).
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "formcheck installed in $VENV"
