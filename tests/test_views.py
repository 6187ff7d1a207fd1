"""Camera-view detection and counting from the front, where no hip angle can be read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic import RepPlan, plan_track, trajectory
from test_posture import track_with

from formcheck import kinematics as kin
from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.report import build_report, render_text
from formcheck.track import N_LANDMARKS, Landmark, PoseTrack
from formcheck.view_limits import LOAD_HIDES_HIP, load_hides_hip

BRIDGE = load_profile("glute_bridge")


def front_track(lift_px: np.ndarray, fps: float = 30.0, noise_px: float = 0.5) -> PoseTrack:
    """Seen from the feet: shoulders wide apart near the top of the picture, hips below them;
    the hips rise in the picture by lift_px as they lift."""
    rng = np.random.default_rng(3)
    n = len(lift_px)
    image = np.zeros((n, N_LANDMARKS, 3))
    place = {
        Landmark.LEFT_SHOULDER: (260.0, 200.0), Landmark.RIGHT_SHOULDER: (380.0, 200.0),
        Landmark.LEFT_KNEE: (270.0, 330.0), Landmark.RIGHT_KNEE: (370.0, 330.0),
        Landmark.LEFT_ANKLE: (280.0, 400.0), Landmark.RIGHT_ANKLE: (360.0, 400.0),
        Landmark.NOSE: (320.0, 170.0),
    }
    image[:, :, :2] = (320.0, 260.0)
    for lm, xy in place.items():
        image[:, lm, :2] = xy
    for lm, x in ((Landmark.LEFT_HIP, 280.0), (Landmark.RIGHT_HIP, 360.0)):
        image[:, lm, 0] = x
        image[:, lm, 1] = 290.0 - lift_px
    image[:, :, :2] += rng.normal(0, noise_px, size=(n, N_LANDMARKS, 2))
    return PoseTrack(
        image=image.astype(np.float32), world=(image / 500).astype(np.float32),
        visibility=np.full((n, N_LANDMARKS), 0.95, dtype=np.float32),
        timestamps=np.arange(n) / fps, fps=fps, width=640, height=480, source="front",
    )


def lift_from_plan(plan: RepPlan) -> np.ndarray:
    _, hip, _ = trajectory(plan)
    return (hip - hip.min()) / (hip.max() - hip.min()) * 40.0  # 40 px of lift for a full rep


def test_a_deep_lift_from_the_feet_is_not_gated_as_an_impossible_angle():
    # a bench thrust from a tripod at the feet lifts ~0.7 shoulder widths: the lift signal's
    # bottoms then sit far below any hip angle, and they are still the set, not model glitches
    plan = RepPlan(reps=4)
    result = analyze_track(front_track(lift_from_plan(plan) * 2.0), BRIDGE)  # 80 px, 0.67 widths
    assert result.view.view == "front" and result.rep_count == 4
    assert result.usable_fraction > 0.95 and not result.unusable


def test_side_view_is_side():
    view = kin.detect_view(plan_track(RepPlan(reps=2)).image, BRIDGE.view)
    assert view.view == "side" and view.confidence > 0.5


def test_front_view_is_front_and_counted_from_the_lift():
    plan = RepPlan(reps=4)
    track = front_track(lift_from_plan(plan))
    result = analyze_track(track, BRIDGE)
    assert result.view.view == "front"
    assert result.rep_count == 4
    # an angle cannot be read from the front: never reported, never passed as fine
    assert all(np.isnan(r.top_hip_deg) for r in result.reps)
    angle_codes = {"incomplete_lockout", "overextension", "inconsistent_depth", "foot_placement"}
    assert angle_codes <= set(result.not_measurable)
    assert not [f for f in result.faults if f.code in result.not_measurable]
    # tempo still comes through: the plan's 0.8 s top hold, measured band to band
    assert np.median([r.top_pause_s for r in result.reps]) == pytest.approx(plan.top_s, abs=0.35)


def test_oblique_ratio_sits_between():
    track = plan_track(RepPlan(reps=2))
    image = track.image.copy()
    # turn the camera toward the feet: left and right separate, the length foreshortens a bit
    pairs = ((Landmark.LEFT_HIP, Landmark.RIGHT_HIP), (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER))
    for left, right in pairs:
        image[:, right, 0] = image[:, left, 0] + 20
        image[:, right, 1] = image[:, left, 1] + 45
    view = kin.detect_view(image, BRIDGE.view)
    assert view.view == "oblique", view


def test_a_long_set_up_below_every_rep_does_not_hide_the_reps():
    plan = RepPlan(reps=3)
    _, hip, knee = trajectory(plan)
    fps = plan.fps
    lying = np.full(int(6 * fps), hip.min() - 40.0)  # 6 s lying lower than any rep's bottom
    lift = np.r_[lying, hip] - (hip.min() - 40.0)
    track = front_track(lift / lift.max() * 55.0)
    assert analyze_track(track, BRIDGE).rep_count == 3


def test_a_load_on_the_hips_is_taken_to_hide_the_hip_where_side_and_30_deg_read_alike():
    cfg = kin.ViewConfig()
    low, line = cfg.angled_from_ratio, cfg.oblique_from_ratio
    assert 0 < low < line
    band = (low + line) / 2
    assert load_hides_hip("oblique", 0.3, True, low, line) == LOAD_HIDES_HIP
    said = load_hides_hip("side", band, True, low, line)
    assert said and f"{band:.2f}" in said and "film square from the side" in said
    assert load_hides_hip("side", low - 0.01, True, low, line) is None  # square from the side: judged
    for loaded in (False, None):  # no load on the hips (or the hands unseen): nothing hidden
        assert load_hides_hip("side", band, loaded, low, line) is None
        assert load_hides_hip("oblique", 0.3, loaded, low, line) is None


def test_the_band_is_profile_data_and_reaches_the_report(tmp_path):
    """A loaded side-view set (hands on the hips, riding up with them) is judged for lockout; with
    the band widened to take in its width ratio, the lockout is said not measurable, and why."""
    loaded = track_with(RepPlan(reps=3))
    ht = load_profile("hip_thrust")
    judged = analyze_track(loaded, ht)
    assert judged.view.view == "side" and judged.view.width_ratio < ht.view.angled_from_ratio
    assert "incomplete_lockout" not in judged.not_measurable
    path = tmp_path / "wide.json"
    path.write_text('{"name": "wide", "extends": "hip_thrust", "view": {"angled_from_ratio": 0.0}}')
    wide = analyze_track(loaded, load_profile(path))
    assert "film square from the side" in wide.not_measurable["incomplete_lockout"]
    assert "film square from the side" in wide.not_measurable["overextension"]
    # the same set with the arms on the floor (the hands stay put): no load, judged as before
    still = loaded.image.copy()
    still[:, [Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST], :2] = loaded.image[0, Landmark.LEFT_HIP, :2]
    bare = analyze_track(dataclasses.replace(loaded, image=still), load_profile(path))
    assert "incomplete_lockout" not in bare.not_measurable


def pitched(track: PoseTrack, pitch_deg: float) -> PoseTrack:
    """The track's 3D hips as a camera pitched down by pitch_deg sees a level hip line 0.2 m wide."""
    world = track.world.astype(np.float64).copy()
    mid = world[:, [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]].mean(axis=1)
    half = 0.1 * np.array([0.0, np.sin(np.radians(pitch_deg)), np.cos(np.radians(pitch_deg))])
    world[:, Landmark.RIGHT_HIP], world[:, Landmark.LEFT_HIP] = mid + half, mid - half
    return dataclasses.replace(track, world=world.astype(np.float32))


