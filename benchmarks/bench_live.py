"""Live mode under a camera-like stream: throughput, drops, latency, verdicts and memory.

Usage: python benchmarks/bench_live.py [--clip CLIP] [--fps 30] [--minutes 20] [--variant V] [--load]

A clip is looped and paced at --fps (as a webcam delivers frames) into a headless live session
(the display frame is composed as for a window, not shown). It prints frames processed per
second, frames dropped (the drop rate), capture-to-display and capture-to-pose latency (median,
p95), the live analysis' cost, verdict agreement (how many reps' first verdict, as shown and said,
is what the final report says, how many needed a spoken correction, and whether every counted rep
got one), and the process RSS over the stream (its growth from the first sample, taken once the
model has loaded and the first frames have passed). --load runs a busy loop on each core for the
whole stream (another program hogging the machine). Floors from the issues: p95 capture-to-display
latency < 100 ms unloaded, RSS growth over 20 minutes < 50 MB. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import scheduling_note

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIP = REPO.parent / "shared" / "videos" / "hip_thrust_box_bodyweight_side.mp4"
SAMPLE_CLIP = REPO / "sample_videos" / "hip_thrust_side_clean.mp4"
WARMUP_S = 10.0


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def sample_rss(stop: threading.Event, every_s: float, out: list[tuple[float, float]]) -> None:
    start = time.perf_counter()
    while not stop.wait(every_s):
        out.append((time.perf_counter() - start, rss_mb()))
    out.append((time.perf_counter() - start, rss_mb()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(SHARED_CLIP if SHARED_CLIP.exists() else SAMPLE_CLIP))
    ap.add_argument("--fps", type=float, default=30.0, help="pace of the stream (default 30)")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--variant", default="auto")
    ap.add_argument("--load", action="store_true", help="a busy loop on each core during the stream")
    args = ap.parse_args()

    from formcheck.live.session import LiveOptions, LiveSession
    from formcheck.live.sources import ClipSource
    from formcheck.pose import MediaPipePoseBackend

    source = ClipSource(args.clip, realtime=True, loop=True, fps=args.fps)
    backend = MediaPipePoseBackend()
    with tempfile.TemporaryDirectory(prefix="bench_live_") as tmp:
        options = LiveOptions(variant=args.variant, out=str(Path(tmp) / "s"), headless=True, quiet=True)
        session = LiveSession(options, source, backend, stdout=io.StringIO(), stderr=sys.stderr)
        rss: list[tuple[float, float]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(stop, 5.0, rss), daemon=True)

        def end_stream() -> None:  # memory is measured over the stream, not the summary after it
            stop.set()
            sampler.join()
            session.request_stop()

        timer = threading.Timer(args.minutes * 60.0, end_stream)
        print(
            f"bench_live: {Path(args.clip).name} ({source.width}x{source.height}) looped, paced at"
            f" {args.fps:g} fps for {args.minutes:g} min, headless; pid {os.getpid()},"
            f" load average {os.getloadavg()[0]:.2f} at start",
            flush=True,
        )
        if note := scheduling_note():
            print(note, flush=True)
        spin = [sys.executable, "-c", "while True: pass"]
        busy = [subprocess.Popen(spin) for _ in range((os.cpu_count() or 1) if args.load else 0)]
        started = time.perf_counter()
        sampler.start()
        timer.start()
        try:
            result = session.run()
        finally:
            for p in busy:
                p.kill()
                p.wait()
        final_rss = rss_mb()
        backend.close()
        print(f"load: {f'a busy loop on each of {len(busy)} cores' if busy else 'none'}")
        report(result.doc, rss, time.perf_counter() - started)
        if result.analysed is not None:
            verdicts(result.doc, result.analysed.report.as_json_dict())
        if result.analysed is not None:
            print(
                "reps in the set summary (the whole track analysed at the end):",
                result.analysed.analysis.rep_count,
            )
        print(f"RSS after the set summary (the whole track analysed once): {final_rss:.1f} MB")
    return 0


def verdicts(doc: dict, final: dict) -> None:
    """What the lifter was told against the report made at the end (the same pipeline as analyze)."""
    live, reps = doc["live_reps"], final["reps"]
    told = [r for r in live if r["told"]]
    truth = {r["rep"]: sorted(r["faults"]) for r in reps}
    first_ok = sum(sorted(r["told"][0]["faults"]) == truth.get(r["rep"]) for r in told)
    last_ok = sum(sorted(r["told"][-1]["faults"]) == truth.get(r["rep"]) for r in told)
    print(
        f"verdicts: {len(told)} of {len(live)} counted reps judged (report: {len(reps)} reps);"
        f" first verdict = report on {first_ok} ({100.0 * first_ok / max(len(reps), 1):.1f}%),"
        f" after spoken corrections on {last_ok} ({100.0 * last_ok / max(len(reps), 1):.1f}%);"
        f" {sum(r['corrections'] for r in live)} corrections, {len(doc['withdrawn_reps'])} reps withdrawn"
    )


def report(doc: dict, rss: list[tuple[float, float]], wall_s: float) -> None:
    frames, lat = doc["frames"], doc["latency_ms"]
    stream_s = frames["captured"] / doc["fps"]["source"]
    shown, pose = lat["capture_to_display"], lat["capture_to_pose"]
    print(
        f"stream: {stream_s / 60:.1f} min ({frames['captured']} frames captured), wall {wall_s / 60:.1f} min"
    )
    print(
        f"frames processed: {frames['processed']} ({frames['processed'] / stream_s:.1f}/s);"
        f" dropped: {frames['dropped']} ({100.0 * frames['dropped'] / max(frames['recorded'], 1):.2f}%)"
    )
    print(
        f"capture-to-display latency: median {shown['median']} ms, p95 {shown['p95']} ms,"
        f" max {shown['max']} ms (floor unloaded: p95 < 100 ms)"
    )
    print(f"capture-to-pose latency: median {pose['median']} ms, p95 {pose['p95']} ms")
    runs, secs = doc["analysis"]["runs"], doc["analysis"]["seconds"]
    print(f"live analysis: {runs} runs, {secs:.1f} s in all ({1000.0 * secs / max(runs, 1):.1f} ms per run)")
    live_reps = len(doc["live_reps"])
    print(f"reps counted live: {live_reps}; load average at end {os.getloadavg()[0]:.2f}")
    steady = [mb for t, mb in rss if t >= WARMUP_S]
    if steady:
        minutes = [mb for t, mb in rss if t >= WARMUP_S and (t - WARMUP_S) % 60 < 5]
        print("RSS per minute (MB): " + " ".join(f"{mb:.0f}" for mb in minutes))
        print(
            f"RSS: {steady[0]:.1f} MB at {WARMUP_S:.0f} s, {steady[-1]:.1f} MB at the end,"
            f" max {max(steady):.1f} MB;"
            f" growth {steady[-1] - steady[0]:+.1f} MB (floor < 50 MB over 20 min)"
        )


if __name__ == "__main__":
    sys.exit(main())
