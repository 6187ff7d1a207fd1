"""Rep speed: concentric hip speed per rep, the scale sources, view gating, velocity loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic import THIGH_PX, TORSO_PX, RepPlan, make_track, plan_track, side_points, trajectory
from test_views import pitched as pitched_by

from formcheck import kinematics as kin
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


def min_jerk_rise(depth: float, up_s: float, t: np.ndarray, start: float) -> np.ndarray:
    tau = np.clip((t - start) / up_s, 0.0, 1.0)
    return depth * tau**3 * (10 - 15 * tau + 6 * tau**2)


def test_one_drive_is_one_move_and_a_hoist_before_it_is_another():
    t = np.arange(0, 3, 1 / 60)
    drive = min_jerk_rise(0.3, 0.8, t, 1.0)

    def cuts_of(z: np.ndarray) -> list[int]:  # over the stretch where the hips move up
        v = np.gradient(z, t)
        up = np.flatnonzero(v > speed.ONSET_FRAC * v.max())
        return speed.split_moves(v, int(up[0]), int(up[-1]) + 1, speed.VALLEY)

    assert cuts_of(drive) == []
    # the hips hoisted 0.2 m onto the bench in 0.3 s, running into the drive: the speed dips between
    cuts = cuts_of(drive + min_jerk_rise(0.2, 0.3, t, 0.75))
    assert len(cuts) == 1
    assert 0.9 <= t[cuts[0]] <= 1.15  # at the dip, between the hoist's end and the drive's peak


def test_the_drive_is_the_move_that_reaches_the_top_even_after_a_bigger_hoist():
    # b-stance render: the set-up hoist rose more (0.19 m) and faster than the drive (0.15 m), and
    # rep segmentation started rep 1 before the hoist ended
    t = np.arange(0, 4, 1 / 24)
    z = min_jerk_rise(0.19, 0.35, t, 0.6) + min_jerk_rise(0.15, 0.7, t, 1.0)
    mean, peak = speed.concentric_speed(z, t, 0.7, 1.75)
    exact = min_jerk_rise(0.15, 0.7, t, 1.0)
    true_mean, true_peak = speed.concentric_speed(exact, t, 0.95, 1.75)
    assert peak == pytest.approx(true_peak, rel=0.05)
    assert mean == pytest.approx(true_mean, rel=0.10)


def test_velocity_loss_is_fastest_to_last():
    assert speed.velocity_loss([0.5, 0.45, 0.4]) == pytest.approx(20.0)
    assert speed.velocity_loss([0.4, 0.5, 0.45]) == pytest.approx(10.0)
    # a rep not measured may have been the fastest or the last: no figure for that set
    assert speed.velocity_loss([0.4, None, 0.3]) is None
    assert speed.velocity_loss([0.4, 0.3, float("nan")]) is None
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


def test_lying_on_the_floor_is_not_measurable_with_the_reason():
    track = plan_track(_plan())
    analysis = analyze_track(track, load_profile("hip_thrust"))
    on_bench = speed.measure_speeds(track, analysis.reps, analysis.sets, "side", height_m=1.7)
    assert on_bench.not_measurable is None and all(r.mean_mps for r in on_bench.reps)
    elev = speed.trunk_elevation_deg(track, [r.start_s for r in analysis.reps])
    assert elev is not None and elev > speed.FLOOR_DEG
    world = track.world.copy()
    shoulders = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]
    hips = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]
    world[:, shoulders, 1] = world[:, hips, 1].mean(axis=1, keepdims=True)  # shoulders as low as the hips
    floor = dataclasses.replace(track, world=world)
    assert abs(speed.trunk_elevation_deg(floor, [r.start_s for r in analysis.reps])) < 1.0
    got = speed.measure_speeds(floor, analysis.reps, analysis.sets, "side", height_m=1.7)
    assert got.not_measurable == speed.FLOOR_REASON and got.scale is None
    assert all(r.mean_mps is None and r.reason == speed.FLOOR_REASON for r in got.reps)
    assert got.velocity_loss_pct == {}


def test_a_camera_looking_down_is_not_measurable_with_the_reason():
    track = plan_track(_plan())
    analysis = analyze_track(track, load_profile("hip_thrust"))
    level = speed.measure_speeds(track, analysis.reps, analysis.sets, "side")
    # the synthetic world has no depth (the hips ~1 cm apart): no witness, so no verdict
    assert level.not_measurable is None and kin.hip_line_tilt_deg(track.world) is None
    hips = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]
    for pitch, measured in ((0.0, True), (25.0, True), (40.0, False)):
        pitched = pitched_by(track, pitch)
        assert kin.hip_line_tilt_deg(pitched.world) == pytest.approx(pitch, abs=0.5)
        got = speed.measure_speeds(pitched, analysis.reps, analysis.sets, "side")
        if measured:
            assert got.not_measurable is None and got.reps[0].mean_mps is not None
        else:
            assert got.not_measurable == speed.HIGH_CAMERA_REASON
            assert all(r.mean_mps is None and r.reason == speed.HIGH_CAMERA_REASON for r in got.reps)
    # looked down on, a bench's trunk can read as flat: the camera is the reason given, not the floor
    shoulders = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]
    pitched.world[:, shoulders, 1] = pitched.world[:, hips, 1].mean(axis=1, keepdims=True)
    assert speed.trunk_elevation_deg(pitched, [r.start_s for r in analysis.reps]) < speed.FLOOR_DEG
    got = speed.measure_speeds(pitched, analysis.reps, analysis.sets, "side")
    assert got.not_measurable == speed.HIGH_CAMERA_REASON


def test_single_leg_at_an_angle_is_not_measurable_but_from_the_side_it_is():
    track = plan_track(_plan())
    analysis = analyze_track(track, load_profile("hip_thrust"))
    args = (track, analysis.reps, analysis.sets)
    angled = speed.measure_speeds(*args, "oblique", height_m=1.7, hips="left")
    assert angled.not_measurable == speed.SINGLE_LEG_ANGLE_REASON
    assert all(r.mean_mps is None and r.reason == speed.SINGLE_LEG_ANGLE_REASON for r in angled.reps)
    assert speed.measure_speeds(*args, "side", height_m=1.7, hips="left").not_measurable is None
    assert speed.measure_speeds(*args, "oblique", height_m=1.7).not_measurable is None
