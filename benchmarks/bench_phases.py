"""Per-phase timing error of formcheck against the phase truth of the real clips.

Usage: python benchmarks/bench_phases.py [--clips ../shared/videos] [--cache DIR] [--retrack]

Truth: tests/data/phase_truth.csv (frame numbers read from the pixels and by eye with
tools/phase_truth.py; 0-based frames as OpenCV decodes them; time = frame / fps).

formcheck: `formcheck analyze CLIP --json` per clip. The pose model is slow, so the first run
also saves the pose track (--save-track) in the cache folder (default ~/.cache/formcheck-phases);
later runs re-analyse that track (`analyze --track`, seconds), so the figures follow the current
analysis code. --retrack runs the model again.

Mapping of a report rep (README, JSON report; src/formcheck/report/model.py RepReport) to the
four boundaries, in seconds:
  drive start    = start_s
  top reached    = start_s + up_s
  descent start  = top reached + top_pause_s
  bottom reached = descent start + down_s   (= end_s for a complete rep; none if down_s is null)
and to the phases: up = up_s, top hold = top_pause_s, down = down_s. start_s is rounded to
1 ms and the durations to 10 ms in the report, so sums carry up to ~0.01 s of rounding.

Matching: a truth row spans its first to its last given boundary, a report rep start_s to end_s;
truth rows are taken in order and each is matched to the not yet matched report rep its span
overlaps most (a rep with no overlap stays unmatched). An unmatched truth rep and an extra
formcheck rep are listed, not scored. A boundary or phase is scored only where both sides have
it. Per clip and per phase the table shows formcheck's value, the truth and the error
(formcheck - truth, seconds); the summary gives the mean absolute error over all clips.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "tests" / "data" / "phase_truth.csv"
CLIPS = ROOT.parent / "shared" / "videos"
CACHE = Path.home() / ".cache" / "formcheck-phases"
BOUNDS = ("drive_start", "top_reached", "descent_start", "bottom_reached")
PHASES = (("up", "drive_start", "top_reached"), ("top_hold", "top_reached", "descent_start"),
          ("down", "descent_start", "bottom_reached"))


def load_truth(path: Path = TRUTH) -> dict[str, list[dict]]:
    """clip -> truth rows with the boundaries in seconds (None where not given)."""
    out: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row["rep"]:
                continue  # a clip recorded as having no phase truth
            fps = float(row["fps"])
            t = {b: (int(row[b]) / fps if row[b] else None) for b in BOUNDS}
            out.setdefault(row["clip"], []).append({"rep": int(row["rep"]), **t})
    return out


def report(clip: Path, cache: Path, retrack: bool = False) -> dict:
    """formcheck's JSON report of a clip (the pose track cached, the analysis run every time)."""
    cache.mkdir(parents=True, exist_ok=True)
    track, out = cache / (clip.stem + ".npz"), cache / (clip.stem + ".json")
    cmd = [sys.executable, "-m", "formcheck", "analyze", "-q", "--json", str(out)]
    if track.exists() and not retrack:
        cmd += ["--track", str(track)]
    else:
        cmd += [str(clip), "--save-track", str(track)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def formcheck_reps(doc: dict) -> list[dict]:
    """The report's reps as boundaries in seconds (see the module docstring)."""
    reps = []
    for r in doc["reps"]:
        drive = r["start_s"]
        top = drive + r["up_s"] if drive is not None and r["up_s"] is not None else None
        desc = top + r["top_pause_s"] if top is not None and r["top_pause_s"] is not None else None
        bottom = desc + r["down_s"] if desc is not None and r["down_s"] is not None else None
        reps.append({"rep": r["rep"], "drive_start": drive, "top_reached": top, "descent_start": desc,
                     "bottom_reached": bottom, "end_s": r["end_s"]})
    return reps


def _span(rep: dict) -> tuple[float, float]:
    times = [rep[b] for b in BOUNDS if rep.get(b) is not None]
    if rep.get("end_s") is not None:
        times.append(rep["end_s"])
    return min(times), max(times)


def match(truth: list[dict], found: list[dict]) -> tuple[list[tuple[dict, dict | None]], list[dict]]:
    """(truth row, report rep or None) pairs by most overlap in time, and the extra report reps."""
    free = list(found)
    pairs = []
    for t in truth:
        a, b = _span(t)
        best, best_overlap = None, 0.0
        for f in free:
            c, d = _span(f)
            overlap = min(b, d) - max(a, c)
            if overlap > best_overlap:
                best, best_overlap = f, overlap
        if best is not None:
            free.remove(best)
        pairs.append((t, best))
    return pairs, free


def measures(rep: dict) -> dict[str, float | None]:
    """Phases (durations) and boundaries (times) of one rep, by name."""
    m = {}
    for name, a, b in PHASES:
        m[name] = rep[b] - rep[a] if rep[a] is not None and rep[b] is not None else None
    m.update({b: rep[b] for b in BOUNDS})
    return m


NAMES = [p[0] for p in PHASES] + list(BOUNDS)


def _fmt(x: float | None) -> str:
    return "    -" if x is None else f"{x:5.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=CLIPS)
    ap.add_argument("--truth", type=Path, default=TRUTH)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--retrack", action="store_true", help="run the pose model again")
    args = ap.parse_args(argv)
    errors: dict[str, list[float]] = {n: [] for n in NAMES}
    for clip_name, truth in load_truth(args.truth).items():
        clip = args.clips / clip_name
        if not clip.exists():
            print(f"{clip_name}: missing in {args.clips}", file=sys.stderr)
            continue
        pairs, extra = match(truth, formcheck_reps(report(clip, args.cache, args.retrack)))
        print(f"\n{clip_name}: {len(truth)} truth reps, "
              f"{sum(f is not None for _, f in pairs) + len(extra)} formcheck reps")
        print("  rep fc  " + " ".join(f"{n:>19s}" for n in NAMES))
        for t, f in pairs:
            if f is None:
                print(f"  {t['rep']:3d}  -  unmatched truth rep (formcheck found none here)")
                continue
            tm, fm = measures(t), measures(f)
            cells = []
            for n in NAMES:
                err = fm[n] - tm[n] if fm[n] is not None and tm[n] is not None else None
                if err is not None:
                    errors[n].append(err)
                shown = "      -" if err is None else f"{err:+6.2f}"
                cells.append(f"{_fmt(fm[n])} {_fmt(tm[n])} {shown}")
            print(f"  {t['rep']:3d} {f['rep']:2d}  " + " ".join(f"{c:>19s}" for c in cells))
        for f in extra:
            print(f"   -  {f['rep']:2d}  extra formcheck rep at {f['drive_start']} s (no truth rep)")
    print("\ncells: formcheck truth error (s); phases are durations, boundaries times")
    print("mean absolute error over all clips (s):")
    for n in NAMES:
        e = errors[n]
        mae = f"{sum(abs(x) for x in e) / len(e):.4f}" if e else "-"
        bias = f"{sum(e) / len(e):+.3f}" if e else "-"
        print(f"  {n:15s} n={len(e):2d}  MAE {mae}  mean error {bias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
