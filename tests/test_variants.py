"""--variant auto: bench or floor from the trunk at the top, one leg or two from the knees."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck.analysis import analyze_track
from formcheck.kinematics import ViewEstimate
from formcheck.profiles import load_profile
from formcheck.track import N_LANDMARKS, Landmark, PoseTrack
from formcheck.variants import (
    FLOOR_TOP_TORSO_DEG,
    FROG_THIGHS_OPEN_DEG,
    analyze_variant,
    guess_variant,
    thighs_open_deg,
)

BENCH = load_profile("hip_thrust")


@pytest.fixture(scope="module")
def bench_set():
    track = plan_track(RepPlan(reps=4), noise_px=1.0)
    return track, analyze_track(track, BENCH)


def with_top_trunk(result, degrees: float):
    return replace(result, reps=[replace(r, top_torso_deg=degrees) for r in result.reps])


@pytest.mark.parametrize(
    ("slope", "name"),
    [(-15.0, "hip_thrust"), (4.0, "hip_thrust"), (FLOOR_TOP_TORSO_DEG + 8, "glute_bridge"),
     (30.0, "glute_bridge")],
)
def test_bench_or_floor_from_the_trunk_at_the_top(bench_set, slope, name):
    track, result = bench_set
    guess = guess_variant(with_top_trunk(result, slope))
    assert guess.name == name and guess.confidence == 1.0
    assert ("bench" if name == "hip_thrust" else "floor") in guess.reason


def test_a_trunk_near_the_line_is_a_low_confidence_guess(bench_set):
    track, result = bench_set
    guess = guess_variant(with_top_trunk(result, FLOOR_TOP_TORSO_DEG + 1.5))
    assert guess.name == "glute_bridge" and 0.2 < guess.confidence < 0.3


def test_from_the_feet_bench_is_assumed_and_said(bench_set):
    track, result = bench_set
    front = replace(result, view=ViewEstimate("front", 0.9, 0.8))
    guess = guess_variant(front)
    assert guess.name == "hip_thrust" and guess.confidence == 0.0 and "--variant" in guess.reason


def test_auto_reports_what_it_chose_and_a_named_variant_is_kept(bench_set):
    track, _ = bench_set
    result, profile, guess = analyze_variant(track)
    assert guess is not None and result.variant == profile.name == guess.name
    assert result.variant_detected == guess.as_dict()
    result, profile, guess = analyze_variant(track, "glute_bridge")
    assert guess is None and result.variant == profile.name == "glute_bridge"
    assert result.variant_detected is None


def test_rendered_clips_get_their_variant_family():
    """The real model on every rendered clip: bench/floor and one leg/two as rendered."""
    from test_sample_videos import track, truth, truth_files

    family = {
        "hip_thrust": "hip_thrust", "b_stance_hip_thrust": "hip_thrust", "glute_bridge": "glute_bridge",
        "single_leg_hip_thrust": "single_leg_hip_thrust",
        "single_leg_glute_bridge": "single_leg_glute_bridge",
        "feet_elevated_glute_bridge": "glute_bridge", "frog_pump": "frog_pump",
    }  # fmt: skip
    checked = 0
    for path in truth_files():
        rendered = truth(path)["spec"]["variant"]
        _, _, guess = analyze_variant(track(path))
        if guess.confidence == 0.0:  # from the feet: bench assumed, and said
            assert "cannot be told" in guess.reason
            continue
        assert guess.name == family[rendered], path.stem
        checked += 1
    assert checked >= 9


def test_a_trunk_slope_no_bench_or_floor_shows_is_said_not_told():
    result = analyze_track(plan_track(RepPlan(reps=3), noise_px=1.0), load_profile("hip_thrust"))
    reps = [replace(r, top_torso_deg=-75.0) for r in result.reps]
    guess = guess_variant(replace(result, reps=reps))
    assert guess.confidence == 0.0 and "cannot be told" in guess.reason and "-75" in guess.reason


def from_the_feet(opening: float, seconds: float = 3.0, fps: float = 30.0, side_on: bool = False,
                  seed: int = 0) -> PoseTrack:
    """A lifter on the floor seen from the feet (image y down): hips 40 px apart, each thigh 80 px
    long and turned opening/2 deg out from the body's line, 1 px of noise. side_on squeezes every
    width to a side view's."""
    n = int(seconds * fps)
    squeeze = 0.05 if side_on else 1.0
    half = np.radians(opening / 2)
    knee = (20 + 80 * np.sin(half), 220 + 80 * np.cos(half))
    at = {
        Landmark.LEFT_SHOULDER: (70, 120), Landmark.RIGHT_SHOULDER: (-70, 120),
        Landmark.LEFT_HIP: (20, 220), Landmark.RIGHT_HIP: (-20, 220),
        Landmark.LEFT_KNEE: knee, Landmark.RIGHT_KNEE: (-knee[0], knee[1]),
        Landmark.LEFT_ANKLE: (12, 330), Landmark.RIGHT_ANKLE: (-12, 330),
    }  # fmt: skip
    image = np.zeros((n, N_LANDMARKS, 3), np.float32)
    image[:, :, 1] = 120.0  # the head and hands: not read
    for j, (x, y) in at.items():
        image[:, j, :2] = (320 + x * squeeze, y)
    image[:, :, :2] += np.random.default_rng(seed).normal(0, 1.0, (n, N_LANDMARKS, 2))
    return PoseTrack(image, np.zeros_like(image), np.full((n, N_LANDMARKS), 0.9, np.float32),
                     np.arange(n) / fps, fps, 640, 480)


