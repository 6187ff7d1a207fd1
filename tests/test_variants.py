"""--variant auto: bench or floor from the trunk at the top, one leg or two from the knees."""

from __future__ import annotations

from dataclasses import replace

import pytest
from synthetic import RepPlan, plan_track

from formcheck.analysis import analyze_track
from formcheck.kinematics import ViewEstimate
from formcheck.profiles import load_profile
from formcheck.variants import FLOOR_TOP_TORSO_DEG, analyze_variant, guess_variant

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
        "feet_elevated_glute_bridge": "glute_bridge", "frog_pump": "glute_bridge",
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
