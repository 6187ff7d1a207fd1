"""A profile file is checked as it loads: a misspelt key, a wrong type or a missing key is refused
with one line naming the file, the key's path and the keys allowed there (exit 2 on the command
line, before any model runs); a rule without `enabled` is on."""

import json
from importlib import resources

import pytest
from synthetic import RepPlan, plan_track

from formcheck import cli
from formcheck.fault_rules import RULES, FootPlacementRule, NoTopPauseRule
from formcheck.profiles import FAULT_CODES, ProfileError, builtin_names, load_profile

NO_TOP_PAUSE_KEYS = "enabled, guide, max_still_to_flag_s, min_top_pause_s, severity_steps"


@pytest.fixture
def track_file(tmp_path):
    path = tmp_path / "set.npz"
    plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=1.0).save(path)
    return path


def write(tmp_path, data, name="mine.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def extending(faults=None, **top):
    return {"name": "mine", "extends": "hip_thrust", **({"faults": faults} if faults else {}), **top}


def error_line(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("formcheck: error: ")
    return code, err


def test_a_misspelt_rule_key_exits_2_naming_file_key_and_the_allowed_keys(track_file, tmp_path, capsys):
    bad = write(tmp_path, extending({"no_top_pause": {"min_top_paus_s": 0.2}}))
    code, err = error_line(["analyze", "--track", str(track_file), "--variant", str(bad)], capsys)
    assert code == 2
    assert str(bad) in err and "unknown key faults.no_top_pause.min_top_paus_s" in err
    assert f"allowed in faults.no_top_pause: {NO_TOP_PAUSE_KEYS}" in err


def test_batch_refuses_the_same_profile_before_reading_any_clip(tmp_path, capsys):
    bad = write(tmp_path, extending({"no_top_pause": {"min_top_paus_s": 0.2}}))
    argv = ["batch", str(tmp_path), "--out", str(tmp_path / "out"), "--variant", str(bad)]
    code, err = error_line(argv, capsys)
    assert code == 2 and "faults.no_top_pause.min_top_paus_s" in err and str(bad) in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"min_top_pause_s": "0.4"}, 'min_top_pause_s must be a number, not "0.4"'),
        ({"severity_steps": [0.7]}, "severity_steps must be a list of 2 numbers, not [0.7]"),
        ({"severity_steps": [0.7, True]}, "severity_steps[1] must be a number, not true"),
        ({"enabled": "no"}, 'enabled must be true or false, not "no"'),
    ],
)
def test_a_wrong_type_exits_2_naming_the_key(rule, words, track_file, tmp_path, capsys):
    bad = write(tmp_path, extending({"no_top_pause": rule}))
    code, err = error_line(["analyze", "--track", str(track_file), "--variant", str(bad)], capsys)
    assert code == 2 and f"faults.no_top_pause.{words}" in err
    assert f"(allowed in faults.no_top_pause: {NO_TOP_PAUSE_KEYS})" in err


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (extending({"knee_caev": {}}), "unknown key faults.knee_caev (allowed in faults: fatigue_drift,"),
        (extending({"inconsistent_depth": {"measure": "knee"}}), 'measure must be one of "hip", "torso"'),
        (extending({"short_rest": {"guide": {"sayz": "x"}}}), "unknown key faults.short_rest.guide.sayz"),
        (extending(reps={"min_rnge_deg": 5}), "unknown key reps.min_rnge_deg (allowed in reps:"),
        (extending(signal={"plausible_hip_deg": [1, 2, 3]}), "signal.plausible_hip_deg must be a list of 2"),
        (extending(sets={"compare_reps": 2.5}), "sets.compare_reps must be a whole number, not 2.5"),
        (extending(scoring={"fault_points": {"knee": 3}}), "unknown key scoring.fault_points.knee"),
        (extending(scoring={"severity_factor": {"huge": 3}}), "(allowed in scoring.severity_factor: major,"),
        (extending(rep_ranges=[{"min": 1, "max": "3", "goal": "x"}]), "rep_ranges[0].max must be a whole"),
        (extending(colour="red"), "unknown key colour (allowed in a profile: aliases, calibration, extends,"),
        ({"name": "mine", "faults": {}}, "missing key faults.incomplete_lockout"),
        (extending(extends="squat"), "extends unknown variant 'squat'"),
    ],
)
def test_every_section_is_checked(data, words, tmp_path):
    bad = write(tmp_path, data)
    with pytest.raises(ProfileError) as exc:
        load_profile(str(bad))
    assert words in str(exc.value) and str(bad) in str(exc.value) and "\n" not in str(exc.value)


def test_a_missing_required_rule_key_names_the_chain(tmp_path):
    base = json.loads(resources.files("formcheck").joinpath("profiles", "base.json").read_text())
    del base["faults"]["no_top_pause"]["min_top_pause_s"]
    bad = write(tmp_path, {**base, "name": "mine"})
    with pytest.raises(ProfileError, match=r"missing key faults\.no_top_pause\.min_top_pause_s \(allowed"):
        load_profile(str(bad))


def test_a_rule_without_enabled_is_on(track_file, tmp_path, capsys):
    base = json.loads(resources.files("formcheck").joinpath("profiles", "base.json").read_text())
    for rule in base["faults"].values():
        del rule["enabled"]
    mine = write(tmp_path, {**base, "name": "mine"})
    profile = load_profile(str(mine))
    assert all(profile.fault(code).enabled for code in FAULT_CODES)
    js = tmp_path / "r.json"
    assert cli.main(["analyze", "--track", str(track_file), "--variant", str(mine), "--json", str(js)]) == 0
    capsys.readouterr()
    assert "incomplete_lockout" in {f["code"] for f in json.loads(js.read_text())["faults"]}


def test_enabled_false_switches_a_check_off(track_file, tmp_path, capsys):
    off = write(tmp_path, extending({"incomplete_lockout": {"enabled": False}}))
    js = tmp_path / "r.json"
    assert cli.main(["analyze", "--track", str(track_file), "--variant", str(off), "--json", str(js)]) == 0
    capsys.readouterr()
    assert "incomplete_lockout" not in {f["code"] for f in json.loads(js.read_text())["faults"]}


def test_every_builtin_profile_loads_with_typed_rules_that_state_enabled():
    for name in [*builtin_names(), "base"]:
        profile = load_profile(name)
        assert set(profile.faults) == set(FAULT_CODES)
        for code, rule in profile.faults.items():
            assert type(rule) is RULES[code] and rule.code == code
    # the built-in files say enabled everywhere, so the new default changed no built-in check
    base = json.loads(resources.files("formcheck").joinpath("profiles", "base.json").read_text())
    assert all(rule.get("enabled") is True for rule in base["faults"].values())
    bs = load_profile("b_stance")
    assert bs.rule(FootPlacementRule).judge_feet_out is False
    pause = bs.rule(NoTopPauseRule)
    assert pause.min_top_pause_s == 0.4 and pause.severity_steps == (0.7, 0.4)


def test_frog_pump_is_its_own_variant_and_its_pulses_are_no_faults():
    from formcheck.analysis import analyze_track

    frog = load_profile("frog_pump")
    assert frog.name == "frog_pump" and load_profile("glute_bridge").name == "glute_bridge"
    # pulsed by design: a quick drive, no hold, a quick lowering
    plan = RepPlan(reps=6, up_s=0.35, top_s=0.05, down_s=0.25, bottom_s=0.2, bottom_deg=140.0, top_deg=185.0)
    track = plan_track(plan, noise_px=0.5)
    pulsed = analyze_track(track, frog)
    assert pulsed.rep_count == 6
    assert not {f.code for f in pulsed.faults} & {"no_top_pause", "rushed_descent"}
    as_bridge = {f.code for f in analyze_track(track, load_profile("glute_bridge")).faults}
    assert {"no_top_pause", "rushed_descent"} <= as_bridge, "the same pulses are faults on a bridge"
