"""Per-rep pelvis figures on synthetic 3D bodies of known roll, seen from the feet, at an angle and
from the side: the numbers, their sign and side, the view gating, and every output that shows them."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from synthetic import RepPlan, body_points, body_track

from formcheck import pelvis as pel
from formcheck.analysis import analyze_track
from formcheck.html_report import render_html
from formcheck.profiles import load_profile
from formcheck.report import build_report, render_text, to_csv

HT = load_profile("hip_thrust")
# camera yaw, pitch (as tests/test_rotation.py): a tripod at the feet looks down a little
SIDE, OBLIQUE, FRONT = (0.0, 5.0), (30.0, 15.0), (90.0, 20.0)


def analyse(camera, profile=HT, reps=3, **faults):
    track = body_track(body_points(RepPlan(reps=reps), **faults), *camera)
    return analyze_track(track, profile)


SLHT = load_profile("single_leg_hip_thrust")


def test_single_leg_at_an_angle_reads_the_free_sides_drop_with_the_side_named():
    result = analyse(OBLIQUE, SLHT, free_leg="right", roll_deg=12.0, roll_reps=[3])
    assert result.view.view == "oblique" and result.rep_count == 3
    assert result.pelvis.series.roll_from == "world"
    by_rep = {p.rep: p for p in result.pelvis.reps}
    assert by_rep[3].free_side == "right" and by_rep[3].free_side_drop_deg == pytest.approx(12.0, abs=0.8)
    assert by_rep[3].roll_change_deg == pytest.approx(-12.0, abs=0.8)  # + is the left hip lower
    assert pel.describe_drop(by_rep[3]) == f"right hip {by_rep[3].free_side_drop_deg:.0f} deg lower"
    assert pel.describe_drop(by_rep[1]) == "no drop" and abs(by_rep[1].free_side_drop_deg) < 0.5
    assert by_rep[1].top_obliquity_deg is None and pel.OBLIQUITY in result.pelvis.series.not_measurable
    # the free side rising is what the raised leg does to the model's hip point: never a drop
    rise = analyse(OBLIQUE, SLHT, free_leg="right", roll_deg=-12.0, roll_reps=[3])
    assert rise.pelvis.of_rep(3).free_side_drop_deg == pytest.approx(-12.0, abs=0.8)
    assert pel.describe_drop(rise.pelvis.of_rep(3)) == "no drop"


def test_with_both_legs_no_view_gives_a_figure_and_each_says_why():
    for camera in (FRONT, OBLIQUE):
        result = analyse(camera, roll_deg=10.0, roll_reps=[2])
        series = result.pelvis.series
        assert series.roll is None and series.not_measurable[pel.ROLL] == pel.TWO_LEG_REASON, camera
        assert all(p.roll_change_deg is None and p.free_side is None for p in result.pelvis.reps)
        assert "hip_rotation" in result.not_measurable
    # single-leg from the feet: no rendered check of the model's reading yet
    feet = analyse(FRONT, SLHT, free_leg="right", roll_deg=12.0, roll_reps=[2])
    assert feet.pelvis.series.not_measurable[pel.ROLL] == pel.SINGLE_LEG_FEET_REASON


def test_from_the_side_neither_is_measured_and_the_reason_is_given():
    result = analyse(SIDE, roll_deg=12.0, roll_reps=[2])
    series = result.pelvis.series
    assert series.roll is None and series.obliquity is None
    assert series.not_measurable[pel.ROLL] == pel.SIDE_REASON
    assert all(p.top_roll_deg is None and p.roll_change_deg is None for p in result.pelvis.reps)


def test_describe_names_the_side_or_says_level():
    assert pel.describe(8.4, pel.ROLL) == "left hip 8 deg lower"
    assert pel.describe(-5.0, pel.OBLIQUITY) == "right hip 5 deg toward the head"
    assert pel.describe(1.5, pel.ROLL) == "level" and pel.describe(None, pel.ROLL) == "-"
    assert pel.describe(float("nan"), pel.ROLL) == "-"


def test_per_rep_is_each_set_against_its_own_bottoms():
    """A lifter who rests and comes back lying crooked: the second set's offset cancels too."""
    t = np.arange(0, 20, 0.1)
    drive = 130 + 50 * np.clip(np.sin(2 * np.pi * t / 4), 0, None)  # tops at 1, 5, 9... s
    roll = np.where(t > 10, 6.0, 0.0) + np.where((t > 12.5) & (t < 13.5), -9.0, 0.0)
    from formcheck.reps import Rep

    def rep(i, top):
        return Rep(i, 0, 0, 0, top - 1, top + 3, 130, 180, 130, 1, 0.6, 1, 0.2, top - 0.4, top + 0.4,
                   90, 0, 0, True)

    series = pel.PelvisSeries(roll=roll, obliquity=None)
    reps = pel.per_rep(series, [[rep(1, 1.0), rep(2, 5.0)], [rep(3, 13.0), rep(4, 17.0)]], t, drive,
                       lead_s=0.3, quantile=0.25, trim=0.25)
    assert [r.roll_change_deg for r in reps] == pytest.approx([0.0, 0.0, -9.0, 0.0])
    assert [r.top_roll_deg for r in reps] == pytest.approx([0.0, 0.0, -3.0, 6.0])


def test_report_json_csv_text_and_html_carry_the_figures_where_measurable():
    single = analyse(OBLIQUE, SLHT, free_leg="right", roll_deg=12.0, roll_reps=[2])
    report = build_report(single, SLHT)
    data = report.as_json_dict()
    roll = data["measurement"]["pelvis"]["roll"]
    assert roll["measurable"] is True and roll["read_from"] == "world" and roll["expected_error_deg"] > 0
    assert roll["reliability"] == "fair" and roll["reason"] is None
    assert data["measurement"]["pelvis"]["obliquity"]["measurable"] is False
    rep2 = data["reps"][1]["pelvis"]
    assert rep2["free_side_drop_deg"] > 10 and rep2["roll"].startswith("right hip")
    assert data["reps"][0]["pelvis"]["roll"] == "no drop"
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert float(rows[1]["free_side_drop_deg"]) == rep2["free_side_drop_deg"]
    assert float(rows[1]["roll_change_deg"]) == rep2["roll_change_deg"] and rows[1]["top_obliquity_deg"] == ""
    text = render_text(report)
    assert "low hip" in text and f"R {rep2['free_side_drop_deg']:.0f}°" in text and "no drop" in text
    html = render_html(report, single, SLHT)
    section = html.split('id="pelvis"')[1].split("</section>")[0]
    assert "<svg" in section and "not measurable from this view" in section  # obliquity
    assert rep2["roll"] in html

    side_analysis = analyse(SIDE)
    side = build_report(side_analysis, HT)
    sdata = side.as_json_dict()
    assert sdata["measurement"]["pelvis"]["roll"]["reason"] == pel.SIDE_REASON
    assert all(r["pelvis"]["top_roll_deg"] is None and r["pelvis"]["roll"] == "-" for r in sdata["reps"])
    assert all(r["roll_change_deg"] == "" for r in csv.DictReader(io.StringIO(to_csv(side))))
    section = render_html(side, side_analysis, HT).split('id="pelvis"')[1].split("</section>")[0]
    assert "<svg" not in section and "not measurable from this view" in section
