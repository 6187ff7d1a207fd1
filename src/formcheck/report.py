"""Render an Analysis: terminal table, versioned JSON, per-rep CSV.

The JSON layout is a contract for coaches' tools and batch scoring: any change that
removes or renames a field bumps REPORT_SCHEMA. Keys added within formcheck.report/1:

- faults[].reps: every rep a finding covers (set-level findings such as fatigue_drift cover
  several; faults[].rep is the first of them).
- measurement.partly_measurable: fault code -> what part of it was not judged, and why.
- reps[].score and sets[].score: {"score" 0-100, "base", "deductions": [{"code", "severity",
  "points", "why"}], "not_scored": {code: why}}; a rep's base is 100, a set's the mean of its reps.
- sets: [{"set", "reps", "rep_count", "start_s", "end_s", "rest_before_s", "rep_range_goals",
  "vs_previous": {"top" deg lower, "depth" deg shallower, "up" drive-time ratio}, "score"}]:
  the clip split at rests (profile sets.min_rest_s), the first rep of each set against the last
  reps of the one before.
- summary.score (rep-weighted mean of the set scores), summary.set_count; with several sets
  summary.rep_range_goals is empty (the guide's ranges are per set, see sets[]).
- clip.frame_stride, clip.source_fps, clip.analysed_fps: a clip above 30 fps is analysed at every
  k-th frame (k = frame_stride; 1 with --every-frame); clip.frames and clip.fps keep meaning the
  frames analysed and their rate (analysed_fps), source_fps is the clip's own rate.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import __version__
from .analysis import Analysis
from .checks import Fault
from .profiles import Profile
from .reps import Rep
from .scoring import Score
from .sets import rep_goals as _set_rep_goals

REPORT_SCHEMA = "formcheck.report/1"

CSV_COLUMNS = (
    "rep",
    "start_s",
    "end_s",
    "bottom_hip_deg",
    "top_hip_deg",
    "up_s",
    "top_pause_s",
    "down_s",
    "bottom_pause_s",
    "top_knee_deg",
    "top_shin_deg",
    "complete",
    "faults",
)


def _num(x: float | None, nd: int = 2) -> float | None:
    """Round for output; NaN and None become null (JSON has no NaN)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _sd(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def rep_goals(count: int, profile: Profile) -> list[str]:
    """The guide's rep-range goals this count falls in (ranges overlap, so maybe several)."""
    return _set_rep_goals(count, profile.rep_ranges)


def summary(analysis: Analysis, profile: Profile) -> dict[str, Any]:
    reps = analysis.reps
    by_code = Counter(f.code for f in analysis.faults)
    bottoms = [r.bottom_hip_deg for r in reps]
    return {
        "rep_count": len(reps),
        "complete_reps": sum(r.complete for r in reps),
        # the guide's ranges are per set: with several sets see sets[].rep_range_goals
        "rep_range_goals": rep_goals(len(reps), profile) if len(analysis.sets) <= 1 else [],
        "mean_up_s": _num(_mean([r.up_s for r in reps])),
        "mean_top_pause_s": _num(_mean([r.top_pause_s for r in reps])),
        "mean_down_s": _num(_mean([r.down_s for r in reps])),
        "mean_bottom_pause_s": _num(_mean([r.bottom_pause_s for r in reps])),
        "mean_top_hip_deg": _num(_mean([r.top_hip_deg for r in reps]), 1),
        "min_top_hip_deg": _num(min((r.top_hip_deg for r in reps), default=None), 1),
        "mean_bottom_hip_deg": _num(_mean(bottoms), 1),
        "bottom_hip_sd_deg": _num(_sd(bottoms), 1),
        "fault_counts": dict(sorted(by_code.items())),
        "reps_with_faults": sorted({f.rep for f in analysis.faults}),
        "usable_fraction": _num(analysis.usable_fraction, 3),
        "set_count": len(analysis.sets),
        "score": _num(analysis.scores.overall, 1),
    }


def score_dict(score: Score | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "score": _num(score.score, 1),
        "base": _num(score.base, 1),
        "deductions": [asdict(d) for d in score.deductions],
        "not_scored": score.not_scored,
    }


def sets_list(analysis: Analysis) -> list[dict[str, Any]]:
    scores = analysis.scores.sets
    return [
        {
            "set": s.index,
            "reps": list(s.reps),
            "rep_count": s.rep_count,
            "start_s": _num(s.start_s, 3),
            "end_s": _num(s.end_s, 3),
            "rest_before_s": _num(s.rest_before_s, 2),
            "rep_range_goals": s.rep_range_goals,
            "vs_previous": {k: _num(v, 2) for k, v in s.vs_previous.items()},
            "score": score_dict(scores[i] if i < len(scores) else None),
        }
        for i, s in enumerate(analysis.sets)
    ]


def to_dict(analysis: Analysis, profile: Profile) -> dict[str, Any]:
    """The whole report as plain JSON-ready data."""
    codes = codes_by_rep(analysis)
    return {
        "schema": REPORT_SCHEMA,
        "formcheck_version": __version__,
        "source": analysis.source,
        "variant": {
            "name": analysis.variant,
            "title": analysis.variant_title,
            "detected": analysis.variant_detected,  # null when the user named the variant
        },
        "clip": {
            "frames": analysis.n_frames,  # analysed: with a frame stride k, about 1/k of the clip's
            "fps": _num(analysis.fps, 3),  # the analysed rate, as analysed_fps
            "analysed_fps": _num(analysis.fps, 3),
            "frame_stride": analysis.frame_stride,
            "source_fps": _num(analysis.fps * analysis.frame_stride, 3),
            "duration_s": _num(analysis.duration_s, 3),
            "detected_fraction": _num(analysis.detected_fraction, 3),
            "usable_fraction": _num(analysis.usable_fraction, 3),
            "truncated": analysis.truncated,
        },
        "measurement": {
            "view": analysis.view.view,
            "view_confidence": _num(analysis.view.confidence, 2),
            "not_measurable": analysis.not_measurable,
            "partly_measurable": analysis.partly_measurable,
            "side": analysis.side.side,
            "side_reason": analysis.side.reason,
            "single_leg": analysis.side.single_leg,
            "hip_angle": "signed shoulder-hip-knee, image plane, MediaPipe reading (180 = straight line)",
            "model_hip_bias_deg": profile.model_hip_bias_deg,
            "hysteresis_deg": [_num(analysis.low_threshold, 1), _num(analysis.high_threshold, 1)],
            "phases": (
                f"up / top pause / down / bottom pause: a pause is where the hips are both within"
                f" {profile.reps.band_frac:.0%} of the rep's range"
                f" (at least {profile.reps.band_min_deg:g} deg) of its top or bottom and nearly still"
                f" (slower than {profile.reps.hold_speed_frac:.0%} of"
                f" the rep's peak hip speed, or {profile.reps.hold_speed_min_dps:g} deg/s)"
            ),
        },
        "reps": [
            {
                "rep": r.index,
                "leg": r.leg,
                "start_s": _num(r.start_s, 3),
                "end_s": _num(r.end_s, 3),
                "bottom_hip_deg": _num(r.bottom_hip_deg, 1),
                "top_hip_deg": _num(r.top_hip_deg, 1),
                "up_s": _num(r.up_s),
                "top_pause_s": _num(r.top_pause_s),
                "down_s": _num(r.down_s),
                "bottom_pause_s": _num(r.bottom_pause_s),
                "top_knee_deg": _num(r.top_knee_deg, 1),
                "top_shin_deg": _num(r.top_shin_deg, 1),
                "top_torso_deg": _num(r.top_torso_deg, 1),
                "complete": r.complete,
                "faults": codes.get(r.index, []),
                "score": score_dict(analysis.scores.reps.get(r.index)),
            }
            for r in analysis.reps
        ],
        "sets": sets_list(analysis),
        "sides": analysis.sides,
        "faults": [asdict(f) for f in analysis.faults],
        "unusable": [
            asdict(s) | {"start_s": _num(s.start_s, 3), "end_s": _num(s.end_s, 3)} for s in analysis.unusable
        ],
        "rejected_cycles": [{"time_s": _num(t, 3), "why": why} for t, why in analysis.rejected],
        "summary": summary(analysis, profile),
    }


def faults_by_rep(analysis: Analysis) -> dict[int, list[Fault]]:
    """Each rep's faults; a set-level fault counts for every rep it names."""
    out: dict[int, list[Fault]] = {}
    for f in analysis.faults:
        for rep in f.reps or (f.rep,):
            out.setdefault(rep, []).append(f)
    return out


def codes_by_rep(analysis: Analysis) -> dict[int, list[str]]:
    """Each rep's fault codes, once each, in the order found."""
    return {rep: list(dict.fromkeys(f.code for f in fs)) for rep, fs in faults_by_rep(analysis).items()}


def _atomic_write(path: str | Path, text: str) -> None:
    """Write via a temp file and rename: a crash never leaves half a report behind."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def to_json(analysis: Analysis, profile: Profile) -> str:
    return json.dumps(to_dict(analysis, profile), indent=2, ensure_ascii=False) + "\n"


def write_json(path: str | Path, analysis: Analysis, profile: Profile) -> None:
    _atomic_write(path, to_json(analysis, profile))


def to_csv(analysis: Analysis, profile: Profile) -> str:
    """One row per rep, same field names as the JSON reps; faults joined with ';'."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rep in to_dict(analysis, profile)["reps"]:
        writer.writerow({**rep, "faults": ";".join(rep["faults"])})
    return buf.getvalue()


def write_csv(path: str | Path, analysis: Analysis, profile: Profile) -> None:
    _atomic_write(path, to_csv(analysis, profile))


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


def render_text(analysis: Analysis, profile: Profile) -> str:
    """The terminal report: header, per-rep table, faults with the guide's words, set summary."""
    codes = codes_by_rep(analysis)
    guess = analysis.variant_detected
    lines = [
        f"{Path(analysis.source).name or 'track'}: {analysis.variant_title}",
        *(
            [f"variant: {guess['name']}, detected (confidence {guess['confidence']:.2f}): {guess['reason']}"]
            if guess
            else []
        ),
        f"view: {analysis.view.view} (confidence {analysis.view.confidence:.2f}); "
        f"measured side: {analysis.side.side} ({analysis.side.reason}); "
        f"{analysis.duration_s:.1f} s, pose usable in {analysis.usable_fraction:.0%} of frames",
        "",
        f"{'rep':>3} {'start':>6} {'end':>6} {'bottom°':>8} {'top°':>6} {'up s':>5} {'top s':>6} "
        f"{'down s':>6} {'bot s':>6} {'score':>5}  faults",
    ]
    for r in analysis.reps:
        lines.append(
            f"{_rep_label(analysis, r):>3} {r.start_s:>6.2f} {r.end_s:>6.2f} "
            f"{_fmt(r.bottom_hip_deg, 1):>8} {_fmt(r.top_hip_deg, 1):>6} "
            f"{_fmt(r.up_s):>5} {_fmt(r.top_pause_s):>6} {_fmt(r.down_s):>6} {_fmt(r.bottom_pause_s):>6} "
            f"{_fmt(_rep_score(analysis, r.index), 0):>5}  {', '.join(codes.get(r.index, [])) or '-'}"
        )
    if not analysis.reps:
        lines.append("  (no reps found)")
    if analysis.faults:
        lines += ["", "faults:"]
        for f in analysis.faults:
            which = f"reps {','.join(map(str, f.reps))}" if len(f.reps) > 1 else f"rep {f.rep}"
            lines.append(
                f"  {which} {f.code} ({f.severity}) {f.start_s:.2f}-{f.end_s:.2f} s: {f.message} "
                f"[{f.measured} {f.unit}, limit {f.comparison} {f.limit}]"
            )
            lines.append(f'      guide: "{f.guide_says}"  checklist: "{f.checklist}"  cue: "{f.cue}"')
    s = summary(analysis, profile)
    head = "set" if len(analysis.sets) <= 1 else f"clip ({len(analysis.sets)} sets)"
    lines += [
        "",
        f"{head}: {s['rep_count']} reps"
        + (f" ({'; '.join(s['rep_range_goals'])})" if s["rep_range_goals"] else ""),
    ]
    lines.append(
        f"  mean tempo: up {_fmt(s['mean_up_s'])} s, top {_fmt(s['mean_top_pause_s'])} s, "
        f"down {_fmt(s['mean_down_s'])} s, bottom {_fmt(s['mean_bottom_pause_s'])} s"
    )
    if analysis.reps and "incomplete_lockout" not in analysis.not_measurable:  # angles readable
        lines.append(
            f"  top hip angle: mean {_fmt(s['mean_top_hip_deg'], 1)}°, "
            f"lowest {_fmt(s['min_top_hip_deg'], 1)}°; "
            f"bottom {_fmt(s['mean_bottom_hip_deg'], 1)}° ± {_fmt(s['bottom_hip_sd_deg'], 1)}°"
        )
    faults = ", ".join(f"{code} x{n}" for code, n in s["fault_counts"].items()) or "none"
    lines.append(f"  faults: {faults}")
    lines += _set_lines(analysis)
    lines += _side_lines(analysis)
    for code, why in analysis.not_measurable.items():
        lines.append(f"  {code}: not measurable from this view ({why})")
    for code, why in analysis.partly_measurable.items():
        lines.append(f"  {code}: partly measured ({why})")
    lines += _unusable_lines(analysis)
    return "\n".join(lines) + "\n"


def _rep_score(analysis: Analysis, rep: int) -> float | None:
    score = analysis.scores.reps.get(rep)
    return None if score is None else score.score


def _deduction_text(score: Score) -> str:
    return "; ".join(f"-{d.points:g} {d.code} ({d.severity})" for d in score.deductions)


def _rep_label(analysis: Analysis, rep: Rep) -> str:
    """The rep number, with L/R when the lifter worked both legs."""
    return f"{rep.index}{rep.leg[0].upper()}" if analysis.sides and rep.leg else str(rep.index)


def _side_lines(analysis: Analysis) -> list[str]:
    if not analysis.sides:
        return []
    out = ["", "sides (single-leg, both legs worked):"]
    for leg in ("left", "right"):
        d = analysis.sides[leg]
        out.append(
            f"  {leg:5s}: {d['reps']} reps, top {_fmt(d['top_hip_deg'], 1)}°,"
            f" range {_fmt(d['range_deg'], 1)}°, up {_fmt(d['up_s'])} s, down {_fmt(d['down_s'])} s"
        )
    found = [f"  imbalance: {text}" for text in analysis.sides["imbalances"]]
    out += found or ["  no imbalance beyond the limits"]
    return out


def _set_lines(analysis: Analysis) -> list[str]:
    """Score per set with where its points went; with several sets, each set's count and rest."""
    out = []
    several = len(analysis.sets) > 1
    for st, sc in zip(analysis.sets, analysis.scores.sets, strict=False):
        head = f"  set {st.index}: " if several else "  score: "
        if several:
            rest = f", after {st.rest_before_s:.0f} s rest" if st.rest_before_s is not None else ""
            goals = f" ({'; '.join(st.rep_range_goals)})" if st.rep_range_goals else ""
            head += f"{st.rep_count} reps{rest}{goals}; score "
        cut = _deduction_text(sc)
        out.append(f"{head}{sc.score:.0f}/100 (rep mean {sc.base:.0f}{'; ' + cut if cut else ''})")
    rep_cuts = [
        f"rep {i} {_deduction_text(sc)}" for i, sc in analysis.scores.reps.items() if sc.deductions
    ]
    if rep_cuts:
        out.append(f"  rep deductions: {', '.join(rep_cuts)}")
    return out


def _unusable_lines(analysis: Analysis) -> list[str]:
    spans = [s for s in analysis.unusable if s.reason != "hard_cut"]
    cuts = [s.start_s for s in analysis.unusable if s.reason == "hard_cut"]
    out = []
    if spans:
        text = ", ".join(f"{s.start_s:.1f}-{s.end_s:.1f} s ({s.reason.replace('_', ' ')})" for s in spans)
        out.append(f"  not analysed: {text}")
    if cuts:
        out.append(f"  hard cuts at: {', '.join(f'{t:.1f} s' for t in cuts)}")
    return out
