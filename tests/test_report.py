import csv
import dataclasses
import io
import json
import math

import pytest
from synthetic import RepPlan, plan_track, with_dropout

from formcheck import report
from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

PROFILE = load_profile("hip_thrust")


@pytest.fixture(scope="module")
def result():
    plan = RepPlan(reps=4, top_degs=[178.5, 158.0, 178.5, 178.5], down_s=0.3, lead_s=3.0)
    return analyze_track(with_dropout(plan_track(plan, noise_px=1.0), 0.5, 1.0), PROFILE)


def test_json_is_versioned_complete_and_strict(result):
    text = report.build_report(result, PROFILE).to_json()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["schema"] == "formcheck.report/1"
    assert data["variant"]["name"] == "hip_thrust"
    assert data["summary"]["rep_count"] == len(data["reps"]) == 4
    rep = data["reps"][1]
    for key in ("start_s", "end_s", "bottom_hip_deg", "top_hip_deg", "up_s", "top_pause_s", "down_s"):
        assert isinstance(rep[key], float), key
    assert "incomplete_lockout" in rep["faults"]
    fault = next(f for f in data["faults"] if f["code"] == "incomplete_lockout")
    for key in ("severity", "rep", "start_s", "end_s", "measured", "limit", "guide_says", "checklist", "cue"):
        assert fault[key] not in (None, ""), key
    assert data["unusable"] and data["unusable"][0]["reason"] == "pose_not_usable"
    assert data["summary"]["fault_counts"]["rushed_descent"] == 4


def test_json_has_no_nan_even_when_values_are_missing(result):
    data = json.loads(report.build_report(result, PROFILE).to_json())
    last = data["reps"][-1]
    assert last["bottom_pause_s"] is None

    def walk(x):
        if isinstance(x, float):
            assert math.isfinite(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(data)


def test_csv_has_one_row_per_rep_matching_the_json(result):
    rows = list(csv.DictReader(io.StringIO(report.to_csv(report.build_report(result, PROFILE)))))
    data = json.loads(report.build_report(result, PROFILE).to_json())
    assert len(rows) == 4 and tuple(rows[0]) == report.CSV_COLUMNS
    assert rows[1]["faults"].split(";")[0] == "incomplete_lockout"
    assert float(rows[2]["top_hip_deg"]) == data["reps"][2]["top_hip_deg"]
    assert rows[3]["bottom_pause_s"] == ""


def test_text_report_shows_table_faults_guide_and_summary(result):
    text = report.render_text(report.build_report(result, PROFILE))
    assert "rep  start    end" in text
    assert "incomplete_lockout (" in text and "Not reaching full hip extension at the top." in text
    assert "set: 4 reps (4-6 reps: strength-focused" in text
    assert "not analysed: 0.5-1.5 s (pose not usable)" in text
    assert text.count("\n   ") >= 4  # one table row per rep


def test_rep_goals_follow_the_guide_ranges():
    assert report.rep_goals(3, PROFILE) == []
    assert len(report.rep_goals(6, PROFILE)) == 2
    assert report.rep_goals(11, PROFILE) == ["8-12 reps: more total volume without losing technical quality"]


def test_writes_are_atomic_and_leave_no_temp_files(result, tmp_path):
    out = tmp_path / "r.json"
    report.write_json(out, report.build_report(result, PROFILE))
    report.write_csv(tmp_path / "r.csv", report.build_report(result, PROFILE))
    assert json.loads(out.read_text())["schema"] == "formcheck.report/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]


def test_side_view_text_keeps_the_angle_summary_beside_unmeasurable_codes(result):
    # from the side some codes cannot be judged, but the hip angles can still be read
    assert result.view.view == "side" and result.not_measurable
    text = report.render_text(report.build_report(result, load_profile("hip_thrust")))
    assert "top hip angle: mean" in text and "not measurable from this view" in text


def test_the_report_reads_back_from_its_json_unchanged(result):
    rep = report.build_report(result, PROFILE)
    back = report.Report.from_json_dict(json.loads(rep.to_json()))
    assert back == rep and back.to_json() == rep.to_json()
    assert report.Report.from_json_dict({**rep.as_json_dict(), "batch": {"status": "ok"}}) == rep


def test_a_document_that_is_not_this_report_is_refused(result):
    from pydantic import ValidationError

    doc = report.build_report(result, PROFILE).as_json_dict()
    with pytest.raises(ValueError, match="not a formcheck.report/1"):
        report.Report.from_json_dict({**doc, "schema": "formcheck.report/0"})
    bad_count = json.loads(json.dumps(doc))
    bad_count["summary"]["rep_count"] = "four"
    with pytest.raises(ValidationError, match="rep_count"):
        report.Report.from_json_dict(bad_count)
    misspelt = json.loads(json.dumps(doc))
    misspelt["reps"][0]["top_hip_degs"] = 180.0
    with pytest.raises(ValidationError, match="top_hip_degs"):
        report.Report.from_json_dict(misspelt)


def test_angles_are_not_shown_where_the_lockout_cannot_be_judged(result):
    # a single-leg thrust at an angle read 201 for a straight line, a barbell thrust at 30 deg read
    # 148-152 for tops of 175-180: the report keeps the model's readings but shows no angle
    why = "camera at an angle with the load resting on the hips"
    hidden = dataclasses.replace(result, not_measurable={**result.not_measurable, "incomplete_lockout": why})
    shown, blank = report.build_report(result, PROFILE), report.build_report(hidden, PROFILE)
    assert shown.angles_readable and not blank.angles_readable
    assert shown.measurement.hip_angle_not_shown is None and why in blank.measurement.hip_angle_not_shown
    for a, b in zip(shown.reps, blank.reps, strict=True):
        assert a.top_hip_deg is not None and b.top_hip_deg is None and b.bottom_hip_deg is None
        assert b.top_hip_raw_deg == a.top_hip_raw_deg is not None
        assert b.bottom_hip_raw_deg == a.bottom_hip_raw_deg
        assert (b.up_s, b.faults) == (a.up_s, a.faults)  # everything else as before
    s = blank.summary
    assert s.mean_top_hip_deg is s.min_top_hip_deg is s.mean_bottom_hip_deg is s.bottom_hip_sd_deg is None
    assert s.mean_top_hip_raw_deg == shown.summary.mean_top_hip_raw_deg is not None
    text = report.render_text(blank)
    assert "hip angle: not shown" in text and "top hip angle: mean" not in text
    assert "hip angle: not shown" not in report.render_text(shown)
    rows = list(csv.DictReader(io.StringIO(report.to_csv(blank))))
    assert rows and all(r["top_hip_deg"] == "" for r in rows)
