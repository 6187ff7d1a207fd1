"""The hip-angle calibration: known offsets give back the joint angle; views it cannot serve say so."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck import kinematics as kin
from formcheck.analysis import analyze_track
from formcheck.calibration import CalibrationModel, calibrate, clip_features
from formcheck.profiles import ProfileError, load_profile
from formcheck.track import Landmark, PoseTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from calibration_table import attribution, refit  # noqa: E402

HT = load_profile("hip_thrust")


def body_points(joint_deg: np.ndarray, offset: float, torso: float = 0.5, thigh: float = 0.42) -> np.ndarray:
    """(T, 4, 2) shoulder / model hip / knee / ankle of a body lying along x whose thigh opens
    `joint_deg` at the hip joint centre (origin), the model's hip point `offset` m toward the belly."""
    th = np.radians(joint_deg)
    shoulder = np.tile([-torso, 0.0], (len(th), 1))
    knee = np.stack([-thigh * np.cos(th), -thigh * np.sin(th)], axis=1)  # 180: straight along +x
    hip = np.tile([0.0, -offset], (len(th), 1))  # image y points down: the belly is up
    ankle = knee + [0.0, 0.4]
    return np.stack([shoulder, hip, knee, ankle], axis=1) * 400.0


def test_a_known_hip_point_offset_is_taken_back_to_the_joint_angle():
    joint = np.array([165.0, 170.0, 175.0, 180.0, 185.0, 190.0, 195.0])
    raw = kin.angles_from_points(body_points(joint, offset=0.03)).hip
    assert np.all(np.abs(raw - joint) > 3.0)  # the offset alone is past the tolerance
    straight = float(kin.angles_from_points(body_points(np.array([180.0]), 0.03)).hip[0])
    cal = calibrate({"width_ratio": 0.1}, "side", CalibrationModel(offset_deg=straight - 180.0))
    assert cal.calibrated and cal.offset_deg == pytest.approx(straight - 180.0)
    np.testing.assert_allclose(cal.shown(raw), joint, atol=0.5)
    np.testing.assert_allclose(cal.raw(cal.shown(raw)), raw, atol=1e-9)


def test_the_offset_and_gain_follow_the_clip_features():
    model = CalibrationModel(offset_deg=2.0, offset_per={"width_ratio": 30.0}, gain=1 / 1.2)
    side = calibrate({"width_ratio": 0.1, "pelvis_ratio": 0.7}, "side", model)
    oblique = calibrate({"width_ratio": 0.3, "pelvis_ratio": 0.7}, "oblique", model)
    assert side.offset_deg == pytest.approx(5.0) and oblique.offset_deg == pytest.approx(11.0)
    assert side.shown(185.0) == pytest.approx(180.0) and oblique.shown(191.0) == pytest.approx(180.0)
    assert oblique.shown(201.0) == pytest.approx(192.0)  # 10 raw past the line: 12 shown
    assert "11.0" in oblique.reason
    far = np.array([60.0, 100.0, 150.0, 170.0, 185.0, 200.0, 230.0])  # raw, both sides of the band
    np.testing.assert_allclose(oblique.raw(oblique.shown(far)), far, atol=1e-9)
    assert np.all(np.diff(oblique.shown(far)) > 0)
    assert oblique.shown(100.0) == pytest.approx(100.0 - 11.0)  # far from the line: the offset only


def test_views_the_fit_cannot_serve_are_not_calibrated_and_say_why():
    model = CalibrationModel(offset_deg=6.0, max_width_ratio=0.5)
    front = calibrate({"width_ratio": 1.1}, "front", model)
    wide = calibrate({"width_ratio": 0.55}, "oblique", model)
    unmeasured = calibrate({"width_ratio": float("nan")}, "side",
                           replace(model, offset_per={"width_ratio": 10.0}))
    for cal in (front, wide, unmeasured):
        assert not cal.calibrated and cal.reason.startswith("not calibrated")
        assert cal.shown(187.0) == pytest.approx(187.0)  # the raw reading, said to be raw
    assert "feet" in front.reason and "width_ratio" in unmeasured.reason


FITTED = "pose_landmarker_full.task sha256:" + "a1" * 32


