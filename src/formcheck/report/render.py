"""A Report as the terminal table, CSV rows and the JSON file (written atomically)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..files import atomic_write_text
from .model import Report, RepReport, ScoreReport
from .speed import SPEED_CSV_COLUMNS, speed_cell, speed_csv, speed_lines

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
    "top_roll_deg",
    "roll_change_deg",
    "free_side_drop_deg",
    "top_obliquity_deg",
    "obliquity_change_deg",
) + SPEED_CSV_COLUMNS  # rep speed: mean_mps, peak_mps
PELVIS_COLUMNS = (
    "top_roll_deg", "roll_change_deg", "free_side_drop_deg", "top_obliquity_deg", "obliquity_change_deg"
)


def to_csv(report: Report) -> str:
    """One row per rep, same field names as the JSON reps (the pelvis ones from reps[].pelvis, empty
    where the view cannot measure them); faults joined with ';'."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rep in report.reps:
        pelvis = rep.pelvis.model_dump() if rep.pelvis else {}
        row = {**rep.model_dump(), "faults": ";".join(rep.faults), **speed_csv(rep)}
        writer.writerow(row | {k: pelvis.get(k) for k in PELVIS_COLUMNS})
    return buf.getvalue()


def write_json(path: str | Path, report: Report) -> None:
    atomic_write_text(path, report.to_json())


def write_csv(path: str | Path, report: Report) -> None:
    atomic_write_text(path, to_csv(report))


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


def _angle_note(report: Report) -> list[str]:
    """Why the angle columns are blank where the model did read an angle."""
    if report.angles_readable or all(r.top_hip_raw_deg is None for r in report.reps):
        return []
    return ["hip angle: not shown, the lockout cannot be judged on it here (incomplete_lockout below);"
            " the model's readings are in the JSON (*_raw_deg)"]  # fmt: skip


def render_text(report: Report) -> str:
    """The terminal report: header, per-rep table, faults with the guide's words, set summary."""
    m, s = report.measurement, report.summary
    usable = report.clip.usable_fraction or 0.0
    lines = [
        f"{Path(report.source).name or 'track'}: {report.variant.title}",
        *_detected_lines(report),
        f"view: {m.view} (confidence {_fmt(m.view_confidence)}); measured side: {m.side} ({m.side_reason});"
        f" {_fmt(report.clip.duration_s, 1)} s, pose usable in {usable:.0%} of frames",
        *_angle_note(report),
        "",
        f"{'rep':>3} {'start':>6} {'end':>6} {'bottom°':>8} {'top°':>6} {'up s':>5} {'top s':>6} "
        f"{'down s':>6} {'bot s':>6} {'m/s':>5} {'score':>5} {'low hip':>7}  faults",
    ]
    for r in report.reps:
        score = None if r.score is None else r.score.score
        lines.append(
            f"{_rep_label(report, r):>3} {_fmt(r.start_s):>6} {_fmt(r.end_s):>6} "
            f"{_fmt(r.bottom_hip_deg, 1):>8} {_fmt(r.top_hip_deg, 1):>6} "
            f"{_fmt(r.up_s):>5} {_fmt(r.top_pause_s):>6} {_fmt(r.down_s):>6} {_fmt(r.bottom_pause_s):>6} "
            f"{speed_cell(r):>5} {_fmt(score, 0):>5} {_low_hip(r):>7}  {', '.join(r.faults) or '-'}"
        )
    if not report.reps:
        why = report.summary.no_reps_reason
        lines.append(f"  (no reps found: {why})" if why else "  (no reps found)")
    if report.faults:
        lines += ["", "faults:"]
        for f in report.faults:
            which = f"reps {','.join(map(str, f.reps))}" if len(f.reps) > 1 else f"rep {f.rep}"
            lines.append(
                f"  {which} {f.code} ({f.severity}) {f.start_s:.2f}-{f.end_s:.2f} s: {f.message} "
                f"[{f.measured} {f.unit}, limit {f.comparison} {f.limit}]"
            )
            lines.append(f'      guide: "{f.guide_says}"  checklist: "{f.checklist}"  cue: "{f.cue}"')
    head = "set" if len(report.sets) <= 1 else f"clip ({len(report.sets)} sets)"
    goals = f" ({'; '.join(s.rep_range_goals)})" if s.rep_range_goals else ""
    lines += ["", f"{head}: {s.rep_count} reps{goals}"]
    lines.append(
        f"  mean tempo: up {_fmt(s.mean_up_s)} s, top {_fmt(s.mean_top_pause_s)} s, "
        f"down {_fmt(s.mean_down_s)} s, bottom {_fmt(s.mean_bottom_pause_s)} s"
    )
    if report.reps and report.angles_readable:
        lines.append(
            f"  top hip angle: mean {_fmt(s.mean_top_hip_deg, 1)}°, lowest {_fmt(s.min_top_hip_deg, 1)}°;"
            f" bottom {_fmt(s.mean_bottom_hip_deg, 1)}° ± {_fmt(s.bottom_hip_sd_deg, 1)}°"
        )
    faults = ", ".join(f"{code} x{n}" for code, n in s.fault_counts.items()) or "none"
    lines.append(f"  faults: {faults}")
    lines += _set_lines(report)
    lines += speed_lines(report)
    lines += _side_lines(report)
    lines += _pelvis_lines(report)
    for code, why in m.not_measurable.items():
        lines.append(f"  {code}: not measurable from this view ({why})")
    for code, why in m.partly_measurable.items():
        lines.append(f"  {code}: partly measured ({why})")
    lines += _unusable_lines(report)
    return "\n".join(lines) + "\n"


