"""Batch scoring: every clip under some paths, in parallel, resumable, locally or on Ray.

The process the command runs in (the *driver*) does all the bookkeeping:

    discover clips (by content) -> hash each one -> skip what an earlier run already scored
    with the same bytes and settings -> analyse clips whose pose track is cached (milliseconds)
    -> send the rest to an executor -> cache each returned track, write the clip's JSON
    atomically, append its row to summary.csv -> rewrite summary.csv sorted at the end.

An executor only runs `score_clip` (pose model + analysis) and hands back the report and the
track; the local one uses one process per core, the Ray one a Ray cluster. Only the driver
writes files, so `--out` is a folder on the driver's machine whatever the executor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import TrackCache, file_sha256
from ..errors import EmptyVideo, FormcheckError, InputIsDirectory, InputNotFound, NoClipsFound
from ..files import remove_stale_temps
from ..track import PoseTrack
from .discover import Clip, discover, estimated_cost
from .executors import TaskFn, default_jobs, run_inline, run_local, run_ray
from .progress import Progress
from .results import (
    SUMMARY_NAME,
    SummaryFile,
    load_result,
    result_doc,
    result_path,
    reusable,
    summary_row,
    write_result,
)
from .settings import BatchSettings
from .task import ClipOutcome, ClipTask, analyse, failure, score_clip, worker_facts

LOCK_NAME = ".formcheck-batch.lock"
TRACKS_DIR = ".tracks"
EXIT_SOME_FAILED = 4  # the batch ran; at least one clip failed or was truncated (see summary.csv)
CACHED_WEIGHT = 0.05  # progress weight of a clip whose track is cached, against its video's seconds
# a clip's default time limit: generous (a loaded 2-core machine runs the model at ~1x real time,
# and the local pool's start is counted), yet a hung decoder holds a core minutes, not forever
TIMEOUT_BASE_S = 300.0
TIMEOUT_PER_VIDEO_S = 20.0


def default_timeout(video_seconds: float) -> float:
    """5 minutes plus 20 s per second of video (from the MP4 header, else guessed from the size)."""
    return TIMEOUT_BASE_S + TIMEOUT_PER_VIDEO_S * max(0.0, video_seconds)


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
    """One batch at a time writes to a folder (a second one would race on the same files). The
    lock is the kernel's (flock) on the lock file, so it dies with its process: the file a killed
    run leaves behind locks nothing, and holds the pid of the last run that had it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(out / LOCK_NAME, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.seek(0)
            holder = fh.read().strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise FormcheckError(f"{out}: another formcheck batch{who} is writing to this folder") from exc
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield


@dataclass
class _Item:
    clip: Clip
    facts: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    cost: float = 0.0
    retry: bool = False  # --retry-failed of a failed or truncated clip: decode again, not from the cache


class _Run:
    def __init__(self, out: Path, settings: BatchSettings, cache: TrackCache, executor: str,
                 retry_failed: bool, summary: SummaryFile) -> None:
        self.out, self.settings, self.cache = out, settings, cache
        self.settings_sha = settings.sha256
        self.executor, self.retry_failed = executor, retry_failed
        self.rows: dict[str, dict[str, Any]] = {}
        self.result = BatchResult(rows=[])
        self.progress: Progress | None = None
        self.summary = summary

    def survey(self, clip: Clip) -> tuple[_Item, dict[str, Any] | ClipOutcome | None]:
        """Hash a clip and decide: an earlier result (its summary row), a failure known now (outcome),
        or work (None)."""
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
            return item, self.row(clip, doc, earlier=True)  # the row only: 10,000 reports stay on disk
        item.retry = self.retry_failed and doc is not None and doc["batch"].get("status") != "ok"
        item.cost = estimated_cost(p)
        return item, None

    def record(self, item: _Item, outcome: ClipOutcome) -> None:
        if outcome.track is not None and not item.facts.get("track_from_cache"):
            self.cache.put(item.key, outcome.track)
            self.result.frames += outcome.track.n_frames
        doc = result_doc(item.clip, outcome, item.facts)
        row = self.row(item.clip, doc, earlier=False)  # made before the JSON lands: a tiny gap to its row
        write_result(result_path(self.out, item.clip), doc)
        if outcome.report is not None:
            if item.facts.get("track_from_cache"):
                self.result.from_cache += 1
            else:
                self.result.scored += 1
        self.add_row(row)

    def row(self, clip: Clip, doc: dict[str, Any], earlier: bool) -> dict[str, Any]:
        return summary_row(doc, result_path(self.out, clip).relative_to(self.out).as_posix(), earlier)

    def add_row(self, row: dict[str, Any]) -> None:
        self.rows[row["clip"]] = row
        earlier = row["from_earlier_run"]
        self.result.earlier += earlier
        self.result.failed += row["status"] != "ok"
        self.summary.append(row)  # after the clip's JSON is in place: the two agree through a kill
        if self.progress is not None and not earlier:
            self.progress.update(row)

    def from_cache(self, item: _Item, track: PoseTrack) -> None:
        start = time.perf_counter()
        item.facts["track_from_cache"] = True
        try:
            outcome = analyse(track.renamed(str(item.clip.path)), self.settings)
        except Exception as exc:
            outcome = failure(exc)
        outcome.seconds = time.perf_counter() - start
        outcome.worker = worker_facts()
        self.record(item, outcome)


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
    timeout: float | None = None,
    task_fn: TaskFn = score_clip,
) -> BatchResult:
    """Score every clip under `paths` into `out` (see the module docstring); `executor` is
    "local" (processes), "ray", or "inline" (this process, for tests). `timeout`: seconds a clip
    may take before it is stopped and recorded as failed (None: `default_timeout` of its length;
    math.inf: no limit; the inline executor has none)."""
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
        run = _Run(out, settings, cache, executor, retry_failed, SummaryFile(out))
        try:
            work = _survey(run, found.clips, jobs)
            _score(run, work, _Plan(jobs, executor, address, progress, timeout, task_fn))
        finally:  # also on Ctrl-C: the rows so far, sorted
            run.summary.finish(run.rows.values())
    run.result.rows = sorted(run.rows.values(), key=lambda r: str(r["clip"]))
    run.result.seconds = time.monotonic() - started
    return run.result