def test_another_pose_model_is_not_calibrated_with_this_models_fit():
    model = CalibrationModel(offset_deg=6.0, pose_model=FITTED)
    same = calibrate({"width_ratio": 0.1}, "side", model, "a1" * 32)
    unrecorded = calibrate({"width_ratio": 0.1}, "side", model, None)
    other = calibrate({"width_ratio": 0.1}, "side", model, "b2" * 32)
    assert same.calibrated and unrecorded.calibrated and same.shown(186.0) == pytest.approx(180.0)
    assert not other.calibrated and other.shown(186.0) == pytest.approx(186.0)
    assert other.reason.startswith("not calibrated: the pose model in use (sha256 b2b2b2b2b2b2)")
    assert "pose_landmarker_full.task, sha256 a1a1a1a1a1a1" in other.reason
    assert calibrate({"width_ratio": 0.1}, "side", replace(model, pose_model=""), "b2" * 32).calibrated


def test_the_shipped_fit_names_the_bundled_model():
    from formcheck.pose import find_model, sha256_file

    bundled = find_model()
    for name in ("hip_thrust", "glute_bridge", "b_stance_hip_thrust"):
        assert load_profile(name).calibration.pose_model == f"{bundled.name} sha256:{sha256_file(bundled)}"


def test_a_track_from_another_model_shows_no_angle_and_judges_no_line():
    track = plan_track(RepPlan(reps=3, top_degs=[188.0, 165.0, 198.0]), noise_px=0.5)
    fitted_sha = HT.calibration.pose_model.partition(" sha256:")[2]
    judged = analyze_track(replace(track, meta={**track.meta, "model_sha256": fitted_sha}), HT)
    other = analyze_track(replace(track, meta={**track.meta, "model_sha256": "c3" * 32}), HT)
    assert judged.calibration.calibrated and {f.code for f in judged.faults} >= {"incomplete_lockout"}
    assert not other.calibration.calibrated
    for code in ("incomplete_lockout", "overextension"):
        assert "is not the one the calibration was fitted on" in other.not_measurable[code]
    assert not {f.code for f in other.faults} & {"incomplete_lockout", "overextension"}
    assert len(other.reps) == len(judged.reps) == 3  # counting does not need the calibration


def test_refit_recovers_a_known_model_from_rendered_rows():
    rng = np.random.default_rng(0)
    rows = []
    for wr in (0.12, 0.18, 0.3, 0.36):
        for true in (170.0, 180.0, 190.0):
            raw = 180 + 3.0 + 20.0 * wr + (0.8 + 1.5 * wr) * (true - 180) + rng.normal(0, 0.05)
            rows.append({"width_ratio": wr, "true": true, "raw": raw})
    fit = refit(rows)
    assert fit["offset_deg"] == pytest.approx(3.0, abs=0.2)
    assert fit["offset_per"]["width_ratio"] == pytest.approx(20.0, abs=1.0)
    assert fit["gain"] == pytest.approx(0.8, abs=0.03)
    assert fit["gain_per"]["width_ratio"] == pytest.approx(1.5, abs=0.1)


def test_the_analysis_shows_calibrated_angles_and_keeps_the_raw_reading():
    track = plan_track(RepPlan(reps=3, top_degs=[188.0, 178.0, 198.0]), noise_px=0.5)
    result = analyze_track(track, HT)
    cal = result.calibration
    assert cal.calibrated and cal.inputs["width_ratio"] == pytest.approx(result.view.width_ratio)
    assert cal.inputs == clip_features(track, result.view.width_ratio, result.side.side)
    raw_tops = [float(cal.raw(r.top_hip_deg)) for r in result.reps]
    np.testing.assert_allclose(raw_tops, [188.0, 178.0, 198.0], atol=2.5)
    np.testing.assert_allclose([r.top_hip_deg for r in result.reps], cal.shown(np.array(raw_tops)))


def test_a_profile_names_only_known_features():
    with pytest.raises(ProfileError, match="calibration.offset_per"):
        load_profile_from({"name": "x", "extends": "hip_thrust",
                           "calibration": {"offset_per": {"shoe_size": 1.0}}})