def _low_hip(rep: RepReport) -> str:
    """Single-leg: how far the free side dropped at the top against the bottoms, e.g. 'R 9°'."""
    p = rep.pelvis
    if p is None or p.roll_change_deg is None:
        return "-"
    if p.roll in ("-", "no drop", "level"):
        return p.roll
    return f"{p.roll[0].upper()} {abs(p.free_side_drop_deg or p.roll_change_deg):.0f}°"


def _pelvis_lines(report: Report) -> list[str]:
    """How the pelvis was read in this view (the rep table's 'low hip' column), or why it was not."""
    p = report.measurement.pelvis
    if p is None:
        return []
    out = []
    for name, what in (("roll", p.roll), ("obliquity", p.obliquity)):
        if not what.measurable:
            out.append(f"  pelvis {name}: not measurable from this view ({what.reason})")
        else:
            out.append(
                f"  pelvis {name} (low hip): read from the {what.read_from} landmarks, top vs the set's"
                f" bottoms; {what.reliability} in this view"
                f" (within {_fmt(what.expected_error_deg, 0)}° on renders)"
            )
    return out


def _detected_lines(report: Report) -> list[str]:
    guess = report.variant.detected
    if guess is None:
        return []
    return [f"variant: {guess.name}, detected (confidence {guess.confidence:.2f}): {guess.reason}"]


def _deduction_text(score: ScoreReport) -> str:
    return "; ".join(f"-{d.points:g} {d.code} ({d.severity})" for d in score.deductions)


def _rep_label(report: Report, rep: RepReport) -> str:
    """The rep number, with L/R when the lifter worked both legs."""
    return f"{rep.rep}{rep.leg[0].upper()}" if report.sides and rep.leg else str(rep.rep)


def _side_lines(report: Report) -> list[str]:
    if not report.sides:
        return []
    out = ["", "sides (single-leg, both legs worked):"]
    for leg, d in (("left", report.sides.left), ("right", report.sides.right)):
        out.append(
            f"  {leg:5s}: {d.reps} reps, top {_fmt(d.top_hip_deg, 1)}°,"
            f" range {_fmt(d.range_deg, 1)}°, up {_fmt(d.up_s)} s, down {_fmt(d.down_s)} s"
        )
    found = [f"  imbalance: {text}" for text in report.sides.imbalances]
    return out + (found or ["  no imbalance beyond the limits"])


def _set_lines(report: Report) -> list[str]:
    """Score per set with where its points went; with several sets, each set's count and rest."""
    out = []
    several = len(report.sets) > 1
    for st in report.sets:
        sc = st.score
        if sc is None:
            continue
        head = f"  set {st.set}: " if several else "  score: "
        if several:
            rest = f", after {st.rest_before_s:.0f} s rest" if st.rest_before_s is not None else ""
            goals = f" ({'; '.join(st.rep_range_goals)})" if st.rep_range_goals else ""
            head += f"{st.rep_count} reps{rest}{goals}; score "
        cut = _deduction_text(sc)
        out.append(f"{head}{_fmt(sc.score, 0)}/100 (rep mean {_fmt(sc.base, 0)}{'; ' + cut if cut else ''})")
    rep_cuts = [
        f"rep {r.rep} {_deduction_text(r.score)}" for r in report.reps if r.score and r.score.deductions
    ]
    if rep_cuts:
        out.append(f"  rep deductions: {', '.join(rep_cuts)}")
    return out


def _unusable_lines(report: Report) -> list[str]:
    spans = [s for s in report.unusable if s.reason != "hard_cut"]
    cuts = [s.start_s for s in report.unusable if s.reason == "hard_cut"]
    out = []
    if spans:
        text = ", ".join(
            f"{_fmt(s.start_s, 1)}-{_fmt(s.end_s, 1)} s ({s.reason.replace('_', ' ')})" for s in spans
        )
        out.append(f"  not analysed: {text}")
    if cuts:
        out.append(f"  hard cuts at: {', '.join(f'{_fmt(t, 1)} s' for t in cuts)}")
    return out
