"""One scale in the browser: the web app's lockout trend chart and the job's HTML report (shown in
the job page's frame) draw the lockout, overextension and straight lines at the same angles.

Read the way a person reads a chart: each line's drawn height is turned into degrees through the
same chart's labelled gridlines (their text and their drawn heights, as chromium laid them out),
so a line drawn at the wrong height, or an axis labelled off its gridlines, fails here even when the
numbers in the markup agree. Runs in Debian's chromium through Playwright against a real app on
uvicorn (the job's pose track seeded, so the job skips the model; see test_web_support).
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from browser import launched_browser
from test_web_support import (
    CLEAN,
    PASSWORD,
    finished,
    seed_track,
    settings_for,
    sign_in,
    upload,
    uvicorn_thread,
    wait_for,
)

from formcheck.hip_lines import hip_lines
from formcheck.profiles import load_profile
from formcheck.web.app import create_app

# Each gridline's drawn height (client px) and its label, and each named line's drawn height.
REPORT_JS = """() => {
    const y = el => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; };
    const ticks = [...document.querySelectorAll('#hip-plot g[id^="hip-ytick_"]')].map(g =>
        [y(g.querySelector('path')), g.querySelector('text').textContent.replace('\\u2212', '-')]);
    const lines = {};
    for (const name of ['straight', 'lockout', 'overextension']) {
        const g = document.querySelector('#hip-plot #hip-line-' + name + ' path');
        if (g) lines[name] = y(g);
    }
    return {ticks, lines};
}"""
CHART_JS = """() => {
    const y = el => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; };
    const svg = [...document.querySelectorAll('svg.trend')].find(s =>
        s.getAttribute('aria-label').startsWith('Lockout'));
    const ticks = [...svg.querySelectorAll('line.g')].map(l => [y(l), l.nextElementSibling.textContent]);
    const lines = {};
    for (const l of svg.querySelectorAll('line.r')) {
        const label = l.nextElementSibling.textContent;
        const name = label.startsWith('lockout') ? 'lockout'
            : label.startsWith('overextension') ? 'overextension' : 'straight';
        lines[name] = y(l);
    }
    return {ticks, lines};
}"""


def read_degrees(drawn: dict) -> dict[str, float]:
    """The named lines in degrees, through a straight-line fit of the gridlines' labels on their heights."""
    px = np.array([p for p, _ in drawn["ticks"]], dtype=float)
    deg = np.array([float(label) for _, label in drawn["ticks"]])
    assert len(px) >= 3 and np.ptp(deg) > 0, drawn
    slope, offset = np.polyfit(px, deg, 1)
    residual = deg - (slope * px + offset)
    assert np.abs(residual).max() < 0.05 * np.ptp(deg) / len(deg), "the gridlines are not evenly scaled"
    return {name: float(slope * p + offset) for name, p in drawn["lines"].items()}


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as b:
        yield b


def test_the_web_chart_and_the_html_report_draw_the_same_lines(browser, tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=1)
    seed_track(settings.data_dir)
    app = create_app(settings)
    with uvicorn_thread(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        sign_in(client, db=app.state.ctx.db)
        uid = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
        job = wait_for(lambda: client.get(f"/api/jobs/{uid}").json(), finished)
        assert job["status"] == "done", job
        variant = client.get(f"/api/jobs/{uid}/report").json()["variant"]["name"]
        expected = {"straight": 180.0, **hip_lines(load_profile(variant))}

        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            page.goto(url + "/", wait_until="load")  # signed out: the login page, as a coach starts
            page.fill("#login", "Coach")
            page.fill("#password", PASSWORD)
            page.click("#login-button")
            page.wait_for_selector("#account-link")
            page.goto(f"{url}/jobs/{uid}", wait_until="load")
            page.wait_for_selector("#report-frame")
            frame = page.locator("#report-frame").element_handle().content_frame()
            frame.wait_for_selector("#hip-plot svg")
            in_report = read_degrees(frame.evaluate(REPORT_JS))
            page.goto(f"{url}/athletes/sam-lee", wait_until="load")
            in_chart = read_degrees(page.evaluate(CHART_JS))
        finally:
            page.close()

    assert set(in_report) == set(in_chart) == {k for k, v in expected.items() if v is not None}
    # a drawn line reads within half a degree of its value: a pixel is ~0.3 deg on either chart
    for name, deg in expected.items():
        if deg is not None:
            assert in_report[name] == pytest.approx(deg, abs=0.5), (name, in_report)
            assert in_chart[name] == pytest.approx(deg, abs=0.5), (name, in_chart)
            assert in_report[name] == pytest.approx(in_chart[name], abs=0.5), name
