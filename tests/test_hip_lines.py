"""One scale everywhere: the HTML report, the web app's trend chart, the annotated clip's gauge and
the live gauge draw the same lockout and overextension lines, from the profile (checks.hip_lines)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from synthetic import RepPlan, plan_track

from formcheck import viz
from formcheck.analysis import analyze_track
from formcheck.hip_lines import hip_lines
from formcheck.html_report import render_html
from formcheck.profiles import load_profile
from formcheck.report import build_report
from formcheck.web.pages import athlete_charts


@pytest.fixture(scope="module")
def clip():
    profile = load_profile("hip_thrust")
    track = plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=0.5)
    return profile, track, analyze_track(track, profile)


def test_lines_sit_either_side_of_the_straight_line(clip):
    profile, _, _ = clip
    lines = hip_lines(profile)
    assert lines["lockout"] < 180.0 < lines["overextension"]


def test_html_report_web_chart_and_gauge_draw_the_same_lines(clip):
    profile, track, analysis = clip
    lines = hip_lines(profile)
    page = render_html(build_report(analysis, profile), analysis, profile)
    caption = re.search(r"lockout line \((\d+)°.*overextension line \((\d+)°\)", page)
    assert caption and [float(caption[1]), float(caption[2])] == [round(lines["lockout"]),
                                                                    round(lines["overextension"])]
    job = SimpleNamespace(status="done", id=1, created_at=datetime.now(UTC), rep_count=3,
                          mean_top_hip_deg=analysis.reps[0].top_hip_deg, mean_down_s=1.0, mean_up_s=1.0,
                          mean_top_pause_s=0.5, score=90.0, variant_used="hip_thrust", uid="job1")
    (variant, sessions, charts), = athlete_charts([job])  # one variant: one group of charts
    assert (variant, sessions) == ("hip_thrust", 1)
    chart = str(charts[1])
    drawn = sorted(float(v) for v in re.findall(r'data-deg="([\d.]+)"', chart))
    assert drawn == sorted([180.0, lines["lockout"], lines["overextension"]])
    data = viz.overlay_data(track, analysis, profile)
    assert (data.lockout_deg, data.overextension_deg) == (lines["lockout"], lines["overextension"])
