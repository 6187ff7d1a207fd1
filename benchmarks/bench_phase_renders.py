"""Per-fps, per-phase timing error of formcheck on renders (tools/synth), as bench_phases does
for the real clips.

Usage: python benchmarks/bench_phase_renders.py DIR [--tol-frames 1 --tol-s 0.03]

DIR holds renders NAME.mp4 with their truth NAME.json (tools/synth/render.py); the pose track
is cached as NAME.track.json next to them (`formcheck analyze --save-track`, once), and the
analysis runs on that track every time, so the figures follow the current code. A folder of truth
files and tracks without the clips (tests/data/phase_renders) is read from the tracks.

Truth: the rendered skeleton's exact hip angle (the truth JSON's hip_angle_deg_left/right,
mean of the two) labelled by the very rule that labels the real clips, tools/phase_truth.py's
transitions() (a boundary is where the signal leaves / comes within 5% of the move's amplitude
of the plateau next to it), run on the exact angle resampled at 10x the fps by a cubic spline
(so the truth is not rounded to the clip's frames; the tool's speed-smoothing and search window
scaled from its 30 fps defaults). Nothing of formcheck computes it. A hold that wobbles stays
one phase there because the wobble never crosses the mid-level. The renderer's keyframes
(where the eased motion starts and stops) are printed too: the 5% rule sits ~19% of a
minimum-jerk move inside them at either end, by definition.

A boundary passes when |formcheck - truth| <= tol-frames / fps + tol-s (issue 16: 1 frame +
0.03 s). rushed_descent and no_top_pause found per rep are listed against the injected faults.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_phases import BOUNDS, NAMES, match, measures  # noqa: E402

UPSAMPLE = 10


def _tool():
    spec = importlib.util.spec_from_file_location("phase_truth_tool", ROOT / "tools" / "phase_truth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def truth_reps(truth: dict) -> list[dict]:
    """The truth JSON's reps as boundaries in seconds, by the real clips' labelling rule."""
    tool = _tool()
    frames = truth["frames"]
    # the exact hip angle of the rendered skeleton, both sides' mean (the lead-in's set-up moves too)
    angle = np.mean([frames["hip_angle_deg_left"], frames["hip_angle_deg_right"]], axis=0)
    fps = float(truth["spec"]["fps"])
    # the body rests where the clip ends (the schedule's lead-out): that rest, held 0.5 s past the
    # end, lets the rule see a descent that ends with the clip arrive
    angle = np.concatenate([angle, np.full(int(0.5 * fps), angle[-1])])
    # the exact motion is smooth, so a cubic spline through its frames gives it between them:
    # labelled at UPSAMPLE x the fps, the truth is not rounded to the clip's whole frames
    fine_fps = fps * UPSAMPLE
    t = np.arange(len(angle)) / fps
    t_fine = np.arange(int(t[-1] * fine_fps) + 1) / fine_fps
    angle = CubicSpline(t, angle)(t_fine)
    # rows grow downward and the tool takes negative rows for "not found": 360 minus the angle
    rows = 360.0 - angle
    scale = fine_fps / 30.0
    found = tool.transitions(rows, smooth=max(3, int(round(3 * scale)) | 1),
                             window=max(15, int(round(15 * scale))))
    # a descent with no drive before it is the set-up (lying flat, then the feet planted): no rep
    full = [r for r in tool.as_reps(found) if r["drive_start"] is not None]
    reps = []
    for i, r in enumerate(full):
        reps.append({"rep": i + 1, **{b: None if r[b] is None else r[b] / fine_fps for b in BOUNDS}})
    return reps


def track_for(clip: Path) -> Path:
    """The cached pose track of a render (the model runs once)."""
    track = clip.with_suffix(".track.json")
    if not track.exists():
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-m", "formcheck", "analyze", "-q", str(clip), "--save-track",
                        str(track)], check=True, env=env, stdout=subprocess.DEVNULL)
    return track


def formcheck_reps(track: Path, variant: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """formcheck's reps as boundaries in seconds, and its (rep, code) tempo faults."""
    sys.path.insert(0, str(ROOT / "src"))
    from formcheck.analysis import analyze_track
    from formcheck.profiles import load_profile
    from formcheck.track import PoseTrack

    a = analyze_track(PoseTrack.load(track), load_profile(variant))
    reps = []
    for r in a.reps:
        reps.append({"rep": r.index, "drive_start": r.start_s, "top_reached": r.top_start_s,
                     "descent_start": r.top_end_s, "bottom_reached": r.start_s + r.up_s + r.top_pause_s
                     + r.down_s if r.down_s is not None else None, "end_s": r.end_s})
    faults = [(f.rep, f.code) for f in a.faults if f.code in ("rushed_descent", "no_top_pause")]
    return reps, faults


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--tol-frames", type=float, default=1.0)
    ap.add_argument("--tol-s", type=float, default=0.03)
    args = ap.parse_args(argv)
    by_fps: dict[float, dict[str, list[float]]] = {}
    fails = 0
    for truth_path in sorted(args.dir.glob("*.json")):
        clip = truth_path.with_suffix(".mp4")
        # the render, or only its saved track (tests/data/phase_renders keeps the tracks, not the clips)
        saved = clip.exists() or clip.with_suffix(".track.json").exists()
        if truth_path.name.endswith(".track.json") or not saved:
            continue
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if truth.get("schema", "").split("/")[0] != "formcheck.synth-truth":
            continue
        fps = float(truth["spec"]["fps"])
        tol = args.tol_frames / fps + args.tol_s
        found, faults = formcheck_reps(track_for(clip), truth["spec"]["variant"])
        pairs, extra = match(truth_reps(truth), found)
        print(f"\n{clip.name} ({fps:g} fps, tolerance {tol:.3f} s): "
              f"{len(pairs)} truth reps, {len(found)} found")
        print("  rep      " + " ".join(f"{n:>19s}" for n in NAMES))
        errs = by_fps.setdefault(fps, {n: [] for n in NAMES})
        for t, f in pairs:
            if f is None:
                print(f"  {t['rep']:3d} unmatched truth rep")
                fails += 1
                continue
            tm, fm = measures(t), measures(f)
            cells = []
            for n in NAMES:
                if tm[n] is None or fm[n] is None:
                    cells.append("      -" if fm[n] is None and tm[n] is None
                                 else "missing" if fm[n] is None else "not in truth")
                    fails += tm[n] is not None
                    continue
                e = fm[n] - tm[n]
                errs[n].append(e)
                bad = abs(e) > tol
                fails += bad
                cells.append(f"{fm[n]:5.2f} {tm[n]:5.2f} {e:+6.3f}{'!' if bad else ' '}")
            print(f"  {t['rep']:3d}      " + " ".join(f"{c:>19s}" for c in cells))
        keys = [(r["rep"], r["phases"]) for r in truth["reps"]]
        for rep, ph in keys:
            print(f"  keyframes rep {rep}: " + ", ".join(f"{k} {v[0]:.3f}-{v[1]:.3f}" for k, v in ph.items()))
        injected = {(r["rep"], f["type"]) for r in truth["reps"] for f in r["faults"]}
        print(f"  tempo faults found {sorted(faults)}; injected {sorted(injected)}")
        fails += len(extra)
    if not by_fps:
        print(f"bench_phase_renders: no render with its truth in {args.dir}"
              " (NAME.json with NAME.mp4 or NAME.track.json beside it)", file=sys.stderr)
        return 2
    print("\nmean absolute error (s) per fps and phase; max |error| in brackets")
    print("  fps   " + " ".join(f"{n:>15s}" for n in NAMES))
    for fps, errs in sorted(by_fps.items()):
        cells = [f"{np.mean(np.abs(e)):.3f} ({np.max(np.abs(e)):.3f})" if e else "-" for e in errs.values()]
        print(f"  {fps:4g}  " + " ".join(f"{c:>15s}" for c in cells))
    print(f"\nboundaries/phases outside the tolerance or missing: {fails}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
