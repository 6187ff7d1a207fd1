"""Where clips are scored: inline (this process), local (one process per core), or Ray.

Each executor takes the tasks and calls `on_done(i, outcome)` in the driver as each clip ends,
whatever happened to it: a worker that dies (decoder crash, out of memory) or a clip that runs
past its time limit (a decoder or model that hangs) becomes that clip's failure, its worker is
killed and replaced, and the rest go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ..errors import FormcheckError
from ..procs import child_init, usable_cores
from .task import ClipOutcome, ClipTask, crash_outcome, score_clip, timeout_outcome

OnDone = Callable[[int, ClipOutcome], None]
TaskFn = Callable[[ClipTask], ClipOutcome]


def default_jobs() -> int:
    return usable_cores()


def run_inline(tasks: Sequence[ClipTask], on_done: OnDone, task_fn: TaskFn = score_clip) -> None:
    """One after another in this process (tests, debugging); no time limit (nothing to kill)."""
    for i, task in enumerate(tasks):
        on_done(i, task_fn(task))


def _new_pool(jobs: int, preload: bool = True) -> ProcessPoolExecutor:
    # spawn: MediaPipe's and OpenCV's threads do not survive fork
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=child_init, initargs=(preload,))


def _stop_pool(pool: Any) -> None:
    """Stop at once: kill the workers (a clip may be minutes from done, or hung), then let go."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.kill()
    for proc in procs:  # reaped: gone when this returns, not a zombie holding memory
        with contextlib.suppress(Exception):
            proc.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


class _Clock:
    """When each task in flight must end; `left()` is how long the driver may wait for one."""

    def __init__(self, tasks: Sequence[ClipTask]) -> None:
        self.tasks = tasks
        self.ends: dict[Any, float] = {}

    def start(self, key: Any, i: int) -> None:
        limit = self.tasks[i].timeout_s
        self.ends[key] = time.monotonic() + limit if limit is not None else float("inf")

    def forget(self, key: Any) -> None:
        self.ends.pop(key, None)

    def overdue(self) -> list[Any]:
        now = time.monotonic()
        return [key for key, end in self.ends.items() if end <= now]

    def left(self) -> float | None:
        soonest = min(self.ends.values(), default=float("inf"))
        return None if soonest == float("inf") else max(0.0, soonest - time.monotonic())


def run_local(tasks: Sequence[ClipTask], jobs: int, on_done: OnDone, task_fn: TaskFn = score_clip) -> None:
    """One process per job, each scoring one clip at a time.

    At most `jobs` tasks are handed out at once, so when a worker dies (a decoder crash, out of
    memory) the suspects are known: they are rerun one at a time, and a clip that kills its
    worker alone is recorded as failed while the rest go on. A clip past its time limit is
    recorded as timed out and the pool is killed and replaced (a pool cannot lose one worker);
    the other clips it held are handed out again.
    """
    pending: deque[int] = deque(range(len(tasks)))
    suspects: deque[int] = deque()
    in_flight: dict[Any, int] = {}
    solo: set[int] = set()
    clock = _Clock(tasks)
    pool = None

    def hand_out(queue: deque[int]) -> None:
        i = queue[0]
        fut = pool.submit(task_fn, tasks[i])  # raises BrokenProcessPool once a worker died
        in_flight[fut] = i
        clock.start(fut, i)
        queue.popleft()
        if queue is suspects:
            solo.add(i)

    def finish(fut: Any, outcome: ClipOutcome) -> None:
        clock.forget(fut)
        on_done(in_flight.pop(fut), outcome)

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
                done, _ = wait(in_flight, timeout=clock.left(), return_when=FIRST_COMPLETED)
                for fut in done:
                    outcome = _settled(fut)
                    if outcome is None:
                        broken = True  # settled below with the others that died with the pool
                    else:
                        finish(fut, outcome)
                overdue = [fut for fut in clock.overdue() if not fut.done()]
                if overdue and not broken:
                    for fut in overdue:
                        finish(fut, timeout_outcome(tasks[in_flight[fut]]))
                    for fut in list(in_flight):  # innocent: scored again in the new pool
                        outcome = _settled(fut)
                        if outcome is not None:
                            finish(fut, outcome)
                        else:
                            clock.forget(fut)
                            pending.appendleft(in_flight.pop(fut))
                    _stop_pool(pool)
                    pool = None
                    continue
            if broken:
                for fut, i in in_flight.items():
                    clock.forget(fut)
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


def _connect(address: str | None, jobs: int | None) -> bool:
    """ray.init unless Ray already runs here; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                               "logging_level": logging.ERROR}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failure is reported below, once
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=jobs or default_jobs(), **options)
    except Exception as exc:  # ConnectionError, RuntimeError, AuthenticationError: one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayUnavailable(f"cannot start or reach Ray ({address or 'local'}): {first}") from exc
    return True


def run_ray(
    tasks: Sequence[ClipTask],
    on_done: OnDone,
    address: str | None = None,
    jobs: int | None = None,
    task_fn: TaskFn = score_clip,
) -> None:
    """The same tasks as Ray tasks (one CPU each) on a cluster (`address`: "auto", "HOST:6379",
    "ray://host:10001") or, without an address, on a Ray instance started here with `jobs` CPUs.

    Clips travel as bytes in Ray's object store, results come back to the driver. At most twice
    the cluster's CPUs are in flight, so the driver never holds the whole folder in memory. A
    task's time limit runs from when it can have a CPU (it is among the oldest `capacity` in
    flight); one past it is cancelled with its worker killed (Ray starts another).
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(
            "--executor ray needs Ray: pip install 'formcheck[distributed]' (on every node of the cluster)"
        ) from exc

    started = _connect(address, jobs)
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(task_fn)
        capacity = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
        limit = 2 * capacity
        refs: dict[Any, int] = {}  # in submission order
        clock = _Clock(tasks)
        nxt = 0
        while nxt < len(tasks) or refs:
            while nxt < len(tasks) and len(refs) < limit:
                refs[remote.remote(_ship(tasks[nxt]))] = nxt
                nxt += 1
            for ref in list(refs)[:capacity]:
                if ref not in clock.ends:
                    clock.start(ref, refs[ref])
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=clock.left())
            for ref in ready:
                i = refs.pop(ref)
                clock.forget(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker or its node died
                    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    outcome = crash_outcome(f"the Ray task failed: {text}")
                on_done(i, outcome)
            for ref in clock.overdue():
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)  # kills the worker process running it
                clock.forget(ref)
                i = refs.pop(ref)
                on_done(i, timeout_outcome(tasks[i]))
    finally:
        if started:
            ray.shutdown()
