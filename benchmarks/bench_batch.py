"""Throughput of `formcheck batch` on a folder: one process vs one per core, and the cache.

Usage: python benchmarks/bench_batch.py [FOLDER] [--jobs N] [--repeat N]

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

Run it on an otherwise idle machine: both rates share the same cores. For each run it prints how
many cores other processes kept busy meanwhile, so a busy machine shows; --repeat N alternates the
two runs N times and keeps the best of each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "videos"
RATIO_FLOOR = 1.7


@dataclass
class Run:
    wall: float  # seconds
    others: float  # cores the machine's other processes kept busy meanwhile, on average


def _machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as fh:
        ticks = [int(v) for v in fh.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_children_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # the batch and its (joined) workers
    return r.ru_utime + r.ru_stime


def run_batch(folder: Path, out: Path, *extra: str) -> Run:
    cmd = [sys.executable, "-m", "formcheck", "batch", str(folder), "--out", str(out), "-q", *extra]
    busy0, own0, start = _machine_busy_s(), _own_children_s(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    others = max(0.0, (_machine_busy_s() - busy0) - (_own_children_s() - own0)) / wall
    if proc.returncode not in (0, 4):
        sys.exit(f"batch failed ({proc.returncode}): {proc.stderr.strip()}")
    return Run(wall, others)


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
    ap.add_argument("--repeat", type=int, default=1, help="alternate the two runs N times, keep the best")
    args = ap.parse_args()
    folder = args.folder or (SHARED if any(SHARED.glob("*.mp4")) else ROOT / "sample_videos")
    ones: list[Run] = []
    manys: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        for i in range(args.repeat):  # fresh folders and caches every time
            one, many = Path(tmp) / f"jobs1-{i}", Path(tmp) / f"jobs{args.jobs}-{i}"
            ones.append(run_batch(folder, one, "--jobs", "1"))
            manys.append(run_batch(folder, many, "--jobs", str(args.jobs)))
        clips, ok, frames = scored(many)
        diffs = differences(one, many)
        rescore = run_batch(folder, many, "--jobs", str(args.jobs), "--variant", "glute_bridge")
        resume = run_batch(folder, many, "--jobs", str(args.jobs), "--variant", "glute_bridge")
    best1, bestn = min(ones, key=lambda r: r.wall), min(manys, key=lambda r: r.wall)
    ratio = best1.wall / bestn.wall
    print(f"folder: {folder} ({clips} clips, {ok} scored ok, {frames} frames)")
    print(f"single-process rate (--jobs 1, one clip at a time, one core per clip): "
          f"{clips / best1.wall:.3f} clips/s, {frames / best1.wall:.1f} frames/s ({_runs(ones)})")
    print(f"parallel rate (--jobs {args.jobs}, {args.jobs} worker processes, one clip each): "
          f"{clips / bestn.wall:.3f} clips/s, {frames / bestn.wall:.1f} frames/s ({_runs(manys)})")
    print(f"ratio parallel / single-process: {ratio:.2f}x (floor {RATIO_FLOOR}x) "
          f"{'OK' if ratio >= RATIO_FLOOR else 'BELOW FLOOR'}")
    print(f"results of --jobs 1 and --jobs {args.jobs} identical (timing fields aside): "
          f"{'yes' if not diffs else 'NO: ' + '; '.join(diffs[:5])}")
    print(f"re-score with another variant (tracks from the cache, no model): {rescore.wall:.2f} s")
    print(f"resume (every clip kept from the earlier run): {resume.wall:.2f} s")
    print(f"(on {len(os.sched_getaffinity(0))} cores; 'others' = cores other processes kept busy during"
          " a run: above ~0.1 the figures are not an idle machine's)")


def _runs(runs: list[Run]) -> str:
    return "best of " + ", ".join(f"{r.wall:.1f} s [others {r.others:.2f}]" for r in runs)


if __name__ == "__main__":
    main()
