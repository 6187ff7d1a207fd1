"""How the heavy work uses the cores: child processes (batch's workers, the web app's job runner),
the cores a process may use, and OpenCV's thread pool while formcheck's own shares fill them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator

import cv2


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def child_init(preload: bool = False) -> None:
    """Ctrl-C is the parent's to handle, and the child dies with its parent (so a kill -9 of the
    parent leaves no orphan burning a core). preload: import the model runtime now, so no clip's
    time includes the imports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)
    if preload:
        import mediapipe  # noqa: F401


_opencv_lock = threading.Lock()
_opencv_users = 0
_opencv_threads = 0  # OpenCV's setting before the first user


@contextlib.contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV's own thread pool off while a stage runs one share of its work per core (the pose
    pass, the annotated clip's parts): its parallel resize and colour conversion then only contend
    with the shares. Measured on this 2-core machine: resizing a 1280x720 frame to 854x480 (the
    size kept then) costs 0.84 ms of CPU single-threaded and 1.29 ms on OpenCV's two threads (0.65 ms of
    wall time, which only counts when a core is idle). Whole-job timings were too noisy here to
    show the ~0.2 CPU-s it saves on the benchmark clip. The setting is process-wide: nested and
    concurrent users share it, the last one out restores it."""
    global _opencv_users, _opencv_threads
    with _opencv_lock:
        if _opencv_users == 0:
            _opencv_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _opencv_users += 1
    try:
        yield
    finally:
        with _opencv_lock:
            _opencv_users -= 1
            if _opencv_users == 0:
                cv2.setNumThreads(_opencv_threads)
