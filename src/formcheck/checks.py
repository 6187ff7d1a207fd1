"""Per-rep fault checks against the profile's typed rules and the guide's words.

Every limit comes from the profile; this module only knows how each measurement is compared
and how far past the limit counts as minor, moderate or major. Rep checks judge one rep; some
judge each rep against the rest of its set (depth, hip rotation, knee cave). The checks of a
whole set (fatigue drift, short rest) are in set_checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .fault_rules import (
    FootPlacementRule,
    HipRotationRule,
    IncompleteLockoutRule,
    InconsistentDepthRule,
    JerkyConcentricRule,
    KneeCaveRule,
    NoTopPauseRule,
    OverextensionRule,
    RushedDescentRule,
)
from .findings import SEVERITIES as SEVERITIES  # re-exported: callers import it from here
from .findings import Fault, breaks, make_fault, severity_by_excess, severity_by_ratio, sort_faults
from .profiles import Profile
from .reps import Rep


@dataclass(frozen=True)
class Signals:
    """Per-frame series some checks need beyond the Rep summaries."""

    t: np.ndarray
    drive: np.ndarray  # hip angle, or the front view's lift signal: both are fine for speed ratios
    leg_visibility: np.ndarray  # weaker of knee and ankle visibility on the measured side (NaN: unknown)
    pelvis_roll: np.ndarray | None = None  # hip line against shoulder line about the trunk, deg
    pelvis_roll_from: str = "3D"  # what it was read from: "3D" (world landmarks) or "the picture"
    knee_cave: np.ndarray | None = None  # knees' swing toward the midline, deg (world)
    free_side_sign: float = 0.0  # single-leg: +1 free leg left, -1 right (a drop of it reads +); 0 both legs
    free_side_by_frame: np.ndarray | None = None  # the same per frame, when the lifter switches legs

    def free_side_at(self, rep: Rep) -> float:
        if self.free_side_by_frame is not None:
            return float(self.free_side_by_frame[min(rep.top_frame, len(self.free_side_by_frame) - 1)])
        return self.free_side_sign


def lockout_limit(profile: Profile) -> float:
    """Lowest calibrated top hip angle that still counts as the straight line (180 = straight)."""
    rule = profile.rule(IncompleteLockoutRule)
    return rule.anatomical_target_deg - rule.tolerance_deg


def overextension_limit(profile: Profile) -> float:
    """Highest calibrated top hip angle before it counts as arching past the line."""
    rule = profile.rule(OverextensionRule)
    return rule.anatomical_limit_deg + rule.tolerance_deg


def hip_lines(profile: Profile) -> dict[str, float | None]:
    """The lockout and overextension lines every surface draws (None where the check is off)."""
    return {
        "lockout": lockout_limit(profile) if profile.fault("incomplete_lockout").enabled else None,
        "overextension": overextension_limit(profile) if profile.fault("overextension").enabled else None,
    }


def check_incomplete_lockout(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.rule(IncompleteLockoutRule)
    limit = lockout_limit(profile)
    if not math.isfinite(rep.top_hip_deg) or not breaks(rep.top_hip_deg, limit, ">=", 0):
        return None
    short = limit - rep.top_hip_deg
    printed_short = round(limit) - round(rep.top_hip_deg)  # the message's own arithmetic adds up
    return make_fault(
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_excess(short, rule.severity_steps),
        measured=round(rep.top_hip_deg, 1),
        limit=round(limit, 1),
        unit="deg",
        comparison=">=",
        message=f"top hip angle {rep.top_hip_deg:.0f} deg, {printed_short} deg short of the lockout line"
        f" ({limit:.0f} deg)",
    )


def check_overextension(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.rule(OverextensionRule)
    limit = overextension_limit(profile)
    if not math.isfinite(rep.top_hip_deg) or not breaks(rep.top_hip_deg, limit, "<=", 0):
        return None
    over = rep.top_hip_deg - limit
    printed_over = round(rep.top_hip_deg) - round(limit)
    return make_fault(
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_excess(over, rule.severity_steps),
        measured=round(rep.top_hip_deg, 1),
        limit=round(limit, 1),
        unit="deg",
        comparison="<=",
        message=f"top hip angle {rep.top_hip_deg:.0f} deg: {printed_over} deg past the overextension line"
        f" ({limit:.0f} deg, arching)",
    )


def check_rushed_descent(rep: Rep, profile: Profile, typical_up_s: float | None = None) -> Fault | None:
    rule = profile.rule(RushedDescentRule)
    if rep.down_s is None:
        return None
    # "much shorter than the profile's minimum or than the concentric"; the concentric is the
    # set's typical one, since a first drive that starts from the set-up runs long
    up = rep.up_s if typical_up_s is None else min(rep.up_s, typical_up_s)
    limit = max(rule.min_down_s, rule.min_down_to_up_ratio * up)
    if not breaks(rep.down_s, limit, ">=", 2):
        return None
    return make_fault(
        rule,
        rep,
        (rep.top_end_s, rep.end_s),
        severity=severity_by_ratio(rep.down_s / limit, rule.severity_steps),
        measured=round(rep.down_s, 2),
        limit=round(limit, 2),
        unit="s",
        comparison=">=",
        message=f"descent {rep.down_s:.2f} s (up {rep.up_s:.2f} s); at least {limit:.2f} s expected",
    )


def check_no_top_pause(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.rule(NoTopPauseRule)
    if not rep.complete:
        return None  # the clip ended during the hold: its length is unknown
    limit = rule.min_top_pause_s
    if not breaks(rep.top_pause_s, limit, ">=", 2):
        return None
    return make_fault(
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_ratio(rep.top_pause_s / limit, rule.severity_steps),
        measured=round(rep.top_pause_s, 2),
        limit=round(limit, 2),
        unit="s",
        comparison=">=",
        message=f"held the top {rep.top_pause_s:.2f} s; at least {limit:.2f} s expected",
    )


def _frame(t: np.ndarray, secs: float) -> int:
    return int(min(np.searchsorted(t, secs), len(t) - 1))


def drive_speed_ratio(rep: Rep, sig: Signals, min_frames: int, typical_up_s: float | None = None) -> float:
    """Peak speed of the drive over its mean speed (NaN when the drive is too short to judge).

    A bounce out of the bottom or a yank shows as a burst far above the drive's own average;
    a steady drive, however fast, stays near the ~1.6 of a smooth ease-in/ease-out. The mean is
    over at most the set's typical drive time: a first drive that starts from the set-up is slow
    on average without being jerky."""
    s, e = rep.start_frame, _frame(sig.t, rep.top_start_s)
    if e - s + 1 < min_frames:
        return float("nan")
    h, t = sig.drive[s : e + 1], sig.t[s : e + 1]
    mean = (h[-1] - h[0]) / min(t[-1] - t[0], typical_up_s or np.inf)
    if not (np.isfinite(mean) and mean > 0):
        return float("nan")
    return float(np.nanmax(np.gradient(h, t)) / mean)


def check_jerky_concentric(
    rep: Rep, profile: Profile, signals: Signals | None = None, typical_up_s: float | None = None
) -> Fault | None:
    rule = profile.rule(JerkyConcentricRule)
    if signals is None:
        return None
    ratio = drive_speed_ratio(rep, signals, rule.min_up_frames, typical_up_s)
    limit = rule.max_speed_ratio
    if not math.isfinite(ratio) or not breaks(ratio, limit, "<=", 1):
        return None
    return make_fault(
        rule,
        rep,
        (rep.start_s, rep.top_start_s),
        severity=severity_by_excess(ratio - limit, rule.severity_steps),
        measured=round(ratio, 2),
        limit=round(limit, 2),
        unit="x mean drive speed",
        comparison="<=",
        message=f"peak drive speed {ratio:.1f}x the rep's mean: a burst, not a steady drive",
    )


def leg_hidden(rep: Rep, profile: Profile, signals: Signals | None) -> bool:
    """Knee or ankle hidden at the top (a barbell plate, the other leg): the shin cannot be read."""
    if signals is None:
        return False
    s, e = _frame(signals.t, rep.top_start_s), _frame(signals.t, rep.top_end_s)
    vis = signals.leg_visibility[s : e + 1]
    vis = vis[np.isfinite(vis)]
    return bool(len(vis)) and float(np.median(vis)) < profile.rule(FootPlacementRule).min_leg_visibility


def check_foot_placement(rep: Rep, profile: Profile, signals: Signals | None = None) -> Fault | None:
    rule = profile.rule(FootPlacementRule)
    limit = rule.max_shin_tilt_deg
    shin = rep.top_shin_deg
    if not math.isfinite(shin) or not breaks(shin, limit, "<=", 0) or leg_hidden(rep, profile, signals):
        return None
    # with the shin vertical the knee reads 90 minus the thigh's slope (= the torso's, at lockout)
    out = rep.top_knee_deg > 90.0 - rep.top_torso_deg
    if out and not rule.judge_feet_out:
        return None
    where = "feet too far out (shins slope away from the hips)" if out else "feet too close (knees ahead)"
    return make_fault(
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_excess(rep.top_shin_deg - limit, rule.severity_steps),
        measured=round(rep.top_shin_deg, 1),
        limit=round(limit, 1),
        unit="deg shin tilt from vertical",
        comparison="<=",
        message=f"shin {rep.top_shin_deg:.0f} deg off vertical at the top "
        f"(knee {rep.top_knee_deg:.0f} deg): {where}",
    )


CHECKS: dict[str, Callable[..., Fault | None]] = {
    "incomplete_lockout": check_incomplete_lockout,
    "overextension": check_overextension,
    "rushed_descent": check_rushed_descent,
    "no_top_pause": check_no_top_pause,
    "jerky_concentric": check_jerky_concentric,
    "foot_placement": check_foot_placement,
}


def _enabled(code: str, profile: Profile, skip: set[str]) -> bool:
    return profile.fault(code).enabled and code not in skip


def check_depth(reps: list[Rep], profile: Profile) -> list[Fault]:
    """Descents of one set that stop far from the set's typical bottom."""
    rule = profile.rule(InconsistentDepthRule)
    # where each descent ends: the bottom the next drive starts from (or the clip's last bottom);
    # "torso" reads it from the trunk's slope, which both legs share (B-stance: the near leg
    # may be the kickstand, whose hip angle swings less than the working leg's)
    torso = rule.measure == "torso"
    ends = [r.end_torso_deg if torso else r.end_hip_deg for r in reps]
    depth = np.array([np.nan if d is None else d for d in ends], dtype=float)
    if np.isfinite(depth).sum() < rule.min_reps:
        return []
    median = float(np.nanmedian(depth))
    limit = rule.max_deviation_deg
    with np.errstate(invalid="ignore"):
        off = np.abs(depth - median)
    found = []
    for rep, d, dev in zip(reps, depth, off, strict=True):
        if not (np.isfinite(dev) and breaks(float(dev), limit, "<=", 0)):
            continue
        how = "shallower" if d > median else "deeper"
        found.append(
            make_fault(
                rule,
                rep,
                (rep.top_end_s, rep.end_s),
                severity=severity_by_excess(dev - limit, rule.severity_steps),
                measured=round(float(dev), 1),
                limit=round(limit, 1),
                unit=f"deg from the set's median bottom ({'trunk slope' if torso else 'hip angle'})",
                comparison="<=",
                message=f"descent stopped at {d:.0f} deg {'trunk slope' if torso else 'hip angle'},"
                f" {dev:.0f} deg {how} than the set's median bottom ({median:.0f} deg)",
            )
        )
    return found



def nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def window_median(sig_t: np.ndarray, x: np.ndarray, span: tuple[float, float]) -> float:
    """Median of x over the frames in [span[0], span[1]] (NaN when none is finite)."""
    s, e = np.searchsorted(sig_t, span[0]), np.searchsorted(sig_t, span[1], side="right")
    return nanmedian(x[s:e])


def top_values(reps: list[Rep], t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per rep: the median of x over its top hold."""
    return np.array([window_median(t, x, (r.top_start_s, r.top_end_s)) for r in reps], dtype=float)


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


def hold_middle(rep: Rep, trim: float) -> tuple[float, float]:
    """The top hold without trim of its length at each end: the world landmarks lag the motion."""
    cut = (rep.top_end_s - rep.top_start_s) * trim
    return rep.top_start_s + cut, rep.top_end_s - cut


def pelvis_drops(reps: list[Rep], rule: HipRotationRule, signals: Signals, roll: np.ndarray) -> np.ndarray:
    """Per rep: how far the pelvis rolled at the top against the set's bottoms, deg.

    The model's own offset between hip and shoulder lines cancels against the bottoms. Both legs:
    either way counts. Single-leg: only a drop of the free side (positive); lifting the free leg
    pulls the model's hip point up, which reads as a rise of that side on clean reps."""
    base = set_bottom_median(reps, signals, roll, rule)
    tops = np.array([window_median(signals.t, roll, hold_middle(r, rule.top_trim_frac)) for r in reps])
    change = tops - base
    sign = np.array([signals.free_side_at(r) for r in reps])
    return np.where(sign != 0, change * sign, np.abs(change))


def check_hip_rotation(reps: list[Rep], profile: Profile, signals: Signals | None) -> list[Fault]:
    """Reps whose pelvis rolled or dropped at the top against the set's own start."""
    rule = profile.rule(HipRotationRule)
    if signals is None or signals.pelvis_roll is None or len(reps) < rule.min_reps:
        return []
    drops = pelvis_drops(reps, rule, signals, signals.pelvis_roll)
    how = "the free side dropped" if signals.free_side_sign else "hip line turned against the shoulders"
    return top_excess_faults(
        rule,
        reps,
        drops,
        rule.max_roll_deg,
        unit="deg pelvis roll vs the set's bottoms",
        describe=lambda d: f"pelvis rolled {d:.1f} deg at the top ({how}) against the set's bottoms "
        f"(hip line vs shoulder line, {signals.pelvis_roll_from})",
    )


def check_knee_cave(reps: list[Rep], profile: Profile, signals: Signals | None) -> list[Fault]:
    """Reps whose knees sat further in at the top than on the set's widest-kneed top.

    The bottoms cannot be the reference: folded legs seen from the feet hide the ankles and
    the model's knee track there is noise; the set's widest top is what the lifter can do."""
    rule = profile.rule(KneeCaveRule)
    if signals is None or signals.knee_cave is None or len(reps) < rule.min_reps:
        return []
    tops = top_values(reps, signals.t, signals.knee_cave)
    if not np.isfinite(tops).any():
        return []
    return top_excess_faults(
        rule,
        reps,
        tops - float(np.nanmin(tops)),
        rule.max_cave_deg,
        unit="deg knees in vs the set's widest top",
        describe=lambda cave: f"knees {cave:.1f} deg further in at the top than on the set's widest rep "
        f"(knee vs the hip-ankle line, 3D)",
    )


def top_excess_faults(
    rule: HipRotationRule | KneeCaveRule,
    reps: list[Rep],
    values: np.ndarray,
    limit: float,
    unit: str,
    describe: Callable[[float], str],
) -> list[Fault]:
    """One fault per rep whose value at the top exceeds the limit at the 0.1 deg its message prints
    (NaN never does)."""
    return [
        make_fault(
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
        for rep, v in zip(reps, values, strict=True)
        if np.isfinite(v) and breaks(float(v), limit, "<=", 1)
    ]


def check_reps(
    reps: list[Rep],
    profile: Profile,
    skip: set[str] | None = None,
    signals: Signals | None = None,
    groups: list[list[Rep]] | None = None,
) -> list[Fault]:
    """All enabled rep checks on all reps, ordered by rep then by the catalogue's order.

    `skip`: codes the camera view cannot support (reported as not measurable, never passed).
    `groups`: the reps split into sets (one set by default): depth, rotation and knee cave judge
    each rep against its own set. Whole-set checks are set_checks.check_sets."""
    skip = skip or set()
    found = []
    typical_up = float(np.median([r.up_s for r in reps])) if reps else None
    for rep in reps:
        for code, check in CHECKS.items():
            if _enabled(code, profile, skip):
                extra: dict[str, Any] = {}
                if code == "rushed_descent":
                    extra = {"typical_up_s": typical_up}
                elif code == "jerky_concentric":
                    extra = {"signals": signals, "typical_up_s": typical_up}
                elif code == "foot_placement":
                    extra = {"signals": signals}
                fault = check(rep, profile, **extra)
                if fault is not None:
                    found.append(fault)
    for group in groups if groups is not None else [reps]:
        if _enabled("inconsistent_depth", profile, skip):
            found += check_depth(group, profile)
        if _enabled("hip_rotation", profile, skip):
            found += check_hip_rotation(group, profile, signals)
        if _enabled("knee_cave", profile, skip):
            found += check_knee_cave(group, profile, signals)
    return sort_faults(found)

