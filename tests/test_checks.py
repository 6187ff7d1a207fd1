import dataclasses
import json

import pytest
from synthetic import RepPlan, plan_track

from formcheck.analysis import analyze_track
from formcheck.checks import check_no_top_pause
from formcheck.fault_rules import IncompleteLockoutRule, NoTopPauseRule, OverextensionRule
from formcheck.findings import breaks, severity_by_excess, severity_by_ratio
from formcheck.hip_lines import hip_lines, lockout_limit, overextension_limit
from formcheck.profiles import FAULT_CODES, ProfileError, builtin_names, load_profile

HT = load_profile("hip_thrust")


def reading(shown: float, profile=HT) -> float:
    """The synthetic model reading that the calibration shows as `shown` on these synthetic tracks
    (plans are in model readings; the limits are on the calibrated scale)."""
    return float(analyze_track(plan_track(RepPlan(reps=2)), profile).calibration.raw(shown))


LOCK, OVER = lockout_limit(HT), overextension_limit(HT)
# calibrated tops falling ~184 -> ~174: a drift past its limit, each rep inside both lines
DRIFTING_TOPS = [reading(x) for x in (184.0, 184.0, 183.0, 179.0, 175.0, 174.0)]


def faults_of(plan, profile=HT):
    result = analyze_track(plan_track(plan, noise_px=1.0), profile)
    return result, {(f.rep, f.code): f for f in result.faults}


def test_limits_are_on_the_calibrated_scale_around_the_straight_line():
    lock, over = HT.rule(IncompleteLockoutRule), HT.rule(OverextensionRule)
    assert lockout_limit(HT) == pytest.approx(180 - lock.tolerance_deg)
    assert overextension_limit(HT) == pytest.approx(180 + over.tolerance_deg)
    assert hip_lines(HT) == {"lockout": lockout_limit(HT), "overextension": overextension_limit(HT)}


def test_clean_set_has_no_faults():
    result, found = faults_of(RepPlan(reps=4))
    assert result.rep_count == 4 and found == {}


def test_short_lockout_is_flagged_with_value_limit_and_guide_words():
    plan = RepPlan(reps=4, top_degs=[reading(180.0), reading(LOCK - 8), reading(179.0), reading(LOCK - 20)])
    result, found = faults_of(plan)
    assert set(found) == {(2, "incomplete_lockout"), (4, "incomplete_lockout")}
    f = found[(4, "incomplete_lockout")]
    assert result.calibration.calibrated
    assert f.measured == pytest.approx(LOCK - 20, abs=2.5)
    assert f.limit == pytest.approx(lockout_limit(HT))
    assert f.comparison == ">=" and f.unit == "deg"
    assert f.severity == "major" and found[(2, "incomplete_lockout")].severity == "moderate"
    assert f.guide_says == "Not reaching full hip extension at the top."
    assert "straight line from your shoulders" in f.cue and f.checklist
    assert f.start_s < f.end_s


def test_overextension_is_flagged_past_the_line_only():
    plan = RepPlan(reps=3, top_degs=[reading(181.0), reading(OVER + 20), reading(OVER - 3)])
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
    # switched off by design: floor bridges have no bench to lean back over; the frog pump is
    # pulsed (no hold, quick lowering) with the knees turned out (the shin's tilt is not in the picture)
    off = {"leaning_back"}
    by_design = {"glute_bridge": off, "single_leg_glute_bridge": off, "feet_elevated_glute_bridge": off,
                 "frog_pump": off | {"no_top_pause", "rushed_descent", "foot_placement"}}
    for name in builtin_names():
        prof = load_profile(name)
        for code in FAULT_CODES:
            rule = prof.fault(code)
            assert rule.enabled or code in by_design.get(prof.name, set()), (name, code)
            assert rule.guide.says and rule.guide.checklist and rule.guide.cue


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
    plan = RepPlan(reps=2, top_degs=[reading(LOCK - 5)] * 2)
    _, found = faults_of(plan)
    assert {c for _, c in found} == {"incomplete_lockout"}
    lenient = tmp_path / "lenient.json"
    lenient.write_text(
        json.dumps(
            {
                "name": "lenient",
                "extends": "hip_thrust",
                "faults": {"incomplete_lockout": {"tolerance_deg": 180.0 - LOCK + 10}},
            }
        )
    )
    _, found = faults_of(plan, load_profile(str(lenient)))
    assert found == {}


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


