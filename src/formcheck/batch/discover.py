"""Finding the clips: every video under the given paths, by content, each once, each named."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..io.container import is_video_candidate, mp4_duration


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


def estimated_cost(path: Path) -> float:
    """Rough seconds of video, to start the longest clips first (the last clip then is short,
    so no core idles long at the end) and to size its time limit: the MP4 header's duration,
    else a guess from the size."""
    duration = mp4_duration(path)
    if duration is not None and duration > 0:
        return duration
    try:
        return path.stat().st_size / 150_000  # ~1.2 Mbit/s, a typical phone clip
    except OSError:
        return 0.0
