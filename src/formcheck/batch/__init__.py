"""Batch scoring, by job: `discover` finds the clips, `settings` fingerprints what a result
depends on, `task` scores one clip, `executors` run tasks (inline, local processes, Ray),
`results` writes each clip's JSON and summary.csv, `progress` shows the run, `run` ties them
together (`run_batch`) and words the closing lines."""

from .discover import Clip, Discovery, discover
from .executors import RayUnavailable, default_jobs, run_inline, run_local, run_ray
from .progress import Progress
from .results import FAILURE_SCHEMA, RESULT_SCHEMA, SUMMARY_COLUMNS, SUMMARY_NAME, reusable, summary_csv
from .run import (
    EXIT_SOME_FAILED,
    LOCK_NAME,
    TRACKS_DIR,
    BatchResult,
    default_timeout,
    render_outcome,
    run_batch,
)
from .settings import BatchSettings, code_sha256
from .task import ClipOutcome, ClipTask, analyse, failure, score_clip

__all__ = [
    "EXIT_SOME_FAILED",
    "FAILURE_SCHEMA",
    "LOCK_NAME",
    "RESULT_SCHEMA",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "TRACKS_DIR",
    "BatchResult",
    "BatchSettings",
    "Clip",
    "ClipOutcome",
    "ClipTask",
    "Discovery",
    "Progress",
    "RayUnavailable",
    "analyse",
    "code_sha256",
    "default_jobs",
    "default_timeout",
    "discover",
    "failure",
    "render_outcome",
    "reusable",
    "run_batch",
    "run_inline",
    "run_local",
    "run_ray",
    "score_clip",
    "summary_csv",
]
