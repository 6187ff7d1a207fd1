"""Rep speed from the real pose model on a committed render, against its true hip speed.

Truth: the mid-point of the rendered body's true hip joint centres (frames.joints3d, metres, z up),
its rise over each true drive (reps[].phases.up), by the definition formcheck uses (the stretch
where the upward speed exceeds 5% of its peak): the same quantity, read without the camera.
The scale comes from the rendered body's height (spec.height_m), as `--height-cm` gives it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_web_support import CLEAN, sample_track

from formcheck import pipeline, speed


def true_drive_speeds(truth: dict) -> list[tuple[float, float]]:
    frames = truth["frames"]
    t = np.asarray(frames["t"], dtype=float)
    joints = frames["joints3d"]
    z = (np.asarray(joints["left_hip"])[:, 2] + np.asarray(joints["right_hip"])[:, 2]) / 2
    return [speed.concentric_speed(z, t, *rep["phases"]["up"]) for rep in truth["reps"]]


def test_side_view_hip_thrust_speeds_within_10_percent_of_the_render():
    truth = json.loads(CLEAN.with_suffix(".json").read_text())
    track = sample_track(CLEAN)
    height_cm = truth["spec"]["height_m"] * 100
    report = pipeline.run_track(track, pipeline.Settings(variant="hip_thrust", height_cm=height_cm)).report
    assert report.measurement.speed_scale.source == "height"
    true = true_drive_speeds(truth)
    assert len(report.reps) == len(true) == 4
    for rep, (mean, peak) in zip(report.reps, true, strict=True):
        assert rep.speed.mean_mps == pytest.approx(mean, rel=0.10), rep.rep
        assert rep.speed.peak_mps == pytest.approx(peak, rel=0.10), rep.rep
    true_loss = speed.velocity_loss([m for m, _ in true])
    assert abs(report.sets[0].velocity_loss_pct - true_loss) <= 5.0
