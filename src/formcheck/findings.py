"""What a check returns for every rep (or set) it looks at: a CheckResult, pass / fail / not
measurable with the measured value and the limit; a failing result carries its Fault (the finding,
with the guide's words). Also how far past a limit grades a fault's severity, and the order reports
list findings in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .fault_rules import FAULT_CODES, SEVERITIES, FaultRule
from .reps import Rep

__all__ = [
    "FAIL",
    "NOT_MEASURABLE",
    "PASS",
    "SEVERITIES",
    "CheckResult",
    "Fault",
    "faults_of",
    "judged",
    "make_fault",
    "severity_by_excess",
    "severity_by_ratio",
    "sort_faults",
    "unjudged",
]

PASS, FAIL, NOT_MEASURABLE = "pass", "fail", "not measurable"


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
    reps: tuple[int, ...] = ()  # every rep the finding covers (set-level findings: several)


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one rep (set-level checks: on one measure of one set).

    measured and limit are rounded to the decimals the check judges at (a value that prints equal
    to its limit passes), None where nothing was measured; reason says why not measurable, or what
    a pass did not judge."""

    code: str
    rep: int  # the rep judged; set-level checks: the set's first rep
    status: str  # PASS, FAIL or NOT_MEASURABLE
    measured: float | None
    limit: float | None
    unit: str
    comparison: str  # ">=": measured must reach the limit; "<=": must not exceed it; "|x| <=": its size
    reason: str = ""
    measure: str | None = None  # set-level checks: which drift (top, depth, up, down)
    fault: Fault | None = None  # the finding of a failing result

    @property
    def margin(self) -> float:
        """How far past the limit, as a fraction of it (negative: inside it); -inf when unmeasured."""
        if self.measured is None or self.limit is None:
            return float("-inf")
        size = abs(self.measured) if self.comparison == "|x| <=" else self.measured
        past = self.limit - size if self.comparison == ">=" else size - self.limit
        return past / max(abs(self.limit), 1e-9)


def judged(
    code: str,
    rep: Rep,
    measured: float,
    limit: float,
    unit: str,
    comparison: str,
    decimals: int,
    fault: Fault | None,
    reason: str = "",
    measure: str | None = None,
) -> CheckResult:
    """A measured verdict: fail when `fault` is given, else pass; values at the judged precision."""
    return CheckResult(
        code=code,
        rep=rep.index,
        status=FAIL if fault is not None else PASS,
        measured=round(float(measured), decimals) + 0.0,
        limit=round(float(limit), decimals) + 0.0,
        unit=unit,
        comparison=comparison,
        reason=reason,
        measure=measure,
        fault=fault,
    )


def unjudged(
    code: str, rep: Rep, reason: str, unit: str = "", comparison: str = "", measure: str | None = None,
    limit: float | None = None,
) -> CheckResult:
    """A rep (or measure) the check could not judge, and why."""
    return CheckResult(code, rep.index, NOT_MEASURABLE, None, limit, unit, comparison, reason, measure)


def faults_of(results: Sequence[CheckResult]) -> list[Fault]:
    """The findings of the failing results, in the results' order."""
    return [r.fault for r in results if r.fault is not None]


def breaks(measured: float, limit: float, comparison: str, decimals: int) -> bool:
    """Whether `measured` breaks `limit` as the message prints them (`decimals` places): a value
    that prints equal to its limit passes, so no message reads "held 0.40 s; at least 0.40 s"."""
    m, lim = round(measured, decimals), round(limit, decimals)
    return m < lim if comparison == ">=" else m > lim


def severity_by_excess(excess: float, steps: Sequence[float]) -> str:
    """Degrees past the limit -> severity; steps are the minor/moderate and moderate/major borders."""
    return SEVERITIES[sum(excess >= s for s in steps)]


def severity_by_ratio(ratio: float, steps: Sequence[float]) -> str:
    """measured/limit for a 'too short' time -> severity; steps descend (e.g. 0.8, 0.5)."""
    return SEVERITIES[sum(ratio < s for s in steps)]


def make_fault(rule: FaultRule, rep: Rep, span: tuple[float, float], **kw: Any) -> Fault:
    """A finding of the rule's code on `rep` (first of `reps` for set-level ones), with its guide words."""
    kw.setdefault("reps", (rep.index,))
    return Fault(
        code=rule.code,
        rep=rep.index,
        start_s=round(span[0], 3),
        end_s=round(span[1], 3),
        guide_says=rule.guide.says,
        checklist=rule.guide.checklist,
        cue=rule.guide.cue,
        **kw,
    )


def sort_faults(faults: list[Fault]) -> list[Fault]:
    """By rep, then in the catalogue's order (stable: a check's own order is kept within that)."""
    order = {code: i for i, code in enumerate(FAULT_CODES)}
    return sorted(faults, key=lambda f: (f.rep, order.get(f.code, len(order))))
