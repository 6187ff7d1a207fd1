"""The calibrated hip angle against the rendered truth (the real pose model on the committed renders,
none of which the calibration was fitted on): each rep's shown top near the rig's joint angle.

Measured, not promised: two-leg bench and floor clips (the variants the fit saw) land within 3 deg
on 12 of 16 reps and within 4.2 deg on all; a B-stance thrust reads 4-5 low and a feet-elevated
bridge 11-12 low (neither was in the fit); single-leg clips are not calibrated at all."""

from __future__ import annotations

import pytest
from test_sample_videos import track, truth, truth_files

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

NEAR_LINE_DEG = 15.0  # the calibration is fitted for tops within this of 180
TOLERANCE_DEG = 3.0
FITTED_VARIANTS = ("hip_thrust", "glute_bridge")  # as rendered: two legs, feet on the floor


def shown_vs_true(path) -> list[tuple[float, float]]:
    t = truth(path)
    if t["spec"]["variant"] not in FITTED_VARIANTS:
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
                pairs.append((rep.top_hip_deg, r[f"top_hip_angle_deg_{side}"]))
    return pairs


@pytest.fixture(scope="module")
def pairs() -> dict[str, list[tuple[float, float]]]:
    return {p.stem: shown_vs_true(p) for p in truth_files()}


def test_shown_tops_near_the_line_match_the_joint_angle(pairs):
    near = [(s, t) for ps in pairs.values() for s, t in ps if abs(t - 180.0) <= NEAR_LINE_DEG]
    assert len(near) >= 15  # the side and oblique two-leg clips
    errors = sorted(round(s - t, 1) for s, t in near)
    assert sum(abs(e) <= TOLERANCE_DEG for e in errors) / len(errors) >= 0.7, errors
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
