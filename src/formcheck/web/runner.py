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
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .. import __version__

_out: IO[str] = sys.stdout


def emit(**message: Any) -> None:
    _out.write(json.dumps(message) + "\n")
    _out.flush()


def extraction(pose_workers: int) -> dict[str, Any]:
    """How the model runs, for the track cache key (the share count changes where detection restarts)."""
    from ..batch import mediapipe_version

    return {
        "formcheck": __version__,
        "backend": "mediapipe-pose-landmarker",
        "mediapipe": mediapipe_version(),
        "workers": pose_workers,
        "fps": None,
        "every_frame": False,  # the app analyses clips above 30 fps at every k-th frame
    }


def cache_key(content_sha256: str, model: str | None, pose_workers: int | None) -> str:
    """The track cache key of a clip as this app extracts it (tests use it to seed the cache)."""
    from ..cache import track_key
    from ..pose import default_workers, find_model, sha256_file

    workers = pose_workers or default_workers()
    return track_key(content_sha256, sha256_file(find_model(model)), extraction(workers))


def _progress_sender(min_interval_s: float = 0.25) -> Callable[[int, int], None]:
    last = [0.0]

    def send(done: int, total: int) -> None:
        t = time.monotonic()
        if t - last[0] >= min_interval_s or done >= total:
            last[0] = t
            emit(progress=[done, total])

    return send


def pose_track(spec: dict[str, Any]):  # -> PoseTrack
    """From the cache, or by running the model (then cached for the next job on these bytes)."""
    from ..batch import check_frame_size, rebase
    from ..cache import TrackCache
    from ..pose import extract_track

    cache = TrackCache(spec["tracks"])
    key = cache_key(spec["content_sha256"], spec.get("model"), spec.get("pose_workers"))
    track = cache.get(key)
    if track is None:
        emit(stage="pose model")
        check_frame_size(spec["clip"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation is reported as the job's warning
            track = extract_track(
                spec["clip"],
                model_path=spec.get("model"),
                workers=spec.get("pose_workers"),
                progress=_progress_sender(),
            )
        cache.put(key, track)
    else:
        emit(stage="pose track from an earlier analysis of this clip")
        emit(progress=[track.n_frames, track.n_frames])
    return rebase(track, spec["name"])  # reports name the uploaded file, not the server's path


def summary_of(doc: dict[str, Any], seconds: float) -> dict[str, Any]:
    s = doc.get("summary") or {}
    counts = s.get("fault_counts") or {}
    return {
        "variant_used": (doc.get("variant") or {}).get("name"),
        "view": (doc.get("measurement") or {}).get("view"),
        "rep_count": s.get("rep_count"),
        "mean_top_hip_deg": s.get("mean_top_hip_deg"),
        "mean_up_s": s.get("mean_up_s"),
        "mean_down_s": s.get("mean_down_s"),
        "mean_top_pause_s": s.get("mean_top_pause_s"),
        "score": s.get("score"),
        "duration_s": (doc.get("clip") or {}).get("duration_s"),
        "faults": ";".join(f"{k}:{v}" for k, v in counts.items())[:500],
        "job_seconds": round(seconds, 2),
    }


def run(spec: dict[str, Any]) -> None:
    """The job; raises on failure (main turns that into the error line)."""
    from .. import report
    from ..annotate import write_annotated
    from ..html_report import write_html
    from ..variants import analyze_variant
    from ..viz import overlay_data

    start = time.monotonic()
    out, clip = Path(spec["out"]), spec["clip"]
    out.mkdir(parents=True, exist_ok=True)
    track = pose_track(spec)
    emit(stage="analysing the reps")
    result, profile, _ = analyze_variant(track, spec["variant"])
    doc = report.to_dict(result, profile)
    report.write_json(out / "report.json", result, profile)
    report.write_csv(out / "reps.csv", result, profile)
    emit(stage="drawing the report")
    write_html(out / "report.html", result, profile, track, clip)
    emit(stage="annotating the clip")
    write_annotated(clip, out / "annotated.mp4", overlay_data(track, result, profile))
    warning = None
    if track.meta.get("truncated"):
        warning = (
            f"the clip ends early or is corrupt: decoded {track.meta.get('frames_decoded')} of"
            f" {track.meta.get('frames_advertised')} advertised frames; the report covers what decoded"
        )
    emit(done=summary_of(doc, time.monotonic() - start), warning=warning)


def main(argv: list[str] | None = None) -> int:
    global _out
    argv = sys.argv[1:] if argv is None else argv
    # the protocol gets its own copy of stdout; anything else printing (native libraries) goes to stderr
    _out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    from ..batch import failure, worker_init

    worker_init(preload=False)  # dies with the server, leaves Ctrl-C to it
    spec = json.loads(argv[0])
    try:
        run(spec)
    except Exception as exc:  # every failure is the job's one-line reason
        outcome = failure(exc, spec.get("clip", ""), spec.get("name", ""))
        emit(error=outcome.error, code=outcome.error_code, type=outcome.error_type)
    return 0


if __name__ == "__main__":
    sys.exit(main())
