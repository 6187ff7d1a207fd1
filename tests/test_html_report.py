import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from clips import clip_for
from synthetic import RepPlan, plan_track

from formcheck import html_report
from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.report import build_report


@pytest.fixture(scope="module")
def profile():
    return load_profile("hip_thrust")


@pytest.fixture(scope="module")
def lockout_set(profile):
    """4 reps, the second stopping short of the line; side view."""
    track = plan_track(RepPlan(reps=4, top_degs=[178.5, 150.5, 178.5, 178.5]), noise_px=0.5)
    return track, analyze_track(track, profile)


class _Collect(HTMLParser):
    """Tags with their attributes, and the text inside elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag not in ("img", "meta", "br", "hr", "input", "link"):
            self._open.append(attrs.get("id"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for ident in self._open:
            if ident:
                self.text_by_id[ident] = self.text_by_id.get(ident, "") + data


def parse(page: str) -> _Collect:
    p = _Collect()
    p.feed(page)
    return p


def checklist_rows(page: str) -> dict[str, str]:
    return {a["data-code"]: a["data-status"] for t, a in parse(page).tags if t == "tr" and "data-code" in a}


def test_report_shows_rep_count_tables_plots_and_checklist(lockout_set, profile):
    track, analysis = lockout_set
    page = html_report.render_html(build_report(analysis, profile), analysis, profile)
    doc = parse(page)
    assert doc.text_by_id["rep-count"].strip() == "4"
    # the per-rep table: one row per rep with its phases and angles
    assert len(re.findall(r'<td class="num">\d</td><td class="num">[\d.]+–[\d.]+</td>', page)) == 4
    assert page.count("<svg") == 2  # hip angle over time, tempo per rep
    assert "4-6 reps: strength-focused work with crisp positions" in page  # the guide's rep-range goal
    rows = checklist_rows(page)
    assert rows["incomplete_lockout"] == "fail"
    assert rows["knee_cave"] == "not measurable" and rows["hip_rotation"] == "not measurable"  # side view
    assert rows["overextension"] == "pass" and rows["jerky_concentric"] == "pass"
    cue = profile.fault("incomplete_lockout").guide.cue
    assert cue in page and profile.fault("incomplete_lockout").guide.checklist in page


def test_report_is_self_contained(lockout_set, profile, tmp_path):
    track, analysis = lockout_set
    out = tmp_path / "r.html"
    clip = clip_for(track, tmp_path / "in.mp4")
    html_report.write_html(out, build_report(analysis, profile), analysis, profile, track, clip)
    page = out.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    for tag, attrs in parse(page).tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith(("data:", "#")), (tag, key, value[:40])
        assert tag not in ("script", "link", "iframe")
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # only the page's own #ids
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the two inline SVGs do not share ids


def test_every_fault_gets_a_key_frame_with_the_skeleton(lockout_set, profile, tmp_path):
    track, analysis = lockout_set
    out = tmp_path / "r.html"
    clip = clip_for(track, tmp_path / "in.mp4")
    html_report.write_html(out, build_report(analysis, profile), analysis, profile, track, clip)
    page = out.read_text(encoding="utf-8")
    images = [a["src"] for t, a in parse(page).tags if t == "img"]
    assert len(images) == len(analysis.faults) > 0
    import base64

    import cv2

    lockout = next(i for i, f in enumerate(analysis.faults) if f.code == "incomplete_lockout")
    jpeg = base64.b64decode(images[lockout].split(",", 1)[1])
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None and max(frame.shape[:2]) <= html_report.KEY_FRAME_SIDE
    # the key frame is drawn over: the red fault banner along its bottom
    b, g, r = np.median(frame[-4:].reshape(-1, 3), axis=0)
    assert r > g + 50 and r > b + 50


def test_key_frame_is_the_top_of_the_short_rep(lockout_set):
    _, analysis = lockout_set
    fault = next(f for f in analysis.faults if f.code == "incomplete_lockout")
    rep = analysis.reps[fault.rep - 1]
    assert html_report.key_frame_index(fault, analysis) == rep.top_frame
    later = dataclasses.replace(fault, start_s=rep.top_end_s + 0.5, end_s=rep.top_end_s + 1.5)
    middle = html_report.key_frame_index(later, analysis)
    assert analysis.timestamps[middle] == pytest.approx(rep.top_end_s + 1.0, abs=1 / 30)


def test_without_the_clip_key_frames_are_said_unavailable(lockout_set, profile, tmp_path):
    track, analysis = lockout_set
    out = tmp_path / "r.html"
    html_report.write_html(out, build_report(analysis, profile), analysis, profile, track, None)
    page = out.read_text(encoding="utf-8")
    assert "<img" not in page and "key frames need the video" in page
    assert page.count("key frame unavailable") == len(analysis.faults)


def test_all_text_is_escaped(lockout_set, profile):
    _, analysis = lockout_set
    evil = "<script>alert(1)</script>"
    faults = [dataclasses.replace(f, message=evil, cue=evil) for f in analysis.faults]
    evil_analysis = dataclasses.replace(analysis, source=f"/x/{evil}.mp4", faults=faults)
    page = html_report.render_html(build_report(evil_analysis, profile), evil_analysis, profile)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_reps_means_nothing_judged(profile):
    flat = plan_track(RepPlan(reps=0, lead_s=4.0, tail_s=0.0))
    analysis = analyze_track(flat, profile)
    assert analysis.rep_count == 0
    page = html_report.render_html(build_report(analysis, profile), analysis, profile)
    assert parse(page).text_by_id["rep-count"].strip() == "0"
    statuses = set(checklist_rows(page).values())
    assert statuses <= {"not judged", "not measurable"} and "not judged" in statuses
    assert "No rep was found" in page


def test_front_view_plot_says_angles_are_not_readable(lockout_set, profile):
    _, analysis = lockout_set
    blind = dataclasses.replace(
        analysis,
        hip=np.full_like(analysis.hip, np.nan),
        not_measurable={"incomplete_lockout": "from the feet"},
    )
    page = html_report.render_html(build_report(blind, profile), blind, profile)
    assert "hip angle not readable from this camera view" in page
    assert checklist_rows(page)["incomplete_lockout"] == "not measurable"


def test_a_reading_that_cannot_be_judged_is_drawn_as_the_models_without_lines(lockout_set, profile):
    _, analysis = lockout_set
    hidden = dataclasses.replace(analysis, not_measurable={"incomplete_lockout": "a load hides the hip"})
    page = html_report.render_html(build_report(hidden, profile), hidden, profile)
    assert "the model's hip reading (not the joint angle here)" in page
    assert 'line-lockout"' not in page and 'line-straight"' not in page
    assert "hip angle not readable from this camera view" not in page
    shown = html_report.render_html(build_report(analysis, profile), analysis, profile)
    assert 'line-lockout"' in shown


def test_unwritable_path_is_an_oserror_and_leaves_no_temp(lockout_set, profile, tmp_path):
    track, analysis = lockout_set
    rep = build_report(analysis, profile)
    with pytest.raises(OSError):
        html_report.write_html(tmp_path / "missing" / "r.html", rep, analysis, profile)
    target = tmp_path / "r.html"
    target.mkdir()  # a directory in the way: the rename fails
    with pytest.raises(OSError):
        html_report.write_html(target, rep, analysis, profile)
    assert not (tmp_path / "r.html.tmp").exists()


def test_several_sets_get_a_row_each_with_their_goal(profile):
    from synthetic import sets_track

    track = sets_track([RepPlan(reps=5), RepPlan(reps=3, lead_s=0.5)], rest_s=40.0)
    analysis = analyze_track(track, profile)
    assert len(analysis.sets) == 2
    page = html_report.render_html(build_report(analysis, profile), analysis, profile)
    assert parse(page).text_by_id["rep-count"].strip() == "8"
    assert "4-6 reps: strength-focused work with crisp positions" in page  # set 1's goal
    assert "outside the guide&#39;s rep ranges" in page  # set 2: 3 reps


def test_both_legs_and_a_detected_variant_are_shown(lockout_set, profile):
    _, analysis = lockout_set
    legs = ["left", "left", "right", "right"]
    reps = [dataclasses.replace(r, leg=leg) for r, leg in zip(analysis.reps, legs, strict=True)]
    side = {"reps": 2, "top_hip_deg": 180.0, "range_deg": 70.0, "up_s": 0.8, "down_s": 1.5}
    sides = {
        "left": side,
        "right": side | {"top_hip_deg": 168.0},
        "imbalances": ["lockout: right side 12 deg less"],
    }
    guess = {"name": "hip_thrust", "confidence": 0.9, "reason": "trunk slopes 20 deg at the top"}
    both = dataclasses.replace(analysis, reps=reps, sides=sides, variant_detected=guess)
    page = html_report.render_html(build_report(both, profile), both, profile)
    doc = parse(page)
    assert "Imbalance: lockout: right side 12 deg less" in doc.text_by_id["sides"]
    assert re.findall(r'<td class="num">(\dL|\dR)</td>', page) == ["1L", "2L", "3R", "4R"]
    assert "detected from the video (confidence 0.90), trunk slopes 20 deg at the top" in page
