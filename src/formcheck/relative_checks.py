"""The checks that judge each rep against the rest of its set: inconsistent_depth (a bottom far
from the set's median), hip_rotation (the pelvis rolled at the top against the set's bottoms) and
knee_cave (the knees further in at the top than on the set's widest rep).

Each returns a CheckResult for every rep of the set: pass or fail with the measured value and
the limit, or not measurable with why (too few reps to compare, the landmark not seen)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .check_signals import Signals, nanmedian, top_reading, top_values
from .fault_rules import HipRotationRule, InconsistentDepthRule, KneeCaveRule
from .findings import CheckResult, breaks, judged, make_fault, severity_by_excess, unjudged
from .profiles import Profile
from .reps import Rep


def too_few(code: str, reps: list[Rep], needed: int, what: str, unit: str) -> list[CheckResult]:
    """Every rep of a set too small to compare its reps with."""
    why = f"judged against the set's {what}: needs {needed} reps with it seen, the set has {len(reps)}"
    return [unjudged(code, r, why, unit, "<=") for r in reps]


def check_depth(reps: list[Rep], profile: Profile) -> list[CheckResult]:
    """Descents of one set that stop far from the set's typical bottom."""
    rule = profile.rule(InconsistentDepthRule)
    # where each descent ends: the bottom the next drive starts from (or the clip's last bottom);
    # "torso" reads it from the trunk's slope, which both legs share (B-stance: the near leg
    # may be the kickstand, whose hip angle swings less than the working leg's)
    torso = rule.measure == "torso"
    what = "trunk slope" if torso else "hip angle"
    unit = f"deg from the set's median bottom ({what})"
    ends = [r.end_torso_deg if torso else r.end_hip_deg for r in reps]
    depth = np.array([np.nan if d is None else d for d in ends], dtype=float)
    if np.isfinite(depth).sum() < rule.min_reps:
        return too_few(rule.code, reps, rule.min_reps, "median bottom", unit)
    median = float(np.nanmedian(depth))
    limit = rule.max_deviation_deg
    with np.errstate(invalid="ignore"):
        off = np.abs(depth - median)
    out = []
    for rep, d, dev in zip(reps, depth, off, strict=True):
        if not np.isfinite(dev):
            out.append(unjudged(rule.code, rep, "the descent's bottom was not seen", unit, "<="))
            continue
        fault = None
        if breaks(float(dev), limit, "<=", 0):
            how = "shallower" if d > median else "deeper"
            fault = make_fault(
                rule,
                rep,
                (rep.top_end_s, rep.end_s),
                severity=severity_by_excess(dev - limit, rule.severity_steps),
                measured=round(float(dev), 1),
                limit=round(limit, 1),
                unit=unit,
                comparison="<=",
                message=f"descent stopped at {d:.0f} deg {what},"
                f" {dev:.0f} deg {how} than the set's median bottom ({median:.0f} deg)",
            )
        out.append(judged(rule.code, rep, dev, limit, unit, "<=", 0, fault))
    return out


def set_bottom_median(reps: list[Rep], signals: Signals, x: np.ndarray, rule: HipRotationRule) -> float:
    """Median of x over the set's bottoms: its frames (from just before the first drive to the last
    rep's end) whose drive sits in its lowest bottom_quantile. Every bottom counts, so one noisy
    pause cannot move the reference."""
    s = np.searchsorted(signals.t, reps[0].start_s - rule.bottom_window_s)
    e = np.searchsorted(signals.t, reps[-1].end_s, side="right")
    drive, vals = signals.drive[s:e], x[s:e]
    if not np.isfinite(drive).any():
        return float("nan")
    return nanmedian(vals[drive <= np.nanpercentile(drive, 100 * rule.bottom_quantile)])


