"""Batch scoring: every clip under some paths, in parallel, resumable, locally or on Ray.

The process the command runs in (the *driver*) does all the bookkeeping:

    discover clips (by content) -> hash each one -> skip what an earlier run already scored
    with the same bytes and settings -> analyse clips whose pose track is cached (milliseconds)
    -> send the rest to an executor -> cache each returned track, write the clip's JSON
    atomically -> rebuild summary.csv from the rows now and then and at the end.

An executor only runs `score_clip` (pose model + analysis) and hands back the report and the
track; the local one uses one process per core, the Ray one a Ray cluster. Only the driver
writes files, so `--out` is a folder on the driver's machine whatever the executor.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import socket
import sys
import tempfile
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .cache import TrackCache, atomic_write_text, canonical_sha256, file_sha256, remove_stale_temps, track_key
from .errors import (
    EmptyVideo,
    FormcheckError,
    InputIsDirectory,
    InputNotFound,
    ModelLoadError,
    NoClipsFound,
    VideoTooLarge,
    describe_failure,
)
from .profiles import Profile
from .report import Report
from .track import PoseTrack

RESULT_SCHEMA = "formcheck.batch/1"  # the "batch" block of each clip's JSON
FAILURE_SCHEMA = "formcheck.batch-failure/1"  # a clip's JSON when it could not be scored
SUMMARY_NAME = "summary.csv"
LOCK_NAME = ".formcheck-batch.lock"
TRACKS_DIR = ".tracks"
EXIT_SOME_FAILED = 4  # the batch ran; at least one clip failed or was truncated (see summary.csv)
MAX_PIXELS = 40_000_000  # per frame: 8K (DCI 8192x4320 is 35 MP) passes, beyond is refused
SUMMARY_EVERY_S = 5.0
CACHED_WEIGHT = 0.05  # progress weight of a clip whose track is cached, against its video's seconds
CRASH_ERROR_TYPE = "WorkerCrashed"
# failures that the same bytes and settings would repeat: a rerun skips them (--retry-failed retries)
DETERMINISTIC_CODES = frozenset({12, 13, 14, 15, 16, 17, 21})

SUMMARY_COLUMNS = (
    "clip",
    "status",
    "variant",
    "view",
    "reps",
    "faults",
    "score",
    "seconds",
    "error",
    "error_code",
    "duration_s",
    "from_earlier_run",
    "result",
    "content_sha256",
)

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".m2v", ".ts", ".mts", ".m2ts",
     ".wmv", ".asf", ".flv", ".3gp", ".3g2", ".ogv", ".mxf", ".vob", ".dv"}
)
_ISO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
# ISO-BMFF files that are not video: audio (m4a), still images (HEIF/AVIF), camera raw
_NOT_VIDEO_BRANDS = frozenset(
    {b"M4A ", b"M4B ", b"M4P ", b"heic", b"heix", b"mif1", b"msf1", b"avif", b"crx "}
)
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


# ------------------------------------------------------------------ discovery


def sniff(path: str | Path) -> str | None:
    """The video container a file's first bytes announce, or None. Reads 1 KiB."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return None
    if len(head) >= 12 and head[4:8] in _ISO_BOXES and _box_size_ok(head):
        return None if head[4:8] == b"ftyp" and head[8:12] in _NOT_VIDEO_BRANDS else "mp4/mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(_ASF_GUID):
        return "asf/wmv"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg-ps"
    if _sync_bytes(head, 188, 0) or _sync_bytes(head, 192, 4):
        return "mpeg-ts"
    if head.startswith(b"OggS") and (b"theora" in head or b"\x80video" in head):
        return "ogg"
    return None


def _box_size_ok(head: bytes) -> bool:
    """A first box size a real file could have (0: to the end, 1: 64-bit size follows)."""
    size = int.from_bytes(head[:4], "big")
    return size in (0, 1) or 8 <= size < 1 << 40


