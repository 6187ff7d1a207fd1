"""The rep-speed blocks of the report (reps[].speed, sets[].velocity_loss_pct,
measurement.speed_scale) from the speed stage's Speeds. Pure."""

from __future__ import annotations

import math

from ..speed import EXPECTED_ERROR_PCT, METHOD, SOURCE_TEXT, Speeds
from .model import Report, RepReport, RepSpeedReport, SpeedScale


def _num(x: float | None, nd: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def speed_scale(speeds: Speeds) -> SpeedScale:
    scale = speeds.scale
    return SpeedScale(
        source=scale.source if scale else None,
        px_per_m=_num(scale.px_per_m, 1) if scale else None,
        height_m=_num(scale.height_m, 3) if scale and scale.height_m else None,
        expected_error_pct=EXPECTED_ERROR_PCT[scale.source] if scale else None,
        method=f"{METHOD}; scale: {SOURCE_TEXT[scale.source]}" if scale else METHOD,
        not_measurable=speeds.not_measurable,
    )


def with_speed(report: Report, speeds: Speeds) -> Report:
    """The report with each rep's speed, each set's velocity loss and the scale filled in."""
    reps = []
    for r in report.reps:
        s = speeds.for_rep(r.rep)
        block = RepSpeedReport(
            mean_mps=_num(s.mean_mps, 3) if s else None,
            peak_mps=_num(s.peak_mps, 3) if s else None,
            why=s.reason if s else "not measured",
        )
        reps.append(r.model_copy(update={"speed": block}))
    sets = [
        s.model_copy(update={"velocity_loss_pct": _num(speeds.velocity_loss_pct.get(s.set), 1)})
        for s in report.sets
    ]
    measurement = report.measurement.model_copy(update={"speed_scale": speed_scale(speeds)})
    return report.model_copy(update={"reps": reps, "sets": sets, "measurement": measurement})


SPEED_CSV_COLUMNS = ("mean_mps", "peak_mps")


def speed_csv(rep: RepReport) -> dict[str, float | None]:
    """The CSV cells of a rep's speed (empty when not measured)."""
    s = rep.speed
    return {"mean_mps": s.mean_mps if s else None, "peak_mps": s.peak_mps if s else None}


def speed_cell(rep: RepReport) -> str:
    """The terminal table's m/s column: mean concentric speed."""
    s = rep.speed
    return "-" if s is None or s.mean_mps is None else f"{s.mean_mps:.2f}"


def speed_lines(report: Report) -> list[str]:
    """The set summary's rep-speed lines: figures with their scale, or why there are none."""
    scale = report.measurement.speed_scale
    if scale is None or not report.reps:
        return []
    if scale.source is None:
        return [f"  rep speed: {scale.not_measurable}"]
    means = [r.speed.mean_mps for r in report.reps if r.speed and r.speed.mean_mps is not None]
    peaks = [r.speed.peak_mps for r in report.reps if r.speed and r.speed.peak_mps is not None]
    if not means:
        return ["  rep speed: not measured on any rep (the hips were not seen through the drive)"]
    src = f"your height {scale.height_m:.2f} m" if scale.source == "height" else "the model's 3D"
    loss = [f"set {s.set} {s.velocity_loss_pct:.0f}%" for s in report.sets if s.velocity_loss_pct is not None]
    return [
        f"  rep speed (hips, up): mean {sum(means) / len(means):.2f} m/s, peak {max(peaks):.2f} m/s;"
        f" velocity loss {', '.join(loss) or '-'} (scale from {src}, about ±{scale.expected_error_pct:.0f}%)"
    ]
