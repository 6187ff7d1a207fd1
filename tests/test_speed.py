"""Rep speed: concentric hip speed per rep, the scale sources, view gating, velocity loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic import THIGH_PX, TORSO_PX, RepPlan, make_track, plan_track, side_points, trajectory

from formcheck import signal as sig
from formcheck import speed
from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.track import Landmark

WORLD_PX_PER_M = 500.0  # synthetic.make_track: world = image / 500


def cosine_rise(depth: float, up_s: float, fps: float, pause_s: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A still bottom, a cosine-eased rise of depth metres over up_s, a still top."""
    n_up = int(round(up_s * fps))
    tau = np.arange(n_up + 1) / n_up
    still = int(round(pause_s * fps))
    z = np.concatenate([np.zeros(still), depth * (0.5 - 0.5 * np.cos(np.pi * tau)), np.full(still, depth)])
    return np.arange(len(z)) / fps, z


def test_concentric_speed_of_a_cosine_rise_is_its_analytic_speed():
    depth, up_s = 0.3, 0.8
    t, z = cosine_rise(depth, up_s, fps=240.0)
    mean, peak = speed.concentric_speed(z, t, 0.3, 1.5)
    assert peak == pytest.approx(depth * np.pi / (2 * up_s), rel=0.005)
    # the drive is where the speed exceeds 5% of its peak: sin(pi tau) > 0.05
    tau0 = np.arcsin(speed.ONSET_FRAC) / np.pi
    expected = depth * np.cos(np.pi * tau0) / (up_s * (1 - 2 * tau0))
    assert mean == pytest.approx(expected, rel=0.01)


def test_concentric_speed_picks_the_stretch_that_rises_most():
    t, z = cosine_rise(0.3, 0.8, fps=60.0)
    hoist = np.where(t < 0.2, 0.0, 0.1)  # a quick 0.1 m set-up step before the drive
    z = z + hoist - 0.1
    mean, peak = speed.concentric_speed(z, t, 0.0, 1.5)
    assert peak == pytest.approx(0.3 * np.pi / 1.6, rel=0.03)
    assert mean == pytest.approx(0.3 / 0.8, rel=0.15)


def test_velocity_loss_is_fastest_to_last():
    assert speed.velocity_loss([0.5, 0.45, 0.4]) == pytest.approx(20.0)
    assert speed.velocity_loss([0.4, 0.5, 0.45]) == pytest.approx(10.0)
    assert speed.velocity_loss([0.4, None, 0.3]) == pytest.approx(25.0)
    assert speed.velocity_loss([0.4]) is None
    assert speed.velocity_loss([None, None]) is None


def _plan() -> RepPlan:
    return RepPlan(reps=4, up_s=0.8, fps=30.0, up_s_list=[0.7, 0.8, 0.9, 1.0])


def exact_speeds(plan: RepPlan, px_per_m: float) -> list[tuple[float, float]]:
    """The synthetic hip's speeds from its exact, noise-free height in metres, by the same
    definition (the 3 Hz low-pass included), over each rep's prescribed drive."""
    t, hip, knee = trajectory(plan)
    rise = -side_points(hip, knee)[:, 1, 1] / px_per_m
    rise = sig.lowpass(rise, plan.fps, speed.SpeedConfig().cutoff_hz)
    starts = [s for name, s in plan.events if name == "up_start"]
    tops = [s for name, s in plan.events if name == "top_start"]
    return [speed.concentric_speed(rise, t, a - 0.05, b + 0.05) for a, b in zip(starts, tops, strict=True)]


