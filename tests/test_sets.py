"""Several sets in one clip: split at rests, rep ranges per set, the first rep against the last set."""

import math

import pytest
from synthetic import RepPlan, sets_track

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.sets import rep_goals, split_sets

HT = load_profile("hip_thrust")


def analyse(plans, rest_s=30.0):
    return analyze_track(sets_track(plans, rest_s=rest_s, noise_px=1.0), HT)


def test_three_sets_split_at_the_rests_with_their_rep_ranges():
    result = analyse([RepPlan(reps=5), RepPlan(reps=8), RepPlan(reps=3)])
    assert [s.rep_count for s in result.sets] == [5, 8, 3]
    assert [s.reps[0] for s in result.sets] == [1, 6, 14]
    assert result.sets[0].rest_before_s is None
    assert result.sets[1].rest_before_s == pytest.approx(32.0, abs=1.5)  # tail + rest + lead
    assert [len(s.rep_range_goals) for s in result.sets] == [1, 2, 0]  # 8 is both 6-10 and 8-12
    assert result.sets[1].rep_range_goals[1].startswith("8-12 reps")
    assert not result.faults


def test_a_short_pause_is_not_a_rest_and_the_threshold_is_data():
    result = analyse([RepPlan(reps=3), RepPlan(reps=3)], rest_s=8.0)
    assert len(result.sets) == 1 and result.sets[0].rep_count == 6
    assert split_sets(result.reps, HT.sets) == [result.reps]
    from dataclasses import replace

    short = replace(HT, sets=replace(HT.sets, min_rest_s=5.0))
    assert len(split_sets(result.reps, short.sets)) == 2


def test_the_rest_is_not_a_bottom_pause():
    result = analyse([RepPlan(reps=3), RepPlan(reps=3)])
    assert result.reps[2].bottom_pause_s is None
    # a pause: from where the descent comes within 5% of the bottom to where the drive leaves it
    # (formcheck/phases.py), the plan's 0.6 s plus the eased ends of its cosine ramps (1.5 s down,
    # 0.8 s up); the landing is read with the model's lag undone, a few hundredths early here
    edge = math.acos(1 - 2 * HT.reps.phase_band_frac) / math.pi
    assert result.reps[1].bottom_pause_s == pytest.approx(0.6 + (1.5 + 0.8) * edge, abs=0.1)


def test_first_rep_worse_than_the_previous_sets_end_is_a_short_rest():
    result = analyse([RepPlan(reps=4), RepPlan(reps=4, top_degs=[162.5, 178.5, 178.5, 178.5])])
    rest = [f for f in result.faults if f.code == "short_rest"]
    assert [(f.rep, f.reps) for f in rest] == [(5, (5,))]
    drop = float(result.calibration.shown(178.5) - result.calibration.shown(162.5))  # 16 raw, calibrated
    assert rest[0].measured == pytest.approx(drop, abs=2.5) and rest[0].limit == 8.0
    assert "rest was probably too short" in rest[0].guide_says
    assert result.sets[1].vs_previous["top"] == pytest.approx(drop, abs=2.5)
    slow = analyse([RepPlan(reps=4), RepPlan(reps=4, up_s_list=[1.6, 0.8, 0.8, 0.8])])
    assert [f.code for f in slow.faults] == ["short_rest"] and "drive slowed" in slow.faults[0].message


def test_a_first_rep_like_the_previous_set_is_fine():
    result = analyse([RepPlan(reps=4), RepPlan(reps=4)])
    assert len(result.sets) == 2 and not result.faults
    assert abs(result.sets[1].vs_previous["top"]) < 3.0


def test_rep_goals_overlap():
    ranges = HT.rep_ranges
    assert rep_goals(6, ranges)[0].startswith("4-6") and rep_goals(6, ranges)[1].startswith("6-10")
    assert rep_goals(13, ranges) == []
