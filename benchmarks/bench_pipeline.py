"""End-to-end speed and memory of `formcheck analyze` against the raw pose model.

Usage: python benchmarks/bench_pipeline.py [CLIP] [--repeat N]

Prints, for one clip (default: a shared real clip, else the bundled sample):
  raw PoseLandmarker frames/s  (frames decoded beforehand; only detect_for_video timed)
  end-to-end frames/s and real-time factor of the analyze job (decode, pose, signal, reps, checks,
    JSON report) in a fresh process: from the first frame, and with start-up (imports, model load)
  analysis stage alone (track -> Analysis), ms and ms per minute of video
  peak RSS of the end-to-end run (own process)
Floors from issue 3: end-to-end >= 90% of raw throughput; analysis < 100 ms per minute.
Run it on an otherwise idle machine: both figures share the same cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = (
    ROOT.parent / "shared" / "videos" / "hip_thrust_box_bodyweight_side.mp4",
    ROOT / "sample_videos" / "hip_thrust_side_clean.mp4",
)
E2E_FLOOR = 0.90
ANALYSIS_FLOOR_MS_PER_MIN = 100.0


def raw_model_fps(clip: Path) -> tuple[float, int]:
    import mediapipe as mp

    from formcheck.io import open_video
    from formcheck.pose import MediaPipePoseBackend

    with open_video(clip) as reader:
        frames = list(reader)
        fps = reader.info.fps
    backend = MediaPipePoseBackend()
    landmarker = backend._landmarker  # the bare Tasks API object: nothing of ours around it
    images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=f) for f in frames]
    start = time.perf_counter()
    for i, image in enumerate(images):
        landmarker.detect_for_video(image, int(round(i * 1000 / fps)))
    wall = time.perf_counter() - start
    backend.close()
    return len(frames) / wall, len(frames)


def end_to_end(clip: Path) -> dict:
    """The analyze job (pose, signal, reps, checks, JSON report) in a fresh process, timed
    twice: from the call (imports and model load included) and from the first frame."""
    code = f"""
import json, os, resource, tempfile, time
t0 = time.perf_counter()
from formcheck import report
from formcheck.analysis import analyze_track
from formcheck.pose import MediaPipePoseBackend, extract_track
from formcheck.profiles import load_profile
profile = load_profile("hip_thrust")
backend = MediaPipePoseBackend()
t1 = time.perf_counter()
track = extract_track({str(clip)!r}, backend=backend)
result = analyze_track(track, profile)
report.write_json(os.path.join(tempfile.mkdtemp(), "r.json"), result, profile)
t2 = time.perf_counter()
backend.close()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"wall": t2 - t1, "wall_with_start": t2 - t0, "rss_mb": rss,
                  "duration": track.duration, "frames": track.n_frames}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def analysis_ms(clip: Path, repeat: int) -> tuple[float, float]:
    from formcheck.analysis import analyze_track
    from formcheck.pose import extract_track
    from formcheck.profiles import load_profile

    track = extract_track(clip)
    profile = load_profile("hip_thrust")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        analyze_track(track, profile)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), track.duration


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end runs (best is kept)")
    args = ap.parse_args()
    clip = args.clip or next(p for p in DEFAULT_CLIPS if p.exists())
    print(f"clip: {clip}")
    # end-to-end first: a child forked after the raw run (all frames in memory) would start
    # with that high-water mark in its own peak RSS. Rounds alternate and the best of each
    # kind is kept, so a busy moment on the machine does not decide the ratio.
    runs = [end_to_end(clip) for _ in range(args.repeat)]
    raws = [raw_model_fps(clip) for _ in range(args.repeat)]
    raw_fps, n = max(raws)
    best = min(runs, key=lambda r: r["wall"])
    e2e_fps = best["frames"] / best["wall"]
    start_fps = best["frames"] / best["wall_with_start"]
    ms, duration = analysis_ms(clip, repeat=20)
    per_min = ms / (duration / 60)
    ratio = e2e_fps / raw_fps
    print(f"frames: {n}, duration {duration:.1f} s; best of {args.repeat} runs each")
    print(f"raw PoseLandmarker:   {raw_fps:7.1f} frames/s  (runs: {', '.join(f'{r:.1f}' for r, _ in raws)})")
    print(f"end-to-end analyze:   {e2e_fps:7.1f} frames/s  ({ratio:.0%} of raw; floor {E2E_FLOOR:.0%})"
          f"  {'PASS' if ratio >= E2E_FLOOR else 'FAIL'}")
    print(f"  with start-up:      {start_fps:7.1f} frames/s  ({start_fps / raw_fps:.0%} of raw; imports and"
          f" model load, {best['wall_with_start'] - best['wall']:.2f} s, included)")
    print(f"real-time factor:     {best['duration'] / best['wall']:7.2f}x  (clip seconds per wall second;"
          f" {best['duration'] / best['wall_with_start']:.2f}x with start-up)")
    verdict = "PASS" if per_min < ANALYSIS_FLOOR_MS_PER_MIN else "FAIL"
    print(f"analysis stage:       {ms:7.2f} ms = {per_min:.1f} ms per minute of video"
          f"  (floor < {ANALYSIS_FLOOR_MS_PER_MIN:.0f})  {verdict}")
    print(f"peak RSS end-to-end:  {best['rss_mb']:7.1f} MB")
    print(f"(this process peak RSS, frames held for the raw run: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