@pytest.mark.parametrize("opening", [20.0, 45.0, 80.0, 120.0])
def test_thighs_open_deg_is_the_angle_between_the_thighs_seen_from_the_feet(opening):
    assert thighs_open_deg(from_the_feet(opening), BENCH.view) == pytest.approx(opening, abs=2.0)


def test_the_thighs_are_not_read_off_the_feet_or_on_too_few_frames():
    assert np.isnan(thighs_open_deg(from_the_feet(100.0, side_on=True), BENCH.view))
    assert np.isnan(thighs_open_deg(from_the_feet(100.0, seconds=0.5), BENCH.view))
    hidden = from_the_feet(100.0)
    vis = hidden.visibility.copy()
    vis[:, Landmark.RIGHT_KNEE] = 0.1
    assert np.isnan(thighs_open_deg(replace(hidden, visibility=vis), BENCH.view))


def test_thighs_dropped_wide_from_the_feet_are_a_frog_pump_and_a_bridge_stance_is_not(bench_set):
    _, result = bench_set
    front = replace(result, view=ViewEstimate("front", 0.9, 0.8))
    frog = guess_variant(front, FROG_THIGHS_OPEN_DEG + 15)
    assert frog.name == "frog_pump" and frog.confidence == 1.0 and "frog pump" in frog.reason
    near = guess_variant(front, FROG_THIGHS_OPEN_DEG + 2)
    assert near.name == "frog_pump" and 0.0 < near.confidence < 0.3
    bridge = guess_variant(front, FROG_THIGHS_OPEN_DEG - 10)
    assert bridge.name == "hip_thrust" and "not a frog pump" in bridge.reason
    unread = guess_variant(front, float("nan"))
    assert unread.name == "hip_thrust" and "frog pump or not cannot be told" in unread.reason
    one_leg = replace(front, side=replace(front.side, single_leg=True))
    assert guess_variant(one_leg, FROG_THIGHS_OPEN_DEG + 30).name == "single_leg_hip_thrust"


def test_from_the_side_a_floor_bridge_says_a_frog_pump_cannot_be_told(bench_set):
    _, result = bench_set
    floor = guess_variant(with_top_trunk(result, 30.0), FROG_THIGHS_OPEN_DEG + 30)
    assert floor.name == "glute_bridge" and "frog pump cannot be told" in floor.reason
    bench = guess_variant(with_top_trunk(result, -10.0))
    assert bench.name == "hip_thrust" and "frog" not in bench.reason


@pytest.mark.parametrize(("opening", "name"), [(110.0, "frog_pump"), (40.0, "hip_thrust")])
def test_auto_reads_the_thighs_off_the_track(opening, name):
    result, profile, guess = analyze_variant(from_the_feet(opening))
    assert guess.name == profile.name == result.variant == name
