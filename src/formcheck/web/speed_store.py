"""Rep speed in the web app: an athlete's height (their profile) and each session's hip speed.

Two tables of their own beside models.py's (made by the migrations, like every table). The height
scales rep speed in metres (formcheck.speed); without one the pose model's 3D landmarks do, and
the report says which.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..report import Report
from ..speed import HEIGHT_CM
from .db import Database
from .models import Base, Job


class AthleteHeight(Base):
    __tablename__ = "athlete_heights"
    athlete_id: Mapped[int] = mapped_column(Integer, ForeignKey("athletes.id"), primary_key=True)
    height_cm: Mapped[float] = mapped_column(Float)


class JobSpeed(Base):
    __tablename__ = "job_speeds"
    job_uid: Mapped[str] = mapped_column(String(32), primary_key=True)
    mean_velocity_mps: Mapped[float | None] = mapped_column(Float, nullable=True)
    velocity_loss_pct: Mapped[float | None] = mapped_column(Float, nullable=True)


def checked_height(value: Any) -> float | None:
    """A height in cm from a form or JSON (None or "" clears it); ValueError outside 100-250."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        cm = float(value)
    except (TypeError, ValueError):
        cm = math.nan
    if not HEIGHT_CM[0] <= cm <= HEIGHT_CM[1]:
        raise ValueError(f"height must be a number of cm from {HEIGHT_CM[0]:g} to {HEIGHT_CM[1]:g}")
    return cm


def set_height(db: Database, athlete_id: int, height_cm: float | None) -> None:
    with db.session() as s:
        row = s.get(AthleteHeight, athlete_id)
        if height_cm is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(AthleteHeight(athlete_id=athlete_id, height_cm=height_cm))
        else:
            row.height_cm = height_cm


def height_of(db: Database, athlete_id: int) -> float | None:
    with db.session() as s:
        row = s.get(AthleteHeight, athlete_id)
        return row.height_cm if row else None


def height_for_job(db: Database, uid: str) -> float | None:
    """The height of the athlete a job belongs to (what the job runner scales speeds with)."""
    with db.session() as s:
        q = select(AthleteHeight.height_cm).join(Job, Job.athlete_id == AthleteHeight.athlete_id)
        return s.scalar(q.where(Job.uid == uid))


def speed_summary(report: Report) -> dict[str, float | None]:
    """A session's figures for the trends: mean concentric hip speed over its reps, and the first
    set's velocity loss."""
    means = [r.speed.mean_mps for r in report.reps if r.speed and r.speed.mean_mps is not None]
    losses = [s.velocity_loss_pct for s in report.sets if s.velocity_loss_pct is not None]
    return {
        "mean_velocity_mps": round(sum(means) / len(means), 3) if means else None,
        "velocity_loss_pct": losses[0] if losses else None,
    }


def record(db: Database, uid: str, summary: dict[str, Any]) -> None:
    """Keep a finished job's speed figures (from the runner's summary) for the athlete's trends."""
    with db.session() as s:
        row = s.get(JobSpeed, uid) or JobSpeed(job_uid=uid)
        row.mean_velocity_mps = summary.get("mean_velocity_mps")
        row.velocity_loss_pct = summary.get("velocity_loss_pct")
        s.add(row)


def job_speeds(db: Database, uids: list[str]) -> dict[str, JobSpeed]:
    with db.session() as s:
        rows = s.scalars(select(JobSpeed).where(JobSpeed.job_uid.in_(uids))).all() if uids else []
        return {r.job_uid: r for r in rows}
