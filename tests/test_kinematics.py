import numpy as np
import pytest
from synthetic import make_track, side_points

from formcheck import kinematics as kin

HIPS = np.array([100.0, 140.0, 170.0, 180.0, 188.0, 200.0, 215.0])
KNEES = np.array([60.0, 75.0, 90.0, 100.0, 120.0, 150.0, 175.0])


def angles(points):
    return kin.angles_from_points(points)


def test_signed_hip_angle_recovers_prescribed_angles_on_both_sides_of_the_line():
    got = angles(side_points(HIPS, KNEES)).hip
    assert np.allclose(got, HIPS, atol=1e-6)


def test_unsigned_angle_folds_where_signed_does_not():
    pts = side_points(np.array([188.0]), np.array([90.0]))
    unsigned = kin.unsigned_angle(pts[:, 0], pts[:, 1], pts[:, 2])
    assert unsigned[0] == pytest.approx(172.0)  # looks like a short lockout
    assert angles(pts).hip[0] == pytest.approx(188.0)


def test_knee_angle_is_exact():
    assert np.allclose(angles(side_points(HIPS, KNEES)).knee, KNEES, atol=1e-6)


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_angles_survive_a_rotated_clip(quarter_turns):
    pts = side_points(HIPS, KNEES)
    rotated = np.rot90(np.eye(2), quarter_turns)
    turned = pts @ rotated.T
    got = angles(turned)
    assert np.allclose(got.hip, HIPS, atol=1e-6)
    assert np.allclose(got.knee, KNEES, atol=1e-6)


def test_floor_direction_is_image_down_for_an_upright_clip():
    pts = side_points(HIPS, KNEES)
    assert kin.floor_direction(pts[:, 2], pts[:, 3]).tolist() == [0.0, 1.0]


def test_the_floor_is_read_from_bent_knees_not_a_set_up_with_the_legs_out():
    """A clip that opens with the lifter sitting, legs out to the right (straight knees), for longer
    than the bent-knee bridges after it: only the bent knees' shins say where the floor is."""
    n_setup, n_set = 160, 120
    hip = np.zeros((n_setup + n_set, 2))
    knee = np.tile([40.0, 0.0], (n_setup + n_set, 1))
    ankle = knee + np.tile([40.0, 1.0], (n_setup + n_set, 1))  # legs out: straight, along the floor
    knee[n_setup:] = [30.0, -30.0]  # the bridge: thigh up to the knee, shin down to the foot
    ankle[n_setup:] = [36.0, 10.0]
    assert kin.floor_direction(knee, ankle).tolist() == [1.0, 0.0]  # every frame votes: "right"
    bent = kin.knee_angle(hip, knee, ankle)
    assert kin.floor_direction(knee, ankle, bent).tolist() == [0.0, 1.0]
    # too few bent knees to vote (a view from the feet foreshortens them all): every frame counts
    few = n_setup + kin.MIN_BENT_FRAMES - 1
    assert kin.floor_direction(knee[:few], ankle[:few], bent[:few]).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_the_bent_knee_floor_follows_a_clip_turned_without_its_rotation_tag(quarter_turns):
    pts = side_points(HIPS, KNEES)
    turned = pts @ np.rot90(np.eye(2), quarter_turns).T
    knees = kin.knee_angle(turned[:, 1], turned[:, 2], turned[:, 3])
    floor = kin.floor_direction(turned[:, 2], turned[:, 3], knees)
    assert np.allclose(floor, np.rot90(np.eye(2), quarter_turns) @ [0.0, 1.0])


def test_shin_and_torso_angles():
    floor = np.array([0.0, 1.0])
    knee = np.array([[0.0, 0.0], [0.0, 0.0]])
    ankle = np.array([[0.0, 10.0], [10.0, 10.0]])
    assert np.allclose(kin.shin_angle(knee, ankle, floor), [0.0, 45.0])
    shoulder = np.zeros((2, 2))
    hip = np.array([[10.0, -10.0], [10.0, 10.0]])  # hips above, then below, the shoulders
    assert np.allclose(kin.torso_angle(shoulder, hip, floor), [45.0, -45.0])


def test_nan_frames_stay_nan():
    pts = side_points(HIPS, KNEES)
    pts[2, 1] = np.nan
    got = angles(pts)
    assert np.isnan(got.hip[2]) and np.isfinite(np.delete(got.hip, 2)).all()


def test_choose_side_prefers_the_better_seen_side():
    track = make_track(HIPS, KNEES, near="right")
    choice = kin.choose_side(track.image, track.visibility)
    assert choice.side == "right" and not choice.single_leg


def test_choose_side_takes_the_bent_leg_in_single_leg_work():
    # the right leg is raised straight and made the better-seen side: visibility alone
    # would pick it, but the planted (bent) left leg is the one to measure
    track = make_track(HIPS, KNEES, near="left", raised_leg=True)
    assert kin.choose_side(track.image, track.visibility).side == "left"
    swapped = kin.SIDES["right"], kin.SIDES["left"]
    vis = track.visibility.copy()
    vis[:, list(swapped[0])], vis[:, list(swapped[1])] = 0.99, 0.5
    choice = kin.choose_side(track.image, vis)
    assert choice.side == "left" and choice.single_leg
    assert "planted" in choice.reason


def test_choose_side_can_be_forced_to_the_bent_leg():
    track = make_track(HIPS, KNEES, near="right")
    choice = kin.choose_side(track.image, track.visibility, force_single_leg=True)
    assert choice.single_leg