# --- issue 4: jerky drive, inconsistent depth, foot placement, fatigue drift -----------------


def codes_on(plan, profile=HT):
    result, found = faults_of(plan, profile)
    return result, sorted(found)


def test_new_codes_are_in_the_catalogue_with_limits_in_the_base_profile():
    for code in ("jerky_concentric", "inconsistent_depth", "foot_placement", "fatigue_drift", "short_rest"):
        assert code in FAULT_CODES and HT.fault(code).enabled


def test_clean_sets_raise_none_of_the_new_faults():
    for plan in (RepPlan(reps=8), RepPlan(reps=6, up_s=1.2, down_s=2.0), RepPlan(reps=5, start_at_top=True)):
        result, found = codes_on(plan)
        assert found == [], found


def test_jerky_drive_is_found_on_its_rep_only():
    result, found = codes_on(RepPlan(reps=5, up_s=1.0, jerk_reps=[3]))
    assert found == [(3, "jerky_concentric")]
    f = result.faults[0]
    assert f.measured > f.limit == HT.fault("jerky_concentric").max_speed_ratio
    assert f.start_s < f.end_s and f.guide_says == "stand up with intent instead of jerking the load"


def test_a_slow_first_drive_from_the_set_up_is_not_jerky():
    up = [3.0, 0.8, 0.8, 0.8]
    _, found = codes_on(RepPlan(reps=4, up_s_list=up))
    assert found == []


def test_inconsistent_depth_on_the_descent_that_stops_short():
    result, found = codes_on(RepPlan(reps=5, bottom_degs=[110.0, 110.0, 128.0, 110.0, 110.0]))
    assert found == [(3, "inconsistent_depth")]
    f = result.faults[0]
    assert f.measured == pytest.approx(18.0, abs=2.0) and f.limit == 10.0 and "shallower" in f.message
    _, found = codes_on(RepPlan(reps=5, bottom_degs=[110.0, 110.0, 116.0, 110.0, 110.0]))
    assert found == []  # 6 deg is within the limit


def test_foot_placement_from_the_shin_at_the_top():
    result, found = codes_on(RepPlan(reps=4, knee_top_degs=[95.0, 95.0, 130.0, 95.0]))
    assert found == [(3, "foot_placement")]
    f = result.faults[0]
    assert f.measured > 25.0 and "too far out" in f.message
    result, found = codes_on(RepPlan(reps=3, knee_top_degs=[60.0] * 3))
    assert found == [(1, "foot_placement"), (2, "foot_placement"), (3, "foot_placement")]
    assert "too close" in result.faults[0].message


def test_foot_placement_is_not_judged_where_the_leg_is_hidden():
    track = plan_track(RepPlan(reps=3, knee_top_degs=[130.0] * 3), noise_px=1.0)
    vis = track.visibility.copy()
    vis[:, [25, 27]] = 0.35  # left knee and ankle behind a plate (the measured side)
    hidden = type(track)(track.image, track.world, vis, track.timestamps, track.fps, 640, 480)
    result = analyze_track(hidden, HT)
    assert not [f for f in result.faults if f.code == "foot_placement"]
    assert "hidden" in result.not_measurable["foot_placement"]


def test_fatigue_drift_in_lockout_tempo_and_depth_names_the_later_reps():
    result, found = codes_on(RepPlan(reps=6, top_degs=DRIFTING_TOPS))
    drift = [f for f in result.faults if f.code == "fatigue_drift"]
    assert len(drift) == 1 and drift[0].reps == (5, 6) and "lockout" in drift[0].message
    assert drift[0].measured == pytest.approx(9.5, abs=2.0)
    assert not [f for f in result.faults if f.code == "incomplete_lockout"]  # each rep still locks out
    result, _ = codes_on(RepPlan(reps=6, up_s_list=[0.8, 0.8, 0.8, 1.0, 1.4, 1.5]))
    assert [(f.code, f.reps) for f in result.faults] == [("fatigue_drift", (5, 6))]
    assert "drive slowed" in result.faults[0].message
    result, _ = codes_on(RepPlan(reps=6, bottom_degs=[110.0, 110.0, 111.0, 112.0, 124.0, 125.0]))
    assert ("fatigue_drift", (5, 6)) in [(f.code, f.reps) for f in result.faults]


