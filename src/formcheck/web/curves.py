"""A session's hip-angle curve (calibrated degrees per analysed frame, 180 = straight line) with its
reps' start times: what the comparison view overlays. The job writes it beside its report
(curve.json); sessions analysed before it existed have none, and the view says so."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import Analysis
from ..report import Report

CURVE_FILE = "curve.json"


def curve_of(analysis: Analysis, report: Report) -> dict[str, Any]:
    """The curve as JSON-ready data; hip_deg is null where the frame had no usable reading, and the
    whole curve is empty when the view cannot show a hip angle (from the front)."""
    hip = np.round(np.asarray(analysis.hip, dtype=float), 1)
    t = np.round(np.asarray(analysis.timestamps, dtype=float), 3)
    shown = bool(np.isfinite(hip).any())
    return {
        "fps": analysis.fps,
        "view": report.measurement.view,
        "t": t.tolist() if shown else [],
        "hip_deg": [None if not math.isfinite(v) else float(v) for v in hip] if shown else [],
        "why_empty": None if shown else f"no hip angle from the {report.measurement.view} view",
        "reps": [{"rep": r.rep, "start_s": r.start_s, "end_s": r.end_s} for r in report.reps],
    }


def write_curve(out_dir: Path, analysis: Analysis, report: Report) -> None:
    (out_dir / CURVE_FILE).write_text(
        json.dumps(curve_of(analysis, report), allow_nan=False), encoding="utf-8"
    )


def read_curve(out_dir: Path) -> dict[str, Any] | None:
    """The stored curve, None when the session has none (older, or its folder is gone)."""
    try:
        data = json.loads((out_dir / CURVE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
