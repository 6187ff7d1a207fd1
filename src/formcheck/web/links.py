"""Athletes' private upload links: `/a/<token>` lets one athlete upload their own clips and read
their own reports, without an account. The token is long and random, shown once, stored only as
its SHA-256; the coach revokes it (or gives it an expiry) and it stops at once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .accounts import User, digest
from .columns import UTCDateTime
from .db import Database
from .models import Athlete, Base, now

MAX_DAYS = 3650


class AthleteLink(Base):
    __tablename__ = "athlete_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athletes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def checked_days(value: object) -> int | None:
    """Days until a link expires, from a form or JSON (None or "": never); ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        days = int(str(value))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a link lasts 1 to {MAX_DAYS} days, or leave it empty for no expiry")
    return days


def new_link(db: Database, athlete_id: int, days: int | None = None) -> tuple[str, AthleteLink]:
    """A new link's token (shown once) and its row."""
    token = secrets.token_urlsafe(32)
    expires = now() + timedelta(days=days) if days else None
    with db.session() as s:
        link = AthleteLink(token_sha256=digest(token), athlete_id=athlete_id, expires_at=expires)
        s.add(link)
        s.flush()
        s.refresh(link)
        return token, link


def links_of(db: Database, athlete_id: int) -> list[AthleteLink]:
    with db.session() as s:
        q = select(AthleteLink).where(AthleteLink.athlete_id == athlete_id).order_by(AthleteLink.id.desc())
        return list(s.scalars(q))


def revoke(db: Database, athlete_id: int, link_id: int) -> bool:
    """False when the athlete has no such link (or it was revoked already)."""
    with db.session() as s:
        res = s.execute(
            update(AthleteLink)
            .where(AthleteLink.id == link_id, AthleteLink.athlete_id == athlete_id,
                   AthleteLink.revoked_at.is_(None))
            .values(revoked_at=now())
        )  # fmt: skip
        return res.rowcount == 1


def athlete_of(db: Database, token: str) -> Athlete | None:
    """The athlete a live link belongs to (None: unknown, revoked, expired, or its coach removed: the
    removed coach's athletes are kept, unreachable, and nothing more is uploaded to their account)."""
    if not token or len(token) > 100:
        return None
    with db.session() as s:
        return s.scalar(
            select(Athlete)
            .join(AthleteLink, AthleteLink.athlete_id == Athlete.id)
            .join(User, User.id == Athlete.coach_id)
            .where(AthleteLink.token_sha256 == digest(token), AthleteLink.revoked_at.is_(None),
                   (AthleteLink.expires_at.is_(None)) | (AthleteLink.expires_at > now()), User.active)
        )  # fmt: skip


def is_live(link: AthleteLink) -> bool:
    return link.revoked_at is None and (link.expires_at is None or link.expires_at > now())
