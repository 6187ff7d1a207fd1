"""The report's checklist block (report/checklist.py): every code per set with pass / fail / not
measurable / partly measured, the measured value and the limit, per rep; the same in the HTML."""

import json

import pytest
from synthetic import RepPlan, make_track, plan_track, sets_track, trajectory
from test_html_report import checklist_rows, parse

from formcheck import html_report
from formcheck.analysis import analyze_track
from formcheck.fault_rules import SET_LEVEL_CODES
from formcheck.findings import CheckResult, breaks
from formcheck.profiles import FAULT_CODES, load_profile
from formcheck.report import Report, build_report
from formcheck.report.checklist import status_of, worst

HT = load_profile("hip_thrust")


def report_of(track, profile=HT):
    analysis = analyze_track(track, profile)
    return analysis, build_report(analysis, profile)


@pytest.fixture(scope="module")
def lockout():
    """4 reps, the second well short of the straight line; side view."""
    return report_of(plan_track(RepPlan(reps=4, top_degs=[178.5, 150.5, 178.5, 178.5]), noise_px=0.5))


def items(report, set_no=0):
    return {i.code: i for i in report.checklist[set_no].items}


def test_every_code_of_the_profile_is_in_every_set_in_the_guides_order(lockout):
    _, report = lockout
    assert len(report.checklist) == len(report.sets) == 1
    block = report.checklist[0]
    assert block.set == report.sets[0].set and block.reps == report.sets[0].reps
    assert [i.code for i in block.items] == list(FAULT_CODES)


def test_a_failing_rep_fails_the_item_and_the_others_pass_with_their_values(lockout):
    analysis, report = lockout
    lock = items(report)["incomplete_lockout"]
    assert lock.status == "fail" and lock.failed_reps == [2]
    by_rep = {r.rep: r for r in lock.results}
    assert sorted(by_rep) == [1, 2, 3, 4]
    assert [by_rep[n].status for n in (1, 2, 3, 4)] == ["pass", "fail", "pass", "pass"]
    limit = report.measurement.lockout_line_deg
    for rep in report.reps:  # the value is the rep's top at the whole degree the finding judges at
        r = by_rep[rep.rep]
        assert r.limit == round(limit) and r.measured == pytest.approx(rep.top_hip_deg, abs=0.51)
        assert (r.status == "fail") == breaks(r.measured, r.limit, ">=", 0)
    # the item's value is the worst rep's, against the same limit
    assert lock.measured == by_rep[2].measured and lock.limit == by_rep[2].limit and lock.comparison == ">="
    # a clean item passes with the value nearest its limit
    over = items(report)["overextension"]
    assert over.status == "pass" and over.failed_reps == [] and over.comparison == "<="
    assert over.measured == max(r.measured for r in over.results) and over.measured <= over.limit


def test_fails_are_exactly_the_faults(lockout):
    analysis, report = lockout
    failed = {(i.code, r.rep) for b in report.checklist for i in b.items for r in i.results
              if r.status == "fail" and i.code not in SET_LEVEL_CODES}
    assert failed == {(f.code, f.rep) for f in report.faults if f.code not in SET_LEVEL_CODES}
    assert failed  # the lockout miss, at least
    assert all(r.fault is not None for r in analysis.results if r.status == "fail")
    assert all(r.fault is None for r in analysis.results if r.status != "fail")


def test_what_the_view_cannot_show_is_not_measurable_with_why(lockout):
    _, report = lockout
    knee = items(report)["knee_cave"]
    assert knee.status == "not measurable" and knee.results == []
    assert knee.reason == report.measurement.not_measurable["knee_cave"]


def test_too_few_reps_to_compare_is_not_measurable_never_passed(lockout):
    _, report = lockout
    fatigue = items(report)["fatigue_drift"]  # 4 reps: the profile needs more to compare ends
    assert fatigue.status == "not measurable" and "at least" in fatigue.reason
    rest = items(report)["short_rest"]  # the only set: nothing before it
    assert rest.status == "not measurable" and "first set" in rest.reason


def test_a_clip_ending_in_the_last_top_hold_is_partly_measured():
    _, hip, knee = trajectory(RepPlan(reps=2))
    cut_at = int(len(hip) - 30 * (1.5 + 1.0 + 0.4))  # stop during the last top hold
    _, report = report_of(make_track(hip[:cut_at], knee[:cut_at], noise_px=1.0))
    assert len(report.reps) == 2
    for code in ("no_top_pause", "rushed_descent"):
        item = items(report)[code]
        assert item.status == "partly measured", (code, item)
        by_rep = {r.rep: r for r in item.results}
        assert by_rep[1].status == "pass" and by_rep[1].measured is not None
        assert by_rep[2].status == "not measurable" and by_rep[2].measured is None and by_rep[2].reason
        assert "rep(s) 2" in item.reason
        assert item.measured == by_rep[1].measured  # the value shown is one that was measured


