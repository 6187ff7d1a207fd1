"""Crash-safe file writes: every result formcheck writes goes through here.

A file is written to a hidden temp file in the same folder, flushed to disk, then renamed over
its final name, so a crash (even kill -9 or power loss) leaves the old file or the new one, never
half of one. A leftover temp file is named `.NAME.*.tmp`: never taken for a result, and removed
by `remove_stale_temps` where a folder has an owner (batch's output, the web app's data).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

TEMP_SUFFIX = ".tmp"


def file_mode() -> int:
    """What open() would give a new file: mkstemp's own 0600 would hide results from other users."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class PendingFile:
    """A hidden temp file beside `path`, for a writer that opens files by name and lives across
    calls (an encoder): `commit()` syncs it and renames it over `path`, `abort()` removes it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=self.path.parent)
        self.tmp = Path(name)
        try:
            os.fchmod(fd, file_mode())
        finally:
            os.close(fd)

    def commit(self) -> None:
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path beside `path` for a writer that opens files by name (numpy, FFmpeg); on a
    clean exit it is synced and renamed over `path`, on an exception removed."""
    pending = PendingFile(path)
    try:
        yield pending.tmp
    except BaseException:
        pending.abort()
        raise
    pending.commit()


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """`write(fh)` into a temp file, then rename it over `path` (see the module docstring)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)


def atomic_write_text(path: str | Path, text: str) -> None:
    """`text` as UTF-8, newlines as given (a CSV's own line ends stay as they are)."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed run left behind (only while owning the folder, e.g. its lock)."""
    removed = 0
    for tmp in folder.rglob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed
