"""Per-rep checks against the profile's typed rules and the guide's words, and the run of every
rep check over a clip.

Every limit comes from the profile; this module only knows how each measurement is compared
and how far past the limit counts as minor, moderate or major. Each check returns a CheckResult
for the rep: pass or fail with the measured value and the limit (a failing one carries its
Fault), or not measurable with why. The checks that judge each rep against the rest of its set
(depth, hip rotation, knee cave) are in relative_checks; those of a whole set (fatigue drift,
short rest) in set_checks; the lockout and overextension lines in hip_lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .check_signals import Signals, frame_at
from .fault_rules import (
    FootPlacementRule,
    IncompleteLockoutRule,
    JerkyConcentricRule,
    NoTopPauseRule,
    OverextensionRule,
    RushedDescentRule,
)
from .findings import (
    CheckResult,
    Fault,
    breaks,
    faults_of,
    judged,
    make_fault,
    severity_by_excess,
    severity_by_ratio,
    sort_faults,
    unjudged,
)
from .hip_lines import lockout_limit, overextension_limit
from .profiles import Profile
from .relative_checks import check_depth, check_hip_rotation, check_knee_cave
from .reps import Rep

TOP_UNSEEN = "hip angle not read at the top"
DESCENT_UNSEEN = "descent not seen: the clip ended before the hips reached the bottom"
HOLD_CUT = "the clip ended during the top hold: its length is unknown"
HOLD_UNSEEN = "the pose was lost during the top hold: its length is unknown"


def check_incomplete_lockout(rep: Rep, profile: Profile) -> CheckResult:
    rule = profile.rule(IncompleteLockoutRule)
    limit = lockout_limit(profile)
    if not math.isfinite(rep.top_hip_deg):
        return unjudged(rule.code, rep, TOP_UNSEEN, "deg", ">=", limit=round(limit))
    fault = None
    if breaks(rep.top_hip_deg, limit, ">=", 0):
        short = limit - rep.top_hip_deg
        printed_short = round(limit) - round(rep.top_hip_deg)  # the message's own arithmetic adds up
        fault = make_fault(
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
    return judged(rule.code, rep, rep.top_hip_deg, limit, "deg", ">=", 0, fault)


def check_overextension(rep: Rep, profile: Profile) -> CheckResult:
    rule = profile.rule(OverextensionRule)
    limit = overextension_limit(profile)
    if not math.isfinite(rep.top_hip_deg):
        return unjudged(rule.code, rep, TOP_UNSEEN, "deg", "<=", limit=round(limit))
    fault = None
    if breaks(rep.top_hip_deg, limit, "<=", 0):
        over = rep.top_hip_deg - limit
        printed_over = round(rep.top_hip_deg) - round(limit)
        fault = make_fault(
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
    return judged(rule.code, rep, rep.top_hip_deg, limit, "deg", "<=", 0, fault)


def check_rushed_descent(rep: Rep, profile: Profile, typical_up_s: float | None = None) -> CheckResult:
    rule = profile.rule(RushedDescentRule)
    if rep.down_s is None:
        return unjudged(rule.code, rep, DESCENT_UNSEEN, "s", ">=")
    # "much shorter than the profile's minimum or than the concentric"; the concentric is the
    # set's typical one, since a first drive that starts from the set-up runs long
    up = rep.up_s if typical_up_s is None else min(rep.up_s, typical_up_s)
    limit = max(rule.min_down_s, rule.min_down_to_up_ratio * up)
    message = f"descent {rep.down_s:.2f} s (up {rep.up_s:.2f} s); at least {limit:.2f} s expected"
    return _at_least_seconds(rule, rep, rep.down_s, limit, (rep.top_end_s, rep.end_s), message)


def check_no_top_pause(rep: Rep, profile: Profile) -> CheckResult:
    rule = profile.rule(NoTopPauseRule)
    limit = rule.min_top_pause_s
    if not rep.complete:
        return unjudged(rule.code, rep, HOLD_CUT, "s", ">=", limit=round(limit, 2))
    if not math.isfinite(rep.top_pause_s):
        return unjudged(rule.code, rep, HOLD_UNSEEN, "s", ">=", limit=round(limit, 2))
    # judged on the top phase (top reached to descent start, the phase truth's rule: the time at the
    # top as a person sees it); a short one is a fault only where the hips were not still for even
    # max_still_to_flag_s either: in between, a short real hold (its lockout creeping, its hips
    # sagging before the drop) and an eased turn-around with no hold read alike (profile note)
    top, still = rep.top_pause_s, rep.top_still_s
    still_a_while = still is not None and not breaks(still, rule.max_still_to_flag_s, ">=", 2)
    if still_a_while and breaks(top, limit, ">=", 2):
        # one reason for every such rep, so the checklist names them together
        why = (f"under {limit:.2f} s at the top but still {rule.max_still_to_flag_s:.2f} s or more: a short "
               "hold and an eased turn-around with none read alike")
        return unjudged(rule.code, rep, why, "s", ">=", limit=round(limit, 2))
    message = f"at the top {top:.2f} s" + ("" if still is None else f" (still {still:.2f} s)")
    message += f"; at least {limit:.2f} s expected"
    return _at_least_seconds(rule, rep, top, limit, (rep.top_start_s, rep.top_end_s), message)


def _at_least_seconds(
    rule: Any, rep: Rep, seconds: float, limit: float, span: tuple[float, float], message: str
) -> CheckResult:
    """A phase that must last at least `limit` seconds, judged at the 0.01 s it is printed to."""
    fault = None
    if breaks(seconds, limit, ">=", 2):
        fault = make_fault(
            rule, rep, span,
            severity=severity_by_ratio(seconds / limit, rule.severity_steps),
            measured=round(seconds, 2), limit=round(limit, 2), unit="s", comparison=">=", message=message,
        )  # fmt: skip
    return judged(rule.code, rep, seconds, limit, "s", ">=", 2, fault)


def drive_speed_ratio(rep: Rep, sig: Signals, min_frames: int, typical_up_s: float | None = None) -> float:
    """Peak speed of the drive over its mean speed (NaN when the drive is too short to judge).

    A bounce out of the bottom or a yank shows as a burst far above the drive's own average;
    a steady drive, however fast, stays near the ~1.6 of a smooth ease-in/ease-out. The mean is
    over at most the set's typical drive time: a first drive that starts from the set-up is slow
    on average without being jerky."""
    s, e = rep.start_frame, frame_at(sig.t, rep.top_start_s)
    if e - s + 1 < min_frames:
        return float("nan")
    h, t = sig.drive[s : e + 1], sig.t[s : e + 1]
    mean = (h[-1] - h[0]) / min(t[-1] - t[0], typical_up_s or np.inf)
    if not (np.isfinite(mean) and mean > 0):
        return float("nan")
    return float(np.nanmax(np.gradient(h, t)) / mean)


JERKY_UNIT = "x mean drive speed"


def check_jerky_concentric(
    rep: Rep, profile: Profile, signals: Signals | None = None, typical_up_s: float | None = None
) -> CheckResult:
    rule = profile.rule(JerkyConcentricRule)
    limit = rule.max_speed_ratio
    if signals is None:
        return unjudged(rule.code, rep, "no drive signal to read", JERKY_UNIT, "<=", limit=round(limit, 1))
    ratio = drive_speed_ratio(rep, signals, rule.min_up_frames, typical_up_s)
    if not math.isfinite(ratio):
        why = f"drive too short (under {rule.min_up_frames} frames) or not seen rising"
        return unjudged(rule.code, rep, why, JERKY_UNIT, "<=", limit=round(limit, 1))
    fault = None
    if breaks(ratio, limit, "<=", 1):
        fault = make_fault(
            rule,
            rep,
            (rep.start_s, rep.top_start_s),
            severity=severity_by_excess(ratio - limit, rule.severity_steps),
            measured=round(ratio, 2),
            limit=round(limit, 2),
            unit=JERKY_UNIT,
            comparison="<=",
            message=f"peak drive speed {ratio:.1f}x the rep's mean: a burst, not a steady drive",
        )
    return judged(rule.code, rep, ratio, limit, JERKY_UNIT, "<=", 1, fault)


def leg_hidden(rep: Rep, profile: Profile, signals: Signals | None) -> bool:
    """Knee or ankle hidden at the top (a barbell plate, the other leg): the shin cannot be read."""
    if signals is None:
        return False
    s, e = frame_at(signals.t, rep.top_start_s), frame_at(signals.t, rep.top_end_s)
    vis = signals.leg_visibility[s : e + 1]
    vis = vis[np.isfinite(vis)]
    return bool(len(vis)) and float(np.median(vis)) < profile.rule(FootPlacementRule).min_leg_visibility


SHIN_UNIT = "deg shin tilt from vertical"
LEG_HIDDEN = "knee or ankle hidden at the top, the shin's tilt cannot be read"


def check_foot_placement(rep: Rep, profile: Profile, signals: Signals | None = None) -> CheckResult:
    rule = profile.rule(FootPlacementRule)
    limit = rule.max_shin_tilt_deg
    shin = rep.top_shin_deg
    if leg_hidden(rep, profile, signals):
        return unjudged(rule.code, rep, LEG_HIDDEN, SHIN_UNIT, "<=", limit=round(limit))
    if not math.isfinite(shin):
        return unjudged(rule.code, rep, "shin not seen at the top", SHIN_UNIT, "<=", limit=round(limit))
    fault = None
    if breaks(shin, limit, "<=", 0):
        # with the shin vertical the knee reads 90 minus the thigh's slope (= the torso's, at lockout)
        out = rep.top_knee_deg > 90.0 - rep.top_torso_deg
        if out and not rule.judge_feet_out:
            why = f"shin {shin:.0f} deg off vertical with the feet out, which this variant does not judge"
            return unjudged(rule.code, rep, why, SHIN_UNIT, "<=", limit=round(limit))
        where = "feet too far out (shins slope away from the hips)" if out else "feet too close (knees ahead)"
        fault = make_fault(
            rule,
            rep,
            (rep.top_start_s, rep.top_end_s),
            severity=severity_by_excess(rep.top_shin_deg - limit, rule.severity_steps),
            measured=round(rep.top_shin_deg, 1),
            limit=round(limit, 1),
            unit=SHIN_UNIT,
            comparison="<=",
            message=f"shin {rep.top_shin_deg:.0f} deg off vertical at the top "
            f"(knee {rep.top_knee_deg:.0f} deg): {where}",
        )
    return judged(rule.code, rep, shin, limit, SHIN_UNIT, "<=", 0, fault)


CHECKS: dict[str, Callable[..., CheckResult]] = {
    "incomplete_lockout": check_incomplete_lockout,
    "overextension": check_overextension,
    "rushed_descent": check_rushed_descent,
    "no_top_pause": check_no_top_pause,
    "jerky_concentric": check_jerky_concentric,
    "foot_placement": check_foot_placement,
}


def _enabled(code: str, profile: Profile, skip: set[str]) -> bool:
    return profile.fault(code).enabled and code not in skip


def judge_reps(
    reps: list[Rep],
    profile: Profile,
    skip: set[str] | None = None,
    signals: Signals | None = None,
    groups: list[list[Rep]] | None = None,
) -> list[CheckResult]:
    """Every enabled rep check's verdict on every rep: the per-rep checks rep by rep, then per
    set the checks against the set (depth, rotation, knee cave).

    `skip`: codes the camera view cannot support (reported as not measurable, never passed).
    `groups`: the reps split into sets (one set by default). Whole-set checks are set_checks.check_sets."""
    skip = skip or set()
    results = []
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
                results.append(check(rep, profile, **extra))
    for group in groups if groups is not None else [reps]:
        if _enabled("inconsistent_depth", profile, skip):
            results += check_depth(group, profile)
        if _enabled("hip_rotation", profile, skip):
            results += check_hip_rotation(group, profile, signals)
        if _enabled("knee_cave", profile, skip):
            results += check_knee_cave(group, profile, signals)
    return results


def check_reps(
    reps: list[Rep],
    profile: Profile,
    skip: set[str] | None = None,
    signals: Signals | None = None,
    groups: list[list[Rep]] | None = None,
) -> list[Fault]:
    """The faults of judge_reps, ordered by rep then by the catalogue's order."""
    return sort_faults(faults_of(judge_reps(reps, profile, skip, signals, groups)))
