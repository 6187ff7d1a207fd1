"""A fault finding: the record every check returns, how far past a limit grades its severity,
and the order reports list findings in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .fault_rules import FAULT_CODES, SEVERITIES, FaultRule
from .reps import Rep

__all__ = ["SEVERITIES", "Fault", "make_fault", "severity_by_excess", "severity_by_ratio", "sort_faults"]


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
