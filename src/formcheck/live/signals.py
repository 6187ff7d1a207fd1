"""Signals during a live session: a `kill` ends it as Ctrl-C does, and while it is being saved a
second Ctrl-C only says to wait."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A `kill` (SIGTERM) ends the session as Ctrl-C does: saved, not lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def sigint_deferred(stderr: TextIO) -> Iterator[None]:
    """While saving, a second Ctrl-C only says to wait: it must not lose the session."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(*_: object) -> None:
        print("formcheck: saving the session, one moment", file=stderr)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