def _sync_bytes(head: bytes, packet: int, offset: int) -> bool:
    """MPEG-TS: a 0x47 sync byte at the start of three consecutive packets."""
    spots = [offset + k * packet for k in range(3)]
    return spots[-1] < len(head) and all(head[s] == 0x47 for s in spots)


def is_video_candidate(path: Path) -> bool:
    """Worth trying: the content says video, or the name does (then opening it tells what is wrong)."""
    return sniff(path) is not None or path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class Clip:
    path: Path  # as found: the given path, or a folder joined with the path under it
    name: str  # where its result goes under --out (POSIX, without ".json"), also its id in the summary


@dataclass(frozen=True)
class Discovery:
    clips: list[Clip]
    ignored: int  # files under the folders that are not videos


def discover(paths: Sequence[str | Path], exclude: Iterable[Path] = ()) -> Discovery:
    """Every clip under `paths`: files given by name always (a bad one is then reported), and
    under folders, recursively, whatever looks like a video by content or by name. Hidden files
    and folders (".name", e.g. macOS "._clip.mp4" forks) and the `exclude` folders are skipped."""
    skip_dirs = {p.resolve() for p in exclude}
    found: list[tuple[Path, str]] = []
    ignored = 0
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            found.append((root, root.name or str(root)))
            continue
        label = root.resolve().name or "root"
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skip_dirs
            )
            for f in sorted(files):
                p = here / f
                if f.startswith(".") or not p.is_file():
                    continue
                if is_video_candidate(p):
                    found.append((p, f"{label}/{p.relative_to(root).as_posix()}"))
                else:
                    ignored += 1
    return Discovery(_unique(found), ignored)


def _unique(found: list[tuple[Path, str]]) -> list[Clip]:
    """One clip per real file; result names that would collide get a short hash of the path."""
    seen: set[str] = set()
    items: list[tuple[Path, str]] = []
    for path, name in found:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            items.append((path, name))
    counts = Counter(name.casefold() for _, name in items)
    clips = []
    for path, name in items:
        if counts[name.casefold()] > 1:
            name += "~" + hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:8]
        clips.append(Clip(path, name))
    return clips


def mp4_duration(path: str | Path) -> float | None:
    """Duration from an MP4/MOV's movie header (mvhd), reading box headers only; None otherwise."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            for kind, start, end in _boxes(fh, 0, size):
                if kind == b"moov":
                    for child, body, _ in _boxes(fh, start, end):
                        if child == b"mvhd":
                            fh.seek(body)
                            h = fh.read(32)
                            scale, dur = (h[20:24], h[24:32]) if h[:1] == b"\x01" else (h[12:16], h[16:20])
                            ts = int.from_bytes(scale, "big")
                            return int.from_bytes(dur, "big") / ts if ts else None
                    return None
    except OSError:
        return None
    return None


def _boxes(fh: Any, pos: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, box end) of the ISO-BMFF boxes in [pos, end)."""
    while pos + 8 <= end:
        fh.seek(pos)
        hdr = fh.read(16)
        size, kind, body = int.from_bytes(hdr[:4], "big"), hdr[4:8], pos + 8
        if size == 1 and len(hdr) == 16:
            size, body = int.from_bytes(hdr[8:16], "big"), pos + 16
        elif size == 0:
            size = end - pos
        if size < 8:
            return
        yield kind, body, min(pos + size, end)
        pos += size


def estimated_cost(path: Path) -> float:
    """Rough seconds of video, to start the longest clips first (the last clip then is short,
    so no core idles long at the end): the MP4 header's duration, else a guess from the size."""
    duration = mp4_duration(path)
    if duration is not None and duration > 0:
        return duration
    try:
        return path.stat().st_size / 150_000  # ~1.2 Mbit/s, a typical phone clip
    except OSError:
        return 0.0


# ------------------------------------------------------------------ settings


