"""The session folder: `track.npz` (the set's pose track, `formcheck analyze --track` re-reads it),
`report.json` (formcheck.report/1 of the set, as `formcheck analyze --json` writes it) and
`session.json` (what happened live: frames, drops, latency, when counting started, every cue,
the reps as they were counted). Each file is written atomically.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from formcheck.errors import FormcheckError
from formcheck.files import atomic_write_text
from formcheck.report import Report, write_json
from formcheck.track import PoseTrack

SESSION_SCHEMA = "formcheck.live-session/1"
FILES = ("track.npz", "report.json", "session.json")
DEFAULT_ROOT = "formcheck-live"


class SessionFolderError(FormcheckError):
    """The session folder cannot be created or already holds a session."""

    exit_code = 20  # the CLI's 'cannot write an output'


def session_dir(out: str | None) -> Path:
    """The folder to save in: `out`, or formcheck-live/<date>_<time> under the current folder."""
    path = Path(out) if out else Path(DEFAULT_ROOT) / time.strftime("%Y-%m-%d_%H-%M-%S")
    if path.exists() and not path.is_dir():
        raise SessionFolderError(f"{path}: exists and is not a folder")
    taken = [name for name in FILES if (path / name).exists()]
    if taken:
        raise SessionFolderError(f"{path}: already holds a session ({', '.join(taken)}); give another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionFolderError(f"cannot create {path}: {exc.strerror or exc}") from exc
    return path


def save_track(folder: Path, track: PoseTrack) -> Path:
    path = folder / "track.npz"
    track.save(path)
    return path


def save_report(folder: Path, report: Report) -> Path:
    path = folder / "report.json"
    write_json(path, report)
    return path


def save_session(folder: Path, doc: dict[str, Any]) -> Path:
    path = folder / "session.json"
    atomic_write_text(path, json.dumps({"schema": SESSION_SCHEMA, **doc}, indent=2) + "\n")
    return path
