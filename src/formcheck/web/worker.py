"""The job worker: threads in the server that take queued jobs from the database and run each in
a child process (runner.py), relaying its progress into the job row.

Restarts lose nothing: the queue is the database, so queued jobs simply wait; a job whose worker
vanished (the server was killed) is found by its heartbeat, or at once when its worker was a
process on this machine that no longer exists, and queued again. A child that crashes fails its
job with the exit status; a job interrupted `max_attempts` times is failed instead of retried.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from . import speed_store
from .db import Claimed, Database
from .settings import WebSettings
from .storage import clip_path, result_dir

HEARTBEAT_S = 2.0
RECOVER_EVERY_S = 15.0
_HOST = socket.gethostname()
_live_workers: set[str] = set()  # worker ids alive in this process


def new_worker_id() -> str:
    return f"{_HOST}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def is_dead(worker: str) -> bool:
    """A worker id of this machine whose process is gone (or, in this process, that stopped)."""
    host, _, rest = worker.partition("/")
    pid_text = rest.partition("/")[0]
    if host != _HOST or not pid_text.isdigit():
        return False  # another machine's: only its heartbeat can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return worker not in _live_workers
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def crash_reason(returncode: int, stderr_tail: str) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        why = f"the analysis process was killed by {name}"
        if -returncode == signal.SIGKILL:
            why += " (out of memory, or stopped from outside)"
    else:
        why = f"the analysis process exited with status {returncode} without a result"
    return why + (f": {stderr_tail}" if stderr_tail else "")


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


class JobWorker(threading.Thread):
    def __init__(
        self,
        db: Database,
        settings: WebSettings,
        wake: threading.Event,
        stop: threading.Event,
        spawn: Callable[..., subprocess.Popen] = subprocess.Popen,
    ) -> None:
        super().__init__(name="formcheck-job-worker", daemon=True)
        self.db, self.settings, self.wake, self.stopping = db, settings, wake, stop
        self.worker_id = new_worker_id()
        self.spawn = spawn
        self.current: str | None = None

    def run(self) -> None:
        _live_workers.add(self.worker_id)
        try:
            while not self.stopping.is_set():
                try:
                    job = self.db.claim(self.worker_id)
                except Exception:  # the database is away (PostgreSQL restarting): try again shortly
                    job = None
                if job is None:
                    self.wake.wait(self.settings.poll_s)
                    self.wake.clear()
                    continue
                self.current = job.uid
                try:
                    self.run_job(job)
                except Exception as exc:  # a bug here must not kill the worker, nor leave the job running
                    with contextlib.suppress(Exception):
                        self.db.fail(
                            job.uid, self.worker_id, f"internal error: {type(exc).__name__}: {exc}", 1
                        )
                finally:
                    self.current = None
        finally:
            _live_workers.discard(self.worker_id)

    def spec(self, job: Claimed) -> dict[str, Any]:
        s = self.settings
        return {
            "clip": str(clip_path(s, job.clip_file)),
            "name": job.display_name,
            "content_sha256": job.clip_sha256,
            "out": str(result_dir(s, job.uid)),
            "variant": job.variant,
            "pose_workers": s.pose_workers,
            "model": s.model,
            "tracks": str(s.tracks_dir),
            "height_cm": speed_store.height_for_job(self.db, job.uid),
        }

    def run_job(self, job: Claimed) -> None:
        out = result_dir(self.settings, job.uid)
        out.mkdir(parents=True, exist_ok=True)
        log = out / "job.log"
        with open(log, "wb") as err:
            proc = self.spawn(
                [*self.settings.runner, json.dumps(self.spec(job))],
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, messages), daemon=True)
        reader.start()
        last: dict[str, Any] | None = None
        beat = time.monotonic()
        while True:
            try:
                msg = messages.get(timeout=0.5)
            except queue.Empty:
                msg = {}
            if msg is None:  # the child closed its output: it has ended
                break
            if "done" in msg or "error" in msg:
                last = msg
            mine = True
            if "stage" in msg or "progress" in msg or time.monotonic() - beat > HEARTBEAT_S:
                done, total = msg.get("progress") or (None, None)
                mine = self.db.progress(job.uid, self.worker_id, msg.get("stage"), done, total)
                beat = time.monotonic()
            if self.stopping.is_set() or not mine:
                _end(proc)
                if mine:
                    self.db.release(job.uid, self.worker_id)
                return
        code = proc.wait()
        self.settle(job, last, code, log)

    def settle(self, job: Claimed, last: dict[str, Any] | None, returncode: int, log: Path) -> None:
        if last is not None and "done" in last:
            if self.db.finish(job.uid, self.worker_id, last["done"], last.get("warning")):
                speed_store.record(self.db, job.uid, last["done"])
        elif last is not None:
            self.db.fail(job.uid, self.worker_id, str(last["error"]), last.get("code"))
        else:
            self.db.fail(job.uid, self.worker_id, crash_reason(returncode, _last_line(log)), 1)


def _read_lines(stream: IO[str], into: queue.Queue) -> None:
    for line in stream:
        with contextlib.suppress(ValueError):
            msg = json.loads(line)
            if isinstance(msg, dict):
                into.put(msg)
    into.put(None)


def _end(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Workers:
    """The app's job workers and the periodic recovery of jobs whose worker vanished."""

    def __init__(self, db: Database, settings: WebSettings) -> None:
        self.db, self.settings = db, settings
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.threads = [
            JobWorker(db, settings, self.wake, self.stop_event) for _ in range(settings.job_workers)
        ]
        self.recoverer = threading.Thread(
            target=self._recover_loop, name="formcheck-job-recovery", daemon=True
        )

    def recover(self) -> list[str]:
        moved = self.db.recover(self.settings.stale_after_s, self.settings.max_attempts, is_dead)
        if moved:
            self.wake.set()
        return moved

    def _recover_loop(self) -> None:
        while not self.stop_event.wait(RECOVER_EVERY_S):
            with contextlib.suppress(Exception):
                self.recover()

    def start(self) -> None:
        self.recover()  # jobs a stopped or killed server left running are queued again first
        for t in self.threads:
            t.start()
        self.recoverer.start()

    def notify(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        """Running jobs go back to the queue; the next start picks them up."""
        self.stop_event.set()
        self.wake.set()
        for t in self.threads:
            t.join(timeout=30)

    def busy(self) -> int:
        return sum(t.current is not None for t in self.threads)
