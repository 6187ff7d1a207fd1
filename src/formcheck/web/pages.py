"""The HTML pages: upload, a job (progress, then the report), athletes and an athlete's history."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ..hip_lines import hip_lines
from ..html_report import label
from ..profiles import ProfileError, load_profile
from ..report import Report
from . import comments, links, manage, speed_store
from .charts import Series, trend_svg
from .intake import AppContext, accept
from .limits import streams_upload
from .models import Athlete, Job
from .schemas import RowId, job_out
from .security import CSRF_FIELD, current
from .storage import UploadError, result_dir

# every page needs a login: without one the browser is sent to /login
router = APIRouter(include_in_schema=False, dependencies=[Depends(current)])
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


def _when(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M") if t else ""


def _num(v: Any, digits: int = 1, unit: str = "") -> str:
    return "–" if v is None else f"{v:.{digits}f}{unit}"


templates.env.filters["when"] = _when
templates.env.filters["num"] = _num
templates.env.filters["label"] = label


def ctx_of(request: Request) -> AppContext:
    return request.app.state.ctx


def coach_of(request: Request) -> int:
    return request.state.auth.coach.id


def page_context(request: Request) -> dict[str, Any]:
    """What base.html shows of the login: the coach's name, the forms' CSRF token (none: logged out)."""
    auth = getattr(request.state, "auth", None)
    return {"coach": auth.coach if auth else None, "csrf": auth.csrf if auth else None,
            "csrf_field": CSRF_FIELD}  # fmt: skip


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    ctx = ctx_of(request)
    base = {"max_upload_bytes": ctx.settings.max_upload_bytes, "variants": ctx.variants}
    return templates.TemplateResponse(request, name, base | page_context(request) | context,
                                      status_code=status_code)  # fmt: skip


def home_page(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = ctx_of(request)
    return render(
        request,
        "home.html",
        status_code,
        error=error,
        jobs=ctx.db.jobs(limit=15, coach_id=coach_of(request)),
        athletes=ctx.db.athletes(coach_of(request)),
        counts=ctx.db.counts(coach_of(request)),
        workers=ctx.settings.job_workers,
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return home_page(request)


@router.post("/upload")
@streams_upload
async def upload(request: Request) -> Any:
    """The form's non-script path (the page's script posts to /api/jobs instead)."""
    try:
        job = await accept(request, ctx_of(request))
    except UploadError as exc:
        return home_page(request, exc.detail, exc.status)
    return RedirectResponse(f"/jobs/{job.uid}", status_code=303)


def _job(request: Request, job_id: str) -> Job:
    job = ctx_of(request).db.job(job_id, coach_of(request)) if len(job_id) == 32 else None
    if job is None:
        raise HTTPException(404, "no such job")
    return job


def _athlete(request: Request, slug: str) -> Athlete:
    """The logged-in coach's athlete (another coach's is "no such athlete", as a missing one is)."""
    athlete = ctx_of(request).db.athlete_by_slug(slug, coach_of(request))
    if athlete is None:
        raise HTTPException(404, "no such athlete")
    return athlete


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    ctx = ctx_of(request)
    job = _job(request, job_id)
    position = ctx.db.queue_position(job) if job.status == "queued" else None
    done = ctx.db.jobs(status="done", limit=200, coach_id=coach_of(request))
    others = [j for j in done if j.uid != job.uid]  # what the comparison offers
    return render(request, "job.html", job=job, info=job_out(job, position), faults=job.faults or {},
                  report=report_of(ctx, job), comments=comments.by_rep(ctx.db, job.uid), others=others)


def report_of(ctx: AppContext, job: Job) -> Report | None:
    """A finished job's typed report (its per-rep figures the page shows), None if it cannot be read."""
    if job.status != "done":
        return None
    try:
        data = json.loads((result_dir(ctx.settings, job.uid) / "report.json").read_text(encoding="utf-8"))
        return Report.from_json_dict(data)
    except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
        return None


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, job_id: str) -> RedirectResponse:
    ctx = ctx_of(request)
    job = _job(request, job_id)
    if ctx.db.retry(job.uid) and ctx.workers is not None:
        ctx.workers.notify()
    return RedirectResponse(f"/jobs/{job.uid}", status_code=303)


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    titles = {
        403: "Refused",
        404: "Not found",
        405: "Not allowed",
        413: "Too large",
        415: "Not a video",
        422: "Cannot accept that",
    }
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": status_code,
            "detail": detail,
            "title": titles.get(status_code, "Something went wrong"),
        }
        | page_context(request),
        status_code=status_code,
    )


