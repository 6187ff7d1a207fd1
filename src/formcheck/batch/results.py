"""What batch writes: one JSON per clip and summary.csv, and which earlier results stand.

summary.csv is kept in step with the JSONs even through a kill -9: a run starts it afresh (a
header only), appends each clip's row right after the clip's JSON is in place (one write of one
line, so a kill never leaves half a row), and rewrites it sorted by clip at the end. Appending
keeps the cost per clip constant: a folder of 10,000 clips never rewrites a growing file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import __version__
from ..files import atomic_write_text
from ..report import Report
from .discover import Clip
from .task import ClipOutcome

RESULT_SCHEMA = "formcheck.batch/1"  # the "batch" block of each clip's JSON
FAILURE_SCHEMA = "formcheck.batch-failure/1"  # a clip's JSON when it could not be scored
SUMMARY_NAME = "summary.csv"

SUMMARY_COLUMNS = (
    "clip",
    "status",
    "variant",
    "view",
    "reps",
    "faults",
    "score",
    "seconds",
    "error",
    "error_code",
    "duration_s",
    "from_earlier_run",
    "result",
    "content_sha256",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def result_path(out: Path, clip: Clip) -> Path:
    return out / f"{clip.name}.json"


def load_result(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("batch"), dict) else None


def write_result(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def reusable(
    doc: dict[str, Any] | None, content_sha256: str, settings_sha256: str, retry_failed: bool
) -> bool:
    """An earlier result stands when it is for the same bytes and settings, and is not a failure
    worth another try: a truncated clip (scored as far as it decoded) and a failure the same
    bytes would repeat are kept unless `retry_failed`."""
    if doc is None:
        return False
    b = doc["batch"]
    if b.get("content_sha256") != content_sha256 or b.get("settings_sha256") != settings_sha256:
        return False
    status = b.get("status")
    if status == "ok":
        return True
    if status == "truncated":
        return not retry_failed
    return status == "failed" and not retry_failed and not b.get("retryable", True)


def result_doc(clip: Clip, outcome: ClipOutcome, facts: dict[str, Any]) -> dict[str, Any]:
    """The clip's JSON: the report (formcheck.report/1) plus a "batch" block; or, for a clip that
    could not be scored, a formcheck.batch-failure/1 document with the same block."""
    block = {
        "schema": RESULT_SCHEMA,
        "clip": clip.name,
        "path": str(clip.path),
        "status": outcome.status,
        "error": outcome.error,
        "error_code": outcome.error_code,
        "error_type": outcome.error_type,
        "retryable": outcome.retryable,
        **facts,
        "seconds": round(outcome.seconds, 3),
        "worker": outcome.worker,
        "finished_at": _now(),
    }
    if outcome.report is None:
        return {"schema": FAILURE_SCHEMA, "formcheck_version": __version__, "source": str(clip.path),
                "batch": block}
    return {**outcome.report.as_json_dict(), "batch": block}


def report_of(doc: dict[str, Any]) -> Report | None:
    """The report in a clip's result document; None for a failure document (or an unreadable one)."""
    if doc.get("schema") == FAILURE_SCHEMA:
        return None
    try:
        return Report.from_json_dict(doc)
    except (ValueError, ValidationError):
        return None


def summary_row(doc: dict[str, Any], result: str, earlier: bool) -> dict[str, Any]:
    b = doc["batch"]
    rep = report_of(doc)
    s = rep.summary if rep is not None else None
    return {
        "clip": b.get("clip"),
        "status": b.get("status"),
        "variant": rep.variant.name if rep is not None else b.get("variant"),
        "view": rep.measurement.view if rep is not None else None,
        "reps": s.rep_count if s else None,
        "faults": ";".join(f"{code}:{n}" for code, n in s.fault_counts.items()) if s else "",
        "score": s.score if s else None,
        "seconds": b.get("seconds"),
        "error": b.get("error"),
        "error_code": b.get("error_code"),
        "duration_s": rep.clip.duration_s if rep is not None else None,
        "from_earlier_run": earlier,
        "result": result,
        "content_sha256": b.get("content_sha256"),
    }


def _csv_lines(rows: Iterable[dict[str, Any]], header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in SUMMARY_COLUMNS})
    return buf.getvalue()


def summary_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The whole summary, sorted by clip."""
    return _csv_lines(sorted(rows, key=lambda r: str(r["clip"])), header=True)


class SummaryFile:
    """summary.csv during a run: restarted with its header, one appended row per clip handled,
    sorted in `finish`. Between any two writes it lists exactly the clips handled so far."""

    def __init__(self, out: Path) -> None:
        self.path = out / SUMMARY_NAME
        atomic_write_text(self.path, _csv_lines((), header=True))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, row: dict[str, Any]) -> None:
        os.write(self._fd, _csv_lines([row], header=False).encode("utf-8"))  # one write: whole or none

    def finish(self, rows: Iterable[dict[str, Any]]) -> None:
        self.close()
        atomic_write_text(self.path, summary_csv(rows))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