def test_world_scale_and_speeds_on_a_synthetic_track_match_the_known_hip_speed():
    plan = _plan()
    track = plan_track(plan)
    analysis = analyze_track(track, load_profile("hip_thrust"))
    assert len(analysis.reps) == 4
    got = speed.measure_speeds(track, analysis.reps, analysis.sets, "side")
    assert got.scale is not None and got.scale.source == "world"
    assert got.scale.px_per_m == pytest.approx(WORLD_PX_PER_M, rel=0.01)
    truth = exact_speeds(plan, WORLD_PX_PER_M)
    assert len(truth) == 4
    for rep, (mean, peak) in zip(got.reps, truth, strict=True):
        assert rep.mean_mps == pytest.approx(mean, rel=0.02)
        assert rep.peak_mps == pytest.approx(peak, rel=0.02)
    # slower and slower drives: the last is the slowest, the loss is fastest-to-last
    means = [r.mean_mps for r in got.reps]
    assert means == sorted(means, reverse=True)
    assert got.velocity_loss_pct[1] == pytest.approx((means[0] - means[-1]) / means[0] * 100)


def test_height_scale_uses_the_segment_proportions():
    plan = _plan()
    track = plan_track(plan)
    scale = speed.scale_from_height(track, 1.70)
    # torso, thigh and shank read 150, 130, 120 px: the median of their px/m is the torso's
    per_segment = sorted([TORSO_PX / (0.288 * 1.7), THIGH_PX / (0.245 * 1.7), 120.0 / (0.246 * 1.7)])
    assert scale is not None and scale.source == "height" and scale.height_m == 1.70
    assert scale.px_per_m == pytest.approx(per_segment[1], rel=0.005)
    analysis = analyze_track(track, load_profile("hip_thrust"))
    got = speed.measure_speeds(track, analysis.reps, analysis.sets, "side", height_m=1.70)
    assert got.scale.source == "height"
    world = speed.measure_speeds(track, analysis.reps, analysis.sets, "side")
    ratio = world.scale.px_per_m / got.scale.px_per_m
    assert got.reps[0].mean_mps == pytest.approx(world.reps[0].mean_mps * ratio, rel=1e-6)


def test_a_segment_pointing_at_the_lens_does_not_scale():
    track = plan_track(_plan())
    world = track.world.copy()
    # hips and ankles 1 m nearer the lens in the model's 3D: every segment points at it
    world[:, [Landmark.LEFT_HIP, Landmark.RIGHT_HIP, Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE], 2] = 1.0
    tilted = dataclasses.replace(track, world=world.astype(np.float32))
    assert speed.scale_from_world(tilted) is None


def test_front_view_is_not_measurable_with_the_reason():
    track = plan_track(_plan())
    analysis = analyze_track(track, load_profile("hip_thrust"))
    got = speed.measure_speeds(track, analysis.reps, analysis.sets, "front", height_m=1.7)
    assert got.scale is None and got.not_measurable == speed.FRONT_REASON
    assert "not measurable from this view" in got.not_measurable
    assert all(r.mean_mps is None and r.peak_mps is None and r.reason for r in got.reps)
    assert got.velocity_loss_pct == {}


def test_no_world_landmarks_and_no_height_is_said_so():
    track = plan_track(_plan())
    blind = dataclasses.replace(track, world=np.full_like(track.world, np.nan))
    analysis = analyze_track(track, load_profile("hip_thrust"))
    got = speed.measure_speeds(blind, analysis.reps, analysis.sets, "side")
    assert got.scale is None and got.not_measurable == speed.NO_SCALE_REASON
    # with the height the world landmarks still tell no tilt: no scale either
    assert speed.measure_speeds(blind, analysis.reps, analysis.sets, "side", height_m=1.7).scale is None


def test_single_leg_reads_the_working_hip():
    hip, knee = trajectory(_plan())[1:]
    track = make_track(hip, knee, near="left")
    image = track.image.copy()
    image[:, Landmark.RIGHT_HIP, 1] -= np.linspace(0, 40, len(image))  # the free side's hip drifts up
    drifting = dataclasses.replace(track, image=image)
    cfg = load_profile("hip_thrust").signal
    left = speed.hip_rise_px(drifting, cfg, hips="left")
    assert np.allclose(left, speed.hip_rise_px(track, cfg, hips="left"), atol=1e-6)
    assert not np.allclose(speed.hip_rise_px(drifting, cfg), speed.hip_rise_px(track, cfg), atol=1.0)
