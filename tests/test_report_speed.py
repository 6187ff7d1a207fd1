"""Rep speed in every output: JSON fields, CSV columns, the terminal table, the HTML page, and
the --height-cm option of analyze and batch."""

from __future__ import annotations

import csv
import io
import json

import pytest
from synthetic import RepPlan, plan_track

from formcheck import cli, html_report, pipeline
from formcheck.report import Report, render_text, to_csv
from formcheck.track import PoseTrack


@pytest.fixture(scope="module")
def track() -> PoseTrack:
    return plan_track(RepPlan(reps=4, up_s=0.8, fps=30.0, up_s_list=[0.7, 0.8, 0.9, 1.0]))


def run(track: PoseTrack, **kw) -> pipeline.Result:
    return pipeline.run_track(track, pipeline.Settings(variant="hip_thrust", **kw))


def test_json_has_rep_speed_set_loss_and_the_scale(track):
    result = run(track, height_cm=170)
    doc = json.loads(result.report.to_json())
    assert [r["speed"]["mean_mps"] > 0 for r in doc["reps"]] == [True] * 4
    speeds = [r["speed"] for r in doc["reps"]]
    assert all(s["peak_mps"] > s["mean_mps"] and s["why"] is None for s in speeds)
    means = [s["mean_mps"] for s in speeds]
    loss = (max(means) - means[-1]) / max(means) * 100
    assert doc["sets"][0]["velocity_loss_pct"] == pytest.approx(loss, abs=0.2)
    scale = doc["measurement"]["speed_scale"]
    assert scale["source"] == "height" and scale["height_m"] == 1.7 and scale["expected_error_pct"] > 0
    assert "vertical" in scale["method"] and scale["not_measurable"] is None
    assert Report.from_json_dict(doc) == result.report  # round trip through the schema


def test_without_a_height_the_world_landmarks_scale_and_say_so(track):
    report = run(track).report
    assert report.measurement.speed_scale.source == "world"
    assert report.measurement.speed_scale.height_m is None
    assert "3D" in render_text(report)


def test_older_reports_without_speed_still_read(track):
    doc = json.loads(run(track).report.to_json())
    for r in doc["reps"]:
        del r["speed"]
    del doc["sets"][0]["velocity_loss_pct"], doc["measurement"]["speed_scale"]
    old = Report.from_json_dict(doc)
    assert old.reps[0].speed is None and old.measurement.speed_scale is None
    assert "m/s" in render_text(old) and "rep speed" not in render_text(old)


def test_csv_and_text_table_show_the_speed(track):
    report = run(track, height_cm=170).report
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [float(r["mean_mps"]) for r in rows] == [r.speed.mean_mps for r in report.reps]
    assert [float(r["peak_mps"]) for r in rows] == [r.speed.peak_mps for r in report.reps]
    text = render_text(report)
    header = next(line for line in text.splitlines() if line.lstrip().startswith("rep"))
    assert "m/s" in header
    assert f"{report.reps[0].speed.mean_mps:.2f}" in text
    assert "rep speed (hips, up)" in text and "velocity loss set 1" in text and "1.70 m" in text


def test_front_view_says_not_measurable_everywhere(track, monkeypatch):
    from formcheck import speed

    real = speed.measure_speeds
    def from_the_feet(tr, reps, sets, view, *a):
        return real(tr, reps, sets, "front", *a)

    monkeypatch.setattr(pipeline, "measure_speeds", from_the_feet)
    result = run(track, height_cm=170)
    report = result.report
    assert all(r.speed.mean_mps is None and "not measurable" in r.speed.why for r in report.reps)
    assert report.sets[0].velocity_loss_pct is None
    assert report.measurement.speed_scale.source is None
    assert "rep speed: not measurable from this view" in render_text(report)
    page = html_report.render_html(report, result.analysis, result.profile)
    assert 'id="speed"' in page and "not measurable from this view" in page


def test_html_has_the_speed_column_and_plot(track):
    result = run(track, height_cm=170)
    page = html_report.render_html(result.report, result.analysis, result.profile)
    assert "Speed (m/s)" in page and 'id="speed"' in page and "speed-" in page  # the plot's svg ids
    assert f"{result.report.reps[0].speed.mean_mps:.2f}" in page
    assert "Velocity loss" in page and "your height, 1.70 m" in page


@pytest.fixture
def track_file(track, tmp_path):
    path = tmp_path / "t.npz"
    track.save(path)
    return path


@pytest.mark.parametrize("value", ["99", "251", "abc", "nan", "-170", ""])
def test_height_cm_outside_100_250_is_one_error_line_exit_2(value, track_file, tmp_path, capsys):
    assert cli.main(["analyze", "--track", str(track_file), "--height-cm", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("formcheck: error: --height-cm")
    assert cli.main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--height-cm", value]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_height_cm_reaches_the_report(track_file, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert cli.main(["analyze", "--track", str(track_file), "--height-cm", "182.5", "--json", str(out)]) == 0
    scale = json.loads(out.read_text())["measurement"]["speed_scale"]
    assert scale["source"] == "height" and scale["height_m"] == 1.825


def test_batch_settings_carry_the_height_into_the_pipeline_and_the_settings_hash():
    from formcheck.batch import BatchSettings

    tall, none = BatchSettings.create("hip_thrust", height_cm=190), BatchSettings.create("hip_thrust")
    assert tall.pipeline().height_cm == 190 and none.pipeline().height_cm is None
    assert tall.sha256 != none.sha256  # a rerun with another height rescores
