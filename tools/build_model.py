#!/usr/bin/env python3
"""Build models/pose_landmarker_full.task from the mediapipe 0.10.21 wheel.

Current mediapipe wheels ship no pose model and nothing may be fetched from a
model hub, but the old 0.10.21 wheel on PyPI still contains the two BlazePose
TFLite graphs. This script:

1. creates a throw-away venv and installs mediapipe==0.10.21 (it needs numpy<2,
   so it must never touch the project's environment);
2. inside that venv, adds image-normalization metadata to both graphs (the
   Tasks API refuses a graph without NormalizationOptions, and the metadata
   writer only works in 0.10.x);
3. bundles them as an uncompressed, aligned zip with fixed timestamps so the
   output is byte-for-byte reproducible;
4. writes models/README.md with provenance and checksums.

Run from the repository root:  python tools/build_model.py

`--heavy DIR` builds the research bundle pose_landmarker_heavy.task into DIR instead (not
shipped; docs/calibration.md, sixth session): the same detector, with the heavy landmark graph,
which no PyPI wheel carries, taken from MediaPipe's npm package @mediapipe/pose (the npm
registry, a package registry; the package's full graph is byte-identical to the wheel's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "mediapipe"
VERSION = "0.10.21"
BUNDLE_NAME = "pose_landmarker_full.task"

# member name in the bundle -> (path inside the wheel, norm mean, norm std, description)
MEMBERS: dict[str, tuple[str, float, float, str]] = {
    "pose_detector.tflite": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        127.5,
        127.5,
        "BlazePose person detector (224x224 RGB, input scaled to [-1, 1])",
    ),
    "pose_landmarks_detector.tflite": (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        0.0,
        255.0,
        "BlazePose GHUM 3D landmarks, full variant (256x256 RGB, input scaled to [0, 1])",
    ),
}

# sha256 of the graphs as shipped in the wheel; a mismatch means PyPI served
# something else and the "reproducible" claim would silently break.
EXPECTED_INPUT_SHA256 = {
    "mediapipe/modules/pose_detection/pose_detection.tflite": (
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
    ),
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite": (
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
    ),
}

HEAVY_BUNDLE_NAME = "pose_landmarker_heavy.task"
HEAVY_MEMBER = "pose_landmarks_detector.tflite"
NPM_PACKAGE, NPM_VERSION = "@mediapipe/pose", "0.5.1675469404"
NPM_TARBALL = f"https://registry.npmjs.org/{NPM_PACKAGE}/-/pose-{NPM_VERSION}.tgz"
NPM_TARBALL_SHA256 = "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"
NPM_HEAVY_PATH = "package/pose_landmark_heavy.tflite"
NPM_HEAVY_SHA256 = "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # earliest DOS timestamp: fixed for reproducibility
ALIGN = 64  # member data alignment: graphs can be used in place, straight from the zip
_PAD_EXTRA_ID = 0xD935  # the "alignment padding" extra-field id used by Android's zipalign


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- inside the venv


def stage(out_dir: Path, heavy_graph: Path | None = None) -> None:
    """Runs with the venv's interpreter: write graphs with metadata + a manifest. `heavy_graph`:
    the landmark member comes from that file (the npm package's heavy graph) instead."""
    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    site = Path(mediapipe.__file__).resolve().parents[1]
    manifest = {"mediapipe_version": mediapipe.__version__, "members": {}}
    for member, (wheel_path, mean, std, description) in MEMBERS.items():
        if heavy_graph is not None and member == HEAVY_MEMBER:
            wheel_path = NPM_HEAVY_PATH
            description = "BlazePose GHUM 3D landmarks, heavy variant (256x256 RGB, input scaled to [0, 1])"
            raw = heavy_graph.read_bytes()
        else:
            raw = (site / wheel_path).read_bytes()
        writer = (
            metadata_writer.MetadataWriter.create(bytearray(raw))
            .add_general_info(member.removesuffix(".tflite"), description)
            .add_image_input(norm_mean=[mean], norm_std=[std])
        )
        model, _ = writer.populate()
        (out_dir / member).write_bytes(bytes(model))
        manifest["members"][member] = {
            "wheel_path": wheel_path,
            "input_sha256": sha256_bytes(raw),
            "input_size": len(raw),
            "norm_mean": mean,
            "norm_std": std,
            "output_sha256": sha256_bytes(bytes(model)),
        }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))


