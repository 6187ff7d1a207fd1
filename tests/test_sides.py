"""Single-leg sets on both legs: the working leg per rep, one set per side, and the sides compared."""

from __future__ import annotations

import re

import numpy as np
import pytest
from synthetic import RepPlan, make_track, trajectory

from formcheck.analysis import analyze_track
from formcheck.kinematics import working_leg_by_frame
from formcheck.profiles import load_profile
from formcheck.track import PoseTrack

SL = load_profile("single_leg_hip_thrust")


def side_track(plan: RepPlan, working: str, seed: int) -> PoseTrack:
    _, hip, knee = trajectory(plan)
    # make_track raises the far leg: the near one is the working leg
    return make_track(hip, knee, fps=plan.fps, noise_px=1.0, seed=seed, near=working, raised_leg=True)


def joined(*tracks: PoseTrack, rest_s: float = 3.0) -> PoseTrack:
    """Clips one after the other, with rest_s of the first one's last frame between them."""
    parts = []
    for i, t in enumerate(tracks):
        parts.append(t)
        if i < len(tracks) - 1:
            n = int(rest_s * t.fps)
            parts.append(
                PoseTrack(np.repeat(t.image[-1:], n, 0), np.repeat(t.world[-1:], n, 0),
                          np.repeat(t.visibility[-1:], n, 0), np.arange(n) / t.fps, t.fps, t.width, t.height)
            )  # fmt: skip
    n = sum(p.n_frames for p in parts)
    first = tracks[0]
    return PoseTrack(
        np.concatenate([p.image for p in parts]), np.concatenate([p.world for p in parts]),
        np.concatenate([p.visibility for p in parts]), np.arange(n) / first.fps, first.fps,
        first.width, first.height, source="synthetic",
    )  # fmt: skip


@pytest.fixture(scope="module")
def switching():
    left = side_track(RepPlan(reps=4), "left", seed=1)
    right = side_track(RepPlan(reps=4, top_deg=166.5), "right", seed=2)  # the right side stops short
    return analyze_track(joined(left, right), SL)


def test_working_leg_is_read_per_frame():
    track = joined(side_track(RepPlan(reps=3), "left", 1), side_track(RepPlan(reps=3), "right", 2))
    legs = working_leg_by_frame(track.image, track.fps, 30.0)
    half = track.n_frames // 2
    assert set(legs[: half - 60]) == {"left"} and set(legs[half + 60 :]) == {"right"}


def test_reps_are_counted_per_side_and_each_side_is_its_own_set(switching):
    assert [r.leg for r in switching.reps] == ["left"] * 4 + ["right"] * 4
    assert [s.rep_count for s in switching.sets] == [4, 4]
    # each leg's signal is its own: the change of legs costs nothing beyond the switch itself
    paused = [r.bottom_pause_s is not None for r in switching.reps]
    assert paused == [True, True, True, False] * 2
    assert switching.usable_fraction > 0.9
    assert "switching legs: left then right" in switching.side.reason


def test_sides_are_compared_and_an_imbalance_named(switching):
    sides = switching.sides
    assert sides["left"]["reps"] == sides["right"]["reps"] == 4
    assert sides["left"]["top_hip_deg"] - sides["right"]["top_hip_deg"] == pytest.approx(12.0, abs=2.0)
    assert any(text.startswith("lockout: right side 1") for text in sides["imbalances"])
    assert not any(text.startswith(("drive", "descent")) for text in sides["imbalances"])


def test_one_leg_all_along_has_no_side_comparison():
    result = analyze_track(side_track(RepPlan(reps=4), "right", seed=3), SL)
    assert result.sides is None and {r.leg for r in result.reps} == {"right"}
    both = analyze_track(side_track(RepPlan(reps=4), "left", seed=3), load_profile("hip_thrust"))
    assert both.sides is None


def test_the_report_marks_each_rep_with_its_leg_and_compares_the_sides(switching):
    from formcheck import report

    text = report.render_text(report.build_report(switching, SL))
    # each rep's number carries its leg, followed by its start time
    assert re.search(r"^ 1L +\d+\.\d\d ", text, re.M) and re.search(r"^ 5R +\d+\.\d\d ", text, re.M)
    assert "imbalance: lockout: right side" in text
    data = report.build_report(switching, SL).as_json_dict()
    assert [r["leg"] for r in data["reps"]] == ["left"] * 4 + ["right"] * 4
    assert data["sides"]["right"]["reps"] == 4 and data["sides"]["imbalances"]
