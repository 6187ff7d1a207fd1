"""Rep speed from the real pose model on committed renders, against their true hip speed.

Truth: the mid-point of the rendered body's true hip joint centres (frames.joints3d, metres, z up).
Mean: its rise over each true drive (reps[].phases.up) / the drive's time, the velocity-based-
training mean concentric velocity; also by formcheck's own definition (the stretch where the upward
speed exceeds 5% of its peak), the same quantity read without the camera. Peak: its highest upward
speed in the drive. The scale comes from the rendered body's height (spec.height_m), as
`--height-cm` gives it. The floor-bridge rule is checked on the model's saved tracks of the phase
renders (tests/data/phase_renders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_web_support import CLEAN, RUSHED, sample_track

from formcheck import pipeline, speed
from formcheck.track import PoseTrack

PHASE_RENDERS = Path(__file__).resolve().parent / "data" / "phase_renders"


def true_drive_speeds(truth: dict) -> list[tuple[float, float]]:
    """Per rep (mean over the 5%-span, peak), formcheck's definition on the true hip path."""
    t, z = _true_hip(truth)
    return [speed.concentric_speed(z, t, *rep["phases"]["up"]) for rep in truth["reps"]]


def _true_hip(truth: dict) -> tuple[np.ndarray, np.ndarray]:
    frames = truth["frames"]
    joints = frames["joints3d"]
    z = (np.asarray(joints["left_hip"])[:, 2] + np.asarray(joints["right_hip"])[:, 2]) / 2
    return np.asarray(frames["t"], dtype=float), z


def true_phase_speeds(truth: dict) -> list[tuple[float, float]]:
    """Per rep (rise / time over the whole rendered drive, highest upward speed in it)."""
    t, z = _true_hip(truth)
    v = np.gradient(z, t)
    out = []
    for rep in truth["reps"]:
        a, b = rep["phases"]["up"]
        za, zb = np.interp([a, b], t, z)
        out.append(((zb - za) / (b - a), float(v[(t >= a) & (t <= b)].max())))
    return out


def _report(clip: Path):
    truth = json.loads(clip.with_suffix(".json").read_text())
    height_cm = truth["spec"]["height_m"] * 100
    settings = pipeline.Settings(variant="hip_thrust", height_cm=height_cm)
    return truth, pipeline.run_track(sample_track(clip), settings).report


def test_side_view_hip_thrust_speeds_within_10_percent_of_the_render():
    truth, report = _report(CLEAN)
    assert report.measurement.speed_scale.source == "height"
    true = true_drive_speeds(truth)
    assert len(report.reps) == len(true) == 4
    for rep, (mean, peak), (phase_mean, _) in zip(report.reps, true, true_phase_speeds(truth), strict=True):
        assert rep.speed.mean_mps == pytest.approx(mean, rel=0.10), rep.rep
        assert rep.speed.mean_mps == pytest.approx(phase_mean, rel=0.10), rep.rep
        assert rep.speed.peak_mps == pytest.approx(peak, rel=0.10), rep.rep
    true_loss = speed.velocity_loss([m for m, _ in true])
    assert abs(report.sets[0].velocity_loss_pct - true_loss) <= 5.0


def test_first_rep_is_timed_from_the_drive_not_the_set_up():
    """The rushed-descent render's first drive follows the hips' set-up straight on: it read 16%
    slow in mean when the span started on the set-up."""
    truth, report = _report(RUSHED)
    true = true_phase_speeds(truth)
    assert len(report.reps) == len(true) == 3
    for rep, (mean, peak) in zip(report.reps, true, strict=True):
        assert rep.speed.mean_mps == pytest.approx(mean, rel=0.10), rep.rep
        assert rep.speed.peak_mps == pytest.approx(peak, rel=0.10), rep.rep
    true_loss = speed.velocity_loss([m for m, _ in true])
    assert abs(report.sets[0].velocity_loss_pct - true_loss) <= 5.0


@pytest.mark.parametrize(
    ("name", "floor"),
    [("phases_gb_30fps", True), ("phases_gb_one_rep_24fps", True), ("phases_ht_15fps", False)],
)
def test_floor_bridges_are_not_measurable_and_bench_thrusts_are(name, floor):
    truth = json.loads((PHASE_RENDERS / f"{name}.json").read_text())
    track = PoseTrack.load(PHASE_RENDERS / f"{name}.track.json")
    settings = pipeline.Settings(variant=truth["spec"]["variant"], height_cm=truth["spec"]["height_m"] * 100)
    report = pipeline.run_track(track, settings).report
    scale = report.measurement.speed_scale
    assert report.reps
    if floor:
        assert scale.source is None and scale.not_measurable == speed.FLOOR_REASON
        assert all(r.speed.mean_mps is None and r.speed.why == speed.FLOOR_REASON for r in report.reps)
    else:
        assert scale.source == "height" and scale.not_measurable is None
        assert all(r.speed.mean_mps and r.speed.peak_mps for r in report.reps)