# ---------------------------------------------------------------- outside


def make_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    python = where / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{PACKAGE}=={VERSION}", "numpy<2"], check=True)
    return python


def write_bundle(members: dict[str, bytes], path: Path) -> None:
    """Uncompressed zip, fixed dates and permissions, data aligned to ALIGN bytes."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever OS builds it
            # local header = 30 bytes + name + extra; pad the extra so data lands aligned
            offset = zf.fp.tell() + 30 + len(name.encode()) + 4
            pad = -offset % ALIGN
            info.extra = _PAD_EXTRA_ID.to_bytes(2, "little") + pad.to_bytes(2, "little") + b"\0" * pad
            zf.writestr(info, data)
    tmp.replace(path)


def check_alignment(path: Path) -> None:
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset + 26)
            name_len, extra_len = (int.from_bytes(fh.read(2), "little") for _ in range(2))
            start = info.header_offset + 30 + name_len + extra_len
            if start % ALIGN:
                raise RuntimeError(f"{info.filename} data at {start} is not {ALIGN}-byte aligned")


def readme(manifest: dict, bundle: bytes) -> str:
    rows = "\n".join(
        f"| `{name}` | `{m['wheel_path']}` | {m['norm_mean']} | {m['norm_std']} |"
        for name, m in manifest["members"].items()
    )
    sums = "\n".join(
        f"| `{m['wheel_path']}` (in the wheel) | `{m['input_sha256']}` |\n"
        f"| `{name}` (in the bundle, with metadata) | `{m['output_sha256']}` |"
        for name, m in manifest["members"].items()
    )
    return f"""# Pose model

`{BUNDLE_NAME}` ({len(bundle):,} bytes) is a MediaPipe Tasks model bundle for
`mediapipe.tasks.python.vision.PoseLandmarker` (BlazePose GHUM, full variant,
33 landmarks). It is **generated** by `tools/build_model.py`; do not edit it by hand.

sha256 of the bundle: `{sha256_bytes(bundle)}`

## Provenance

Both graphs are taken unchanged from the PyPI wheel **`{PACKAGE}=={manifest['mediapipe_version']}`**
(current mediapipe wheels no longer ship pose graphs). The only change is added
TFLite metadata (general info plus an image input with `NormalizationOptions`),
which the Tasks API requires, written with
`mediapipe.tasks.python.metadata.metadata_writers.metadata_writer`.

| bundle member | path inside the wheel | norm mean | norm std |
| --- | --- | --- | --- |
{rows}

| file | sha256 |
| --- | --- |
{sums}
| `{BUNDLE_NAME}` | `{sha256_bytes(bundle)}` |

