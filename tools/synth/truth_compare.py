"""How far an Analysis of a rendered clip is from the render's ground truth (tempo and hip angles).

Used by tests/test_stride_truth.py and benchmarks/bench_pipeline.py to compare the default frame
stride with --every-frame on a 60 fps render. Plain Python + numpy: no Blender needed.

    errors(analysis, truth) -> {
        "reps": counted reps, "true_reps": rendered reps,
        "phase_s": largest |measured - true| over the reps' phase boundaries (drive start, top
                   start, top end, end of the lowering), seconds,
        "tempo_s": largest |measured - true| over the reps' up / top pause / down durations,
        "top_deg", "bottom_deg": largest |measured - true| over the reps' top / bottom hip angle,
                   the calibrated angle formcheck shows against the rig's joint angle (shoulder -
                   hip joint centre - knee, the convention it calibrates to),
        "hip_rms_deg": RMS over the analysed frames of the same per-frame hip angle difference,
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def load_truth(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def _true_side(truth: dict, side: str) -> str:
    return side if side in ("left", "right") else truth["spec"].get("near_side", "left")


def errors(analysis: Any, truth: dict, bias_deg: float = 0.0) -> dict[str, float | int]:
    """Errors of `analysis` (formcheck.analysis.Analysis) against `truth` (synth-truth/1 JSON)."""
    reps, true = analysis.reps, truth["reps"]
    out: dict[str, float | int] = {"reps": len(reps), "true_reps": len(true)}
    pairs = list(zip(reps, true, strict=False))
    phase, tempo = [], []
    for r, t in pairs:
        ph = t["phases"]
        phase += [r.start_s - ph["up"][0], r.top_start_s - ph["top"][0], r.top_end_s - ph["top"][1]]
        tempo += [r.up_s - t["tempo_s"]["up"], r.top_pause_s - t["tempo_s"]["top"]]
        if r.complete and r.down_s is not None:
            phase.append(r.end_s - ph["down"][1])
            tempo.append(r.down_s - t["tempo_s"]["down"])
    side = _true_side(truth, analysis.side.side)
    frames = truth["frames"]
    t_true = np.asarray(frames["t"], dtype=float)
    # the anatomical joint angle, which formcheck shows; older truth files have only the posed one
    key = f"hip_angle_anatomical_deg_{side}"
    hip_true = np.asarray(frames[key if key in frames else f"hip_angle_deg_{side}"], dtype=float)
    at = np.interp(analysis.timestamps, t_true, hip_true)
    measured = np.asarray(analysis.hip, dtype=float) - bias_deg
    diff = measured - at
    top, bottom = [], []
    for r, _ in pairs:
        top.append(measured[r.top_frame] - at[r.top_frame])
        bottom.append(r.bottom_hip_deg - bias_deg - at[r.start_frame])
    out["phase_s"] = float(np.max(np.abs(phase))) if phase else float("nan")
    out["tempo_s"] = float(np.max(np.abs(tempo))) if tempo else float("nan")
    out["top_deg"] = float(np.max(np.abs(top))) if top else float("nan")
    out["bottom_deg"] = float(np.max(np.abs(bottom))) if bottom else float("nan")
    finite = np.isfinite(diff)
    out["hip_rms_deg"] = float(np.sqrt(np.mean(diff[finite] ** 2))) if finite.any() else float("nan")
    return out
