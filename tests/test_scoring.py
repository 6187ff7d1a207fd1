"""Scores per rep and per set: 100 for clean work, points lost traced to findings."""

import dataclasses
import json

import pytest
from synthetic import RepPlan, plan_track, sets_track
from test_checks import DRIFTING_TOPS, reading

from formcheck import report
from formcheck.analysis import analyze_track
from formcheck.fault_rules import SET_LEVEL_CODES
from formcheck.findings import Fault
from formcheck.hip_lines import lockout_limit
from formcheck.profiles import load_profile
from formcheck.scoring import deductions

HT = load_profile("hip_thrust")


def scored(plan):
    return analyze_track(plan_track(plan, noise_px=1.0), HT)


def test_a_clean_set_scores_100():
    result = scored(RepPlan(reps=5))
    assert result.scores.overall == 100.0
    assert all(s.score == 100.0 and not s.deductions for s in result.scores.reps.values())


def test_a_faulty_rep_loses_its_codes_points_times_severity():
    result = scored(RepPlan(reps=4, top_degs=[178.5, 155.0, 178.5, 178.5]))
    rep2 = result.scores.reps[2]
    (cut,) = rep2.deductions
    pts = HT.scoring.fault_points["incomplete_lockout"] * HT.scoring.severity_factor["major"]
    assert cut.code == "incomplete_lockout" and cut.severity == "major" and cut.points == pts
    assert rep2.score == 100.0 - pts and "limit" in cut.why
    assert result.scores.reps[1].score == 100.0
    assert result.scores.sets[0].score == pytest.approx(100.0 - pts / 4, abs=0.1)


def test_scores_fall_as_faults_get_worse_and_more():
    short = reading(lockout_limit(HT) - 3)  # a minor shortfall
    mild = scored(RepPlan(reps=4, top_degs=[178.5, short, 178.5, 178.5])).scores.overall
    bad = scored(RepPlan(reps=4, top_degs=[178.5, 155.0, 178.5, 178.5])).scores.overall
    worse = scored(RepPlan(reps=4, top_degs=[155.0, 155.0, 178.5, 178.5], down_s=0.3)).scores.overall
    assert 100.0 > mild > bad > worse


def test_set_level_drift_costs_the_set_not_the_reps():
    result = scored(RepPlan(reps=6, top_degs=DRIFTING_TOPS))
    assert all(s.score == 100.0 for s in result.scores.reps.values())
    (cut,) = result.scores.sets[0].deductions
    assert cut.code == "fatigue_drift" and result.scores.sets[0].score == 100.0 - cut.points


LENIENT = {"incomplete_lockout": 2}


def test_weights_are_profile_data(tmp_path):
    custom = tmp_path / "lenient.json"
    custom.write_text(
        json.dumps({"name": "lenient", "extends": "hip_thrust", "scoring": {"fault_points": LENIENT}})
    )
    prof = load_profile(str(custom))
    result = analyze_track(plan_track(RepPlan(reps=2, top_degs=[155.0, 178.5]), noise_px=1.0), prof)
    assert result.scores.reps[1].score == 100.0 - 2 * prof.scoring.severity_factor["major"]
    assert prof.scoring.fault_points["rushed_descent"] == HT.scoring.fault_points["rushed_descent"]


def test_report_explains_scores_in_json_and_text():
    result = analyze_track(
        sets_track([RepPlan(reps=4), RepPlan(reps=4, top_degs=[162.5, 178.5, 178.5, 178.5])], 30.0, 1.0), HT
    )
    data = json.loads(report.build_report(result, HT).to_json())
    assert [s["rep_count"] for s in data["sets"]] == [4, 4] and data["summary"]["set_count"] == 2
    assert data["sets"][1]["score"]["deductions"][0]["code"] == "short_rest"
    assert data["reps"][0]["score"]["score"] == 100.0
    assert data["summary"]["rep_range_goals"] == []  # per set, with several sets
    assert data["sets"][0]["rep_range_goals"][0].startswith("4-6")
    assert data["faults"][0]["reps"] == [5]
    text = report.render_text(report.build_report(result, HT))
    assert "set 2: 4 reps, after" in text and "-10 short_rest (" in text and "score" in text


SHIPPED = (
    "hip_thrust", "glute_bridge", "single_leg_hip_thrust", "single_leg_glute_bridge", "b_stance_hip_thrust",
)  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_the_rubric_a_major_fault_costs_a_rep_more_than_30_points_in_every_shipped_profile(name):
    """The README's rubric: one major fault leaves a rep below 70, a minor one above 85."""
    prof = load_profile(name)
    per_rep = [c for c in prof.scoring.fault_points if c not in SET_LEVEL_CODES]
    assert set(per_rep) >= {"incomplete_lockout", "overextension", "rushed_descent", "no_top_pause"}
    for code in per_rep:
        major, minor = (
            deductions([dataclasses.replace(FINDING, code=code, severity=s)], prof)[0].points
            for s in ("major", "minor")
        )
        assert 100.0 - major < 70.0 and 100.0 - minor > 85.0, code


FINDING = Fault("x", "major", 1, 0.0, 1.0, 150.0, 170.0, "deg", ">=", "m", "g", "c", "cue", (1,))


def test_a_set_with_a_major_fault_on_every_rep_scores_below_70():
    result = scored(RepPlan(reps=5, top_degs=[140.5] * 5))
    assert all(any(d.severity == "major" for d in s.deductions) for s in result.scores.reps.values())
    assert result.scores.sets[0].score < 70.0 and result.scores.overall < 70.0


def test_a_set_with_a_minor_lockout_miss_on_every_rep_is_not_a_90():
    result = scored(RepPlan(reps=5, top_degs=[reading(lockout_limit(HT) - 3)] * 5))
    assert {d.code for s in result.scores.reps.values() for d in s.deductions} == {"incomplete_lockout"}
    assert result.scores.overall < 90.0
