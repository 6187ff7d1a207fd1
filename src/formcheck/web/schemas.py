"""The JSON API's shapes (they make its OpenAPI schema), and the conversions from database rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from .models import DONE, Athlete, Job
from .storage import RESULT_FILES

# a row id in a URL (a link, a comment): bounded to the database's INTEGER (32-bit on PostgreSQL),
# so a longer number is a 422 with a reason, not an overflow in the driver (a 500)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Progress(BaseModel):
    stage: str = Field(description="what the job is doing now")
    done: int = Field(description="frames the pose model has read")
    total: int = Field(description="frames in the clip (0 until known)")
    fraction: float | None = Field(description="done / total, null until known")
    queue_position: int | None = Field(None, description="queued jobs ahead of this one (queued jobs only)")


class Summary(BaseModel):
    variant: str | None = Field(description="the variant analysed (detected when 'auto' was asked for)")
    view: str | None
    rep_count: int | None
    mean_top_hip_deg: float | None = Field(description="lockout: mean top hip angle, 180 = straight line")
    mean_up_s: float | None
    mean_down_s: float | None = Field(description="tempo: mean descent time")
    mean_top_pause_s: float | None
    score: float | None
    duration_s: float | None
    faults: dict[str, int] = Field(description="fault code -> how many times it was found")


class JobOut(BaseModel):
    id: str
    status: str = Field(description="queued, running, done or failed")
    athlete: str
    athlete_slug: str
    file_name: str = Field(description="the uploaded file's name, as text")
    variant: str = Field(description="the variant asked for")
    note: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    progress: Progress
    error: str | None = Field(description="why the job failed (one line)")
    error_code: int | None = Field(description="formcheck's error code (as `formcheck analyze` exits)")
    warning: str | None = Field(description="done, but with a caveat (e.g. the clip ends early)")
    summary: Summary | None
    links: dict[str, str] = Field(description="page, report JSON, CSV, HTML report, annotated clip, original")
    seconds: float | None = Field(description="how long the analysis took")


class AthleteOut(BaseModel):
    name: str
    slug: str
    sessions: int
    last_upload: datetime | None
    links: dict[str, str]


class TrendPoint(BaseModel):
    id: str
    date: datetime
    variant: str | None = Field(description="the variant analysed: a trend line never mixes variants")
    note: str
    rep_count: int | None
    mean_top_hip_deg: float | None
    mean_down_s: float | None
    mean_up_s: float | None
    score: float | None


class AthleteDetail(AthleteOut):
    jobs: list[JobOut]
    trend: list[TrendPoint] = Field(description="finished sessions, oldest first")


class Variants(BaseModel):
    default: str
    names: list[str]


class ErrorOut(BaseModel):
    detail: str


def job_links(job: Job) -> dict[str, str]:
    links = {"page": f"/jobs/{job.uid}", "api": f"/api/jobs/{job.uid}", "clip": f"/jobs/{job.uid}/clip"}
    if job.status == DONE:
        links |= {name.replace(".", "_"): f"/jobs/{job.uid}/files/{name}" for name in RESULT_FILES}
    return links


def job_out(job: Job, queue_position: int | None = None) -> JobOut:
    total = job.progress_total or 0
    summary = None
    if job.status == DONE:
        summary = Summary(
            variant=job.variant_used,
            view=job.view,
            rep_count=job.rep_count,
            mean_top_hip_deg=job.mean_top_hip_deg,
            mean_up_s=job.mean_up_s,
            mean_down_s=job.mean_down_s,
            mean_top_pause_s=job.mean_top_pause_s,
            score=job.score,
            duration_s=job.duration_s,
            faults=dict(job.faults or {}),
        )
    return JobOut(
        id=job.uid,
        status=job.status,
        athlete=job.athlete.name,
        athlete_slug=job.athlete.slug,
        file_name=job.display_name,
        variant=job.variant,
        note=job.note,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        progress=Progress(
            stage=job.stage,
            done=job.progress_done,
            total=total,
            fraction=min(1.0, job.progress_done / total) if total else None,
            queue_position=queue_position,
        ),
        error=job.error,
        error_code=job.error_code,
        warning=job.warning,
        summary=summary,
        links=job_links(job),
        seconds=job.job_seconds,
    )


def athlete_out(athlete: Athlete, sessions: int, last: datetime | None) -> AthleteOut:
    return AthleteOut(
        name=athlete.name,
        slug=athlete.slug,
        sessions=sessions,
        last_upload=last,
        links={"page": f"/athletes/{athlete.slug}", "api": f"/api/athletes/{athlete.slug}"},
    )


def trend(jobs: list[Job]) -> list[TrendPoint]:
    """Finished sessions, oldest first."""
    done = sorted((j for j in jobs if j.status == DONE), key=lambda j: j.id)
    return [
        TrendPoint(
            id=j.uid,
            date=j.created_at,
            variant=j.variant_used,
            note=j.note,
            rep_count=j.rep_count,
            mean_top_hip_deg=j.mean_top_hip_deg,
            mean_down_s=j.mean_down_s,
            mean_up_s=j.mean_up_s,
            score=j.score,
        )
        for j in done
    ]
