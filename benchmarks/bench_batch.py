"""Throughput of `formcheck batch` on a folder: one process vs one per core, and the cache.

Usage: python benchmarks/bench_batch.py [FOLDER] [--jobs N]

FOLDER defaults to the shared real clips (../shared/videos), else sample_videos/. Each figure
is the wall time of the real command in a fresh process with a fresh output folder and track
cache (start-up, worker spawn and model loads included):

  single-process rate  `--jobs 1`: one worker process scores the clips one after another, one
                       landmarker per clip (each clip on one core; the batch never splits clips)
  parallel rate        `--jobs N` (default: one per core): N such processes, one clip each
  ratio                parallel / single-process, in clips/s (floor from issue 6: 1.7x on 2 cores)
  re-score             the parallel run's folder again with another variant: tracks from the cache,
                       no model
  resume               the same command again: every clip kept from the earlier run

Run it on an otherwise idle machine: both rates share the same cores. The load average is
printed before and after so a busy machine shows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "videos"
RATIO_FLOOR = 1.7


def run_batch(folder: Path, out: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "formcheck", "batch", str(folder), "--out", str(out), "-q", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 4):
        sys.exit(f"batch failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall


def scored(out: Path) -> tuple[int, int, int]:
    """(clips, ok clips, frames) from the run's results."""
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    frames = 0
    for row in rows:
        doc = json.loads((out / row["result"]).read_text())
        frames += (doc.get("clip") or {}).get("frames") or 0
    return len(rows), sum(r["status"] == "ok" for r in rows), frames


def comparable(doc: dict) -> dict:
    for key in ("seconds", "worker", "finished_at", "executor", "track_from_cache"):
        doc["batch"].pop(key, None)
    return doc


def differences(a: Path, b: Path) -> list[str]:
    """Where the two runs' results differ: 'clip.json: key.path', timing and host fields aside."""
    out = []
    names = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    for n in names:
        da, db = (comparable(json.loads(p.read_text())) for p in (a / n, b / n))
        out += [f"{n}: {where}" for where in _diff(da, db, "")]
    return out if names else ["no results"]


def _diff(x: object, y: object, at: str) -> list[str]:
    if isinstance(x, dict) and isinstance(y, dict):
        return [d for k in sorted(set(x) | set(y)) for d in _diff(x.get(k), y.get(k), f"{at}.{k}")]
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        return [d for i, (u, v) in enumerate(zip(x, y, strict=True)) for d in _diff(u, v, f"{at}[{i}]")]
    return [] if x == y else [at or "."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path)
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args()
    folder = args.folder or (SHARED if any(SHARED.glob("*.mp4")) else ROOT / "sample_videos")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        one, many = Path(tmp) / "jobs1", Path(tmp) / f"jobs{args.jobs}"
        wall1 = run_batch(folder, one, "--jobs", "1")
        walln = run_batch(folder, many, "--jobs", str(args.jobs))
        clips, ok, frames = scored(many)
        diffs = differences(one, many)
        rescore = run_batch(folder, many, "--jobs", str(args.jobs), "--variant", "glute_bridge")
        resume = run_batch(folder, many, "--jobs", str(args.jobs), "--variant", "glute_bridge")
    load_after = os.getloadavg()
    ratio = wall1 / walln
    print(f"folder: {folder} ({clips} clips, {ok} scored ok, {frames} frames)")
    print(f"single-process rate (--jobs 1, one clip at a time, one core per clip): "
          f"{clips / wall1:.3f} clips/s, {frames / wall1:.1f} frames/s ({wall1:.1f} s)")
    print(f"parallel rate (--jobs {args.jobs}, {args.jobs} worker processes, one clip each): "
          f"{clips / walln:.3f} clips/s, {frames / walln:.1f} frames/s ({walln:.1f} s)")
    print(f"ratio parallel / single-process: {ratio:.2f}x (floor {RATIO_FLOOR}x) "
          f"{'OK' if ratio >= RATIO_FLOOR else 'BELOW FLOOR'}")
    print(f"results of --jobs 1 and --jobs {args.jobs} identical (timing fields aside): "
          f"{'yes' if not diffs else 'NO: ' + '; '.join(diffs[:5])}")
    print(f"re-score with another variant (tracks from the cache, no model): {rescore:.2f} s")
    print(f"resume (every clip kept from the earlier run): {resume:.2f} s")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"(on {len(os.sched_getaffinity(0))} cores; above ~0.5 before means the machine was not idle)")


if __name__ == "__main__":
    main()
