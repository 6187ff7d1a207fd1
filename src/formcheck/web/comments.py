"""A coach's comments on a session's reps ("hips sag at the top of rep 3"): stored per job and rep,
shown on the coach's job page and on the athlete's own link page. Reached only through a job the
caller may see (the routes check that), so a comment is as private as its session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from .columns import UTCDateTime
from .db import Database
from .models import NOT_UTF8, Base, now

MAX_TEXT = 1000


class RepComment(Base):
    __tablename__ = "rep_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the job's uid, as job_speeds keys it: a merge moves the job, and its comments with it
    job_uid: Mapped[str] = mapped_column(String(32), index=True)
    rep: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(Integer)  # users.id of the coach who wrote it
    text: Mapped[str] = mapped_column(String(MAX_TEXT))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


def checked(text: object, rep: object, rep_count: int | None) -> tuple[str, int]:
    """The comment's text and rep, or ValueError with the reason (an empty text, an unknown rep)."""
    clean = " ".join(str(text or "").split()) if isinstance(text, str) else ""
    if not clean or len(clean) > MAX_TEXT or NOT_UTF8 in clean:  # NOT_UTF8: a form's bytes not in UTF-8
        raise ValueError(f"a comment is 1-{MAX_TEXT} characters of text")
    try:
        number = int(str(rep))
    except ValueError:
        number = 0
    if not rep_count or not 1 <= number <= rep_count:
        raise ValueError(f"no rep {str(rep)[:10]!r} in this session (it has {rep_count or 0})")
    return clean, number


def add(db: Database, job_uid: str, rep: int, author_id: int, text: str) -> RepComment:
    with db.session() as s:
        comment = RepComment(job_uid=job_uid, rep=rep, author_id=author_id, text=text)
        s.add(comment)
        s.flush()
        s.refresh(comment)
        return comment


def of_job(db: Database, job_uid: str) -> list[RepComment]:
    """The session's comments, by rep then in the order written."""
    with db.session() as s:
        q = select(RepComment).where(RepComment.job_uid == job_uid)
        return list(s.scalars(q.order_by(RepComment.rep, RepComment.id)))


def by_rep(db: Database, job_uid: str) -> dict[int, list[RepComment]]:
    out: dict[int, list[RepComment]] = {}
    for c in of_job(db, job_uid):
        out.setdefault(c.rep, []).append(c)
    return out


def remove(db: Database, job_uid: str, comment_id: int) -> bool:
    """False when the session has no such comment."""
    with db.session() as s:
        res = s.execute(delete(RepComment).where(RepComment.id == comment_id, RepComment.job_uid == job_uid))
        return res.rowcount == 1


def remove_for_jobs(s, uids: list[str]) -> None:  # noqa: ANN001 (a Session inside manage's transaction)
    s.execute(delete(RepComment).where(RepComment.job_uid.in_(uids)))