def test_the_hip_line_tilt_follows_the_cameras_pitch():
    track = plan_track(RepPlan(reps=2))
    assert kin.hip_line_tilt_deg(track.world) is None  # the synthetic 3D has no depth: no witness
    for pitch in (0.0, 20.0, 45.0, 85.0):
        assert kin.hip_line_tilt_deg(pitched(track, pitch).world) == pytest.approx(pitch, abs=0.1)
    view = kin.detect_view(track.image, load_profile("hip_thrust").view, pitched(track, 45.0).world)
    assert view.view == "side" and view.tilt_deg == pytest.approx(45.0, abs=0.1)


def test_no_rep_from_a_camera_looking_down_says_why():
    ht = load_profile("hip_thrust")
    still = plan_track(RepPlan(reps=2))
    still = dataclasses.replace(still, image=np.repeat(still.image[:1], len(still.image), axis=0))
    for pitch, reason in ((15.0, False), (60.0, True)):
        report = build_report(analyze_track(pitched(still, pitch), ht), ht)
        assert report.summary.rep_count == 0
        if reason:
            assert report.summary.no_reps_reason.startswith("the camera looks down on the body")
            assert "tilts 60 deg" in report.summary.no_reps_reason
            assert f"(no reps found: {report.summary.no_reps_reason})" in render_text(report)
        else:
            assert report.summary.no_reps_reason is None
    # reps counted from up there (a bench thrust from 2.2 m): nothing to explain
    counted = build_report(analyze_track(pitched(plan_track(RepPlan(reps=2)), 60.0), ht), ht)
    assert counted.summary.rep_count == 2 and counted.summary.no_reps_reason is None