def load_profile_from(data: dict, tmp=Path("/tmp")):  # noqa: B008
    import json
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=tmp, delete=False) as f:
        json.dump(data, f)
    try:
        return load_profile(f.name)
    finally:
        Path(f.name).unlink()


def test_attribution_puts_a_displaced_hip_point_on_the_hip(tmp_path):
    """A model whose only error is its hip point 3 cm toward the belly: moving the hip to the rig's
    joint takes the whole error away, moving the shoulder or the knee none of it."""
    joint = np.array([120.0, 150.0, 175.0, 180.0, 180.0, 185.0])
    phase = ["up", "up", "up", "top", "top", "top"]
    model, rig = body_points(joint, offset=0.03), body_points(joint, offset=0.0)
    image = np.full((len(joint), 33, 3), np.nan)
    near = (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE)
    for i, lm in enumerate(near):
        image[:, lm, :2] = model[:, i]
    image[..., 2] = 0.0
    n = len(joint)
    PoseTrack(image.astype(np.float32), np.zeros((n, 33, 3), np.float32), np.ones((n, 33), np.float32),
              np.arange(n) / 12.0, 12.0, 640, 360).save(tmp_path / "clip.npz")
    names = ("shoulder", "hip", "knee", "ankle")
    joints2d = {f"left_{j}": rig[:, i].tolist() for i, j in enumerate(names)}
    joints2d["left_hip_surface"] = model[:, 1].tolist()
    truth = {"spec": {"near_side": "left"},
             "frames": {"t": list(range(n)), "phase": phase, "hip_angle_deg_left": joint.tolist(),
                        "joints2d": joints2d}}
    (tmp_path / "clip.json").write_text(json.dumps(truth))
    a = attribution(tmp_path / "clip.json", tmp_path)
    straight = float(kin.angles_from_points(body_points(np.array([180.0]), 0.03)).hip[0]) - 180.0
    assert a["model"] == pytest.approx(straight, abs=0.3) and abs(straight) > 3.0
    assert a["rig hip"] == pytest.approx(0.0, abs=0.01) and a["rig"] == pytest.approx(0.0, abs=0.01)
    assert a["rig shoulder"] == pytest.approx(a["model"]) and a["rig knee"] == pytest.approx(a["model"])
    assert a["rig, hip on the surface"] == pytest.approx(a["model"])
    assert attribution(tmp_path / "clip.json", tmp_path / "elsewhere") is None


def band_mask(angle_deg: float, half_depth: float, centre=(224.0, 126.0), shape=(252, 448)) -> np.ndarray:
    """A person mask that is a straight band `2 * half_depth` px deep, tilted `angle_deg` in the
    picture, its 0.5 level exactly on the band's edges (a 4 px linear ramp, which bilinear sampling
    follows exactly)."""
    y, x = np.mgrid[: shape[0], : shape[1]].astype(float)
    a = np.radians(angle_deg)
    d = -(x - centre[0]) * np.sin(a) + (y - centre[1]) * np.cos(a)  # distance across the band
    return np.clip(0.5 + (half_depth - np.abs(d)) / 4.0, 0.0, 1.0)


@pytest.mark.parametrize("angle", [0.0, 12.0, -25.0])
def test_the_outline_depth_is_the_band_depth_at_any_tilt(angle):
    from calibration_silhouette import depths, outline_extent

    mask = band_mask(angle, 18.0)
    a = np.radians(angle)
    along, across = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    point = np.array([224.0, 126.0]) + 7.0 * across  # 7 px off the centre line, toward the bottom edge
    lo, hi = outline_extent(mask, point, along)
    assert hi - lo == pytest.approx(36.0, abs=0.05)
    assert -lo == pytest.approx(11.0, abs=0.05)  # the up-pointing normal: the near edge is below
    shoulder, hip, knee = (np.array([224.0, 126.0]) + s * along for s in (-100.0, 0.0, 60.0))
    d = depths(mask, shoulder, hip, knee)
    assert d["th_sh"] == pytest.approx(36.0 / 160.0, abs=1e-3)
    assert d["th_hip"] == pytest.approx(36.0 / 160.0, abs=1e-3)
    assert np.isnan(outline_extent(mask, point + 40.0 * across, along)[0])  # off the outline
