"""What a live session says at its end: session.json's contents and the printed summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck import __version__, pipeline
from formcheck.errors import FormcheckError
from formcheck.report import render_text
from formcheck.track import PoseTrack

if TYPE_CHECKING:
    from .session import LiveSession, SessionResult


def set_report(track: PoseTrack, variant: str) -> tuple[pipeline.Result | None, str | None]:
    """One set's report: the same pipeline as analyze, on the set's frames. The end-of-set screen
    shows it and the live verdicts are settled against it. (None, why) when it cannot be made."""
    try:
        return pipeline.run_track(track, pipeline.Settings(variant=variant)), None
    except FormcheckError as exc:
        return None, str(exc)


def latency_ms(samples: Any) -> dict[str, float | None]:
    """Median, 95th percentile and worst of seconds-valued samples, in milliseconds."""
    values = np.frombuffer(samples, dtype=np.float32) if len(samples) else np.zeros(0, np.float32)
    if not len(values):
        return {"median": None, "p95": None, "max": None, "samples": 0}
    med, p95 = np.percentile(values, [50, 95]) * 1000.0
    return {
        "median": round(float(med), 1),
        "p95": round(float(p95), 1),
        "max": round(float(values.max()) * 1000.0, 1),
        "samples": int(len(values)),
    }


def session_doc(
    s: LiveSession,
    ended_by: str,
    arm: int | None,
    track: PoseTrack,
    report_error: str | None,
    error: FormcheckError | None,
) -> dict:
    proc, rec = s.processor, s.recorder
    seconds = rec.last_t if rec.n_frames else 0.0
    reps = s.live_reps()
    return {
        "formcheck_version": __version__,
        "source": s.source.name,
        "camera": s.source.is_camera,
        "variant_requested": s.opt.variant,
        "started_at": s.started_at,
        "ended_by": ended_by,
        "error": str(error) if error is not None else None,
        "report_error": report_error,
        "frames": {
            "captured": s.capture.stats.captured,
            "analysed_every": s.stride,  # as analyze: every k-th captured frame goes to the pose model
            "processed": proc.processed,
            "dropped": s.queue.dropped_count,
            "bridged": int(track.meta.get("frames_bridged", 0)),  # dropped ones interpolated (recorder.py)
            "recorded": rec.n_frames,
            "with_pose": rec.n_detected,
        },
        "fps": {"source": round(s.source.fps, 3), "processed": round(proc.processed / max(seconds, 1e-6), 2)},
        "latency_ms": {
            "capture_to_display": latency_ms(s.display.latency),
            "capture_to_pose": latency_ms(proc.pose_latency),
        },
        "set": {
            "counting_started": arm is not None,
            "start_frame": arm,
            "start_s": round(float(track.timestamps[0]), 3) if arm is not None and track.n_frames else None,
            "setup_frames_left_out": arm or 0,
        },
        "sets_ended_live": [  # sets ended with the next-set key, each with its own report's figures
            {
                "set": f.number,
                "start_frame": f.start_frame,
                "end_frame": f.end_frame,
                "reps": len(f.summary.reps) if f.summary else None,
                "score": f.summary.score if f.summary else None,
                "top_fault": f.summary.top_fault[0] if f.summary and f.summary.top_fault else None,
                "report_error": f.report_error,
            }
            for f in s.sets
        ],
        "live_reps": [
            {
                "rep": r.number,
                "start_s": round(r.start_s, 3),
                "end_s": round(r.end_s, 3),
                "faults": list(r.codes),
                "pelvis": r.pelvis,
                "verdict_at_s": None if r.verdict_at is None else round(r.verdict_at, 3),
                "faults_at_verdict": None if not r.told else list(r.told[0][1]),
                "told": [{"at_s": round(t, 3), "faults": list(codes)} for t, codes in r.told],
                "corrections": max(0, len(r.told) - 1),
            }
            for r in reps
        ],
        "withdrawn_reps": [  # counted and told live, then not counted by a later analysis (announced)
            {"start_s": round(r.start_s, 3), "end_s": round(r.end_s, 3), "told": [t for t, _ in r.told]}
            for r in s.withdrawn_reps()
        ],
        "cues": [c.as_dict() for c in s.coach.log],
        "setup_advice_at_end": [a.text for a in s.setup.status.advice],
        "audio": s.opt.audio,
        "problems": list(s.problems),
        "analysis": {
            "runs": s.analyzer.runs + s.analysis_runs_before,
            "seconds": round(s.coach.analysis_s, 3),
        },
        "files": {
            "track": "track.npz",
            "report": "report.json" if arm is not None and report_error is None else None,
        },
    }


def summary_text(s: LiveSession, result: SessionResult, report_error: str | None) -> str:
    doc = result.doc
    lines = []
    if result.analysed is not None:
        lines.append(render_text(result.analysed.report).rstrip("\n"))
    elif not doc["set"]["counting_started"]:
        why = "; ".join(doc["setup_advice_at_end"]) or "the start position was never held"
        lines.append(f"no set: counting never started ({why})")
        lines.append(f"  the recording is kept: formcheck analyze --track {result.folder / 'track.npz'}")
    elif report_error:
        lines.append(f"no report: {report_error}")
    frames, lat = doc["frames"], doc["latency_ms"]["capture_to_display"]
    shown = (
        f"; capture to display {lat['median']:.0f} ms median, {lat['p95']:.0f} ms p95"
        if lat["samples"]
        else ""
    )
    lines.append(
        f"live: {frames['processed']} frames processed ({doc['fps']['processed']:.1f}/s),"
        f" {frames['dropped']} dropped{shown}; ended by {result.ended_by.replace('_', ' ')}"
    )
    lines.append(
        f"saved: {result.folder} (track.npz{', report.json' if doc['files']['report'] else ''}, session.json)"
    )
    return "\n".join(lines) + "\n"