def pelvis_drops(reps: list[Rep], rule: HipRotationRule, signals: Signals, roll: np.ndarray) -> np.ndarray:
    """Per rep: how far the pelvis rolled at the top against the set's bottoms, deg.

    The model's own offset between hip and shoulder lines cancels against the bottoms. Both legs:
    either way counts. Single-leg: only a drop of the free side (positive); lifting the free leg
    pulls the model's hip point up, which reads as a rise of that side on clean reps."""
    base = set_bottom_median(reps, signals, roll, rule)
    tops = np.array([top_reading(signals.t, roll, r, rule.top_trim_frac) for r in reps])
    change = tops - base
    sign = np.array([signals.free_side_at(r) for r in reps])
    return np.where(sign != 0, change * sign, np.abs(change))


ROLL_UNIT = "deg pelvis roll vs the set's bottoms"
CAVE_UNIT = "deg knees in vs the set's widest top"


def check_hip_rotation(reps: list[Rep], profile: Profile, signals: Signals | None) -> list[CheckResult]:
    """Reps whose pelvis rolled or dropped at the top against the set's own start."""
    rule = profile.rule(HipRotationRule)
    if signals is None or signals.pelvis_roll is None:
        return [unjudged(rule.code, r, "no pelvis reading in this view", ROLL_UNIT, "<=") for r in reps]
    if len(reps) < rule.min_reps:
        return too_few(rule.code, reps, rule.min_reps, "bottoms", ROLL_UNIT)
    drops = pelvis_drops(reps, rule, signals, signals.pelvis_roll)
    how = "the free side dropped" if signals.free_side_sign else "hip line turned against the shoulders"
    return top_excess_results(
        rule,
        reps,
        drops,
        rule.max_roll_deg,
        unit=ROLL_UNIT,
        describe=lambda d: f"pelvis rolled {d:.1f} deg at the top ({how}) against the set's bottoms "
        f"(hip line vs shoulder line, {signals.pelvis_roll_from})",
        unseen="hips or shoulders not seen at the top or the set's bottoms",
    )


def check_knee_cave(reps: list[Rep], profile: Profile, signals: Signals | None) -> list[CheckResult]:
    """Reps whose knees sat further in at the top than on the set's widest-kneed top.

    The bottoms cannot be the reference: folded legs seen from the feet hide the ankles and
    the model's knee track there is noise; the set's widest top is what the lifter can do."""
    rule = profile.rule(KneeCaveRule)
    if signals is None or signals.knee_cave is None:
        return [unjudged(rule.code, r, "no knee reading in this view", CAVE_UNIT, "<=") for r in reps]
    if len(reps) < rule.min_reps:
        return too_few(rule.code, reps, rule.min_reps, "widest top", CAVE_UNIT)
    tops = top_values(reps, signals.t, signals.knee_cave)
    if np.isfinite(tops).sum() < rule.min_reps:  # one seen top is no set to compare against
        return [unjudged(rule.code, r, "knees not seen at enough tops", CAVE_UNIT, "<=") for r in reps]
    return top_excess_results(
        rule,
        reps,
        tops - float(np.nanmin(tops)),
        rule.max_cave_deg,
        unit=CAVE_UNIT,
        describe=lambda cave: f"knees {cave:.1f} deg further in at the top than on the set's widest rep "
        f"(knee vs the hip-ankle line, 3D)",
        unseen="knees not seen at the top",
    )


def top_excess_results(
    rule: HipRotationRule | KneeCaveRule,
    reps: list[Rep],
    values: np.ndarray,
    limit: float,
    unit: str,
    describe: Callable[[float], str],
    unseen: str,
) -> list[CheckResult]:
    """Per rep, its value at the top against the limit, judged at the 0.1 deg its message prints
    (NaN: not measurable, `unseen` says why)."""
    out = []
    for rep, v in zip(reps, values, strict=True):
        if not np.isfinite(v):
            out.append(unjudged(rule.code, rep, unseen, unit, "<="))
            continue
        fault = None
        if breaks(float(v), limit, "<=", 1):
            fault = make_fault(
                rule,
                rep,
                (rep.top_start_s, rep.top_end_s),
                severity=severity_by_excess(v - limit, rule.severity_steps),
                measured=round(float(v), 1),
                limit=round(limit, 1),
                unit=unit,
                comparison="<=",
                message=describe(v),
            )
        out.append(judged(rule.code, rep, v, limit, unit, "<=", 1, fault))
    return out
