"""Coach accounts: users, their login sessions and API tokens.

Passwords are hashed with argon2id (argon2-cffi, its current default parameters); sessions and
API tokens are long random strings handed out once, and only their SHA-256 is stored, so a copy
of the database lets no one log in. A session is a row (not a signed cookie) so logout and a
password change end it at once. Each coach owns their athletes (athletes.coach_id); everything
else (jobs, clips, results) is reached through an athlete.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, false, func, or_, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from .columns import UTCDateTime
from .db import Database
from .models import NOT_UTF8, Athlete, Base, now

MAX_LOGIN = 100
MIN_PASSWORD = 10
SESSION_DAYS = 14
TOKEN_PREFIX = "fc_"
_hasher = PasswordHasher()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_LOGIN), unique=True)  # the login, as typed (NFKC)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class LoginSession(Base):
    __tablename__ = "login_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the forms' CSRF token for this session
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AccountError(ValueError):
    """A name, email or password that cannot be used (the message says why)."""


class FirstCoachExists(AccountError):
    """The first-run page was too late: another request made the first coach."""


@dataclass(frozen=True)
class Coach:
    """Who a request acts for (a plain copy of the user row, safe to pass between threads)."""

    id: int
    name: str
    email: str | None
    is_admin: bool


def _coach(u: User) -> Coach:
    return Coach(u.id, u.name, u.email, u.is_admin)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_login(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).strip()
    odd = any(unicodedata.category(c)[0] in "CZ" and c != " " for c in text)  # control, odd spaces
    odd = odd or NOT_UTF8 in text  # a form's bytes that were not UTF-8
    if not text or len(text) > MAX_LOGIN or odd:
        raise AccountError(f"a login name is 1-{MAX_LOGIN} printable characters")
    return text


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("a password has at most 1024 characters")
    return password


# ------------------------------------------------------------------ users


def users(db: Database) -> list[Coach]:
    with db.session() as s:
        return [_coach(u) for u in s.scalars(select(User).where(User.active).order_by(User.id))]


def count_users(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(User).where(User.active)) or 0)


def _lock_users(s) -> None:  # noqa: ANN001 (a Session)
    """Hold the right to add coaches until this transaction ends, so a check that no coach exists
    stays true up to the insert (the first-run page under concurrent posts)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite: any write takes the database's single write lock, held to the commit
        s.execute(update(User).where(false()).values(active=User.active))


def add_user(
    db: Database,
    name: str,
    password: str,
    email: str | None = None,
    admin: bool = False,
    only_first: bool = False,
) -> Coach:
    """A new coach. The first account is always an admin, and takes over every athlete that has
    no coach yet (the data of a formcheck from before accounts). only_first: AccountError when a
    coach exists already, decided atomically (two first-run posts at once make one coach)."""
    login = clean_login(name)
    mail = email.strip().lower() if email and email.strip() else None
    if mail is not None and ("@" not in mail or len(mail) > 254):
        raise AccountError(f"not an email address: {mail[:60]!r}")
    hashed = _hasher.hash(check_password(password))
    with db.session() as s:
        if only_first:
            _lock_users(s)
            if s.scalar(select(func.count()).select_from(User).where(User.active)):
                raise FirstCoachExists("there is a coach account already: log in (/login)")
        clash = s.scalar(select(User).where(or_(func.lower(User.name) == login.lower(),
                                                 User.email == (mail or login.lower()))))  # fmt: skip
        if clash is not None and not clash.active:  # listed nowhere, so "already a coach" would puzzle
            raise AccountError(
                f"{login!r} is the name of a removed coach, whose athletes and sessions are kept under it:"
                " choose another name"
            )
        if clash is not None:
            raise AccountError(f"there is already a coach {login!r}")
        first = not s.scalar(select(func.count()).select_from(User).where(User.is_admin))
        user = User(name=login, email=mail, password_hash=hashed, is_admin=admin or first)
        s.add(user)
        s.flush()
        if user.is_admin and first:
            s.execute(update(Athlete).where(Athlete.coach_id.is_(None)).values(coach_id=user.id))
        return _coach(user)