def test_no_drift_when_only_the_middle_rep_dips_or_the_set_is_short():
    ok, dip = reading(180.0), reading(LOCK - 4)
    _, found = codes_on(RepPlan(reps=6, top_degs=[ok, ok, dip, ok, ok, ok]))
    assert found == [(3, "incomplete_lockout")]  # the dip is that rep's own fault, no trend
    _, found = codes_on(RepPlan(reps=4, top_degs=[ok, ok, dip, dip]))
    assert "fatigue_drift" not in {c for _, c in found}  # 4 reps < min_reps: too short for a trend


def test_front_view_reports_the_angle_codes_unmeasurable_and_tempo_drift_partly():
    from test_views import front_track, lift_from_plan

    result = analyze_track(front_track(lift_from_plan(RepPlan(reps=4))), load_profile("glute_bridge"))
    for code in ("incomplete_lockout", "overextension", "inconsistent_depth", "foot_placement"):
        assert code in result.not_measurable
    assert "tempo only" in result.partly_measurable["fatigue_drift"]
    assert not [f for f in result.faults if f.code in result.not_measurable]
    every = set(FAULT_CODES) - {"hip_rotation", "knee_cave"}
    checked = every - set(result.not_measurable)
    assert {"jerky_concentric", "rushed_descent", "no_top_pause", "fatigue_drift"} <= checked


# ------------------------------------------------------------------ B-stance and the far working leg

BS = load_profile("b_stance_hip_thrust")


def test_b_stance_reads_depth_from_the_trunk_shared_by_both_legs():
    result, found = codes_on(RepPlan(reps=5, bottom_degs=[110.0, 110.0, 128.0, 110.0, 110.0]), BS)
    assert found == [(3, "inconsistent_depth")]
    f = result.faults[0]
    assert "trunk slope" in f.message and "shallower" in f.message and f.limit == 5.0
    _, found = codes_on(RepPlan(reps=5, bottom_degs=[110.0, 110.0, 113.0, 110.0, 110.0]), BS)
    assert found == []


def test_b_stance_does_not_call_the_kickstand_foot_too_far_out():
    result, found = codes_on(RepPlan(reps=3, knee_top_degs=[130.0] * 3), BS)
    assert found == []
    assert "kickstand" in result.partly_measurable["foot_placement"]
    _, found = codes_on(RepPlan(reps=3, knee_top_degs=[60.0] * 3), BS)
    assert found == [(1, "foot_placement"), (2, "foot_placement"), (3, "foot_placement")]


def test_a_far_working_leg_is_not_judged_for_foot_placement():
    from dataclasses import replace

    from formcheck.analysis import working_leg_is_far
    from formcheck.kinematics import SideChoice

    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    left = SideChoice("left", "planted working leg", True)
    vis = track.visibility.copy()
    vis[:, [25, 27]] = 0.85  # left knee and ankle: seen less well than the right (free) leg
    vis[:, [26, 28]] = 0.99
    assert working_leg_is_far(replace(track, visibility=vis), left)
    assert not working_leg_is_far(replace(track, visibility=vis), SideChoice("right", "", True))
    assert not working_leg_is_far(replace(track, visibility=vis), SideChoice("left", "", False))
    vis[:, [25, 27]] = 0.98  # within the visibility gap: both legs seen alike
    assert not working_leg_is_far(replace(track, visibility=vis), left)


