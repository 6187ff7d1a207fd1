"""Content hashes, crash-safe writes and the pose-track cache used by batch scoring.

The pose model is the expensive step (seconds per clip); the analysis after it takes
milliseconds. Tracks are therefore cached by what determines them: the clip's bytes, the
model's bytes and how the model was run. Re-scoring a folder with new thresholds or another
variant then reads tracks from the cache and never starts the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .track import TRACK_SCHEMA_VERSION, PoseTrack

TEMP_SUFFIX = ".tmp"
_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, streamed (memory stays flat for any size)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def canonical_sha256(data: Any) -> str:
    """sha256 of JSON-able data in a canonical form (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_mode() -> int:
    """What open() would give a new file: mkstemp's own 0600 would hide results from other users."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a hidden temp file in the same folder, fsync, then rename over `path`.

    A crash (even kill -9 or power loss) leaves either the old file or the new one, never
    half of one; a leftover temp file is named `.NAME.*.tmp` and is never taken for a result.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed run left behind (call only while holding the folder's lock)."""
    removed = 0
    for tmp in folder.rglob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def track_key(content_sha256: str, model_sha256: str, extraction: dict[str, Any]) -> str:
    """Cache key of a pose track: clip bytes + model bytes + how the model was run."""
    return canonical_sha256(
        {
            "clip": content_sha256,
            "model": model_sha256,
            "extraction": extraction,
            "track_schema": TRACK_SCHEMA_VERSION,
        }
    )[:40]


class TrackCache:
    """Pose tracks as `<key>.npz` files in one folder, safe to share between runs."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def get(self, key: str) -> PoseTrack | None:
        """The cached track, or None when absent or unreadable (it is then simply recomputed)."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return PoseTrack.load(p)
        except Exception:  # a damaged or foreign file is a miss, not an error
            return None

    def put(self, key: str, track: PoseTrack) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        p = self.path(key)
        # PoseTrack.save writes through its own fixed temp name; give it a unique one
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=TEMP_SUFFIX, dir=self.root)
        os.close(fd)
        try:
            track.save(tmp)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p
