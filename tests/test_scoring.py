"""Scores per rep and per set: 100 for clean work, points lost traced to findings."""

import json

import pytest
from synthetic import RepPlan, plan_track, sets_track
from test_checks import DRIFTING_TOPS, reading

from formcheck import report
from formcheck.analysis import analyze_track
from formcheck.checks import lockout_limit
from formcheck.profiles import load_profile

HT = load_profile("hip_thrust")


def scored(plan):
    return analyze_track(plan_track(plan, noise_px=1.0), HT)


def test_a_clean_set_scores_100():
    result = scored(RepPlan(reps=5))
    assert result.scores.overall == 100.0
    assert all(s.score == 100.0 and not s.deductions for s in result.scores.reps.values())


def test_a_faulty_rep_loses_its_codes_points_times_severity():
    result = scored(RepPlan(reps=4, top_degs=[188.0, 155.0, 188.0, 188.0]))
    rep2 = result.scores.reps[2]
    (cut,) = rep2.deductions
    pts = HT.scoring.fault_points["incomplete_lockout"] * HT.scoring.severity_factor["major"]
    assert cut.code == "incomplete_lockout" and cut.severity == "major" and cut.points == pts
    assert rep2.score == 100.0 - pts and "limit" in cut.why
    assert result.scores.reps[1].score == 100.0
    assert result.scores.sets[0].score == pytest.approx(100.0 - pts / 4, abs=0.1)


def test_scores_fall_as_faults_get_worse_and_more():
    short = reading(lockout_limit(HT) - 3)  # a minor shortfall
    mild = scored(RepPlan(reps=4, top_degs=[188.0, short, 188.0, 188.0])).scores.overall
    bad = scored(RepPlan(reps=4, top_degs=[188.0, 155.0, 188.0, 188.0])).scores.overall
    worse = scored(RepPlan(reps=4, top_degs=[155.0, 155.0, 188.0, 188.0], down_s=0.3)).scores.overall
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
    result = analyze_track(plan_track(RepPlan(reps=2, top_degs=[155.0, 188.0]), noise_px=1.0), prof)
    assert result.scores.reps[1].score == 100.0 - 2 * prof.scoring.severity_factor["major"]
    assert prof.scoring.fault_points["rushed_descent"] == HT.scoring.fault_points["rushed_descent"]


def test_report_explains_scores_in_json_and_text():
    result = analyze_track(
        sets_track([RepPlan(reps=4), RepPlan(reps=4, top_degs=[172.0, 188.0, 188.0, 188.0])], 30.0, 1.0), HT
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
