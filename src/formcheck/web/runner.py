"""One job, in its own process: `python -m formcheck.web.runner SPEC_JSON`.

It does what `formcheck analyze CLIP --json --csv --html --annotate` does, writing into the job's
result folder, and tells the worker how far it is as JSON lines on its stdout:

    {"stage": "pose model"}  {"progress": [done, total]}
    {"done": {summary...}, "warning": null | "..."}   or   {"error": "...", "code": 13}

A crash of the decoder or the model (or the OOM killer) ends this process, never the server: the
worker sees it exit without a last line and fails the job with the exit status. Pose tracks are
cached by the clip's bytes, so the same clip analysed again (another variant, a retry) skips the
model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .. import pipeline
from ..cache import TrackCache
from ..errors import describe_failure
from ..pipeline import Settings
from ..procs import child_init
from ..report import Report
from .curves import write_curve
from .speed_store import speed_summary

_out: IO[str] = sys.stdout


def emit(**message: Any) -> None:
    _out.write(json.dumps(message) + "\n")
    _out.flush()


def settings_of(spec: dict[str, Any]) -> Settings:
    return Settings(
        variant=spec["variant"], model=spec.get("model"), pose_workers=spec.get("pose_workers"),
        height_cm=spec.get("height_cm"),  # the athlete profile's height (speed_store)
    )


def cache_key(content_sha256: str, model: str | None, pose_workers: int | None) -> str:
    """The track cache key of a clip as this app extracts it (tests use it to seed the cache)."""
    return Settings(model=model, pose_workers=pose_workers).track_key(content_sha256)


def _progress_sender(min_interval_s: float = 0.25) -> Callable[[int, int], None]:
    last = [0.0]

    def send(done: int, total: int) -> None:
        t = time.monotonic()
        if t - last[0] >= min_interval_s or done >= total:
            last[0] = t
            emit(progress=[done, total])

    return send


def summary_of(report: Report, seconds: float) -> dict[str, Any]:
    """The job's row in the database: the figures an athlete's history and trends show."""
    s = report.summary
    return {
        "variant_used": report.variant.name,
        "view": report.measurement.view,
        "rep_count": s.rep_count,
        "mean_top_hip_deg": s.mean_top_hip_deg,
        "mean_up_s": s.mean_up_s,
        "mean_down_s": s.mean_down_s,
        "mean_top_pause_s": s.mean_top_pause_s,
        "score": s.score,
        "duration_s": report.clip.duration_s,
        "faults": dict(s.fault_counts),
        "job_seconds": round(seconds, 2),
        **speed_summary(report),
    }


def run(spec: dict[str, Any]) -> None:
    """The job; raises on failure (main turns that into the error line)."""
    start = time.monotonic()
    out, clip = Path(spec["out"]), spec["clip"]
    out.mkdir(parents=True, exist_ok=True)
    result = pipeline.run_clip(
        clip,
        settings_of(spec).checked(),
        source=spec["name"],  # reports name the uploaded file, not the server's path
        progress=_progress_sender(),
        stage=lambda text: emit(stage=text),
        cache=TrackCache(spec["tracks"]),
        content_sha256=spec["content_sha256"],
    )
    outputs = pipeline.Outputs(
        json=out / "report.json",
        csv=out / "reps.csv",
        html=out / "report.html",
        annotate=out / "annotated.mp4",
    )
    pipeline.write_reports(result, outputs)
    write_curve(out, result.analysis, result.report)  # the comparison view's overlay
    pipeline.write_pictures(result, outputs, clip, stage=lambda text: emit(stage=text))
    warning = str(result.truncation) if result.truncation else None
    emit(done=summary_of(result.report, time.monotonic() - start), warning=warning)


def main(argv: list[str] | None = None) -> int:
    global _out
    argv = sys.argv[1:] if argv is None else argv
    # the protocol gets its own copy of stdout; anything else printing (native libraries) goes to stderr
    _out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    child_init()  # dies with the server, leaves Ctrl-C to it
    spec = json.loads(argv[0])
    try:
        run(spec)
    except Exception as exc:  # every failure is the job's one-line reason
        text, code, kind = describe_failure(exc, spec.get("clip", ""), spec.get("name", ""))
        emit(error=text, code=code, type=kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
