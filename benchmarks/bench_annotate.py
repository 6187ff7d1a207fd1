"""What rendering the annotated clip adds to the analysis of a clip (issue 5: at most 30%).

Usage: python benchmarks/bench_annotate.py [CLIP] [--repeat N] [--preset P ...] [--crf N]

Each round is a fresh process that does what `formcheck analyze CLIP --annotate out.mp4` does:
  analysis: pose (default workers, model load included) + analysis stage + JSON report
  annotate: per-frame overlay data + decode, draw, encode the H.264 clip (annotate.write_annotated)
and prints both wall times, the ratio annotate/analysis, the annotated file's size, and for the
fastest round a split of the annotate work done one stage at a time (decode / draw / colour
conversion / x264), which shows where the time goes. With several --preset the rounds alternate
between them. Run it on an otherwise idle machine: both figures share the same cores.
Default clip: ../shared/videos/hip_thrust_box_bodyweight_side.mp4, else a bundled sample.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = (
    ROOT.parent / "shared" / "videos" / "hip_thrust_box_bodyweight_side.mp4",
    ROOT / "sample_videos" / "hip_thrust_side_clean.mp4",
)
CEILING = 0.30

ROUND = """
import json, os, tempfile, time
from formcheck import report
from formcheck.analysis import analyze_track
from formcheck.annotate import write_annotated
from formcheck.pose import extract_track
from formcheck.profiles import load_profile
from formcheck.viz import overlay_data
import av, cv2, mediapipe
clip, preset, crf = {clip!r}, {preset!r}, {crf!r}
tmp = tempfile.mkdtemp()
profile = load_profile("hip_thrust")
t0 = time.perf_counter()
track = extract_track(clip)
result = analyze_track(track, profile)
report.write_json(os.path.join(tmp, "r.json"), report.build_report(result, profile))
t1 = time.perf_counter()
out = os.path.join(tmp, "a.mp4")
clip_out = write_annotated(clip, out, overlay_data(track, result, profile), preset=preset, crf=crf)
t2 = time.perf_counter()
print(json.dumps({{"analysis": t1 - t0, "annotate": t2 - t1, "bytes": os.path.getsize(out),
                  "frames": clip_out.frames, "size": [clip_out.width, clip_out.height],
                  "duration": track.duration}}))
"""

STAGES = """
import json, time, cv2, numpy as np
from formcheck.analysis import analyze_track
from formcheck.annotate import output_size, resize
from formcheck.h264 import H264Writer
from formcheck.io import open_video
from formcheck.pose import extract_track
from formcheck.profiles import load_profile
from formcheck.viz import Layout, draw_frame, overlay_data
clip, preset, crf = {clip!r}, {preset!r}, {crf!r}
profile = load_profile("hip_thrust")
track = extract_track(clip)
data = overlay_data(track, analyze_track(track, profile), profile)
out = {{}}
t = time.perf_counter()
with open_video(clip) as reader:
    frames = list(reader)
out["decode"] = time.perf_counter() - t
w, h, scale = output_size(frames[0].shape[1], frames[0].shape[0])
lay = Layout.for_size(w, h)
t = time.perf_counter()
frames = [resize(f, w, h) if scale != 1 else f for f in frames]
for i, f in enumerate(frames):
    draw_frame(f, i, data, lay, scale)
out["draw"] = time.perf_counter() - t
t = time.perf_counter()
yuv = [cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420) for f in frames]
out["convert"] = time.perf_counter() - t
import tempfile, os
t = time.perf_counter()
writer = H264Writer(os.path.join(tempfile.mkdtemp(), "s.mp4"), w, h, track.fps, preset=preset, crf=crf)
for y in yuv:
    writer.write_i420(y)
writer.close()
out["encode"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _child(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark round failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    from formcheck.annotate import DEFAULT_CRF, DEFAULT_PRESET

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="rounds per preset (median and best are shown)")
    ap.add_argument("--preset", action="append", help=f"x264 preset (default {DEFAULT_PRESET}); repeatable")
    ap.add_argument("--crf", type=int, default=DEFAULT_CRF)
    args = ap.parse_args()
    clip = args.clip or next(p for p in DEFAULT_CLIPS if p.exists())
    presets = args.preset or [DEFAULT_PRESET]
    print(f"clip: {clip}")
    rounds: dict[str, list[dict]] = {p: [] for p in presets}
    for _ in range(args.repeat):
        for p in presets:  # alternate, so a busy moment on the machine hits every preset alike
            rounds[p].append(_child(ROUND.format(clip=str(clip), preset=p, crf=args.crf)))
    first = rounds[presets[0]][0]
    print(
        f"frames: {first['frames']}, {first['duration']:.1f} s,"
        f" annotated at {first['size'][0]}x{first['size'][1]}"
    )
    for p, runs in rounds.items():
        ratios = [r["annotate"] / r["analysis"] for r in runs]
        median = statistics.median(ratios)
        verdict = "PASS" if median <= CEILING else "FAIL"
        print(f"preset {p}, crf {args.crf}:")
        for key in ("analysis", "annotate"):
            print(f"  {key}: {', '.join(f'{r[key]:.2f}' for r in runs)} s")
        print(
            f"  ratio:    {', '.join(f'{x:.0%}' for x in ratios)}; median {median:.0%}"
            f" (ceiling {CEILING:.0%})  {verdict}"
        )
        print(
            f"  annotated clip: {runs[0]['bytes'] / 1e6:.2f} MB"
            f" ({runs[0]['bytes'] * 8 / 1e3 / runs[0]['duration']:.0f} kbit/s)"
        )
        split = _child(STAGES.format(clip=str(clip), preset=p, crf=args.crf))
        total = sum(split.values())
        print(
            "  one stage at a time: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in split.items())
            + f"; sum {total:.2f} s (overlapped in the real run)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
