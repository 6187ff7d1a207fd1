"""0-100 scores per rep and per set, every point lost traced to a finding.

A rep starts at 100 and loses, once per fault code on it (the worst finding of that code),
the code's points times its severity's factor (both from the profile). A set scores the mean of
its reps, minus its set-level findings (fatigue drift, short rest). Codes the camera view
cannot measure cost nothing and are listed as not scored: a score never hides what was not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fault_rules import SET_LEVEL_CODES, SEVERITIES
from .findings import Fault
from .profiles import Profile
from .reps import Rep
from .sets import TrainingSet


@dataclass(frozen=True)
class Deduction:
    code: str
    severity: str
    points: float
    why: str  # the finding's message, with its measured value and limit


@dataclass(frozen=True)
class Score:
    score: float
    deductions: list[Deduction]
    base: float = 100.0  # a rep starts at 100; a set at the mean of its reps' scores
    not_scored: dict[str, str] = field(default_factory=dict)  # code -> why it could not be judged


@dataclass(frozen=True)
class Scores:
    reps: dict[int, Score]  # rep number -> score
    sets: list[Score]  # in the order of Analysis.sets
    overall: float | None = None  # the set scores averaged, weighted by their rep counts


def deductions(faults: list[Fault], profile: Profile) -> list[Deduction]:
    """One deduction per fault code: its worst finding's severity decides the factor."""
    worst: dict[str, Fault] = {}
    for f in faults:
        if f.code not in worst or SEVERITIES.index(f.severity) > SEVERITIES.index(worst[f.code].severity):
            worst[f.code] = f
    cfg = profile.scoring
    out = []
    for code, f in worst.items():
        points = cfg.fault_points.get(code, 0.0) * cfg.severity_factor.get(f.severity, 1.0)
        if points > 0:
            why = f"{f.message} [{f.measured} {f.unit}, limit {f.comparison} {f.limit}]"
            out.append(Deduction(code, f.severity, round(points, 1), why))
    return out


def _score(base: float, cut: list[Deduction], not_scored: dict[str, str]) -> Score:
    return Score(round(max(0.0, base - sum(d.points for d in cut)), 1), cut, round(base, 1), not_scored)


def score_all(
    reps: list[Rep],
    faults: list[Fault],
    sets: list[TrainingSet],
    profile: Profile,
    not_measurable: dict[str, str],
) -> Scores:
    """Per-rep and per-set scores; set-level findings count against their set only."""
    by_rep: dict[int, list[Fault]] = {}
    by_set_rep: dict[int, list[Fault]] = {}
    for f in faults:
        (by_set_rep if f.code in SET_LEVEL_CODES else by_rep).setdefault(f.rep, []).append(f)
    rep_scores = {
        r.index: _score(100.0, deductions(by_rep.get(r.index, []), profile), not_measurable) for r in reps
    }
    set_scores = []
    for s in sets:
        base = float(np.mean([rep_scores[i].score for i in s.reps]))
        found = [f for i in s.reps for f in by_set_rep.get(i, [])]
        set_scores.append(_score(base, deductions(found, profile), not_measurable))
    weights = [s.rep_count for s in sets]
    mean = float(np.average([s.score for s in set_scores], weights=weights)) if set_scores else None
    return Scores(rep_scores, set_scores, None if mean is None else round(mean, 1))