@functools.lru_cache(maxsize=1)
def mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"


def code_sha256() -> str:
    """Fingerprint of the analysis code and the built-in profiles: a result scored by other code
    (an upgrade, a local edit, a cluster node with another install) is never taken for current."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted([*root.glob("*.py"), *root.glob("profiles/*.json")]):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class BatchSettings:
    """Everything a clip's result depends on besides its bytes."""

    variant: str  # "auto" (detected per clip), a built-in name, or a profile .json
    profile: Profile | None  # the named profile, carried to the workers; None for "auto"
    model_sha256: str
    model_path: str | None = None  # None: each machine finds the bundled model itself
    fps: float | None = None
    max_pixels: int = MAX_PIXELS
    code_sha256: str = ""
    every_frame: bool = False  # False: clips above 30 fps analysed at every k-th frame (pose.frame_stride)

    @classmethod
    def create(
        cls,
        variant: str = "auto",
        model: str | Path | None = None,
        fps: float | None = None,
        max_pixels: int = MAX_PIXELS,
        every_frame: bool = False,
    ) -> BatchSettings:
        """Raises ProfileError for an unknown variant, ModelNotFound for a missing model."""
        from .pose import find_model, sha256_file  # model lookup only, no MediaPipe import
        from .profiles import load_profile
        from .variants import AUTO

        profile = None if variant == AUTO else load_profile(variant)
        model_sha = sha256_file(find_model(model))
        model_path = str(model) if model else None
        return cls(variant, profile, model_sha, model_path, fps, max_pixels, code_sha256(), every_frame)

    def extraction(self) -> dict[str, Any]:
        """How the model runs: one landmarker over the whole clip (batch parallelism is per clip,
        so a result never depends on how many jobs or machines produced it)."""
        return {
            "formcheck": __version__,  # a release may read video or run the model differently
            "backend": "mediapipe-pose-landmarker",
            "mediapipe": mediapipe_version(),
            "workers": 1,
            "fps": self.fps,
            "every_frame": self.every_frame,
        }

    def track_key(self, content_sha256: str) -> str:
        return track_key(content_sha256, self.model_sha256, self.extraction())

    @property
    def sha256(self) -> str:
        from .report import REPORT_SCHEMA

        return canonical_sha256(
            {
                "formcheck": __version__,
                "code": self.code_sha256,
                "report": REPORT_SCHEMA,
                "variant": self.variant if self.profile is None else None,
                "profile": dataclasses.asdict(self.profile) if self.profile is not None else None,
                "model": self.model_sha256,
                "extraction": self.extraction(),
            }
        )


# ------------------------------------------------------------------ the task


@dataclass
class ClipTask:
    """One clip for an executor (picklable: crosses process and machine boundaries)."""

    source: str  # the clip's path as the driver knows it: what the report names
    read_path: str  # where the worker reads it; unused when `data` is shipped
    settings: BatchSettings
    data: bytes | None = None  # the clip's bytes, for workers that cannot see the driver's files
    check_code: bool = False  # on another machine: refuse to score with other formcheck code


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