def _survey(run: _Run, clips: list[Clip], jobs: int) -> list[_Item]:
    """Earlier results and failures known without the model are recorded; the rest is the work."""
    work: list[_Item] = []
    with ThreadPoolExecutor(min(8, 2 * jobs)) as hashers:  # hashlib and file reads release the GIL
        for item, known in hashers.map(run.survey, clips):
            if isinstance(known, dict):
                run.add_row(known)
            elif isinstance(known, ClipOutcome):
                run.record(item, known)
            else:
                work.append(item)
    return work


@dataclass(frozen=True)
class _Plan:
    """How the clips that need the model are scored."""

    jobs: int
    executor: str
    address: str | None
    progress: str
    timeout: float | None
    task_fn: TaskFn

    def time_limit(self, item: _Item) -> float | None:
        limit = default_timeout(item.cost) if self.timeout is None else self.timeout
        return None if math.isinf(limit) else limit


def _score(run: _Run, work: list[_Item], plan: _Plan) -> None:
    """Cached tracks here, the rest through the executor; a clip whose bytes another clip in this
    run also has waits for that one's track instead of running the model twice."""
    cached = {it.clip.name for it in work if not it.retry and run.cache.path(it.key).is_file()}
    weights = {it.clip.name: CACHED_WEIGHT if it.clip.name in cached else max(it.cost, 0.1) for it in work}
    run.progress = Progress(weights, plan.progress)
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
        tasks = [ClipTask(str(it.clip.path), str(it.clip.path.resolve()), run.settings,
                          timeout_s=plan.time_limit(it)) for it in leads]

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
        if plan.executor == "inline":
            run_inline(tasks, on_done, plan.task_fn)
        elif plan.executor == "local":
            run_local(tasks, min(plan.jobs, len(tasks)), on_done, plan.task_fn)
        elif plan.executor == "ray":
            jobs = plan.jobs if plan.address is None else None
            run_ray(tasks, on_done, address=plan.address, jobs=jobs, task_fn=plan.task_fn)
        else:
            raise ValueError(f"unknown executor {plan.executor!r}")
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