@router.get("/athletes", response_class=HTMLResponse)
def athletes_page(request: Request) -> HTMLResponse:
    return render(request, "athletes.html", athletes=ctx_of(request).db.athletes(coach_of(request)))


def hip_line_marks(variant: str | None) -> list[tuple[float, str]]:
    """The lockout and overextension lines of a variant's profile, as the reports draw them."""
    try:
        lines = hip_lines(load_profile(variant or "hip_thrust"))
    except ProfileError:
        lines = hip_lines(load_profile("hip_thrust"))
    names = {"lockout": "lockout line", "overextension": "overextension"}
    return [(v, f"{names[k]} {v:g}°") for k, v in lines.items() if v is not None]


def athlete_charts(jobs: list[Job], speeds: dict[str, speed_store.JobSpeed] | None = None
                   ) -> list[tuple[str, int, list[Markup]]]:  # fmt: skip
    """The trends, one group of charts per variant (a hip thrust's figures are never on a glute
    bridge's line): (variant, sessions, charts), the most used variant first."""
    done = sorted((j for j in jobs if j.status == "done"), key=lambda j: j.id)
    groups: dict[str, list[Job]] = {}
    for j in done:
        groups.setdefault(j.variant_used or "unknown", []).append(j)
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    return [(variant, len(js), variant_charts(js, speeds or {})) for variant, js in ordered] or [
        ("", 0, variant_charts([], {}))]


def variant_charts(done: list[Job], speeds: dict[str, speed_store.JobSpeed]) -> list[Markup]:
    labels = [_when(j.created_at) for j in done]  # date and time: two sessions a day stay apart
    hip_speed = [speeds[j.uid].mean_velocity_mps if j.uid in speeds else None for j in done]
    return [
        Markup(svg)
        for svg in (
            trend_svg("Reps per session", labels, [Series("reps", [j.rep_count for j in done])], digits=0,
                      include=(0.0,)),
            trend_svg(
                "Lockout: mean top hip angle (°)",
                labels,
                [Series("top", [j.mean_top_hip_deg for j in done])],
                unit="°",
                reference=(180.0, "straight line 180°"),
                lines=hip_line_marks(done[-1].variant_used if done else None),
                include=(150.0,),  # at least 30° below the line: a 2° wobble stays small
            ),
            trend_svg(
                "Tempo: mean seconds per phase",
                labels,
                [
                    Series("down", [j.mean_down_s for j in done]),
                    Series("up", [j.mean_up_s for j in done]),
                    Series("top pause", [j.mean_top_pause_s for j in done]),
                ],
                unit=" s",
                digits=2,
                include=(0.0,),
            ),
            trend_svg("Score (axis 0–100)", labels, [Series("score", [j.score for j in done])], digits=0,
                      include=(0.0, 100.0)),
            trend_svg("Rep speed: mean hip speed up (m/s)", labels, [Series("mean", hip_speed)],
                      unit=" m/s", digits=2, include=(0.0,)),
        )
    ]


@router.get("/athletes/{slug}", response_class=HTMLResponse)
def athlete_page(request: Request, slug: str) -> HTMLResponse:
    return _athlete_view(request, slug)


def _athlete_view(
    request: Request, slug: str, height_error: str | None = None, status_code: int = 200,
    new_link: str | None = None, link_error: str | None = None,
) -> HTMLResponse:
    ctx = ctx_of(request)
    athlete = _athlete(request, slug)
    jobs = ctx.db.jobs(athlete.id, limit=500)
    speeds = speed_store.job_speeds(ctx.db, [j.uid for j in jobs])
    others = [a for a, _, _ in ctx.db.athletes(coach_of(request)) if a.id != athlete.id]
    return render(request, "athlete.html", status_code, athlete=athlete, jobs=jobs, others=others,
                  charts=athlete_charts(jobs, speeds), speeds=speeds,
                  height_cm=speed_store.height_of(ctx.db, athlete.id), height_error=height_error,
                  links=[(k, links.is_live(k)) for k in links.links_of(ctx.db, athlete.id)],
                  new_link=new_link, link_error=link_error)


