"""Analysis -> the report's checklist block: per set, every fault code the profile knows with its
status, the set's worst measured value against its limit, and the verdict per rep.

The verdicts are the checks' own CheckResults (a fault is a failing one), so the checklist and the
faults cannot disagree. A set's status: fail when any rep (or measure) failed; not measurable when
the view cannot show it, or no rep of the set could be judged; partly measured when some could and
some not, or when the view never judges part of it (analysis.caveats); pass otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis import Analysis
from ..fault_rules import FAULT_CODES, SET_LEVEL_CODES
from ..findings import FAIL, NOT_MEASURABLE, CheckResult
from ..profiles import Profile
from .model import ChecklistItem, ChecklistResult, SetChecklist

NO_REPS = "no rep was found in the clip"
DISABLED = "switched off in the profile"


def worst(results: Sequence[CheckResult]) -> CheckResult | None:
    """The failing result furthest past its limit, else the measured one nearest its limit."""
    measured = [r for r in results if r.measured is not None]
    failed = [r for r in measured if r.status == FAIL]
    return max(failed or measured, key=lambda r: r.margin, default=None)


def _where(r: CheckResult) -> str:
    return r.measure or str(r.rep)


def unjudged_note(results: Sequence[CheckResult]) -> str:
    """'not judged on rep(s) 2, 3: why' for the results that could not be judged (first reason each)."""
    out: dict[str, list[str]] = {}
    for r in results:
        if r.status == NOT_MEASURABLE:
            out.setdefault(r.reason, []).append(_where(r))
    by_measure = any(r.measure for r in results)
    what = "measure(s)" if by_measure else "rep(s)"
    return "; ".join(f"not judged on {what} {', '.join(w)}: {why}" for why, w in out.items())


def status_of(results: Sequence[CheckResult], caveat: str | None) -> tuple[str, str | None]:
    """The set's status from its verdicts, and the reason that goes with it."""
    statuses = {r.status for r in results}
    note = unjudged_note(results) or None
    if FAIL in statuses:
        return "fail", note
    if statuses == {NOT_MEASURABLE}:
        return "not measurable", results[0].reason if len({r.reason for r in results}) == 1 else note
    if NOT_MEASURABLE in statuses:
        return "partly measured", "; ".join(x for x in (note, caveat) if x)
    if caveat:
        return "partly measured", caveat
    return "pass", None


def result_entry(r: CheckResult) -> ChecklistResult:
    return ChecklistResult(
        rep=None if r.code in SET_LEVEL_CODES else r.rep,
        measure=r.measure,
        status=r.status,
        measured=r.measured,
        limit=r.limit,
        unit=r.unit,
        reason=r.reason or None,
    )


def checklist_item(
    code: str, profile: Profile, analysis: Analysis, results: Sequence[CheckResult], any_reps: bool
) -> ChecklistItem:
    rule = profile.fault(code)
    base = {"code": code, "item": rule.guide.checklist, "failed_reps": [], "results": [],
            "measured": None, "limit": None, "unit": None, "comparison": None}
    if not rule.enabled:
        return ChecklistItem(**base, status="disabled", reason=DISABLED)
    if code in analysis.not_measurable:
        return ChecklistItem(**base, status="not measurable", reason=analysis.not_measurable[code])
    if not any_reps:
        return ChecklistItem(**base, status="not judged", reason=NO_REPS)
    if not results:
        return ChecklistItem(**base, status="not judged", reason="no check was run on this set")
    status, reason = status_of(results, analysis.caveats.get(code))
    top = worst(results)
    failed = sorted({n for r in results if r.fault is not None for n in (r.fault.reps or (r.fault.rep,))})
    return ChecklistItem(
        **{
            **base,
            "failed_reps": failed,
            "results": [result_entry(r) for r in results],
            "measured": top.measured if top else None,
            "limit": top.limit if top else next((r.limit for r in results if r.limit is not None), None),
            "unit": (top or results[0]).unit or None,
            "comparison": (top or results[0]).comparison or None,
        },
        status=status,
        reason=reason,
    )


def build_checklist(analysis: Analysis, profile: Profile) -> list[SetChecklist]:
    """Per set (one entry with set null when no rep was found), every fault code in the guide's order."""
    sets = [(s.index, list(s.reps)) for s in analysis.sets] or [(None, [])]
    set_of = {rep: index for index, reps in sets for rep in reps}
    out = []
    for index, reps in sets:
        mine = [r for r in analysis.results if set_of.get(r.rep) == index]
        items = [
            checklist_item(code, profile, analysis, [r for r in mine if r.code == code], bool(reps))
            for code in FAULT_CODES
        ]
        out.append(SetChecklist(set=index, reps=reps, items=items))
    return out
