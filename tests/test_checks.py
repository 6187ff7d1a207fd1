import json

import pytest
from synthetic import RepPlan, plan_track

from formcheck.analysis import analyze_track
from formcheck.checks import (
    lockout_limit,
    overextension_limit,
    severity_by_excess,
    severity_by_ratio,
)
from formcheck.profiles import FAULT_CODES, ProfileError, builtin_names, load_profile

HT = load_profile("hip_thrust")


def faults_of(plan, profile=HT):
    result = analyze_track(plan_track(plan, noise_px=1.0), profile)
    return result, {(f.rep, f.code): f for f in result.faults}


def test_limits_come_from_the_profile_and_the_model_bias():
    assert lockout_limit(HT) == pytest.approx(180 + HT.model_hip_bias_deg - 18)
    assert overextension_limit(HT) == pytest.approx(180 + HT.model_hip_bias_deg + 15)
    assert HT.model_hip_bias_deg == 8.0


def test_clean_set_has_no_faults():
    result, found = faults_of(RepPlan(reps=4))
    assert result.rep_count == 4 and found == {}


def test_short_lockout_is_flagged_with_value_limit_and_guide_words():
    plan = RepPlan(reps=4, top_degs=[188.0, 160.0, 187.0, 155.0])
    _, found = faults_of(plan)
    assert set(found) == {(2, "incomplete_lockout"), (4, "incomplete_lockout")}
    f = found[(4, "incomplete_lockout")]
    assert f.measured == pytest.approx(155.0, abs=2.5) and f.limit == pytest.approx(170.0)
    assert f.comparison == ">=" and f.unit == "deg"
    assert f.severity == "major" and found[(2, "incomplete_lockout")].severity == "moderate"
    assert f.guide_says == "Not reaching full hip extension at the top."
    assert "straight line from your shoulders" in f.cue and f.checklist
    assert f.start_s < f.end_s


def test_overextension_is_flagged_past_the_line_only():
    plan = RepPlan(reps=3, top_degs=[190.0, 212.0, 196.0])
    _, found = faults_of(plan)
    assert set(found) == {(2, "overextension")}
    assert found[(2, "overextension")].measured > found[(2, "overextension")].limit
    assert found[(2, "overextension")].cue == "Finish tall without overextending."


def test_rushed_descent_against_minimum_and_against_the_concentric():
    _, found = faults_of(RepPlan(reps=3, up_s=0.8, down_s=0.35))
    assert {c for _, c in found} == {"rushed_descent"} and len(found) == 3
    _, found = faults_of(RepPlan(reps=3, up_s=2.5, down_s=0.9))  # longer than minimum, < half the up
    assert {c for _, c in found} == {"rushed_descent"}
    _, found = faults_of(RepPlan(reps=3, up_s=1.0, down_s=3.0))
    assert found == {}


def test_no_top_pause():
    _, found = faults_of(RepPlan(reps=3, top_s=0.0, up_s=1.0, down_s=1.5))
    assert {c for _, c in found} == {"no_top_pause"}
    assert found[(1, "no_top_pause")].guide_says == "Pause briefly at the top"


def test_severity_scales():
    assert [severity_by_excess(x, [5, 12]) for x in (1, 5, 11.9, 30)] == [
        "minor",
        "moderate",
        "moderate",
        "major",
    ]
    assert [severity_by_ratio(r, [0.8, 0.5]) for r in (0.9, 0.7, 0.3)] == ["minor", "moderate", "major"]


def test_every_builtin_variant_loads_with_all_faults_and_guide_words():
    for name in builtin_names():
        prof = load_profile(name)
        for code in FAULT_CODES:
            rule = prof.fault(code)
            assert rule["enabled"], (name, code)
            assert rule["guide"]["says"] and rule["guide"]["checklist"] and rule["guide"]["cue"]


def test_variant_inherits_and_overrides():
    bridge = load_profile("glute_bridge")
    single = load_profile("single_leg_glute_bridge")
    assert single.single_leg and not bridge.single_leg
    assert single.reps.min_range_deg == bridge.reps.min_range_deg == 18.0
    assert HT.reps.min_range_deg == 20.0
    assert load_profile("barbell_hip_thrust").name == "hip_thrust"


def test_unknown_variant_and_bad_profile_file(tmp_path):
    with pytest.raises(ProfileError, match="unknown variant"):
        load_profile("squat")
    bad = tmp_path / "mine.json"
    bad.write_text(json.dumps({"name": "mine", "extends": "hip_thrust", "reps": {"min_rnge_deg": 5}}))
    with pytest.raises(ProfileError, match="min_rnge_deg"):
        load_profile(str(bad))


def test_thresholds_are_data_a_custom_profile_changes_the_verdict(tmp_path):
    plan = RepPlan(reps=2, top_degs=[175.0, 175.0])
    _, found = faults_of(plan)
    assert found == {}
    strict = tmp_path / "strict.json"
    strict.write_text(
        json.dumps(
            {
                "name": "strict",
                "extends": "hip_thrust",
                "faults": {"incomplete_lockout": {"tolerance_deg": 5}},
            }
        )
    )
    _, found = faults_of(plan, load_profile(str(strict)))
    assert {c for _, c in found} == {"incomplete_lockout"}


def test_a_first_drive_from_the_set_up_does_not_make_a_normal_descent_rushed():
    from dataclasses import replace as _replace

    from synthetic import RepPlan, plan_track

    from formcheck.analysis import analyze_track
    from formcheck.checks import check_reps
    from formcheck.profiles import load_profile

    profile = load_profile("hip_thrust")
    reps = analyze_track(plan_track(RepPlan(reps=4, up_s=0.8, down_s=1.0)), profile).reps
    # rep 1's drive swallowed 3 s of set-up: against its own "up" its 1 s descent looks rushed
    slow_start = [_replace(reps[0], up_s=3.0), *reps[1:]]
    assert not [f for f in check_reps(slow_start, profile) if f.code == "rushed_descent"]
    rushed = [*slow_start[:2], _replace(slow_start[2], down_s=0.2), slow_start[3]]
    flagged = [f.rep for f in check_reps(rushed, profile) if f.code == "rushed_descent"]
    assert flagged == [3]