def check_frame_size(path: str | Path, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse frames too large to decode safely, from the container's figures, before decoding."""
    import cv2

    from .io import _capture  # the FFmpeg backend, opened quietly

    cap = _capture(Path(path))
    try:
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if width * height > max_pixels:
        raise VideoTooLarge(
            f"{path}: frames are {width}x{height} ({width * height / 1e6:.0f} MP), beyond the"
            f" {max_pixels / 1e6:.0f} MP limit; scale the clip down first (e.g. to 1920 wide)"
        )


def rebase(track: PoseTrack, source: str) -> PoseTrack:
    """The track as if read from `source` (a cached or shipped copy names another path)."""
    meta = dict(track.meta)
    if isinstance(meta.get("video"), dict):
        meta["video"] = {**meta["video"], "path": source}
    return dataclasses.replace(track, source=source, meta=meta)


def extract(path: str, settings: BatchSettings) -> PoseTrack:
    """The clip's pose track with the batch's fixed extraction settings (the model runs here)."""
    from .pose import MediaPipePoseBackend, extract_track

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
    from . import pipeline

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


def score_clip(task: ClipTask) -> ClipOutcome:
    """The executors' unit of work: pose track + analysis of one clip. Never raises."""
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
            track = rebase(extract(read, task.settings), task.source)
        out = analyse(track, task.settings)
        out.track = track
    except Exception as exc:  # every failure becomes this clip's recorded error
        out = failure(exc, read, task.source)
    out.seconds = time.perf_counter() - start
    out.worker = {"host": socket.gethostname(), "pid": os.getpid(), "formcheck": __version__}
    return out


# ------------------------------------------------------------------ executors

OnDone = Callable[[int, ClipOutcome], None]
TaskFn = Callable[[ClipTask], ClipOutcome]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def crash_outcome(why: str) -> ClipOutcome:
    return ClipOutcome(error=why, error_code=1, error_type=CRASH_ERROR_TYPE, retryable=False)


def run_inline(tasks: Sequence[ClipTask], on_done: OnDone, task_fn: TaskFn = score_clip) -> None:
    """One after another in this process (tests, debugging)."""
    for i, task in enumerate(tasks):
        on_done(i, task_fn(task))


def worker_init(preload: bool = True) -> None:
    """Local worker processes: see procs.child_init."""
    from .procs import child_init

    child_init(preload)


def _new_pool(jobs: int, preload: bool = True):  # -> ProcessPoolExecutor
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: MediaPipe's and OpenCV's threads do not survive fork
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=worker_init, initargs=(preload,))


def _stop_pool(pool: Any) -> None:
    """Stop at once: terminate the workers (a clip may be minutes from done), then let go."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def run_local(tasks: Sequence[ClipTask], jobs: int, on_done: OnDone, task_fn: TaskFn = score_clip) -> None:
    """One process per job, each scoring one clip at a time.

    At most `jobs` tasks are handed out at once, so when a worker dies (a decoder crash, out of
    memory) the suspects are known: they are rerun one at a time, and a clip that kills its
    worker alone is recorded as failed while the rest go on.
    """
    from concurrent.futures.process import BrokenProcessPool

    pending: deque[int] = deque(range(len(tasks)))
    suspects: deque[int] = deque()
    in_flight: dict[Any, int] = {}
    solo: set[int] = set()
    pool = None

    def hand_out(queue: deque[int]) -> None:
        i = queue[0]
        in_flight[pool.submit(task_fn, tasks[i])] = i  # raises BrokenProcessPool once a worker died
        queue.popleft()
        if queue is suspects:
            solo.add(i)

    try:
        while pending or suspects or in_flight:
            if pool is None:
                pool = _new_pool(jobs, preload=task_fn is score_clip)
            broken = False
            try:
                if suspects and not in_flight:
                    hand_out(suspects)
                while not suspects and pending and len(in_flight) < jobs:
                    hand_out(pending)
            except BrokenProcessPool:
                broken = True
            if not broken:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    outcome = _settled(fut)
                    if outcome is None:
                        broken = True  # settled below with the others that died with the pool
                    else:
                        on_done(in_flight.pop(fut), outcome)
            if broken:
                for fut, i in in_flight.items():
                    outcome = _settled(fut)
                    if outcome is not None:  # finished before the pool broke
                        on_done(i, outcome)
                    elif i in solo:
                        on_done(i, crash_outcome("the worker process died while scoring this clip"
                                                 " (a crash in the decoder or the model, or out of memory)"))
                    else:
                        suspects.append(i)
                in_flight.clear()
                _stop_pool(pool)
                pool = None
    finally:
        if pool is not None:
            if in_flight:  # interrupted
                _stop_pool(pool)
            else:
                pool.shutdown(wait=True)


def _settled(fut: Any) -> ClipOutcome | None:
    """A finished task's outcome; None if it had not finished or its worker died."""
    if not fut.done():
        return None
    try:
        return fut.result()
    except Exception:  # BrokenProcessPool (the task function itself never raises)
        return None


