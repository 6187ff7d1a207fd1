"""The executors' unit of work: one clip in, its report and pose track (or its error) out.

`score_clip` runs wherever the executor puts it (a local process, a Ray node) and never raises:
every failure becomes the clip's recorded error. `analyse` is the only place the analysis runs,
for clips scored here and for tracks the driver found in its cache.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, pipeline
from ..errors import ClipTimedOut, FormcheckError, ModelLoadError, describe_failure
from ..io.video import check_frame_size
from ..pose import MediaPipePoseBackend, extract_track
from ..report import Report
from ..track import PoseTrack
from .settings import BatchSettings, code_sha256

CRASH_ERROR_TYPE = "WorkerCrashed"
# failures that the same bytes and settings would repeat: a rerun skips them (--retry-failed retries)
DETERMINISTIC_CODES = frozenset({12, 13, 14, 15, 16, 17, 21})


@dataclass
class ClipTask:
    """One clip for an executor (picklable: crosses process and machine boundaries)."""

    source: str  # the clip's path as the driver knows it: what the report names
    read_path: str  # where the worker reads it; unused when `data` is shipped
    settings: BatchSettings
    data: bytes | None = None  # the clip's bytes, for workers that cannot see the driver's files
    check_code: bool = False  # on another machine: refuse to score with other formcheck code
    timeout_s: float | None = None  # the executor stops the clip after this long (None: never)


@dataclass
class ClipOutcome:
    report: Report | None = None
    track: PoseTrack | None = None
    error: str | None = None
    error_code: int | None = None
    error_type: str | None = None
    retryable: bool = False
    seconds: float = 0.0
    worker: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.report is None:
            return "failed"
        return "truncated" if self.error else "ok"


def extract(path: str, settings: BatchSettings) -> PoseTrack:
    """The clip's pose track with the batch's fixed extraction settings (the model runs here)."""
    check_frame_size(path, settings.max_pixels)
    with MediaPipePoseBackend(settings.model_path) as backend:
        if backend.model_sha256 != settings.model_sha256:
            raise ModelLoadError(
                f"{backend.model_path}: this machine's pose model (sha256 {backend.model_sha256[:12]}) is"
                f" not the driver's ({settings.model_sha256[:12]}); install the same formcheck everywhere"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation is reported through the outcome
            return extract_track(
                path, backend=backend, workers=1, fps=settings.fps, every_frame=settings.every_frame
            )


def analyse(track: PoseTrack, settings: BatchSettings) -> ClipOutcome:
    """Report of a track under the batch's profile; a truncated clip is scored and flagged."""
    result = pipeline.run_track(track, pipeline.Settings(variant=settings.profile or settings.variant))
    out = ClipOutcome(report=result.report)
    cut = result.truncation
    if cut is not None:
        out.error, out.error_code, out.error_type = str(cut), cut.exit_code, type(cut).__name__
    return out


def failure(exc: BaseException, read_path: str = "", source: str = "") -> ClipOutcome:
    """An outcome for an exception: user-facing errors keep their code, anything else is code 1."""
    text, code, kind = describe_failure(exc, read_path, source)
    retryable = code not in DETERMINISTIC_CODES
    return ClipOutcome(error=text, error_code=code, error_type=kind, retryable=retryable)


def crash_outcome(why: str) -> ClipOutcome:
    """A clip whose worker died under it: not retried by a rerun unless asked (it would crash again)."""
    return ClipOutcome(error=why, error_code=1, error_type=CRASH_ERROR_TYPE, retryable=False)


def timeout_outcome(task: ClipTask) -> ClipOutcome:
    """A clip stopped at its time limit; like a crash, kept as failed until --retry-failed."""
    exc = ClipTimedOut(
        f"{task.source}: not scored within its time limit of {task.timeout_s:.0f} s (a decoder or model"
        " that hangs?); its worker was stopped. --timeout SECONDS sets another limit"
    )
    return ClipOutcome(error=str(exc), error_code=exc.exit_code, error_type="ClipTimedOut", retryable=False)


@contextlib.contextmanager
def _readable(task: ClipTask) -> Iterator[str]:
    if task.data is None:
        yield task.read_path
        return
    with tempfile.TemporaryDirectory(prefix="formcheck-clip-") as tmp:
        path = os.path.join(tmp, "clip" + Path(task.source).suffix)
        with open(path, "wb") as fh:
            fh.write(task.data)
        yield path


def worker_facts() -> dict[str, Any]:
    """Who scored a clip: host, process, formcheck, and the Ray node when on a cluster."""
    facts: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(), "formcheck": __version__}
    ray = _ray_if_worker()
    if ray is not None:
        with contextlib.suppress(Exception):
            facts["ray_node"] = ray.get_runtime_context().get_node_id()
    return facts


def _ray_if_worker() -> Any:
    ray = sys.modules.get("ray")  # only when Ray already runs this process: never imported here
    return ray if ray is not None and ray.is_initialized() else None


def score_clip(task: ClipTask) -> ClipOutcome:
    """Pose track + analysis of one clip. Never raises."""
    start = time.perf_counter()
    read = ""
    try:
        if task.check_code and task.settings.code_sha256 != code_sha256():
            raise FormcheckError(
                f"{task.source}: formcheck on {socket.gethostname()} ({__version__}, code"
                f" {code_sha256()[:12]}) is not the driver's (code {task.settings.code_sha256[:12]});"
                " install the same formcheck everywhere"
            )
        with _readable(task) as read:
            track = extract(read, task.settings).renamed(task.source)
        out = analyse(track, task.settings)
        out.track = track
    except Exception as exc:  # every failure becomes this clip's recorded error
        out = failure(exc, read, task.source)
    out.seconds = time.perf_counter() - start
    out.worker = worker_facts()
    return out
