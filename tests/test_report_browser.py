"""The HTML report in a real browser: Debian's chromium, headless, driven by Playwright.

Playwright never downloads a browser here (there is no network at test time): it is pointed at
the system chromium (`.ci/run` installs it). Without chromium or Playwright the tests skip on a
laptop but FAIL under CI=true, so CI can never go green without having rendered the page.
Screenshots are kept in test-artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from browser import launched_browser
from clips import clip_for
from synthetic import RepPlan, plan_track

from formcheck import cli, html_report
from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile
from formcheck.report import build_report

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SAMPLE = ROOT / "sample_videos" / "hip_thrust_side_rushed_descent.mp4"


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as b:
        yield b


def open_report(browser, report: Path, shot: str) -> dict:
    """Load the page from disk, screenshot it, and say what went wrong on the way."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri(), wait_until="load")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    rep_count = page.locator("#rep-count")
    result = {
        "errors": errors,
        "outside": [u for u in requests if not u.startswith(("file:", "data:"))],
        "rep_count_visible": rep_count.is_visible(),
        "rep_count": rep_count.inner_text().strip(),
        "images": page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)"),
        "svgs": page.locator("svg").count(),
        "checklist": page.locator("tr.check").count(),
        "title": page.title(),
    }
    page.close()
    return result


def test_report_renders_without_errors_and_shows_the_rep_count(browser, tmp_path):
    profile = load_profile("hip_thrust")
    track = plan_track(RepPlan(reps=4, top_degs=[178.5, 160.0, 178.5, 178.5]), noise_px=0.5)
    analysis = analyze_track(track, profile)
    report = tmp_path / "report.html"
    clip = clip_for(track, tmp_path / "in.mp4")
    html_report.write_html(report, build_report(analysis, profile), analysis, profile, track, clip)
    got = open_report(browser, report, "report_synthetic.png")
    assert got["errors"] == [] and got["outside"] == []
    assert got["rep_count_visible"] and got["rep_count"] == "4"
    assert got["images"] == [True] * len(analysis.faults) and len(analysis.faults) > 0
    assert got["svgs"] == 2 and got["checklist"] >= 9
    assert (ARTIFACTS / "report_synthetic.png").stat().st_size > 10_000


def test_real_clip_end_to_end_report_and_annotated_clip(browser, tmp_path, capsys):
    """`formcheck analyze CLIP --annotate --html --json` on a rendered clip with the real model."""
    report, video, js = tmp_path / "report.html", tmp_path / "annotated.mp4", tmp_path / "r.json"
    code = cli.main(["analyze", str(SAMPLE), "-q", "--html", str(report), "--annotate", str(video),
                     "--json", str(js)])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    data = json.loads(js.read_text())
    got = open_report(browser, report, "report_sample_clip.png")
    assert got["errors"] == [] and got["outside"] == []
    assert got["rep_count"] == str(data["summary"]["rep_count"]) == "3"
    assert got["images"] == [True] * len(data["faults"])
    # the annotated clip decodes back with the input's frame count, rate and duration
    with av.open(str(SAMPLE)) as src, av.open(str(video)) as out:
        a, b = src.streams.video[0], out.streams.video[0]
        assert b.codec_context.name == "h264" and b.codec_context.pix_fmt == "yuv420p"
        assert b.average_rate == a.average_rate
        n_in = sum(1 for _ in src.decode(a))
        n_out = sum(1 for _ in out.decode(b))
        assert n_out == n_in == data["clip"]["frames"]
        assert float(b.duration * b.time_base) == pytest.approx(float(a.duration * a.time_base), abs=0.01)