def test_a_short_rest_is_judged_per_set_and_measure():
    analysis, report = report_of(sets_track(
        [RepPlan(reps=4), RepPlan(reps=4, top_degs=[162.5, 178.5, 178.5, 178.5])], rest_s=30.0, noise_px=1.0))
    assert [b.set for b in report.checklist] == [s.set for s in report.sets] == [1, 2]
    first, second = items(report, 0)["short_rest"], items(report, 1)["short_rest"]
    assert first.status == "not measurable"
    assert second.status == "fail" and second.failed_reps == [5]
    measures = {r.measure: r for r in second.results}
    assert {"top", "depth", "up"} <= set(measures) and all(r.rep is None for r in second.results)
    assert measures["top"].status == "fail" and measures["up"].status == "pass"
    fault = next(f for f in report.faults if f.code == "short_rest")
    assert measures["top"].limit == fault.limit and measures["top"].measured == round(fault.measured)
    # per-rep results land in the set of their rep
    assert {r.rep for r in items(report, 1)["incomplete_lockout"].results} == {5, 6, 7, 8}


def test_a_switched_off_check_says_disabled(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "extends": "hip_thrust",
                                "faults": {"overextension": {"enabled": False}}}))
    profile = load_profile(str(path))
    analysis, report = report_of(plan_track(RepPlan(reps=3), noise_px=0.5), profile)
    over = items(report)["overextension"]
    assert over.status == "disabled" and over.results == [] and over.measured is None
    page = html_report.render_html(report, analysis, profile)
    assert "overextension" not in checklist_rows(page)


def test_no_rep_means_one_block_of_nothing_judged():
    analysis, report = report_of(plan_track(RepPlan(reps=0, lead_s=4.0, tail_s=0.0)))
    assert [b.set for b in report.checklist] == [None]
    statuses = {i.status for i in report.checklist[0].items}
    assert statuses <= {"not judged", "not measurable"} and "not judged" in statuses


def test_json_round_trip_keeps_the_checklist(lockout):
    _, report = lockout
    data = json.loads(report.to_json())
    assert [i["code"] for i in data["checklist"][0]["items"]] == list(FAULT_CODES)
    back = Report.from_json_dict(data)
    assert back == report and back.checklist == report.checklist
    older = {k: v for k, v in data.items() if k != "checklist"}  # reports written before it
    assert Report.from_json_dict(older).checklist == []


def test_the_html_shows_the_jsons_statuses_and_values(lockout):
    analysis, report = lockout
    page = html_report.render_html(report, analysis, HT)
    shown = checklist_rows(page)
    assert shown == {i.code: i.status for i in report.checklist[0].items if i.status != "disabled"}
    lock = items(report)["incomplete_lockout"]
    assert f"{lock.measured:g} deg (limit &gt;= {lock.limit:g} deg)" in page


def test_the_html_has_a_table_per_set_with_the_jsons_statuses():
    analysis, report = report_of(sets_track(
        [RepPlan(reps=4), RepPlan(reps=4, top_degs=[162.5, 178.5, 178.5, 178.5])], rest_s=30.0, noise_px=1.0))
    page = html_report.render_html(report, analysis, HT)
    rows = {(a["data-set"], a["data-code"]): a["data-status"] for t, a in parse(page).tags
            if t == "tr" and "data-code" in a}
    want = {(str(b.set), i.code): i.status for b in report.checklist for i in b.items
            if i.status != "disabled"}
    assert rows == want and rows[("2", "short_rest")] == "fail"
    assert "Set 2 (rep 5–8)" in page


def result(status, measured, limit, comparison="<=", rep=1, reason=""):
    return CheckResult("load_drift", rep, status, measured, limit, "%", comparison, reason)


def test_the_worst_value_is_the_furthest_fail_else_the_nearest_pass():
    # a signed value judged by its size: -14 of 15 is nearer the limit than +9
    passes = [result("pass", 9.0, 15.0, "|x| <=", 1), result("pass", -14.0, 15.0, "|x| <=", 2)]
    assert worst(passes).measured == -14.0 and status_of(passes, None) == ("pass", None)
    # one-sided: a tucked chin (-10 deg) is well inside a 5 deg limit on tipping back
    assert result("pass", -10.0, 5.0).margin < result("pass", 4.0, 5.0).margin
    failed = [*passes, result("fail", 40.0, 100.0, ">=", 3), result("fail", 20.0, 15.0, "|x| <=", 4)]
    assert worst(failed).rep == 3  # 60% short of its limit beats 33% past another
    unseen = result("not measurable", None, None, rep=5, reason="wrists not seen")
    note = "not judged on rep(s) 5: wrists not seen"
    assert status_of([*passes, unseen], None) == ("partly measured", note)
    assert status_of([*failed, unseen], None) == ("fail", note)
    assert status_of([unseen], None) == ("not measurable", "wrists not seen")
    assert status_of(passes, "feet out not judged") == ("partly measured", "feet out not judged")
