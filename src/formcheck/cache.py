"""Content hashes and the pose-track cache used by batch scoring and the web app.

The pose model is the expensive step (seconds per clip); the analysis after it takes
milliseconds. Tracks are therefore cached by what determines them: the clip's bytes, the
model's bytes and how the model was run. Re-scoring a folder with new thresholds or another
variant then reads tracks from the cache and never starts the model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .track import TRACK_SCHEMA_VERSION, PoseTrack

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
        track.save(p)  # atomic, through a temp name of its own: concurrent writers never clash
        return p
