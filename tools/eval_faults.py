"""Precision and recall of every fault code against ground truth.

Usage: python tools/eval_faults.py [--rendered DIR] [--shared DIR ...] [--auto] [--verbose]

Two sources of truth, scored apart (never mixed in one table):
  rendered clips (sample_videos/*.mp4 + their .json): faults injected on known reps, counted per
    rep; a finding counts for the rendered rep its time span overlaps most;
  labelled real clips (../shared/videos and ../shared/videos_new, labels.csv), counted per clip:
    a code in `expected_faults` must be flagged; EVERY other code flagged is a false positive,
    unless tests/data/real_clip_acceptable.csv (our labels, made by looking at the frames, each with
    its evidence) lists it for that clip as acceptable: then it is counted neither way.
    A clip is analysed under its labelled variant (as tests/test_real_clips.py runs it), or with
    --auto under the variant formcheck detects (what `formcheck analyze` does by default). Every
    clip whose rep count falls outside the label's range is listed, and the counts are summed.
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
# judged on the set, whichever rep shows it: scored once per clip
SET_LEVEL = {"inconsistent_depth", "fatigue_drift", "short_rest"}


def cached_track(clip: Path, single_stream: bool = False):
    """The clip's pose track as analyze makes it, or with single_stream as live runs the model (one
    landmarker over every analysed frame, not the clip's shares)."""
    from formcheck.pose import SHARE_PLAN, MediaPipePoseBackend, extract_track, find_model, sha256_file
    from formcheck.track import PoseTrack

    salt = ":single" if single_stream else f":{SHARE_PLAN}"
    key = hashlib.sha256(f"{sha256_file(clip)}:{sha256_file(find_model())}{salt}".encode()).hexdigest()[:20]
    path = CACHE / f"{clip.stem}-{key}.npz"
    if path.exists():
        return PoseTrack.load(path)
    if single_stream:
        backend = MediaPipePoseBackend()
        try:
            track = extract_track(clip, backend=backend, single_stream=True)
        finally:
            backend.close()
    else:
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


# The hip-line codes are judged against the truth's anatomical top (shoulder - hip joint centre -
# knee), whatever the clip was posed on: a rep is short or arched when its true top is 10 deg or more
# off the straight line (the test size), straight within 3 deg; a flag on a rep in between
# counts neither way; a view that cannot measure the line owes none. Clips posed on the render rig's
# thigh head (older renders) are arched ~10 deg anatomically at their "straight" tops.
HIP_LINE = ("incomplete_lockout", "overextension")
HIP_LINE_OFF_DEG = 10.0
STRAIGHT_DEG = 3.0


def true_tops(truth: dict, side: str) -> dict[int, float]:
    """Each rendered rep's true anatomical top on the side measured ({} for older truth files)."""
    side = side if side in ("left", "right") else "left"
    key = f"top_hip_angle_anatomical_deg_{side}"
    return {r["rep"]: r[key] for r in truth["reps"] if key in r}


def hip_line_class(top: float) -> str | None:
    """The hip-line code a true top must raise, "" when it must raise none, None in between (10 deg,
    the issue's test size, with half a degree to spare for a top read on the other side)."""
    off = top - 180.0
    if off <= -HIP_LINE_OFF_DEG + 0.5:
        return "incomplete_lockout"
    if off >= HIP_LINE_OFF_DEG - 0.5:
        return "overextension"
    return "" if abs(off) <= STRAIGHT_DEG else None


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
    tops = true_tops(truth, result.side.side)
    if tops:
        classes = {rep: hip_line_class(top) for rep, top in tops.items()}
        expected = {(rep, code) for rep, code in expected if code not in HIP_LINE}
        expected |= {(rep, c) for rep, c in classes.items() if c and c not in result.not_measurable}
        between = {rep for rep, c in classes.items() if c is None}
        found = {(rep, code) for rep, code in found if code not in HIP_LINE or rep not in between}
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


ACCEPTABLE = ROOT / "tests" / "data" / "real_clip_acceptable.csv"


