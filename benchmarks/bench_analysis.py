"""Time of the analysis stage alone (track -> Analysis), per minute of video.

Usage: python benchmarks/bench_analysis.py [TRACK.npz | CLIP.mp4 ...] [--variant V] [--repeat N]

With no argument it uses a synthetic 10-minute set (no model needed). A .mp4 is run
through the pose model once first; the timing covers only analyze_track. The floor
from the issue is < 100 ms of analysis per minute of video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.track import PoseTrack

FLOOR_MS_PER_MIN = 100.0


def synthetic_track(minutes: float = 10.0, fps: float = 30.0) -> PoseTrack:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from synthetic import RepPlan, plan_track

    reps = int(minutes * 60 / 3.7)  # 3.7 s per rep with the default tempo
    return plan_track(RepPlan(reps=reps, fps=fps), noise_px=1.5)


def load(path: str) -> PoseTrack:
    if path.endswith(".npz"):
        return PoseTrack.load(path)
    from formcheck.pose import extract_track

    return extract_track(path)


def time_analysis(track: PoseTrack, variant: str, repeat: int) -> tuple[float, int]:
    profile = load_profile(variant)
    analyze_track(track, profile)  # warm-up: first-call costs are not the steady state
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = analyze_track(track, profile)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result.rep_count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--variant", default="hip_thrust")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    items = [(p, load(p)) for p in args.inputs] or [("synthetic 10 min @30 fps", synthetic_track())]
    worst = 0.0
    for name, track in items:
        secs, reps = time_analysis(track, args.variant, args.repeat)
        per_min = secs * 1000.0 / (track.duration / 60.0)
        worst = max(worst, per_min)
        print(
            f"{Path(name).name}: {track.n_frames} frames, {track.duration:.1f} s video, {reps} reps; "
            f"analysis {secs * 1000:.1f} ms = {per_min:.1f} ms per minute of video"
        )
    verdict = "OK" if worst < FLOOR_MS_PER_MIN else "TOO SLOW"
    print(f"analysis stage: worst {worst:.1f} ms/min (floor < {FLOOR_MS_PER_MIN:.0f} ms/min): {verdict}")
    return 0 if worst < FLOOR_MS_PER_MIN else 1


if __name__ == "__main__":
    sys.exit(main())