The zip stores its members uncompressed (as MediaPipe's own bundler does), member
data is {ALIGN}-byte aligned, and every timestamp is fixed to 1980-01-01, so a
rebuild gives the same bytes. `tests/test_pose.py` checks the layout and this
checksum, and runs the bundle with mediapipe 1.2.2 on the real clips.

## Licence

Apache License 2.0: the graphs come from the mediapipe wheel, which Google
publishes under Apache-2.0, and the bundle is redistributed under the same
licence. See Google's BlazePose GHUM model card for intended use and limitations.

## Rebuild

    python tools/build_model.py          # needs network access to PyPI, ~1 min

It creates a temporary venv (mediapipe 0.10.21 needs numpy<2, so it stays
isolated from the project environment), rewrites this folder and prints the
checksum. A different checksum for the wheel files stops the build.
"""


def fetch_heavy_graph(where: Path) -> Path:
    """The heavy landmark graph out of the npm package's tarball, both checked against pinned sums."""
    import io
    import tarfile
    import urllib.request

    with urllib.request.urlopen(NPM_TARBALL, timeout=120) as response:
        tarball = response.read()
    if sha256_bytes(tarball) != NPM_TARBALL_SHA256:
        raise SystemExit(f"{NPM_TARBALL}: sha256 {sha256_bytes(tarball)} != expected {NPM_TARBALL_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
        member = tar.extractfile(NPM_HEAVY_PATH)
        assert member is not None
        graph = member.read()
    if sha256_bytes(graph) != NPM_HEAVY_SHA256:
        raise SystemExit(f"{NPM_HEAVY_PATH}: sha256 {sha256_bytes(graph)} != expected {NPM_HEAVY_SHA256}")
    path = where / "pose_landmark_heavy.tflite"
    path.write_bytes(graph)
    return path


def staged_members(tmp_path: Path, heavy_graph: Path | None = None) -> tuple[dict, dict[str, bytes]]:
    """In a throw-away venv under tmp_path, the bundle members with metadata and their manifest."""
    print(f"installing {PACKAGE}=={VERSION} into a temporary venv ...", flush=True)
    python = make_venv(tmp_path / "venv")
    staged = tmp_path / "staged"
    staged.mkdir()
    extra = [] if heavy_graph is None else ["--heavy-graph", str(heavy_graph)]
    subprocess.run([str(python), str(Path(__file__).resolve()), "--stage", str(staged), *extra], check=True)
    manifest = json.loads((staged / "manifest.json").read_text())
    return manifest, {name: (staged / name).read_bytes() for name in MEMBERS}


def build_heavy(out_dir: Path) -> Path:
    """The research bundle: the wheel's detector and the npm package's heavy landmark graph."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="formcheck-model-") as tmp:
        print(f"fetching {NPM_PACKAGE}@{NPM_VERSION} from the npm registry ...", flush=True)
        manifest, members = staged_members(Path(tmp), fetch_heavy_graph(Path(tmp)))
    bundle_path = out_dir / HEAVY_BUNDLE_NAME
    write_bundle(members, bundle_path)
    check_alignment(bundle_path)
    (out_dir / f"{HEAVY_BUNDLE_NAME}.manifest.json").write_text(json.dumps(manifest, indent=2))
    digest = sha256_bytes(bundle_path.read_bytes())
    print(f"wrote {bundle_path} ({bundle_path.stat().st_size} bytes, sha256 {digest})")
    return bundle_path


def build(out_dir: Path, accept_new_inputs: bool) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="formcheck-model-") as tmp:
        manifest, members = staged_members(Path(tmp))
        for m in manifest["members"].values():
            expected = EXPECTED_INPUT_SHA256[m["wheel_path"]]
            if m["input_sha256"] != expected and not accept_new_inputs:
                raise SystemExit(
                    f"{m['wheel_path']}: sha256 {m['input_sha256']} != expected {expected}; "
                    "rerun with --accept-new-inputs to build anyway"
                )
    bundle_path = out_dir / BUNDLE_NAME
    write_bundle(members, bundle_path)
    check_alignment(bundle_path)
    bundle = bundle_path.read_bytes()
    (out_dir / "README.md").write_text(readme(manifest, bundle))
    print(f"wrote {bundle_path} ({len(bundle)} bytes, sha256 {sha256_bytes(bundle)})")
    return bundle_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "models")
    parser.add_argument("--accept-new-inputs", action="store_true", help="build even if wheel files changed")
    parser.add_argument("--heavy", type=Path, metavar="DIR", help="build the research heavy bundle into DIR")
    parser.add_argument("--stage", type=Path, help=argparse.SUPPRESS)  # internal: run inside the venv
    parser.add_argument("--heavy-graph", type=Path, help=argparse.SUPPRESS)  # internal, with --stage
    args = parser.parse_args(argv)
    if args.stage:
        stage(args.stage, args.heavy_graph)
    elif args.heavy:
        build_heavy(args.heavy)
    else:
        build(args.out_dir, args.accept_new_inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
