"""The hips' lift as the drive: where the hip angle is lost (a plate hiding the hips), and where the
camera switches between a view from the feet and one from the side."""

import dataclasses

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck import kinematics as kin
from formcheck.analysis import analyze_track
from formcheck.lift import LIFT_REASON, angle_lost, mixed_views, shot_lift
from formcheck.profiles import load_profile
from formcheck.track import Landmark

HIP_THRUST = load_profile("hip_thrust")


def _knees_thrown_at_the_tops(plan: RepPlan):
    """The model throws the near knee and ankle across the picture for every top (a plate in front
    of the hips): the hip angle is unreadable there while the hip point stays put."""
    track = plan_track(plan, noise_px=1.0)
    image = track.image.copy()
    rng = np.random.default_rng(1)
    for t in [t for k, t in plan.events if k == "top_start"]:
        a, b = int((t - 0.3) * plan.fps), int((t + plan.top_s + 0.3) * plan.fps)
        for lm in (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE):
            image[a:b, lm, :2] += rng.normal(0.0, 80.0, size=(b - a, 2))
    return dataclasses.replace(track, image=image)


def test_reps_whose_angle_is_lost_at_every_top_are_counted_on_the_lift():
    plan = RepPlan(reps=3, top_s=0.8)
    result = analyze_track(_knees_thrown_at_the_tops(plan), HIP_THRUST)
    assert result.rep_count == 3
    assert result.not_measurable["incomplete_lockout"] == LIFT_REASON
    assert result.not_measurable["overextension"] == LIFT_REASON
    assert all(np.isnan(r.top_hip_deg) for r in result.reps), "no angle is shown from a lift"
    assert np.isnan(result.hip).all()


def test_a_clip_with_its_angle_seen_throughout_never_falls_back():
    clean = analyze_track(plan_track(RepPlan(reps=3), noise_px=1.0), HIP_THRUST)
    assert clean.rep_count == 3 and "incomplete_lockout" not in clean.not_measurable
    assert not angle_lost(np.ones(100, bool), np.ones(100, bool))
    lost = np.ones(100, bool)
    lost[20:50] = False
    assert angle_lost(lost, np.ones(100, bool))


def test_mixed_views_needs_a_shot_from_the_feet_and_another_view():
    assert mixed_views([(0, 90, "front"), (96, 180, "oblique")])
    assert not mixed_views([(0, 90, "side"), (96, 180, "oblique")]), "both are angles: one drive"
    assert not mixed_views([(0, 180, "front")])


def test_shot_lift_puts_every_shot_on_the_same_span():
    # two shots of the same pulses, the second filmed closer (3x the pixels): one lift for both
    n = 120
    t = np.arange(n) / 30.0
    rise = 20.0 * (1 - np.cos(2 * np.pi * t)) / 2
    points = np.zeros((n, 4, 2))
    points[:, 3, 1] = 400.0  # ankles: the floor
    points[:, 1, 1] = 380.0 - np.where(np.arange(n) < 60, rise, 3 * rise)
    image = np.full((n, 33, 3), np.nan)
    image[:, [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER], 0] = [[300.0, 380.0]]
    image[:, [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER], 1] = 300.0
    hip = shot_lift(points, image, [(0, 60, "front"), (60, 120, "front")], gain_deg=250.0).hip
    first, second = hip[:60], hip[60:]
    assert np.ptp(first) == pytest.approx(np.ptp(second))
    assert [np.percentile(x, 95) for x in (first, second)] == pytest.approx([180.0, 180.0])


def test_from_the_feet_one_leg_or_two_is_read_in_3d():
    # the picture reads one knee far straighter (the legs point at the lens); the model's 3D does not
    track = plan_track(RepPlan(reps=2), noise_px=0.0)
    image = track.image.copy()
    knee, hip = image[:, Landmark.RIGHT_KNEE, :2], image[:, Landmark.RIGHT_HIP, :2]
    image[:, Landmark.RIGHT_ANKLE, :2] = 2 * knee - hip  # a straight leg in the picture
    world = track.image.copy() / 500.0
    assert kin.choose_side(image, track.visibility).single_leg
    assert not kin.choose_side(image, track.visibility, world=world).single_leg
