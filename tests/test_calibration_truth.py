"""The calibrated hip angle against the rendered truth (the real pose model on the committed renders,
none of which the calibration was fitted on): each rep's shown top near the true joint angle at the
anatomical hip joint centre (Harrington's, the clips posed on it: spec `hip_centre = "harrington"`).

Measured, not promised: on the two-leg bench and floor clips posed on that centre (the variants the fit
saw), 14 of 16 tops near the line land within 3 deg, all within 5.0 (the oblique overextension
clip's clean top reads 175.8, one of its 192 deg arches 197.0); a 150 deg short top reads 153; the
B-stance thrust (not fitted) reads its 183.6 within 2.0. Feet-elevated bridges and single-leg clips
are not calibrated at all."""

from __future__ import annotations

import pytest
from test_sample_videos import track, truth, truth_files

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

NEAR_LINE_DEG = 15.0  # the calibration is fitted for tops within this of 180
TOLERANCE_DEG = 3.0
FITTED_VARIANTS = ("hip_thrust", "glute_bridge")  # as rendered: two legs, feet on the floor


def posed_on_the_joint_centre(t: dict) -> bool:
    """Clips posed on the rig's thigh head (older renders kept for other faults) have no
    anatomical truth to hold the shown angle to."""
    return t["spec"].get("hip_centre") == "harrington"


def shown_vs_true(path) -> list[tuple[float, float]]:
    t = truth(path)
    if t["spec"]["variant"] not in FITTED_VARIANTS or not posed_on_the_joint_centre(t):
        return []
    result = analyze_track(track(path), load_profile(t["spec"]["variant"]))
    if not result.calibration.calibrated:
        return []
    side = result.side.side if result.side.side in ("left", "right") else "left"
    pairs = []
    for rep in result.reps:
        for r in t["reps"]:
            a, b = r["phases"]["top"]
            if rep.start_s <= (a + b) / 2 <= rep.end_s:
                pairs.append((rep.top_hip_deg, r[f"top_hip_angle_anatomical_deg_{side}"]))
    return pairs


@pytest.fixture(scope="module")
def pairs() -> dict[str, list[tuple[float, float]]]:
    return {p.stem: shown_vs_true(p) for p in truth_files()}


def test_shown_tops_near_the_line_match_the_joint_angle(pairs):
    near = [(s, t) for ps in pairs.values() for s, t in ps if abs(t - 180.0) <= NEAR_LINE_DEG]
    assert len(near) >= 15  # the side and oblique two-leg clips
    errors = sorted(round(s - t, 1) for s, t in near)
    assert sum(abs(e) <= TOLERANCE_DEG for e in errors) / len(errors) >= 0.8, errors
    assert max(abs(e) for e in errors) <= load_profile("hip_thrust").calibration.uncertainty_deg, errors


def test_a_straight_line_reads_straight_not_as_an_arch(pairs):
    for name in ("hip_thrust_side_clean", "glute_bridge_side_clean", "banded_hip_thrust_oblique_clean"):
        tops = [s for s, t in pairs[name] if t == pytest.approx(180.0)]
        assert tops and all(abs(s - 180.0) <= 5.0 for s in tops), (name, tops)


def test_the_front_view_is_not_calibrated_and_says_why():
    (path,) = [p for p in truth_files() if p.stem == "banded_hip_thrust_front_knee_cave"]
    result = analyze_track(track(path), load_profile(truth(path)["spec"]["variant"]))
    assert not result.calibration.calibrated and "feet" in result.calibration.reason


def test_single_leg_clips_are_not_calibrated_and_do_not_judge_the_line():
    for path in [p for p in truth_files() if p.stem.startswith("single_leg")]:
        result = analyze_track(track(path), load_profile(truth(path)["spec"]["variant"]))
        assert not result.calibration.calibrated and "single-leg" in result.calibration.reason
        assert {"incomplete_lockout", "overextension"} <= set(result.not_measurable)


def test_a_feet_elevated_bridge_is_not_calibrated_and_does_not_judge_the_line():
    (path,) = [p for p in truth_files() if p.stem.startswith("feet_elevated")]
    result = analyze_track(track(path), load_profile(truth(path)["spec"]["variant"]))
    assert not result.calibration.calibrated and "feet elevated" in result.calibration.reason
    assert {"incomplete_lockout", "overextension"} <= set(result.not_measurable)