class RayUnavailable(FormcheckError):
    exit_code = 2


def _ship(task: ClipTask) -> ClipTask:
    """Send the clip's bytes with the task: cluster nodes need not see the driver's files."""
    try:
        data = Path(task.read_path).read_bytes()
    except OSError:
        return task  # the task then fails on the worker with the usual error
    return dataclasses.replace(task, data=data, read_path="", check_code=True)


def run_ray(
    tasks: Sequence[ClipTask],
    on_done: OnDone,
    address: str | None = None,
    jobs: int | None = None,
    task_fn: TaskFn = score_clip,
) -> None:
    """The same tasks as Ray tasks (one CPU each) on a cluster (`address`: "auto", "ray://host:10001")
    or, without an address, on a Ray instance started here with `jobs` CPUs.

    Clips travel as bytes in Ray's object store, results come back to the driver. At most twice
    the cluster's CPUs are in flight, so the driver never holds the whole folder in memory.
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(
            "--executor ray needs Ray: pip install 'formcheck[distributed]' (on every node of the cluster)"
        ) from exc
    import logging

    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": logging.ERROR}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a failure is reported below, once
                if address:
                    ray.init(address=address, **options)
                else:
                    ray.init(num_cpus=jobs or default_jobs(), **options)
        except Exception as exc:  # ConnectionError, RuntimeError, ... : one line, not a traceback
            raise RayUnavailable(f"cannot start or reach Ray ({address or 'local'}): {exc}") from exc
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(task_fn)
        capacity = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
        limit = 2 * capacity
        refs: dict[Any, int] = {}
        nxt = 0
        while nxt < len(tasks) or refs:
            while nxt < len(tasks) and len(refs) < limit:
                refs[remote.remote(_ship(tasks[nxt]))] = nxt
                nxt += 1
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                i = refs.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker or its node died
                    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    outcome = crash_outcome(f"the Ray task failed: {text}")
                on_done(i, outcome)
    finally:
        if started:
            ray.shutdown()


# ------------------------------------------------------------------ results


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def result_path(out: Path, clip: Clip) -> Path:
    return out / f"{clip.name}.json"


def load_result(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("batch"), dict) else None


def reusable(
    doc: dict[str, Any] | None, content_sha256: str, settings_sha256: str, retry_failed: bool
) -> bool:
    """An earlier result stands when it is for the same bytes and settings, and is not a failure
    worth another try."""
    if doc is None:
        return False
    b = doc["batch"]
    if b.get("content_sha256") != content_sha256 or b.get("settings_sha256") != settings_sha256:
        return False
    if b.get("status") in ("ok", "truncated"):
        return True
    return b.get("status") == "failed" and not retry_failed and not b.get("retryable", True)


def result_doc(clip: Clip, outcome: ClipOutcome, facts: dict[str, Any]) -> dict[str, Any]:
    """The clip's JSON: the report (formcheck.report/1) plus a "batch" block; or, for a clip that
    could not be scored, a formcheck.batch-failure/1 document with the same block."""
    block = {
        "schema": RESULT_SCHEMA,
        "clip": clip.name,
        "path": str(clip.path),
        "status": outcome.status,
        "error": outcome.error,
        "error_code": outcome.error_code,
        "error_type": outcome.error_type,
        "retryable": outcome.retryable,
        **facts,
        "seconds": round(outcome.seconds, 3),
        "worker": outcome.worker,
        "finished_at": _now(),
    }
    if outcome.report is None:
        return {"schema": FAILURE_SCHEMA, "formcheck_version": __version__, "source": str(clip.path),
                "batch": block}
    return {**outcome.report.as_json_dict(), "batch": block}


def report_of(doc: dict[str, Any]) -> Report | None:
    """The report in a clip's result document; None for a failure document (or an unreadable one)."""
    from pydantic import ValidationError

    if doc.get("schema") == FAILURE_SCHEMA:
        return None
    try:
        return Report.from_json_dict(doc)
    except (ValueError, ValidationError):
        return None


