"""The JSON API (/api/...) and the result files, documented in the app's OpenAPI schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from ..variants import AUTO
from . import links, manage, speed_store
from .intake import AppContext, accept
from .limits import streams_upload
from .models import DONE, FAILED, STATUSES, Job
from .schemas import (
    AthleteDetail,
    AthleteOut,
    ErrorOut,
    JobOut,
    RowId,
    Variants,
    athlete_out,
    job_out,
    trend,
)
from .security import current
from .storage import RESULT_FILES, UploadError, clip_path, result_dir

# every route here needs a login (session cookie or API token): 401 without one
router = APIRouter(dependencies=[Depends(current)], responses={401: {"model": ErrorOut}})
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "empty clip, or a body that is not well-formed multipart"},
    403: {"model": ErrorOut, "description": "sent from another site, or a stale CSRF token"},
    413: {"model": ErrorOut, "description": "the clip is larger than the server's upload limit"},
    415: {"model": ErrorOut, "description": "the body is not multipart/form-data, or its clip is not a video"
          " (checked by content, not by name)"},
    422: {
        "model": ErrorOut,
        "description": "athlete missing, names that are not UTF-8 text, the clip under another field"
        " name than 'file', unknown variant, or a clip that cannot be decoded",
    },
}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "athlete"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "the video (any common container)",
                    },
                    "athlete": {
                        "type": "string",
                        "maxLength": 100,
                        "description": "who is lifting; new names are added",
                    },
                    "variant": {"type": "string", "default": AUTO, "description": "see GET /api/variants"},
                    "note": {
                        "type": "string",
                        "maxLength": 500,
                        "description": "free text, e.g. load and set",
                    },
                },
            }
        }
    },
}


def ctx_of(request: Request) -> AppContext:
    return request.app.state.ctx


def coach_of(request: Request) -> int:
    """The logged-in coach's id: every read and write below is limited to their athletes."""
    return request.state.auth.coach.id


def find_job(ctx: AppContext, job_id: str, coach: int) -> Job:
    """The coach's job; another coach's is "no job" (404), as if it did not exist."""
    job = ctx.db.job(job_id, coach) if len(job_id) == 32 else None
    if job is None:
        raise HTTPException(404, f"no job {job_id[:40]!r}")
    return job


def describe(ctx: AppContext, job: Job) -> JobOut:
    return job_out(job, ctx.db.queue_position(job) if job.status == "queued" else None)


@router.post(
    "/api/jobs",
    status_code=201,
    response_model=JobOut,
    responses=ERRORS,
    tags=["jobs"],
    summary="Upload a clip for an athlete and queue its analysis",
    openapi_extra={"requestBody": UPLOAD_BODY},
)
@streams_upload
async def create_job(request: Request) -> JobOut | JSONResponse:
    ctx = ctx_of(request)
    try:
        job = await accept(request, ctx)
    except UploadError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    return describe(ctx, job)


@router.get("/api/jobs", response_model=list[JobOut], tags=["jobs"], summary="Jobs, newest first")
def list_jobs(
    request: Request,
    athlete: str | None = Query(None, description="an athlete's slug"),
    status: str | None = Query(None, description="queued, running, done or failed"),
    limit: int = Query(50, ge=1, le=500),
) -> list[JobOut]:
    ctx = ctx_of(request)
    if status is not None and status not in STATUSES:
        raise HTTPException(422, f"unknown status {status[:20]!r}; known: {', '.join(STATUSES)}")
    athlete_id = None
    if athlete is not None:
        found = ctx.db.athlete_by_slug(athlete, coach_of(request))
        if found is None:
            raise HTTPException(404, f"no athlete {athlete[:60]!r}")
        athlete_id = found.id
    return [describe(ctx, j) for j in ctx.db.jobs(athlete_id, status, limit, coach_id=coach_of(request))]


@router.get(
    "/api/jobs/{job_id}",
    response_model=JobOut,
    responses={404: {"model": ErrorOut}},
    tags=["jobs"],
    summary="A job's status, progress and summary",
)
def get_job(request: Request, job_id: str) -> JobOut:
    ctx = ctx_of(request)
    return describe(ctx, find_job(ctx, job_id, coach_of(request)))


