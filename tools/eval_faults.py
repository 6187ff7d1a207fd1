"""Precision and recall of every fault code against ground truth.

Usage: python tools/eval_faults.py [--rendered DIR] [--shared DIR] [--verbose]

Two sources of truth:
  rendered clips (sample_videos/*.mp4 + their .json): faults injected on known reps; a finding
    counts for the rendered rep its time span overlaps most;
  labelled real clips (../shared/videos/labels.csv): per clip, `expected_faults` must be flagged
    and `must_not_flag` must not be; other codes are listed but not scored.
Pose tracks are cached in ~/.cache/formcheck-eval (keyed by clip and model checksum), so a rerun
after a threshold change takes seconds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path.home() / ".cache" / "formcheck-eval"
# the generator's fault names -> the catalogue's codes
INJECTED = {
    "short_lockout": "incomplete_lockout",
    "overextension": "overextension",
    "pelvic_roll": "hip_rotation",
    "rushed_descent": "rushed_descent",
    "no_top_pause": "no_top_pause",
    "inconsistent_depth": "inconsistent_depth",
    "knee_cave": "knee_cave",
    # the guide's posture mistakes (tools/synth/mistakes.py)
    "head_back": "head_not_neutral",
    "load_drift": "load_drift",
    "leaning_back": "leaning_back",
}
# the labels predate these codes and list none of them: on a real clip every flag of one counts
# as false until a label lists it ("count every flag")
UNLABELLED_COUNT_AS_FALSE = {"head_not_neutral", "load_drift", "leaning_back"}
# judged on the set, whichever rep shows it: scored once per clip
SET_LEVEL = {"inconsistent_depth", "fatigue_drift", "short_rest"}


def cached_track(clip: Path):
    from formcheck.pose import extract_track, find_model, sha256_file
    from formcheck.track import PoseTrack

    key = hashlib.sha256(f"{sha256_file(clip)}:{sha256_file(find_model())}".encode()).hexdigest()[:20]
    path = CACHE / f"{clip.stem}-{key}.npz"
    if path.exists():
        return PoseTrack.load(path)
    track = extract_track(clip)
    CACHE.mkdir(parents=True, exist_ok=True)
    track.save(path)
    return track


def truth_rep(truth: dict, start: float, end: float) -> int | None:
    best, rep = 0.0, None
    for r in truth["reps"]:
        lo, hi = r["start"], r["phases"]["bottom"][1]
        overlap = min(hi, end) - max(lo, start)
        if end <= start:  # an instant: inside the rep counts
            overlap = 1.0 if lo <= start <= hi else 0.0
        if overlap > best:
            best, rep = overlap, r["rep"]
    return rep


def rendered_findings(truth: dict, result) -> tuple[set, set]:
    """(rep, code) pairs injected and found; set-level codes count once per clip (rep None)."""
    expected = {
        (None if INJECTED[f["type"]] in SET_LEVEL else r["rep"], INJECTED[f["type"]])
        for r in truth["reps"]
        for f in r["faults"]
    }
    found = {
        (None if f.code in SET_LEVEL else truth_rep(truth, f.start_s, f.end_s), f.code) for f in result.faults
    }
    return expected, found


def eval_rendered(folder: Path, verbose: bool) -> tuple[Counter, Counter, Counter]:
    from formcheck.analysis import analyze_track
    from formcheck.profiles import load_profile

    tp, fp, fn = Counter(), Counter(), Counter()
    for meta in sorted(folder.glob("*.json")):
        clip = meta.with_suffix(".mp4")
        if not clip.exists():
            continue
        truth = json.loads(meta.read_text())
        result = analyze_track(cached_track(clip), load_profile(truth["spec"]["variant"]))
        expected, found = rendered_findings(truth, result)
        for rep, code in found:
            (tp if (rep, code) in expected else fp)[code] += 1
        for _rep, code in expected - found:
            fn[code] += 1
        if verbose or found != expected:
            print(f"  {clip.stem}: view {result.view.view}, {result.rep_count}/{len(truth['reps'])} reps")
            for rep, code in sorted(found - expected, key=str):
                print(f"      false: rep {rep} {code}")
            for rep, code in sorted(expected - found, key=str):
                why = result.not_measurable.get(code)
                print(f"     missed: rep {rep} {code}" + (f" (not measurable: {why[:60]})" if why else ""))
    return tp, fp, fn


def eval_shared(folder: Path, verbose: bool) -> tuple[Counter, Counter, Counter]:
    from formcheck.analysis import analyze_track
    from formcheck.profiles import load_profile

    tp, fp, fn = Counter(), Counter(), Counter()
    with open(folder / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        clip = folder / row["clip"]
        variant = row["variant"].split(";")[0]  # "glute_bridge;banded": the profile, then the kit
        result = analyze_track(cached_track(clip), load_profile(variant))
        flagged = {f.code for f in result.faults}
        expected = {c for c in row["expected_faults"].split(";") if c}
        forbidden = {c for c in row["must_not_flag"].split(";") if c}
        for code in expected:
            (tp if code in flagged else fn)[code] += 1
        for code in (forbidden | UNLABELLED_COUNT_AS_FALSE - expected) & flagged:
            fp[code] += 1
        bad = (expected - flagged) or ((forbidden | UNLABELLED_COUNT_AS_FALSE - expected) & flagged)
        if verbose or bad:
            lo, hi = (int(row[k]) if row[k] else None for k in ("reps_ok_min", "reps_ok_max"))
            reps_ok = (lo is None or lo <= result.rep_count) and (hi is None or result.rep_count <= hi)
            print(f"  {clip.stem}: {result.rep_count} reps ({'ok' if reps_ok else 'OUT OF RANGE'}),"
                  f" flagged {sorted(flagged)}, expected {sorted(expected)}, must not {sorted(forbidden)}")
    return tp, fp, fn


def table(title: str, tp: Counter, fp: Counter, fn: Counter) -> None:
    print(f"\n{title}")
    print(f"  {'code':22s} {'TP':>3s} {'FP':>3s} {'FN':>3s} {'precision':>10s} {'recall':>7s}")
    for code in sorted(set(tp) | set(fp) | set(fn)):
        p = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else float("nan")
        r = tp[code] / (tp[code] + fn[code]) if tp[code] + fn[code] else float("nan")
        print(f"  {code:22s} {tp[code]:3d} {fp[code]:3d} {fn[code]:3d} {p:10.2f} {r:7.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rendered", type=Path, default=ROOT / "sample_videos")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "videos")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    total = [Counter(), Counter(), Counter()]
    if args.rendered.is_dir():
        print(f"rendered clips ({args.rendered}):")
        counts = eval_rendered(args.rendered, args.verbose)
        table("rendered clips, per rep", *counts)
        total = [a + b for a, b in zip(total, counts, strict=True)]
    if (args.shared / "labels.csv").exists():
        print(f"\nlabelled real clips ({args.shared}):")
        counts = eval_shared(args.shared, args.verbose)
        table("real clips, per clip (expected_faults / must_not_flag)", *counts)
        total = [a + b for a, b in zip(total, counts, strict=True)]
    table("all", *total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
