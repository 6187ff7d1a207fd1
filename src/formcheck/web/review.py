"""Reviewing sessions: comments on reps (the coach writes them, the athlete's link page shows them)
and the comparison of two sets side by side, synchronised at a rep's start, with their hip-angle
curves overlaid. Pages and API; every job is looked up as the logged-in coach's (another coach's is
"not found")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from . import comments
from .charts import overlay_svg
from .curves import read_curve
from .models import DONE, Job
from .pages import coach_of, ctx_of, render, report_of
from .schemas import RowId
from .security import current
from .storage import result_dir

router = APIRouter(dependencies=[Depends(current)])
MAX_CHOICES = 200  # sessions offered in the comparison's pickers
NO_CURVE = "this session was analysed before curves were stored (upload the clip again for one)"


def _job(request: Request, uid: str) -> Job:
    job = ctx_of(request).db.job(uid, coach_of(request)) if len(uid) == 32 else None
    if job is None:
        raise HTTPException(404, f"no job {uid[:40]!r}")
    return job


def comment_out(c: comments.RepComment) -> dict[str, Any]:
    return {"id": c.id, "rep": c.rep, "text": c.text, "created_at": c.created_at.isoformat()}


# ------------------------------------------------------------------ comments


@router.get("/api/jobs/{job_id}/comments", tags=["review"], summary="The comments on a session's reps")
def list_comments(request: Request, job_id: str) -> list[dict[str, Any]]:
    job = _job(request, job_id)
    return [comment_out(c) for c in comments.of_job(ctx_of(request).db, job.uid)]


@router.post(
    "/api/jobs/{job_id}/comments",
    status_code=201,
    tags=["review"],
    summary="Comment on a rep ({'rep': 2, 'text': ...}); the athlete's link page shows it",
)
def post_comment(request: Request, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
    job = _job(request, job_id)
    try:
        text, rep = comments.checked(body.get("text"), body.get("rep"), job.rep_count)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return comment_out(comments.add(ctx_of(request).db, job.uid, rep, coach_of(request), text))


@router.delete("/api/jobs/{job_id}/comments/{comment_id}", tags=["review"], summary="Delete a comment")
def delete_comment(request: Request, job_id: str, comment_id: RowId) -> dict[str, Any]:
    job = _job(request, job_id)
    if not comments.remove(ctx_of(request).db, job.uid, comment_id):
        raise HTTPException(404, f"no comment {comment_id} on this session")
    return {"deleted": comment_id}


@router.post("/jobs/{job_id}/comments", include_in_schema=False)
async def comment_form(request: Request, job_id: str) -> RedirectResponse:
    job = _job(request, job_id)
    form = await request.form()
    try:
        text, rep = comments.checked(form.get("text"), form.get("rep"), job.rep_count)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    comments.add(ctx_of(request).db, job.uid, rep, coach_of(request), text)
    return RedirectResponse(f"/jobs/{job.uid}#rep-{rep}", status_code=303)


@router.post("/jobs/{job_id}/comments/{comment_id}/delete", include_in_schema=False)
def comment_delete_form(request: Request, job_id: str, comment_id: RowId) -> RedirectResponse:
    job = _job(request, job_id)
    comments.remove(ctx_of(request).db, job.uid, comment_id)
    return RedirectResponse(f"/jobs/{job.uid}#reps", status_code=303)


# ------------------------------------------------------------------ comparison


def _side(request: Request, job: Job, rep: int) -> dict[str, Any]:
    """One set of the comparison: who and when, its video, its curve and where rep `rep` starts."""
    if job.status != DONE:
        raise HTTPException(409, f"the session {job.uid} is not analysed yet ({job.status})")
    curve = read_curve(result_dir(ctx_of(request).settings, job.uid))
    reps, fps = _reps_and_fps(request, job, curve)
    start = next((r["start_s"] for r in reps if r["rep"] == rep), None)
    return {
        "id": job.uid,
        "athlete": job.athlete.name,
        "athlete_slug": job.athlete.slug,
        "created_at": job.created_at.isoformat(),
        "variant": job.variant_used,
        "note": job.note,
        "rep_count": job.rep_count,
        "score": job.score,
        "video": f"/jobs/{job.uid}/files/annotated.mp4",
        "sync_rep": rep if start is not None else None,
        "sync_s": start,
        "fps": fps,
        "curve": curve,
        "why_no_curve": None if curve else NO_CURVE,
    }


def _reps_and_fps(
    request: Request, job: Job, curve: dict[str, Any] | None
) -> tuple[list[dict], float | None]:
    """The reps' start times and the frame rate: from the curve, or for a session analysed before
    curves were stored, from its report (the video still syncs at the rep; only the angles are missing)."""
    if curve:
        return curve.get("reps", []), curve.get("fps")
    report = report_of(ctx_of(request), job)
    if report is None:  # the result folder is gone too: shown unsynchronised, with the reason
        return [], None
    return [{"rep": r.rep, "start_s": r.start_s} for r in report.reps], report.clip.fps


def comparison(request: Request, a: str, b: str, rep: int) -> dict[str, Any]:
    first, second = _job(request, a), _job(request, b)
    return {"rep": rep, "a": _side(request, first, rep), "b": _side(request, second, rep)}


@router.get(
    "/api/compare",
    tags=["review"],
    summary="Two sessions side by side: videos, hip-angle curves and the start of rep `rep` in each",
)
def compare_api(
    request: Request,
    a: str = Query(..., max_length=40),
    b: str = Query(..., max_length=40),
    rep: int = Query(1, ge=1, le=1000),
) -> dict[str, Any]:
    return comparison(request, a, b, rep)


def _label(side: dict[str, Any]) -> str:
    when = datetime.fromisoformat(side["created_at"]).astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{side['athlete']} · {when}"


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request, a: str = "", b: str = "", rep: int = Query(1, ge=1, le=1000)
) -> HTMLResponse:
    ctx = ctx_of(request)
    choices = ctx.db.jobs(status=DONE, limit=MAX_CHOICES, coach_id=coach_of(request))
    data = comparison(request, a, b, rep) if a and b else None
    chart = None
    if data is not None:
        sides = [(_label(data[k]), data[k]["curve"], data[k]["sync_s"]) for k in ("a", "b")]
        chart = Markup(overlay_svg(f"Hip angle from the start of rep {rep} (°)", sides))
    return render(
        request, "compare.html", data=data, chart=chart, choices=choices, a=a, b=b, rep=rep, label=_label
    )
