"""Shared helpers for the web app's tests (no tests here): settings in a temp data dir, a seeded pose
track cache (so most jobs skip the model; the browser test runs it), real servers on free ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from formcheck.cache import TrackCache, file_sha256
from formcheck.web import accounts
from formcheck.web.db import Database
from formcheck.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "sample_videos" / "hip_thrust_side_clean.mp4"
RUSHED = ROOT / "sample_videos" / "hip_thrust_side_rushed_descent.mp4"
POSE_WORKERS = 2  # fixed, so the cache key the tests seed is the one the jobs look up
WAIT_S = 240.0  # upper bound for a job on a busy 2-core machine; tests wait for states, not for time

_track_store: dict[str, Any] = {}
_track_lock = threading.Lock()


def sample_track(clip: Path = CLEAN):  # -> PoseTrack
    """The real model's track of a sample clip, extracted once per test session."""
    from formcheck.pose import extract_track

    with _track_lock:
        if str(clip) not in _track_store:
            _track_store[str(clip)] = extract_track(clip, workers=POSE_WORKERS)
        return _track_store[str(clip)]


def seed_track(data_dir: Path, clip: Path = CLEAN) -> None:
    """Put the clip's track where the app's jobs look for it: the job then skips the model."""
    from formcheck.web.runner import cache_key

    key = cache_key(file_sha256(clip), None, POSE_WORKERS)
    TrackCache(data_dir / "tracks").put(key, sample_track(clip))


def settings_for(data_dir: Path, **kw: Any) -> WebSettings:
    kw.setdefault("pose_workers", POSE_WORKERS)
    kw.setdefault("allowed_hosts", ("testserver", "127.0.0.1", "localhost"))  # TestClient's and uvicorn's
    return WebSettings(data_dir=data_dir, **kw)


def old_schema() -> list[str]:
    """The SQL statements of the web app's database as create_all made it before accounts."""
    text = (ROOT / "tests" / "data" / "web_schema_before_accounts.sql").read_text()
    lines = "\n".join(ln for ln in text.splitlines() if not ln.startswith("--"))
    return [s.strip() for s in lines.split(";") if s.strip()]


PASSWORD = "correct horse battery"  # a test coach's password (10+ characters)


def add_coach(db: Database, name: str = "Coach", admin: bool = False) -> str:
    """A coach (the first is the admin) and a new API token of theirs."""
    coach = accounts.find_user(db, name) or accounts.add_user(db, name, PASSWORD, admin=admin)
    return accounts.new_api_token(db, coach.id, "tests")


def sign_in(client: Any, name: str = "Coach", db: Database | None = None) -> str:
    """Every later request of `client` acts as that coach (an API token, as a script would)."""
    token = add_coach(db or client.app.state.ctx.db, name)
    client.headers["authorization"] = f"Bearer {token}"
    return token


def upload(
    client: Any,
    clip: Path | bytes,
    athlete: str | None = "Sam Lee",
    variant: str | None = None,
    filename: str | None = None,
) -> Any:
    """POST /api/jobs as a browser form would."""
    data = {}
    if athlete is not None:
        data["athlete"] = athlete
    if variant is not None:
        data["variant"] = variant
    content = clip.read_bytes() if isinstance(clip, Path) else clip
    name = filename or (clip.name if isinstance(clip, Path) else "clip.mp4")
    return client.post("/api/jobs", data=data, files={"file": (name, content, "video/mp4")})


def wait_for(
    get_job: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], what: str = "the job"
) -> dict[str, Any]:
    """Poll until `done(job)`; the deadline only guards against a hung test."""
    deadline = time.monotonic() + WAIT_S
    while True:
        job = get_job()
        if done(job):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not get there in {WAIT_S:.0f} s: {job}")
        time.sleep(0.1)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("done", "failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`formcheck serve` as a coach starts it, in a subprocess."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "formcheck",
            "serve",
            "--data",
            str(data_dir),
            "--port",
            str(self.port),
            "--pose-workers",
            str(POSE_WORKERS),
            *args,
        ]
        settings = settings_for(data_dir)
        settings.prepare()
        db = Database(settings.db_url)  # the coach the tests act as, made before the server starts
        try:
            token = add_coach(db)
        finally:
            db.close()
        self.log = open(data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.auth = {"authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=self.url, timeout=60, headers=self.auth)
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"formcheck serve exited with {self.proc.returncode}: {self.output()}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/api/health").status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"formcheck serve did not answer: {self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    def job(self, uid: str) -> dict[str, Any]:
        r = self.client.get(f"/api/jobs/{uid}")
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code

    def children(self) -> list[int]:
        """pids of this server's child processes (the job runner), from every thread of it."""
        pids = []
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in children.read_text().split()]
        return pids


@contextlib.contextmanager
def uvicorn_thread(app: Any) -> Iterator[str]:
    """The app behind a real uvicorn on a free port, in this process (for concurrency tests)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@contextlib.contextmanager
def signed_in_app(data_dir: Path, job_workers: int = 0) -> Iterator[tuple[Any, WebSettings]]:
    """The app in a TestClient acting as a coach (an API token), with its settings; with a job
    worker, the clean sample's track is cached so its jobs skip the model."""
    import warnings

    from formcheck.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    settings = settings_for(data_dir, job_workers=job_workers)
    if job_workers:
        seed_track(settings.data_dir)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        yield client, settings


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
