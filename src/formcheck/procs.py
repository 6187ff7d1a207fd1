"""Child processes that do formcheck's heavy work (batch's pool workers, the web app's job
runners): how they start so that they never outlive, or fight over Ctrl-C with, their parent."""

from __future__ import annotations

import contextlib
import os
import signal
import sys


def worker_init(preload: bool = True) -> None:
    """Ctrl-C is the parent's to handle, and the process dies with its parent (so a kill -9 of
    the parent leaves no orphan burning a core). `preload` imports the pose stack once here, so
    no clip's time includes the imports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)
    if preload:
        import mediapipe  # noqa: F401

        import formcheck.pose  # noqa: F401