def acceptable_codes(path: Path = ACCEPTABLE) -> dict[str, set[str]]:
    """clip file name -> codes a finding of which is not wrong on that clip (see the CSV's evidence)."""
    out: dict[str, set[str]] = {}
    if path.exists():
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(row["clip"], set()).add(row["code"])
    return out


def judge_real_clip(flagged: set[str], expected: set[str], allowed: set[str]) -> tuple[set, set, set]:
    """(true, false, missed) codes of one labelled real clip: every flagged code that is neither
    expected nor acceptable is false, whether or not the label names it in must_not_flag."""
    return flagged & expected, flagged - expected - allowed, expected - flagged


def count_in_range(row: dict, count: int) -> bool:
    """The label's reps_ok_min..reps_ok_max (either may be blank: no bound) holds the count."""
    lo, hi = (int(row[k]) if row.get(k) else None for k in ("reps_ok_min", "reps_ok_max"))
    return (lo is None or lo <= count) and (hi is None or count <= hi)


def eval_shared(folder: Path, verbose: bool, auto: bool = False) -> tuple[Counter, Counter, Counter, Counter]:
    """TP, FP, FN per code over the folder's labelled clips, and the clips whose count is in / out of
    the label's range ("in", "out")."""
    from formcheck.analysis import analyze_track
    from formcheck.profiles import load_profile
    from formcheck.variants import AUTO, analyze_variant

    tp, fp, fn, counts = Counter(), Counter(), Counter(), Counter()
    with open(folder / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    acceptable = acceptable_codes()
    for row in rows:
        clip = folder / row["clip"]
        if auto:
            result, profile, _ = analyze_variant(cached_track(clip), AUTO)
        else:
            profile = load_profile(row["variant"].split(";")[0])
            result = analyze_track(cached_track(clip), profile)
        flagged = {f.code for f in result.faults}
        expected = {c for c in row["expected_faults"].split(";") if c}
        forbidden = {c for c in row["must_not_flag"].split(";") if c}
        allowed = acceptable.get(row["clip"], set())
        true, false, missed = judge_real_clip(flagged, expected, allowed)
        for counter, codes in ((tp, true), (fp, false), (fn, missed)):
            counter.update(codes)
        reps_ok = count_in_range(row, result.rep_count)
        counts["in" if reps_ok else "out"] += 1
        if verbose or missed or false or not reps_ok:
            as_run = f" as {profile.name}" if auto else ""
            print(f"  {clip.stem}{as_run}: {result.rep_count} reps ({'ok' if reps_ok else 'OUT OF RANGE'}),"
                  f" flagged {sorted(flagged)}, expected {sorted(expected)}, acceptable {sorted(allowed)},"
                  f" false {sorted(false)}" + (" (MUST NOT)" if forbidden & flagged else ""))
    return tp, fp, fn, counts


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
    shared = ROOT.parent / "shared"
    ap.add_argument("--shared", type=Path, nargs="*", default=[shared / "videos", shared / "videos_new"])
    ap.add_argument("--auto", action="store_true",
                    help="real clips under the detected variant (analyze's default), not the labelled one")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.rendered.is_dir():
        print(f"rendered clips ({args.rendered}):")
        table("rendered clips, per rep (injected faults)", *eval_rendered(args.rendered, args.verbose))
    real = [Counter(), Counter(), Counter()]
    counts: Counter = Counter()
    how = "the detected variant (--auto)" if args.auto else "the labelled variant"
    for folder in args.shared:
        if (folder / "labels.csv").exists():
            print(f"\nlabelled real clips ({folder}), under {how}:")
            *codes, in_range = eval_shared(folder, args.verbose, args.auto)
            real = [a + b for a, b in zip(real, codes, strict=True)]
            counts += in_range
    table("real clips, per clip (expected_faults; any other code flagged is false unless acceptable)", *real)
    if counts:
        total = counts["in"] + counts["out"]
        print(f"\nreal clips' rep counts in the label's range: {counts['in']} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