def summary_row(doc: dict[str, Any], result: str, earlier: bool) -> dict[str, Any]:
    b = doc["batch"]
    rep = report_of(doc)
    s = rep.summary if rep is not None else None
    return {
        "clip": b.get("clip"),
        "status": b.get("status"),
        "variant": rep.variant.name if rep is not None else b.get("variant"),
        "view": rep.measurement.view if rep is not None else None,
        "reps": s.rep_count if s else None,
        "faults": ";".join(f"{code}:{n}" for code, n in s.fault_counts.items()) if s else "",
        "score": s.score if s else None,
        "seconds": b.get("seconds"),
        "error": b.get("error"),
        "error_code": b.get("error_code"),
        "duration_s": rep.clip.duration_s if rep is not None else None,
        "from_earlier_run": earlier,
        "result": result,
        "content_sha256": b.get("content_sha256"),
    }


def summary_csv(rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: str(r["clip"])):
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in SUMMARY_COLUMNS})
    return buf.getvalue()


# ------------------------------------------------------------------ progress


class Progress:
    """A tqdm bar with ETA on a terminal; elsewhere (logs, CI) one line per clip with an ETA.

    Clips count by their expected work (seconds of video for the model, a token amount for a
    cached track), so the ETA holds although the longest clips go first."""

    def __init__(self, weights: dict[str, float], mode: str = "auto") -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode, self.weights = mode, weights
        self.total, self.total_weight = len(weights), sum(weights.values())
        self.done, self.done_weight = 0, 0.0
        self.start = time.monotonic()
        self.bar = None
        if mode == "bar" and self.total:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total_weight,
                file=sys.stderr,
                dynamic_ncols=True,
                smoothing=0.2,
                bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]",
            )

    def update(self, row: dict[str, Any]) -> None:
        weight = self.weights.get(row["clip"], 0.0)
        self.done += 1
        self.done_weight += weight
        what = f"{row['clip']}: {row['status']}"
        if row["status"] != "failed":
            what += f", {row['reps']} reps, score {row['score']}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.done}/{self.total} clips, {what[-50:]}", refresh=False)
            self.bar.update(weight)
        elif self.mode == "lines":
            elapsed = time.monotonic() - self.start
            left = self.total_weight - self.done_weight
            eta = elapsed * left / self.done_weight if self.done_weight > 0 else float("nan")
            print(f"[{self.done}/{self.total}] {what} ({row['seconds']} s; elapsed {_clock(elapsed)},"
                  f" ETA {_clock(eta)})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


# ------------------------------------------------------------------ the run


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    scored: int = 0  # this run, pose model included
    from_cache: int = 0  # this run, from a cached track (no model)
    earlier: int = 0  # already scored by an earlier run with the same bytes and settings
    failed: int = 0  # failed or truncated, this run or earlier
    frames: int = 0  # frames the pose model ran over in this run
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed else 0


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One batch at a time writes to a folder (a second one would race on the same files)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(out / LOCK_NAME, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise FormcheckError(f"{out}: another formcheck batch is writing to this folder") from exc
        yield


@dataclass
class _Item:
    clip: Clip
    facts: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    cost: float = 0.0


class _Run:
    def __init__(self, out: Path, settings: BatchSettings, cache: TrackCache, executor: str,
                 retry_failed: bool) -> None:
        self.out, self.settings, self.cache = out, settings, cache
        self.settings_sha = settings.sha256
        self.executor, self.retry_failed = executor, retry_failed
        self.rows: dict[str, dict[str, Any]] = {}
        self.result = BatchResult(rows=[])
        self.progress: Progress | None = None
        self.last_summary = time.monotonic()

    def survey(self, clip: Clip) -> tuple[_Item, dict[str, Any] | ClipOutcome | None]:
        """Hash a clip and decide: an earlier result (dict), a failure known now (outcome), or work (None)."""
        item = _Item(clip)
        p = clip.path
        try:
            if not p.exists():
                raise InputNotFound(f"{p}: no such file")
            if p.is_dir():
                raise InputIsDirectory(f"{p}: is a directory")
            size = p.stat().st_size
            content = file_sha256(p)
        except (FormcheckError, OSError) as exc:
            if not isinstance(exc, FormcheckError):
                exc = InputNotFound(f"{p}: cannot read: {exc.strerror or exc}")
            return item, failure(exc)
        item.key = self.settings.track_key(content)
        item.facts = {"content_sha256": content, "size_bytes": size, "settings_sha256": self.settings_sha,
                      "variant": self.settings.variant, "track_key": item.key,
                      "executor": self.executor, "track_from_cache": False}
        if size == 0:
            return item, failure(EmptyVideo(f"{p}: file is empty (0 bytes)"))
        doc = load_result(result_path(self.out, clip))
        if reusable(doc, content, self.settings_sha, self.retry_failed):
            return item, doc
        item.cost = estimated_cost(p)
        return item, None

    def record(self, item: _Item, outcome: ClipOutcome) -> None:
        if outcome.track is not None and not item.facts.get("track_from_cache"):
            self.cache.put(item.key, outcome.track)
            self.result.frames += outcome.track.n_frames
        doc = result_doc(item.clip, outcome, item.facts)
        path = result_path(self.out, item.clip)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        if outcome.report is not None:
            if item.facts.get("track_from_cache"):
                self.result.from_cache += 1
            else:
                self.result.scored += 1
        self.add_row(item.clip, doc, earlier=False)

    def add_row(self, clip: Clip, doc: dict[str, Any], earlier: bool) -> None:
        row = summary_row(doc, result_path(self.out, clip).relative_to(self.out).as_posix(), earlier)
        self.rows[clip.name] = row
        self.result.earlier += earlier
        self.result.failed += row["status"] != "ok"
        if self.progress is not None and not earlier:
            self.progress.update(row)
        if time.monotonic() - self.last_summary > SUMMARY_EVERY_S:
            self.write_summary()

    def from_cache(self, item: _Item, track: PoseTrack) -> None:
        start = time.perf_counter()
        item.facts["track_from_cache"] = True
        try:
            outcome = analyse(rebase(track, str(item.clip.path)), self.settings)
        except Exception as exc:
            outcome = failure(exc)
        outcome.seconds = time.perf_counter() - start
        outcome.worker = {"host": socket.gethostname(), "pid": os.getpid(), "formcheck": __version__}
        self.record(item, outcome)

    def write_summary(self) -> None:
        atomic_write_text(self.out / SUMMARY_NAME, summary_csv(self.rows.values()))
        self.last_summary = time.monotonic()


def run_batch(
    paths: Sequence[str | Path],
    out: str | Path,
    settings: BatchSettings,
    *,
    jobs: int | None = None,
    executor: str = "local",
    address: str | None = None,
    cache_dir: str | Path | None = None,
    retry_failed: bool = False,
    progress: str = "auto",
    task_fn: TaskFn = score_clip,
) -> BatchResult:
    """Score every clip under `paths` into `out` (see the module docstring); `executor` is
    "local" (processes), "ray", or "inline" (this process, for tests)."""
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = TrackCache(cache_dir if cache_dir is not None else out / TRACKS_DIR)
    jobs = jobs or default_jobs()
    with _locked(out):
        remove_stale_temps(out)
        found = discover(paths, exclude=[out, cache.root])
        if not found.clips:
            raise NoClipsFound(
                f"no video found under {', '.join(map(str, paths))}"
                + (f" ({found.ignored} other files)" if found.ignored else "")
            )
        run = _Run(out, settings, cache, executor, retry_failed)
        work: list[_Item] = []
        with ThreadPoolExecutor(min(8, 2 * jobs)) as hashers:  # hashlib and file reads release the GIL
            for item, known in hashers.map(run.survey, found.clips):
                if isinstance(known, dict):
                    run.add_row(item.clip, known, earlier=True)
                elif isinstance(known, ClipOutcome):
                    run.record(item, known)
                else:
                    work.append(item)
        try:
            _score(run, work, jobs, executor, address, progress, task_fn)
        finally:
            run.write_summary()
    run.result.rows = sorted(run.rows.values(), key=lambda r: str(r["clip"]))
    run.result.seconds = time.monotonic() - started
    return run.result


def _score(run: _Run, work: list[_Item], jobs: int, executor: str, address: str | None, progress: str,
           task_fn: TaskFn) -> None:
    """Cached tracks here, the rest through the executor; a clip whose bytes another clip in this
    run also has waits for that one's track instead of running the model twice."""
    cached = {it.clip.name for it in work if run.cache.path(it.key).is_file()}
    weights = {it.clip.name: CACHED_WEIGHT if it.clip.name in cached else max(it.cost, 0.1) for it in work}
    run.progress = Progress(weights, progress)
    try:
        todo: list[_Item] = []
        for item in work:
            track = run.cache.get(item.key) if item.clip.name in cached else None  # loaded one at a time
            if track is not None:
                run.from_cache(item, track)
            else:
                todo.append(item)
        todo.sort(key=lambda it: -it.cost)  # longest first: the tail of the run is a short clip
        first: dict[str, _Item] = {}
        twins: dict[str, list[_Item]] = {}
        for item in todo:
            if item.key in first:
                twins.setdefault(item.key, []).append(item)
            else:
                first[item.key] = item
        leads = list(first.values())
        tasks = [ClipTask(str(it.clip.path), str(it.clip.path.resolve()), run.settings) for it in leads]

        def on_done(i: int, outcome: ClipOutcome) -> None:
            item = leads[i]
            run.record(item, outcome)
            for twin in twins.get(item.key, []):
                if outcome.track is not None:
                    run.from_cache(twin, outcome.track)
                else:
                    copy = dataclasses.replace(outcome, error=(outcome.error or "").replace(
                        str(item.clip.path), str(twin.clip.path)))
                    run.record(twin, copy)

        if not tasks:
            return
        if executor == "inline":
            run_inline(tasks, on_done, task_fn)
        elif executor == "local":
            run_local(tasks, min(jobs, len(tasks)), on_done, task_fn)
        elif executor == "ray":
            run_ray(tasks, on_done, address=address, jobs=jobs if address is None else None, task_fn=task_fn)
        else:
            raise ValueError(f"unknown executor {executor!r}")
    finally:
        run.progress.close()


def render_outcome(result: BatchResult, out: str | Path) -> str:
    """The closing lines of `formcheck batch`."""
    n = len(result.rows)
    this = [f"{result.scored} scored with the pose model"]
    if result.from_cache:
        this.append(f"{result.from_cache} from cached pose tracks")
    if result.earlier:
        this.append(f"{result.earlier} kept from an earlier run")
    rate = f", {result.frames / result.seconds:.0f} frames/s" if result.frames else ""
    return (
        f"{n} clip{'s' * (n != 1)}: {n - result.failed} ok, {result.failed} failed or truncated;"
        f" this run: {', '.join(this)} ({result.seconds:.1f} s{rate})\n"
        f"results: {Path(out)}/<clip>.json, summary: {Path(out) / SUMMARY_NAME}\n"
    )
