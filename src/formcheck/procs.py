"""Child processes that do the heavy work (batch's workers, the web app's job runner)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys


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