def test_a_far_working_leg_is_not_judged_for_bursts_in_the_drive():
    from dataclasses import replace

    from synthetic import body_points, body_track

    slht = load_profile("single_leg_hip_thrust")
    track = body_track(body_points(RepPlan(reps=5, up_s=1.0, jerk_reps=[3]), free_leg="right"), 30.0, 15.0)
    near = analyze_track(track, slht)
    assert near.side.side == "left" and (3, "jerky_concentric") in {(f.rep, f.code) for f in near.faults}
    vis = track.visibility.copy()
    vis[:, [25, 27]] = 0.85  # the working (left) knee and ankle behind the raised leg
    far = analyze_track(replace(track, visibility=vis), slht)
    assert far.rep_count == 5 and "jerky_concentric" not in {f.code for f in far.faults}
    assert "behind the raised leg" in far.not_measurable["jerky_concentric"]
    assert "behind the raised leg" in far.not_measurable["foot_placement"]


def test_a_value_that_prints_equal_to_its_limit_is_not_a_fault():
    """No message contradicts itself: "held the top 0.40 s; at least 0.40 s expected" is a pass."""
    assert not breaks(0.398, 0.40, ">=", 2) and breaks(0.394, 0.40, ">=", 2)
    assert not breaks(1.84, 1.8, "<=", 1) and breaks(1.86, 1.8, "<=", 1)
    assert not breaks(12.4, 12.0, "<=", 0) and breaks(12.6, 12.0, "<=", 0)


@pytest.mark.parametrize("short_by", [0.004, 0.001, 0.006, 0.1])
def test_a_top_hold_a_hair_under_the_limit_passes_and_a_real_miss_says_so(short_by):
    rule = HT.rule(NoTopPauseRule)
    limit = rule.min_top_pause_s
    clean = faults_of(RepPlan(reps=2))[0].reps[0]
    # no stillness to speak of: the top's length alone decides
    rep = dataclasses.replace(clean, top_pause_s=limit - short_by,
                              top_still_s=rule.max_still_to_flag_s - 0.05)
    result = check_no_top_pause(rep, HT)
    found = result.fault
    printed = f"{limit - short_by:.2f}"
    # the checklist's record holds the figures as printed, whatever the verdict
    assert (result.measured, result.limit) == (float(printed), round(limit, 2))
    if printed == f"{limit:.2f}":
        assert found is None and result.status == "pass"
    else:
        assert result.status == "fail"
        assert found is not None and f"at the top {printed} s" in found.message
        assert f"at least {limit:.2f} s expected" in found.message


def test_no_top_pause_accuses_only_where_a_hold_and_a_turn_around_cannot_be_confused():
    """Judged on the top phase (top reached to descent start, as the phase truth is labelled); a
    short top is a fault only when the hips were not still for max_still_to_flag_s either. The
    real holds whose lockout creeps or whose hips sag before the drop read 0.24-0.42 s still, an
    eased turn-around with no hold 0.15-0.37 s: in between the check says it cannot tell."""
    rule = HT.rule(NoTopPauseRule)
    limit, floor = rule.min_top_pause_s, rule.max_still_to_flag_s
    assert 0 < floor < limit
    clean = faults_of(RepPlan(reps=2))[0].reps[0]
    # a long top passes however short its still stretch (the moves eased into and out of it)
    held = dataclasses.replace(clean, top_pause_s=limit + 0.1, top_still_s=floor - 0.1)
    assert check_no_top_pause(held, HT).status == "pass"
    # a short top with a turn-around that never stops: a fault, and the message gives both readings
    turn = dataclasses.replace(clean, top_pause_s=limit - 0.1, top_still_s=floor - 0.05)
    result = check_no_top_pause(turn, HT)
    assert result.status == "fail" and f"(still {floor - 0.05:.2f} s)" in result.fault.message
    # a short top in which the hips were still a while: not judged, and the reason says why
    unsure = check_no_top_pause(dataclasses.replace(turn, top_still_s=floor + 0.05), HT)
    assert unsure.status == "not measurable" and unsure.fault is None
    assert "read alike" in unsure.reason and unsure.limit == round(limit, 2)
    # a still time that prints equal to the floor is not below it
    at_floor = check_no_top_pause(dataclasses.replace(turn, top_still_s=floor - 0.004), HT)
    assert at_floor.status == "not measurable"
    # a rep whose moves could not both be measured (a lift) is judged on the top phase alone
    assert check_no_top_pause(dataclasses.replace(turn, top_still_s=None), HT).status == "fail"
    assert check_no_top_pause(dataclasses.replace(held, top_still_s=None), HT).status == "pass"