def find_user(db: Database, login: str) -> Coach | None:
    with db.session() as s:
        u = _by_login(s, login)
        return _coach(u) if u is not None else None


def _by_login(s, login: str) -> User | None:
    key = unicodedata.normalize("NFKC", login).strip().lower()
    return s.scalar(select(User).where(User.active, or_(func.lower(User.name) == key, User.email == key)))


def authenticate(db: Database, login: str, password: str) -> Coach | None:
    """The coach whose name or email and password these are, else None."""
    with db.session() as s:
        u = _by_login(s, login)
        if u is None:
            _hasher.hash(password)  # the same work as a real check: timing does not tell names apart
            return None
        try:
            _hasher.verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        return _coach(u)


def set_password(db: Database, user_id: int, password: str) -> None:
    """A new password; every session and nothing else of the coach's ends (API tokens stay)."""
    hashed = _hasher.hash(check_password(password))
    with db.session() as s:
        s.execute(update(User).where(User.id == user_id).values(password_hash=hashed))
        s.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def deactivate(db: Database, user_id: int) -> None:
    """A coach who can no longer log in: sessions and API tokens end here, their athletes' links stop
    (links.athlete_of), their inbox folder is left alone; their data stays (an admin can read the
    database)."""
    with db.session() as s:
        s.execute(update(User).where(User.id == user_id).values(active=False))
        s.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
        s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


# ------------------------------------------------------------------ sessions and tokens


def new_session(db: Database, user_id: int) -> tuple[str, str]:
    """(cookie token, CSRF token) of a fresh login session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(LoginSession(token_sha256=digest(token), user_id=user_id, csrf=csrf,
                           expires_at=now() + timedelta(days=SESSION_DAYS)))  # fmt: skip
    return token, csrf


def session_user(db: Database, token: str) -> tuple[Coach, str] | None:
    """The coach and CSRF token of a live session cookie."""
    if not token or len(token) > 200:
        return None
    with db.session() as s:
        row = s.execute(
            select(User, LoginSession.csrf)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_sha256 == digest(token), LoginSession.expires_at > now(), User.active)
        ).first()
        return (_coach(row[0]), row[1]) if row else None


def end_session(db: Database, token: str) -> None:
    with db.session() as s:
        s.execute(delete(LoginSession).where(LoginSession.token_sha256 == digest(token)))


def new_api_token(db: Database, user_id: int, label: str = "") -> str:
    """A token for scripts (`Authorization: Bearer fc_...`), shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(ApiToken(token_sha256=digest(token), user_id=user_id, label=label[:100]))
    return token


def token_user(db: Database, token: str) -> Coach | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with db.session() as s:
        u = s.scalar(
            select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_sha256 == digest(token), User.active)
        )  # fmt: skip
        return _coach(u) if u is not None else None


def revoke_api_tokens(db: Database, user_id: int) -> int:
    with db.session() as s:
        return s.execute(delete(ApiToken).where(ApiToken.user_id == user_id)).rowcount


class LoginLimiter:
    """At most `attempts` failed logins per client address and per login name in `window_s`: a
    guessing script is slowed to a few tries a minute while a coach who mistypes is not locked out
    for long. In memory, per server process."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failed: dict[str, deque[float]] = {}

    def _recent(self, key: str, t: float) -> deque[float]:
        q = self._failed.setdefault(key, deque())
        while q and q[0] <= t - self.window_s:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> float:
        """Seconds until another try is allowed (0: now)."""
        t = time.monotonic()
        waits = [q[0] + self.window_s - t for k in keys if len(q := self._recent(k, t)) >= self.attempts]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        t = time.monotonic()
        for k in keys:
            self._recent(k, t).append(t)
        if len(self._failed) > 10_000:  # forget the oldest keys rather than grow without end
            for k in list(self._failed)[:5_000]:
                del self._failed[k]

    def succeeded(self, *keys: str) -> None:
        for k in keys:
            self._failed.pop(k, None)
