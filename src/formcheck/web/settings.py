"""What a `formcheck serve` instance is configured with: one frozen object the app, the storage and
the job worker all read, built from the command line, the environment and defaults."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

DATABASE_ENV = "FORMCHECK_DATABASE_URL"
DATA_ENV = "FORMCHECK_DATA"
DEFAULT_MAX_UPLOAD_MB = 500
DB_NAME = "formcheck.db"
# the Host names a server on this machine answers to; others need --allowed-host
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def default_runner() -> tuple[str, ...]:
    """The child process one job runs in: the same interpreter, so the same formcheck install."""
    return (sys.executable, "-m", "formcheck.web.runner")


@dataclass(frozen=True)
class WebSettings:
    data_dir: Path
    database_url: str = ""  # empty: SQLite at DATA/formcheck.db
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    job_workers: int = 1  # jobs at once; 0 accepts uploads and queues them without running any
    pose_workers: int | None = None  # per job: None is one per core, as `analyze` does
    model: str | None = None  # None: the bundled model (pose.find_model)
    # a worker whose job shows no heartbeat for this long is taken for dead and its job re-queued
    stale_after_s: float = 60.0
    max_attempts: int = 3  # a job interrupted this many times is failed instead of re-queued
    poll_s: float = 1.0  # how often an idle worker looks for jobs other servers queued
    runner: tuple[str, ...] = field(default_factory=default_runner)
    inbox: Path | None = None  # a watched folder: clips in INBOX/<athlete>/ are queued
    inbox_coach: str | None = None  # whose athletes the inbox's clips are (None: the first admin)
    inbox_per_coach: bool = False  # INBOX/<coach login>/<athlete>/: each coach's own folder
    # Host header names answered (lower case, no port); anything else is refused with 400
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / DB_NAME}"

    @property
    def clips_dir(self) -> Path:
        return self.data_dir / "clips"

    @property
    def incoming_dir(self) -> Path:
        return self.data_dir / "incoming"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @property
    def tracks_dir(self) -> Path:
        return self.data_dir / "tracks"

    def prepare(self) -> None:
        """Create the data folders (raises OSError when the data dir cannot be written)."""
        for d in (self.data_dir, self.clips_dir, self.incoming_dir, self.results_dir, self.tracks_dir):
            d.mkdir(parents=True, exist_ok=True)


def from_env(
    data_dir: str | Path | None = None, database_url: str | None = None, **kw: object
) -> WebSettings:
    """Settings with the environment's defaults: FORMCHECK_DATA, FORMCHECK_DATABASE_URL."""
    data = Path(data_dir or os.environ.get(DATA_ENV) or "formcheck-data").expanduser().resolve()
    url = database_url if database_url is not None else os.environ.get(DATABASE_ENV, "")
    return WebSettings(data_dir=data, database_url=url, **kw)  # type: ignore[arg-type]
