"""The web app's tables: athletes, stored clips and analysis jobs (one job = one session), and the
job states. The operations on them (uploads, the queue, reads) are db.Database; the other tables
live beside the code that uses them (accounts, links, comments, speed_store), on the same Base."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime, timezone

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .columns import FaultCounts, UTCDateTime

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
MAX_NAME = 100


# control, format, surrogate, private-use and unassigned characters: not part of a person's name
NOT_TEXT = ("Cc", "Cf", "Cs", "Co", "Cn")


# what a decoder puts for bytes that were not UTF-8 (a form's "%FF" arrives as this)
NOT_UTF8 = "\ufffd"


MAX_NOTE = 500


def not_text(name: str) -> bool:
    """True when a name has characters that are not text (a bell, a NUL, a direction override,
    bytes that were not UTF-8)."""
    return NOT_UTF8 in name or any(unicodedata.category(c) in NOT_TEXT for c in name)


def athlete_name(raw: str) -> str:
    """An athlete's name as it is filed (NFC, single spaces), from an upload or a rename alike;
    ValueError with the reason when it cannot be one."""
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text:
        raise ValueError("name the athlete: the name is empty")
    if not_text(text):
        raise ValueError("the athlete's name has characters that are not text (control or unassigned)")
    if len(text) > MAX_NAME:
        raise ValueError(f"the athlete's name is longer than {MAX_NAME} characters")
    return text


def note_text(raw: str) -> str:
    """A session's note as it is stored (single spaces), from an upload or an edit alike; ValueError
    with the reason when it cannot be one."""
    text = " ".join(raw.split())
    if NOT_UTF8 in text:  # a page form's bytes that were not UTF-8, decoded as replacement marks
        raise ValueError("the note is not UTF-8 text")
    if len(text) > MAX_NOTE:
        raise ValueError(f"the note is longer than {MAX_NOTE} characters")
    return text


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Athlete(Base):
    __tablename__ = "athletes"
    # one coach's "Sam Lee" is not another's: the slug is unique per coach
    __table_args__ = (Index("uq_athletes_coach_slug", "coach_id", "slug", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(MAX_NAME + 12), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # the coach who owns the athlete (users.id); NULL only in a database from before accounts,
    # until its first admin is created (accounts.add_user)
    coach_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class Clip(Base):
    """An uploaded video, stored once per content (its sha256 names the file)."""

    __tablename__ = "clips"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    container: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(
        String(80)
    )  # under DATA/clips: "<sha256><ext>", never a user's name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # queue order
    uid: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=lambda: uuid.uuid4().hex)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id"), index=True)
    clip_sha256: Mapped[str] = mapped_column(ForeignKey("clips.sha256"))
    display_name: Mapped[str] = mapped_column(String(255))  # the uploaded file's name: text, never a path
    variant: Mapped[str] = mapped_column(String(64), default="auto")
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    stage: Mapped[str] = mapped_column(String(80), default="waiting for a worker")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    warning: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the report's summary, kept here for the athlete's history (the report itself is a file)
    variant_used: Mapped[str | None] = mapped_column(String(64), nullable=True)
    view: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rep_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mean_top_hip_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_up_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_down_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_top_pause_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    faults: Mapped[dict[str, int] | None] = mapped_column(FaultCounts, nullable=True)
    job_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)

    athlete: Mapped[Athlete] = relationship(lazy="joined")


SUMMARY_FIELDS = (
    "variant_used",
    "view",
    "rep_count",
    "mean_top_hip_deg",
    "mean_up_s",
    "mean_down_s",
    "mean_top_pause_s",
    "score",
    "duration_s",
    "faults",
    "job_seconds",
)


def slugify(name: str) -> str:
    """A URL-safe key for an athlete's name; names that differ only in case or accents are one athlete."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:MAX_NAME]
    if slug:
        return slug
    # a name with no Latin letters at all still needs a stable key
    return "athlete-" + uuid.uuid5(uuid.NAMESPACE_URL, name.casefold()).hex[:10]