@router.post("/athletes/{slug}/height")
async def athlete_height(request: Request, slug: str) -> Any:
    """The athlete profile's height (cm): it scales rep speed in every later session."""
    ctx = ctx_of(request)
    athlete = _athlete(request, slug)
    form = await request.form()
    try:
        speed_store.set_height(ctx.db, athlete.id, speed_store.checked_height(form.get("height_cm")))
    except ValueError as exc:
        return _athlete_view(request, slug, height_error=str(exc), status_code=400)
    return RedirectResponse(f"/athletes/{slug}", status_code=303)


@router.post("/athletes/{slug}/links")
async def athlete_new_link(request: Request, slug: str) -> HTMLResponse:
    """A private upload link for the athlete: its URL is shown on this page once."""
    ctx = ctx_of(request)
    athlete = _athlete(request, slug)
    form = await request.form()
    try:
        days = links.checked_days(form.get("days"))
    except ValueError as exc:
        return _athlete_view(request, slug, link_error=str(exc), status_code=400)
    token, _ = links.new_link(ctx.db, athlete.id, days)
    return _athlete_view(request, slug, new_link=f"{request.base_url}a/{token}")


@router.post("/athletes/{slug}/links/{link_id}/revoke")
def athlete_revoke_link(request: Request, slug: str, link_id: RowId) -> RedirectResponse:
    ctx = ctx_of(request)
    athlete = _athlete(request, slug)
    links.revoke(ctx.db, athlete.id, link_id)
    return RedirectResponse(f"/athletes/{slug}", status_code=303)


async def _confirmed_form(request: Request, what: str) -> Any:
    """The form, once its "yes, delete/merge" box is ticked (the pages' confirmation, no script needed)."""
    form = await request.form()
    if form.get("confirm") != "yes":
        raise HTTPException(422, f"tick the box to confirm: {what} cannot be undone")
    return form


def _managed(action):  # noqa: ANN001, ANN202 (a call that may raise ManageError)
    try:
        return action()
    except manage.ManageError as exc:
        raise HTTPException(exc.status, exc.detail) from exc


@router.post("/jobs/{job_id}/delete")
async def delete_job(request: Request, job_id: str) -> RedirectResponse:
    ctx = ctx_of(request)
    job = _job(request, job_id)
    await _confirmed_form(request, "deleting a session")
    _managed(lambda: manage.delete_job(ctx.db, ctx.settings, job.uid, coach_of(request)))
    return RedirectResponse(f"/athletes/{job.athlete.slug}", status_code=303)


@router.post("/jobs/{job_id}/note")
async def edit_note(request: Request, job_id: str) -> RedirectResponse:
    ctx = ctx_of(request)
    job = _job(request, job_id)
    form = await request.form()
    _managed(lambda: manage.edit_note(ctx.db, job.uid, form.get("note"), coach_of(request)))
    return RedirectResponse(f"/jobs/{job.uid}", status_code=303)


@router.post("/athletes/{slug}/delete")
async def delete_athlete(request: Request, slug: str) -> RedirectResponse:
    ctx = ctx_of(request)
    await _confirmed_form(request, "deleting an athlete and all their sessions")
    _managed(lambda: manage.delete_athlete(ctx.db, ctx.settings, slug, coach_of(request)))
    return RedirectResponse("/athletes", status_code=303)


@router.post("/athletes/{slug}/rename")
async def rename_athlete(request: Request, slug: str) -> RedirectResponse:
    ctx = ctx_of(request)
    form = await request.form()
    athlete = _managed(lambda: manage.rename_athlete(ctx.db, slug, form.get("name"), coach_of(request)))
    return RedirectResponse(f"/athletes/{athlete.slug}", status_code=303)


@router.post("/athletes/{slug}/merge")
async def merge_athlete(request: Request, slug: str) -> RedirectResponse:
    ctx = ctx_of(request)
    form = await _confirmed_form(request, "merging two athletes")
    into = str(form.get("into", ""))
    athlete = _managed(lambda: manage.merge_athletes(ctx.db, slug, into, coach_of(request)))
    return RedirectResponse(f"/athletes/{athlete.slug}", status_code=303)
