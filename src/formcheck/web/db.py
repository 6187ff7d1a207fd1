"""The web app's database: athletes, stored clips and analysis jobs (one job = one session; the
tables are in models.py).

SQLAlchemy 2, so the same code runs on the embedded SQLite file (the default) and on a team's
PostgreSQL. The job table is also the queue: a worker claims the oldest queued job with a
guarded UPDATE (SKIP LOCKED on PostgreSQL), keeps a heartbeat while it runs, and every write it
makes afterwards is guarded by its own worker id, so a worker taken for dead can never overwrite
the job after another worker picked it up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event, func, select, type_coerce, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .columns import UTCDateTime
from .migrations import migrate
from .models import DONE, FAILED, QUEUED, RUNNING, STATUSES, SUMMARY_FIELDS, Athlete, Clip, Job, now, slugify


@dataclass(frozen=True)
class Claimed:
    uid: str
    clip_sha256: str
    clip_file: str
    display_name: str
    variant: str
    attempts: int


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets pages read while the worker writes; busy_timeout makes writers wait, not fail."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = self._engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        migrate(self.engine)  # the schema through Alembic's migrations (migrations/), never create_all
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    @staticmethod
    def _engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._session() as s, s.begin():
            yield s

    # ------------------------------------------------------------ writes from uploads

    def athlete(self, name: str, coach_id: int) -> Athlete:
        """The coach's athlete of that name, created on first use (safe under concurrent uploads)."""
        slug = slugify(name)
        for _ in range(3):
            with self.session() as s:
                found = s.scalar(select(Athlete).where(Athlete.slug == slug, Athlete.coach_id == coach_id))
                if found is not None:
                    return found
            try:
                with self.session() as s:
                    created = Athlete(slug=slug, name=name, coach_id=coach_id)
                    s.add(created)
                return created
            except IntegrityError:  # another upload created it in between
                continue
        raise RuntimeError(f"cannot create athlete {name!r}")

    def add_clip(self, sha256: str, size: int, container: str, file_name: str) -> None:
        with contextlib.suppress(IntegrityError), self.session() as s:
            if s.get(Clip, sha256) is None:
                s.add(Clip(sha256=sha256, size_bytes=size, container=container, file_name=file_name))

    def create_job(
        self,
        athlete: Athlete,
        clip_sha256: str,
        display_name: str,
        variant: str,
        note: str = "",
        uid: str | None = None,
    ) -> Job:
        """A queued job. With a uid chosen by the caller, creating it again returns the first one
        (the inbox names its jobs after the file, so a file re-read after a crash is one job)."""
        try:
            with self.session() as s:
                job = Job(
                    athlete_id=athlete.id,
                    clip_sha256=clip_sha256,
                    display_name=display_name,
                    variant=variant,
                    note=note,
                    **({"uid": uid} if uid else {}),
                )
                s.add(job)
                s.flush()
                s.refresh(job)
                return job
        except IntegrityError:
            made = self.job(uid) if uid else None
            if made is None:
                raise
            return made

    def retry(self, uid: str) -> bool:
        """A failed job queued again (after its cause was fixed, e.g. a model installed)."""
        with self.session() as s:
            res = s.execute(
                update(Job)
                .where(Job.uid == uid, Job.status == FAILED)
                .values(
                    status=QUEUED,
                    stage="waiting for a worker",
                    error=None,
                    error_code=None,
                    attempts=0,
                    progress_done=0,
                    progress_total=0,
                    worker=None,
                    finished_at=None,
                )
            )
            return res.rowcount == 1

    # ------------------------------------------------------------ the queue

    def claim(self, worker: str) -> Claimed | None:
        """Take the oldest queued job for `worker`, or None when the queue is empty."""
        for _ in range(5):
            with self.session() as s:
                pick = select(Job.id).where(Job.status == QUEUED).order_by(Job.id).limit(1)
                if self.is_postgres:
                    pick = pick.with_for_update(skip_locked=True)
                job_id = s.scalar(pick)
                if job_id is None:
                    return None
                t = now()
                res = s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == QUEUED)
                    .values(
                        status=RUNNING,
                        worker=worker,
                        started_at=t,
                        heartbeat_at=t,
                        attempts=Job.attempts + 1,
                        stage="starting",
                        progress_done=0,
                        progress_total=0,
                    )
                )
                if res.rowcount != 1:  # another worker took it first
                    continue
                job = s.get(Job, job_id)
                clip = s.get(Clip, job.clip_sha256)
                return Claimed(
                    job.uid, job.clip_sha256, clip.file_name, job.display_name, job.variant, job.attempts
                )
        return None

    def _mine(self, uid: str, worker: str) -> Any:
        return update(Job).where(Job.uid == uid, Job.status == RUNNING, Job.worker == worker)

    def progress(
        self,
        uid: str,
        worker: str,
        stage: str | None = None,
        done: int | None = None,
        total: int | None = None,
    ) -> bool:
        """Heartbeat with progress; False when the job is no longer this worker's."""
        values: dict[str, Any] = {"heartbeat_at": now()}
        if stage is not None:
            values["stage"] = stage[:80]
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        with self.session() as s:
            return s.execute(self._mine(uid, worker).values(**values)).rowcount == 1

    def finish(self, uid: str, worker: str, summary: dict[str, Any], warning: str | None = None) -> bool:
        values = {k: summary.get(k) for k in SUMMARY_FIELDS}
        with self.session() as s:
            res = s.execute(
                self._mine(uid, worker).values(
                    status=DONE,
                    stage="done",
                    warning=warning,
                    finished_at=now(),
                    heartbeat_at=now(),
                    **values,
                )
            )
            return res.rowcount == 1

    def fail(self, uid: str, worker: str, error: str, code: int | None) -> bool:
        with self.session() as s:
            res = s.execute(
                self._mine(uid, worker).values(
                    status=FAILED, stage="failed", error=error, error_code=code, finished_at=now()
                )
            )
            return res.rowcount == 1

    def release(self, uid: str, worker: str) -> bool:
        """Back to the queue, not counted as an attempt (the server is stopping, not the job failing)."""
        with self.session() as s:
            res = s.execute(
                self._mine(uid, worker).values(
                    status=QUEUED,
                    stage="waiting for a worker (the server stopped while it ran)",
                    worker=None,
                    attempts=Job.attempts - 1,
                    progress_done=0,
                    progress_total=0,
                )
            )
            return res.rowcount == 1

    def recover(
        self, stale_after_s: float, max_attempts: int, is_dead: Callable[[str], bool] = lambda worker: False
    ) -> list[str]:
        """Running jobs whose worker is gone (no heartbeat for stale_after_s, or known dead): queued
        again, or failed once they were interrupted max_attempts times. Returns their uids."""
        cutoff = now() - timedelta(seconds=stale_after_s)
        moved = []
        with self.session() as s:
            rows = s.execute(
                select(Job.uid, Job.worker, Job.heartbeat_at, Job.attempts).where(Job.status == RUNNING)
            ).all()
        for uid, worker, beat, attempts in rows:
            if not ((beat is not None and beat < cutoff) or is_dead(worker or "")):
                continue
            guard = update(Job).where(Job.uid == uid, Job.status == RUNNING, Job.worker == worker)
            with self.session() as s:
                if attempts >= max_attempts:
                    res = s.execute(
                        guard.values(
                            status=FAILED,
                            stage="failed",
                            error_code=1,
                            finished_at=now(),
                            error=f"the job was interrupted {attempts} times (its worker stopped or crashed"
                            " while it ran); not retried again",
                        )
                    )
                else:
                    res = s.execute(
                        guard.values(
                            status=QUEUED,
                            worker=None,
                            progress_done=0,
                            stage="waiting for a worker (re-queued after an interruption)",
                        )
                    )
                if res.rowcount == 1:
                    moved.append(uid)
        return moved

    # ------------------------------------------------------------ reads

    def job(self, uid: str, coach_id: int | None = None) -> Job | None:
        """The job, if it is that coach's (None: whoever's, for the workers)."""
        q = select(Job).where(Job.uid == uid)
        if coach_id is not None:
            q = q.join(Athlete, Athlete.id == Job.athlete_id).where(Athlete.coach_id == coach_id)
        with self.session() as s:
            return s.scalar(q)

    def clip(self, sha256: str) -> Clip | None:
        with self.session() as s:
            return s.get(Clip, sha256)

    def queue_position(self, job: Job) -> int:
        """How many queued jobs are ahead of this one."""
        with self.session() as s:
            return int(
                s.scalar(select(func.count()).select_from(Job).where(Job.status == QUEUED, Job.id < job.id))
                or 0
            )

    def jobs(
        self,
        athlete_id: int | None = None,
        status: str | None = None,
        limit: int = 50,
        oldest_first: bool = False,
        coach_id: int | None = None,
    ) -> list[Job]:
        q = select(Job)
        if coach_id is not None:
            q = q.join(Athlete, Athlete.id == Job.athlete_id).where(Athlete.coach_id == coach_id)
        if athlete_id is not None:
            q = q.where(Job.athlete_id == athlete_id)
        if status is not None:
            q = q.where(Job.status == status)
        q = q.order_by(Job.id if oldest_first else Job.id.desc()).limit(limit)
        with self.session() as s:
            return list(s.scalars(q))

    def athletes(self, coach_id: int) -> list[tuple[Athlete, int, datetime | None]]:
        """The coach's athletes with their session count and latest upload, most recent first."""
        q = (
            select(Athlete, func.count(Job.id), type_coerce(func.max(Job.created_at), UTCDateTime))
            .outerjoin(Job, Job.athlete_id == Athlete.id)
            .where(Athlete.coach_id == coach_id)
            .group_by(Athlete.id)
            .order_by(func.max(Job.id).desc().nullslast(), Athlete.name)
        )
        with self.session() as s:
            return [(a, int(n), last) for a, n, last in s.execute(q)]

    def athlete_by_slug(self, slug: str, coach_id: int) -> Athlete | None:
        with self.session() as s:
            return s.scalar(select(Athlete).where(Athlete.slug == slug, Athlete.coach_id == coach_id))

    def counts(self, coach_id: int | None = None) -> dict[str, int]:
        """Jobs by status: the coach's, or the whole queue's."""
        q = select(Job.status, func.count())
        if coach_id is not None:
            q = q.join(Athlete, Athlete.id == Job.athlete_id).where(Athlete.coach_id == coach_id)
        with self.session() as s:
            rows = s.execute(q.group_by(Job.status)).all()
        return {status: 0 for status in STATUSES} | {k: int(v) for k, v in rows}