@router.post(
    "/api/jobs/{job_id}/retry",
    response_model=JobOut,
    tags=["jobs"],
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
    summary="Queue a failed job again",
)
def retry_job(request: Request, job_id: str) -> JobOut:
    ctx = ctx_of(request)
    job = find_job(ctx, job_id, coach_of(request))
    if job.status != FAILED or not ctx.db.retry(job.uid):
        raise HTTPException(409, f"only a failed job can be retried; this one is {job.status}")
    if ctx.workers is not None:
        ctx.workers.notify()
    return describe(ctx, find_job(ctx, job_id, coach_of(request)))


@router.get(
    "/api/jobs/{job_id}/report",
    tags=["jobs"],
    summary="The analysis report (formcheck.report/1)",
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def get_report(request: Request, job_id: str) -> FileResponse:
    return result_file(request, job_id, "report.json")


@router.get(
    "/api/athletes",
    response_model=list[AthleteOut],
    tags=["athletes"],
    summary="Athletes, most recent upload first",
)
def list_athletes(request: Request) -> list[AthleteOut]:
    return [athlete_out(a, n, last) for a, n, last in ctx_of(request).db.athletes(coach_of(request))]


@router.get(
    "/api/athletes/{slug}",
    response_model=AthleteDetail,
    responses={404: {"model": ErrorOut}},
    tags=["athletes"],
    summary="An athlete's sessions and their trend",
)
def get_athlete(request: Request, slug: str) -> AthleteDetail:
    ctx = ctx_of(request)
    athlete = ctx.db.athlete_by_slug(slug, coach_of(request))
    if athlete is None:
        raise HTTPException(404, f"no athlete {slug[:60]!r}")
    jobs = ctx.db.jobs(athlete.id, limit=500)
    last = max((j.created_at for j in jobs), default=None)
    base = athlete_out(athlete, len(jobs), last)
    return AthleteDetail(**base.model_dump(), jobs=[describe(ctx, j) for j in jobs], trend=trend(jobs))


@router.put(
    "/api/athletes/{slug}/height",
    tags=["athletes"],
    summary="Set (or clear with null) an athlete's height in cm (100-250): it scales rep speed",
)
def put_height(request: Request, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = ctx_of(request)
    athlete = ctx.db.athlete_by_slug(slug, coach_of(request))
    if athlete is None:
        raise HTTPException(404, f"no athlete {slug[:60]!r}")
    try:
        height = speed_store.checked_height(body.get("height_cm"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    speed_store.set_height(ctx.db, athlete.id, height)
    return {"slug": athlete.slug, "height_cm": height}


def _athlete_or_404(request: Request, slug: str):
    athlete = ctx_of(request).db.athlete_by_slug(slug, coach_of(request))
    if athlete is None:
        raise HTTPException(404, f"no athlete {slug[:60]!r}")
    return athlete


def _link_out(link: links.AthleteLink) -> dict[str, Any]:
    return {"id": link.id, "created_at": link.created_at, "expires_at": link.expires_at,
            "revoked_at": link.revoked_at, "live": links.is_live(link)}  # fmt: skip


@router.post(
    "/api/athletes/{slug}/links",
    status_code=201,
    tags=["athletes"],
    summary="A private upload link for the athlete ({'days': N} for an expiry); its URL is shown once",
)
def new_link(request: Request, slug: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    athlete = _athlete_or_404(request, slug)
    try:
        days = links.checked_days((body or {}).get("days"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    token, link = links.new_link(ctx_of(request).db, athlete.id, days)
    return _link_out(link) | {"url": f"/a/{token}"}


@router.get("/api/athletes/{slug}/links", tags=["athletes"], summary="The athlete's upload links")
def list_links(request: Request, slug: str) -> list[dict[str, Any]]:
    athlete = _athlete_or_404(request, slug)
    return [_link_out(link) for link in links.links_of(ctx_of(request).db, athlete.id)]


@router.delete("/api/athletes/{slug}/links/{link_id}", tags=["athletes"], summary="Revoke an upload link")
def revoke_link(request: Request, slug: str, link_id: RowId) -> dict[str, Any]:
    athlete = _athlete_or_404(request, slug)
    if not links.revoke(ctx_of(request).db, athlete.id, link_id):
        raise HTTPException(404, f"no live link {link_id} for this athlete")
    return {"id": link_id, "revoked": True}


def _managed(action):  # noqa: ANN001, ANN202 (a call that may raise ManageError)
    try:
        return action()
    except manage.ManageError as exc:
        raise HTTPException(exc.status, exc.detail) from exc


@router.delete("/api/jobs/{job_id}", tags=["jobs"], summary="Delete a session: its row, results and clip")
def delete_job(request: Request, job_id: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    _managed(lambda: manage.delete_job(ctx.db, ctx.settings, job_id, coach_of(request)))
    return {"id": job_id, "deleted": True}


@router.patch("/api/jobs/{job_id}", response_model=JobOut, tags=["jobs"], summary="Edit a session's note")
def patch_job(request: Request, job_id: str, body: dict[str, Any]) -> JobOut:
    ctx = ctx_of(request)
    _managed(lambda: manage.edit_note(ctx.db, job_id, body.get("note"), coach_of(request)))
    return describe(ctx, find_job(ctx, job_id, coach_of(request)))


@router.delete("/api/athletes/{slug}", tags=["athletes"], summary="Delete an athlete and all their sessions")
def delete_athlete(request: Request, slug: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    n = _managed(lambda: manage.delete_athlete(ctx.db, ctx.settings, slug, coach_of(request)))
    return {"slug": slug, "deleted": True, "sessions": n}


@router.patch("/api/athletes/{slug}", tags=["athletes"], summary="Rename an athlete ({'name': ...})")
def rename_athlete(request: Request, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = ctx_of(request)
    athlete = _managed(lambda: manage.rename_athlete(ctx.db, slug, body.get("name"), coach_of(request)))
    return {"name": athlete.name, "slug": athlete.slug}


@router.post("/api/athletes/{slug}/merge", tags=["athletes"],
             summary="Move every session of this athlete to another ({'into': slug}) and remove this one")
def merge_athlete(request: Request, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = ctx_of(request)
    into = str(body.get("into", ""))
    athlete = _managed(lambda: manage.merge_athletes(ctx.db, slug, into, coach_of(request)))
    return {"name": athlete.name, "slug": athlete.slug}


@router.get("/api/variants", response_model=Variants, tags=["meta"], summary="Variants a job can ask for")
def variants(request: Request) -> Variants:
    return Variants(default=AUTO, names=ctx_of(request).variants)


@router.get(
    "/jobs/{job_id}/files/{name}",
    tags=["files"],
    summary="A finished job's result file",
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def result_file(request: Request, job_id: str, name: str, download: bool = False) -> FileResponse:
    ctx = ctx_of(request)
    job = find_job(ctx, job_id, coach_of(request))
    if name not in RESULT_FILES:  # a fixed set of names: nothing from the URL reaches a path
        raise HTTPException(404, f"no result file {name[:40]!r}; there are {', '.join(RESULT_FILES)}")
    if job.status != DONE:
        raise HTTPException(409, f"the job is {job.status}, its results are not ready")
    path = result_dir(ctx.settings, job.uid) / name
    if not path.is_file():
        raise HTTPException(404, f"{name} is missing from this job's results")
    stem = job.display_name.rsplit(".", 1)[0] or "clip"
    filename = f"{stem}.{name}" if download else None
    return FileResponse(
        path,
        media_type=RESULT_FILES[name],
        filename=filename,
        content_disposition_type="attachment" if download else "inline",
    )


@router.get(
    "/jobs/{job_id}/clip", tags=["files"], summary="The uploaded clip", responses={404: {"model": ErrorOut}}
)
def original_clip(request: Request, job_id: str) -> FileResponse:
    ctx = ctx_of(request)
    job = find_job(ctx, job_id, coach_of(request))
    clip = ctx.db.clip(job.clip_sha256)
    path = clip_path(ctx.settings, clip.file_name) if clip is not None else None
    if path is None or not path.is_file():
        raise HTTPException(404, "the clip is missing from the data dir")
    return FileResponse(path, filename=job.display_name, content_disposition_type="attachment")
