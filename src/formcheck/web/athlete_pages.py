"""What an athlete sees through their private upload link (`/a/<token>`, no account): an upload
form for themselves only, their own sessions and reports. Any other athlete's job, or a revoked
or expired link, is "not found"."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from . import comments, links
from .intake import AppContext, accept
from .limits import streams_upload
from .models import DONE, Athlete, Job
from .pages import report_of, templates
from .storage import RESULT_FILES, UploadError, result_dir

router = APIRouter(include_in_schema=False)


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def _athlete(request: Request, token: str) -> Athlete:
    athlete = await anyio.to_thread.run_sync(links.athlete_of, _ctx(request).db, token)
    if athlete is None:
        raise HTTPException(404, "this link is not valid (any more): ask your coach for a new one")
    return athlete


def _job(request: Request, athlete: Athlete, uid: str) -> Job:
    job = _ctx(request).db.job(uid) if len(uid) == 32 else None
    if job is None or job.athlete_id != athlete.id:
        raise HTTPException(404, "no such session")
    return job


def _page(request: Request, token: str, athlete: Athlete, name: str, status_code: int = 200,
          **extra: Any) -> HTMLResponse:  # fmt: skip
    ctx = _ctx(request)
    context = {"athlete": athlete, "base": f"/a/{token}", "coach": None, "csrf": None,
               "max_upload_bytes": ctx.settings.max_upload_bytes, "variants": ctx.variants}  # fmt: skip
    context |= extra
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/a/{token}", response_class=HTMLResponse)
async def home(request: Request, token: str) -> HTMLResponse:
    athlete = await _athlete(request, token)
    jobs = _ctx(request).db.jobs(athlete.id, limit=100)
    return _page(request, token, athlete, "athlete_link.html", jobs=jobs, error=None)


@router.post("/a/{token}/upload")
@streams_upload
async def upload_form(request: Request, token: str) -> Any:
    """The form's non-script path (the page's script posts to /a/<token>/api/jobs)."""
    athlete = await _athlete(request, token)
    try:
        job = await accept(request, _ctx(request), linked=athlete)
    except UploadError as exc:
        jobs = _ctx(request).db.jobs(athlete.id, limit=100)
        return _page(request, token, athlete, "athlete_link.html", exc.status, jobs=jobs, error=exc.detail)
    return RedirectResponse(f"/a/{token}/jobs/{job.uid}", status_code=303)


@router.post("/a/{token}/api/jobs", status_code=201)
@streams_upload
async def upload_api(request: Request, token: str) -> JSONResponse:
    athlete = await _athlete(request, token)
    try:
        job = await accept(request, _ctx(request), linked=athlete)
    except UploadError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    page = f"/a/{token}/jobs/{job.uid}"
    return JSONResponse({"id": job.uid, "status": job.status, "links": {"page": page}}, status_code=201)


@router.get("/a/{token}/jobs/{uid}", response_class=HTMLResponse)
async def job_page(request: Request, token: str, uid: str) -> HTMLResponse:
    athlete = await _athlete(request, token)
    job = _job(request, athlete, uid)
    ctx = _ctx(request)  # the coach's comments on the reps are for the athlete to read
    return _page(request, token, athlete, "athlete_link_job.html", job=job, report=report_of(ctx, job),
                 comments=comments.by_rep(ctx.db, job.uid), video_base=f"/a/{token}")


@router.get("/a/{token}/jobs/{uid}/files/{name}")
async def result_file(request: Request, token: str, uid: str, name: str) -> FileResponse:
    athlete = await _athlete(request, token)
    job = _job(request, athlete, uid)
    if name not in RESULT_FILES or job.status != DONE:
        raise HTTPException(404, "no such file")
    path = result_dir(_ctx(request).settings, job.uid) / name
    if not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=RESULT_FILES[name])
