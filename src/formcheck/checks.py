"""Per-rep fault checks against the profile's limits and the guide's words.

Every limit comes from the profile; this module only knows how each measurement
is compared and how far past the limit counts as minor, moderate or major.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .profiles import Profile
from .reps import Rep

SEVERITIES = ("minor", "moderate", "major")


@dataclass(frozen=True)
class Fault:
    code: str
    severity: str
    rep: int
    start_s: float
    end_s: float
    measured: float
    limit: float
    unit: str
    comparison: str
    message: str
    guide_says: str
    checklist: str
    cue: str


def lockout_limit(profile: Profile) -> float:
    """Lowest top hip angle (model reading) that still counts as a straight line."""
    rule = profile.fault("incomplete_lockout")
    return rule["anatomical_target_deg"] + profile.model_hip_bias_deg - rule["tolerance_deg"]


def overextension_limit(profile: Profile) -> float:
    """Highest top hip angle (model reading) before it counts as arching past the line."""
    rule = profile.fault("overextension")
    return rule["anatomical_limit_deg"] + profile.model_hip_bias_deg + rule["tolerance_deg"]


def severity_by_excess(excess: float, steps: list[float]) -> str:
    """Degrees past the limit -> severity; steps are the minor/moderate and moderate/major borders."""
    return SEVERITIES[sum(excess >= s for s in steps)]


def severity_by_ratio(ratio: float, steps: list[float]) -> str:
    """measured/limit for a 'too short' time -> severity; steps descend (e.g. 0.8, 0.5)."""
    return SEVERITIES[sum(ratio < s for s in steps)]


def _fault(code: str, rule: dict[str, Any], rep: Rep, span: tuple[float, float], **kw: Any) -> Fault:
    guide = rule.get("guide", {})
    return Fault(
        code=code,
        rep=rep.index,
        start_s=round(span[0], 3),
        end_s=round(span[1], 3),
        guide_says=guide.get("says", ""),
        checklist=guide.get("checklist", ""),
        cue=guide.get("cue", ""),
        **kw,
    )


def check_incomplete_lockout(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.fault("incomplete_lockout")
    limit = lockout_limit(profile)
    if not math.isfinite(rep.top_hip_deg) or rep.top_hip_deg >= limit:
        return None
    short = limit - rep.top_hip_deg
    return _fault(
        "incomplete_lockout",
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_excess(short, rule["severity_steps"]),
        measured=round(rep.top_hip_deg, 1),
        limit=round(limit, 1),
        unit="deg",
        comparison=">=",
        message=f"top hip angle {rep.top_hip_deg:.0f} deg, {short:.0f} deg short of the straight-line limit",
    )


def check_overextension(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.fault("overextension")
    limit = overextension_limit(profile)
    if not math.isfinite(rep.top_hip_deg) or rep.top_hip_deg <= limit:
        return None
    over = rep.top_hip_deg - limit
    return _fault(
        "overextension",
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_excess(over, rule["severity_steps"]),
        measured=round(rep.top_hip_deg, 1),
        limit=round(limit, 1),
        unit="deg",
        comparison="<=",
        message=f"top hip angle {rep.top_hip_deg:.0f} deg: {over:.0f} deg past the limit (arching)",
    )


def check_rushed_descent(rep: Rep, profile: Profile, typical_up_s: float | None = None) -> Fault | None:
    rule = profile.fault("rushed_descent")
    if rep.down_s is None:
        return None
    # "much shorter than the profile's minimum or than the concentric"; the concentric is the
    # set's typical one, since a first drive that starts from the set-up runs long
    up = rep.up_s if typical_up_s is None else min(rep.up_s, typical_up_s)
    limit = max(rule["min_down_s"], rule["min_down_to_up_ratio"] * up)
    if rep.down_s >= limit:
        return None
    return _fault(
        "rushed_descent",
        rule,
        rep,
        (rep.top_end_s, rep.end_s),
        severity=severity_by_ratio(rep.down_s / limit, rule["severity_steps"]),
        measured=round(rep.down_s, 2),
        limit=round(limit, 2),
        unit="s",
        comparison=">=",
        message=f"descent {rep.down_s:.2f} s (up {rep.up_s:.2f} s); at least {limit:.2f} s expected",
    )


def check_no_top_pause(rep: Rep, profile: Profile) -> Fault | None:
    rule = profile.fault("no_top_pause")
    if not rep.complete:
        return None  # the clip ended during the hold: its length is unknown
    limit = rule["min_top_pause_s"]
    if rep.top_pause_s >= limit:
        return None
    return _fault(
        "no_top_pause",
        rule,
        rep,
        (rep.top_start_s, rep.top_end_s),
        severity=severity_by_ratio(rep.top_pause_s / limit, rule["severity_steps"]),
        measured=round(rep.top_pause_s, 2),
        limit=round(limit, 2),
        unit="s",
        comparison=">=",
        message=f"held the top {rep.top_pause_s:.2f} s; at least {limit:.2f} s expected",
    )


CHECKS: dict[str, Callable[[Rep, Profile], Fault | None]] = {
    "incomplete_lockout": check_incomplete_lockout,
    "overextension": check_overextension,
    "rushed_descent": check_rushed_descent,
    "no_top_pause": check_no_top_pause,
}


def check_reps(reps: list[Rep], profile: Profile, skip: set[str] | None = None) -> list[Fault]:
    """All enabled checks on all reps, ordered by rep then by the catalogue's order.

    `skip`: codes the camera view cannot support (reported as not measurable, never passed)."""
    found = []
    typical_up = float(np.median([r.up_s for r in reps])) if reps else None
    for rep in reps:
        for code, check in CHECKS.items():
            if profile.fault(code).get("enabled", False) and code not in (skip or set()):
                extra = {"typical_up_s": typical_up} if code == "rushed_descent" else {}
                fault = check(rep, profile, **extra)
                if fault is not None:
                    found.append(fault)
    return found
