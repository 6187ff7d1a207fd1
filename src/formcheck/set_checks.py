"""The checks of a whole set: fatigue_drift (its last reps against its first ones) and short_rest
(its first rep against the end of the set before on the same leg, the guide's rest rule).

Both ask the same question, how much worse later reps are than a baseline, in the direction a
tired rep goes: a lower top, a shallower bottom, a slower drive, a shorter descent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import nanmedian
from .fault_rules import DriftRule, FatigueDriftRule, ShortRestRule
from .findings import Fault, breaks, make_fault, severity_by_excess, severity_by_ratio
from .profiles import Profile
from .reps import Rep
from .sets import previous_set

# the drift measures that need a hip angle (a view that reads none skips them)
ANGLE_MEASURES = frozenset({"top", "depth"})

DRIFT_WORDS = {  # measure -> (what drifted, how, unit)
    "top": ("lockout", "top hip angle dropped", "deg"),
    "depth": ("range", "bottom got shallower", "deg"),
    "up": ("tempo", "drive slowed", "x"),
    "down": ("tempo", "descent shortened", "x"),
}


@dataclass(frozen=True)
class Drift:
    """How far a later value sits from a baseline, in the direction a tired rep goes."""

    measure: str
    worse: np.ndarray  # per compared rep: how much worse (deg, or the time ratio)
    limit: float
    ratio: bool  # True: worse is a time ratio (up: larger is worse; down: smaller is worse)


@dataclass(frozen=True)
class SetFindings:
    """What the set checks found, and per set how its first rep compared with the set before."""

    faults: list[Fault]
    # per set (in order): measure -> how much worse its first rep was (empty for a first set)
    vs_previous: list[dict[str, float]]


def rep_measures(reps: list[Rep]) -> dict[str, np.ndarray]:
    """Per-rep series the set checks compare: lockout, depth, drive and descent times.

    Depth is where the descent ended (the deepest point before the next drive), so a set-up
    before the first drive or lying down after the last one cannot make a rep look shallow."""
    return {
        "top": np.array([r.top_hip_deg for r in reps], dtype=float),
        "depth": np.array([np.nan if r.end_hip_deg is None else r.end_hip_deg for r in reps], dtype=float),
        "up": np.array([r.up_s for r in reps], dtype=float),
        "down": np.array([np.nan if r.down_s is None else r.down_s for r in reps], dtype=float),
    }


def drifts(base: dict[str, float], later: dict[str, np.ndarray], rule: DriftRule) -> list[Drift]:
    """Lower top, shallower bottom (range lost), slower drive, shorter descent than the baseline.

    The range is judged at the bottom only: a lower top is the lockout's measure, and counting
    it twice would double every lockout drift."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = [
            Drift("top", base["top"] - later["top"], rule.max_top_drop_deg, False),
            Drift("depth", later["depth"] - base["depth"], rule.max_shallower_deg, False),
            Drift("up", later["up"] / base["up"], rule.max_up_ratio, True),
        ]
        if rule.min_down_ratio is not None:
            out.append(Drift("down", base["down"] / later["down"], 1.0 / rule.min_down_ratio, True))
    return out


def drift_severity(d: Drift, value: float, rule: DriftRule) -> str:
    if d.ratio:
        return severity_by_ratio(d.limit / value, rule.severity_steps_ratio)
    return severity_by_excess(value - d.limit, rule.severity_steps_deg)


def drift_breaks(d: Drift, value: float) -> bool:
    """Past the limit as drift_text prints it (degrees whole, ratios to 2 places)."""
    return bool(np.isfinite(value)) and breaks(value, d.limit, "<=", 2 if d.ratio else 0)


def drift_text(d: Drift, value: float) -> str:
    words = DRIFT_WORDS[d.measure][1]
    if not d.ratio:
        return f"{words} by {value:.0f} deg (limit {d.limit:.0f})"
    return f"{words}: {value:.2f}x (limit {d.limit:.2f}x)"


def check_fatigue(reps: list[Rep], profile: Profile, skip_measures: set[str]) -> list[Fault]:
    """The set's last reps against its first ones: one finding per measure that degraded."""
    rule = profile.rule(FatigueDriftRule)
    nb, nt = rule.baseline_reps, rule.tail_reps
    if len(reps) < max(rule.min_reps, nb + nt):
        return []
    m = rep_measures(reps)
    base = {k: nanmedian(v[:nb]) for k, v in m.items()}
    later = {k: v[nb:] for k, v in m.items()}
    found = []
    for d in drifts(base, later, rule):
        if d.measure in skip_measures:
            continue
        tail = nanmedian(d.worse[-nt:])
        if not drift_breaks(d, tail):
            continue
        hit = [reps[nb + i] for i in np.flatnonzero(np.nan_to_num(d.worse, nan=-np.inf) > d.limit)]
        first, last = hit[0], hit[-1]
        found.append(
            make_fault(
                rule,
                first,
                (first.start_s, last.end_s),
                reps=tuple(r.index for r in hit),
                severity=drift_severity(d, tail, rule),
                measured=round(tail, 2),
                limit=round(d.limit, 2),
                unit=DRIFT_WORDS[d.measure][2],
                comparison="<=",
                message=f"{DRIFT_WORDS[d.measure][0]} drift over the set: {drift_text(d, tail)}, "
                f"last {nt} reps against the first {nb}",
            )
        )
    return found


def rest_drifts(first: Rep, previous: list[Rep], profile: Profile) -> list[Drift]:
    """How much worse the first rep is than the previous set's last reps, per measure."""
    prev = rep_measures(previous[-profile.sets.compare_reps :])
    base = {k: nanmedian(v) for k, v in prev.items()}
    return drifts(base, rep_measures([first]), profile.rule(ShortRestRule))


def short_rest_fault(first: Rep, n_prev: int, d: Drift, profile: Profile) -> Fault:
    rule = profile.rule(ShortRestRule)
    value = float(d.worse[0])
    return make_fault(
        rule,
        first,
        (first.start_s, first.end_s),
        severity=drift_severity(d, value, rule),
        measured=round(value, 2),
        limit=round(d.limit, 2),
        unit=DRIFT_WORDS[d.measure][2],
        comparison="<=",
        message=f"first rep against the last {n_prev} of the previous set: {drift_text(d, value)}",
    )


def check_sets(
    groups: list[list[Rep]], profile: Profile, skip: set[str], skip_measures: set[str]
) -> SetFindings:
    """fatigue_drift on every set and short_rest on every set after the first on its leg.

    `skip`: codes not measurable from this view; `skip_measures`: drift measures it cannot read.
    The rest comparison is made (and reported per set) even where short_rest is switched off."""
    faults: list[Fault] = []
    vs_previous: list[dict[str, float]] = []
    fatigue_on = profile.rule(FatigueDriftRule).enabled and FatigueDriftRule.code not in skip
    rest_on = profile.rule(ShortRestRule).enabled and ShortRestRule.code not in skip
    for i, group in enumerate(groups):
        if fatigue_on:
            faults += check_fatigue(group, profile, skip_measures)
        previous = previous_set(groups, i)
        found = []
        if previous:
            found = [d for d in rest_drifts(group[0], previous, profile) if d.measure not in skip_measures]
        if rest_on:
            n_prev = min(profile.sets.compare_reps, len(previous))
            late = [d for d in found if drift_breaks(d, float(d.worse[0]))]
            faults += [short_rest_fault(group[0], n_prev, d, profile) for d in late]
        vs_previous.append({d.measure: round(float(d.worse[0]), 2) for d in found if np.isfinite(d.worse[0])})
    return SetFindings(faults, vs_previous)
