"""The checks of a whole set: fatigue_drift (its last reps against its first ones) and short_rest
(its first rep against the end of the set before on the same leg, the guide's rest rule).

Both ask the same question, how much worse later reps are than a baseline, in the direction a
tired rep goes: a lower top, a shallower bottom, a slower drive, a shorter descent. Each set gets
a CheckResult per measure (pass, fail with its Fault, or not measurable with why).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .check_signals import nanmedian
from .fault_rules import DriftRule, FatigueDriftRule, ShortRestRule
from .findings import (
    CheckResult,
    Fault,
    breaks,
    faults_of,
    judged,
    make_fault,
    severity_by_excess,
    severity_by_ratio,
    unjudged,
)
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
    results: list[CheckResult]  # per set and measure, pass / fail / not measurable
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


def drift_decimals(d: Drift) -> int:
    return 2 if d.ratio else 0


ANGLE_UNSEEN = "needs the hip angle, which this view cannot read"


def drift_result(code: str, rep: Rep, d: Drift, value: float, fault: Fault | None) -> CheckResult:
    """One measure's verdict (not measurable when the value could not be read)."""
    unit = DRIFT_WORDS[d.measure][2]
    if not np.isfinite(value):
        return unjudged(code, rep, f"{d.measure} not read on the reps compared", unit, "<=", d.measure,
                        limit=round(d.limit, drift_decimals(d)))
    return judged(code, rep, value, d.limit, unit, "<=", drift_decimals(d), fault, measure=d.measure)


def skipped(code: str, rep: Rep, d: Drift) -> CheckResult:
    return unjudged(code, rep, ANGLE_UNSEEN, DRIFT_WORDS[d.measure][2], "<=", d.measure)


def drift_text(d: Drift, value: float) -> str:
    words = DRIFT_WORDS[d.measure][1]
    if not d.ratio:
        return f"{words} by {value:.0f} deg (limit {d.limit:.0f})"
    return f"{words}: {value:.2f}x (limit {d.limit:.2f}x)"


def check_fatigue(reps: list[Rep], profile: Profile, skip_measures: set[str]) -> list[CheckResult]:
    """The set's last reps against its first ones: a verdict per measure, a finding per one that
    degraded."""
    rule = profile.rule(FatigueDriftRule)
    nb, nt = rule.baseline_reps, rule.tail_reps
    needed = max(rule.min_reps, nb + nt)
    if len(reps) < needed:
        why = f"a set of {len(reps)} rep(s): at least {needed} needed to compare its last reps with its first"
        return [unjudged(rule.code, reps[0], why)]
    m = rep_measures(reps)
    base = {k: nanmedian(v[:nb]) for k, v in m.items()}
    later = {k: v[nb:] for k, v in m.items()}
    results = []
    for d in drifts(base, later, rule):
        if d.measure in skip_measures:
            results.append(skipped(rule.code, reps[0], d))
            continue
        tail = nanmedian(d.worse[-nt:])
        fault = None
        if drift_breaks(d, tail):
            hit = [reps[nb + i] for i in np.flatnonzero(np.nan_to_num(d.worse, nan=-np.inf) > d.limit)]
            first, last = hit[0], hit[-1]
            fault = make_fault(
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
        results.append(drift_result(rule.code, reps[0], d, tail, fault))
    return results


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


FIRST_SET = "the first set (on its leg): no set before it to compare with"


def check_sets(
    groups: list[list[Rep]], profile: Profile, skip: set[str], skip_measures: set[str]
) -> SetFindings:
    """fatigue_drift on every set and short_rest on every set after the first on its leg.

    `skip`: codes not measurable from this view; `skip_measures`: drift measures it cannot read.
    The rest comparison is made (and reported per set) even where short_rest is switched off."""
    results: list[CheckResult] = []
    vs_previous: list[dict[str, float]] = []
    fatigue_on = profile.rule(FatigueDriftRule).enabled and FatigueDriftRule.code not in skip
    rest_on = profile.rule(ShortRestRule).enabled and ShortRestRule.code not in skip
    for i, group in enumerate(groups):
        if fatigue_on:
            results += check_fatigue(group, profile, skip_measures)
        previous = previous_set(groups, i)
        found = rest_drifts(group[0], previous, profile) if previous else []
        if rest_on and not previous:
            results.append(unjudged(ShortRestRule.code, group[0], FIRST_SET))
        elif rest_on:
            n_prev = min(profile.sets.compare_reps, len(previous))
            for d in found:
                if d.measure in skip_measures:
                    results.append(skipped(ShortRestRule.code, group[0], d))
                    continue
                value = float(d.worse[0])
                late = drift_breaks(d, value)
                fault = short_rest_fault(group[0], n_prev, d, profile) if late else None
                results.append(drift_result(ShortRestRule.code, group[0], d, value, fault))
        found = [d for d in found if d.measure not in skip_measures]
        vs_previous.append({d.measure: round(float(d.worse[0]), 2) for d in found if np.isfinite(d.worse[0])})
    return SetFindings(faults_of(results), results, vs_previous)
