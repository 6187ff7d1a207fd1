"""The review tools in the real chromium, against a real `formcheck serve` whose two jobs use a
seeded pose track (the model itself is covered by test_web_browser): the comparison view shows two
sets synchronised at a rep's start with both curves, the job page jumps to a rep and steps frames,
and every page (the first-run and error pages too) fits a 390x844 phone without horizontal scrolling."""

from __future__ import annotations

import os

import pytest
from browser import launched_browser
from test_web_browser import Watch, log_in, wait_value
from test_web_support import (
    CLEAN,
    RUSHED,
    ServerProcess,
    finished,
    seed_track,
    settings_for,
    uvicorn_thread,
    wait_for,
)

from formcheck.web.app import create_app

SHOTS = os.environ.get("FORMCHECK_SHOTS")  # a folder to keep the pages' screenshots in
NOW = """() => {
    const v = document.getElementById('annotated');
    return v.seeking ? null : v.currentTime;
}"""  # the video's time once a seek is over
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Sam Lee with two finished hip-thrust sessions, a comment on rep 2 and a private link."""
    data = tmp_path_factory.mktemp("review-browser") / "data"
    seed_track(data, CLEAN)
    seed_track(data, RUSHED)
    server = ServerProcess(data)
    try:
        uids = []
        for clip in (CLEAN, RUSHED):
            form = {"athlete": "Sam Lee", "variant": "hip_thrust", "note": "60 kg"}
            files = {"file": (clip.name, clip.read_bytes(), "video/mp4")}
            r = server.client.post("/api/jobs", data=form, files=files)
            assert r.status_code == 201, r.text
            uids.append(r.json()["id"])
        for uid in uids:
            assert wait_for(lambda u=uid: server.job(u), finished)["status"] == "done"
        server.client.post(f"/api/jobs/{uids[0]}/comments", json={"rep": 2, "text": "Chin down at the top"})
        link = server.client.post("/api/athletes/sam-lee/links", json={}).json()["url"]
        server.uids, server.link = uids, link
        yield server
    finally:
        server.stop()


def starts(server, uid: str) -> dict[int, float]:
    return {r["rep"]: r["start_s"] for r in server.client.get(f"/api/jobs/{uid}/report").json()["reps"]}


def test_the_comparison_view_shows_two_sets(browser, server):
    a, b = server.uids
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    watch = Watch(page, server.url)
    try:
        log_in(page, server.url)
        page.goto(f"{server.url}/compare?a={a}&b={b}&rep=2", wait_until="domcontentloaded")
        assert page.locator("video.review").count() == 2
        for k in ("0", "1"):  # both hip-angle curves drawn
            assert page.locator(f"svg.overlay polyline[data-set='{k}']").count() >= 1
        # each video opens at its own rep 2 start
        for key, uid in (("a", a), ("b", b)):
            want = starts(server, uid)[2]
            got = wait_value(page, f"() => {{ const v = document.getElementById('video-{key}');"
                                   f" return v.readyState >= 1 && Math.abs(v.currentTime - {want}) < 0.05"
                                   " ? v.currentTime : null; }")  # fmt: skip
            assert got == pytest.approx(want, abs=0.05)
        page.click("#speed-half")
        rates = "() => [...document.querySelectorAll('video.review')].map(v => v.playbackRate)"
        assert page.evaluate(rates) == [0.5, 0.5]
        page.click("#play-both")
        assert wait_value(page, "() => [...document.querySelectorAll('video.review')]"
                                ".every(v => !v.paused) ? true : null")  # fmt: skip
        page.click("#play-both")
        page.click("#sync")  # back to rep 2 in both
        assert wait_value(page, f"() => Math.abs(document.getElementById('video-a').currentTime"
                                f" - {starts(server, a)[2]}) < 0.05 ? true : null")  # fmt: skip
        assert watch.errors == [] and watch.outside == []
    finally:
        page.close()


def test_the_job_page_jumps_to_a_rep_and_steps_frames(browser, server):
    uid = server.uids[0]
    start = starts(server, uid)[2]
    fps = server.client.get(f"/api/jobs/{uid}/report").json()["clip"]["fps"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    watch = Watch(page, server.url)
    try:
        log_in(page, server.url)
        page.goto(f"{server.url}/jobs/{uid}", wait_until="domcontentloaded")
        wait_value(page, "() => document.getElementById('annotated').readyState >= 1 ? true : null")
        page.click("#rep-2 button.seek")
        now = NOW
        assert wait_value(page, now) == pytest.approx(start, abs=0.01)
        page.keyboard.press(".")
        page.keyboard.press(".")
        page.wait_for_timeout(200)
        assert wait_value(page, now) == pytest.approx(start + 2 / fps, abs=0.01)
        page.click("#frame-back")
        page.wait_for_timeout(200)
        assert wait_value(page, now) == pytest.approx(start + 1 / fps, abs=0.01)
        page.click("#speed-quarter")
        assert page.evaluate("() => document.getElementById('annotated').playbackRate") == 0.25
        assert "Chin down at the top" in page.inner_text("#rep-2")
        assert watch.errors == [] and watch.outside == []
    finally:
        page.close()


def test_every_page_fits_a_phone(browser, server, tmp_path):
    fresh_dir = tmp_path / "fresh"
    a, b = server.uids
    pages = ["/", "/athletes", "/athletes/sam-lee", f"/jobs/{a}", f"/compare?a={a}&b={b}", "/account",
             f"/jobs/{'0' * 32}"]  # the last: the error page  # fmt: skip
    wide = "() => document.documentElement.scrollWidth"
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page, server.url)
        for path in pages:
            page.goto(server.url + path, wait_until="domcontentloaded")
            if SHOTS:
                name = path.strip("/").replace("/", "_")[:40] or "home"
                page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
            assert page.evaluate(wide) <= PHONE["width"], path
        # the report inside the job page (the last page but one) fits its frame too
        page.goto(f"{server.url}/jobs/{a}", wait_until="load")
        frame = page.frame_locator("#report-frame").locator("html")
        inner = frame.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert inner[0] <= inner[1], inner
    finally:
        context.close()
    # logged out: the login page, and the athlete's link pages
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        for path in ["/login", server.link, f"{server.link}/jobs/{a}"]:
            page.goto(server.url + path, wait_until="domcontentloaded")
            if SHOTS:
                name = path.strip("/").replace("/", "_")[:20]
                page.screenshot(path=f"{SHOTS}/anon_{name}.png", full_page=True)
            assert page.evaluate(wide) <= PHONE["width"], path
        assert "Chin down at the top" in page.inner_text("#rep-2")  # the athlete reads the comment
    finally:
        context.close()
    # the first-run page, on a new server with no coach yet (this machine is localhost to it)
    with uvicorn_thread(create_app(settings_for(fresh_dir, job_workers=0))) as url:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        try:
            assert page.goto(url + "/setup", wait_until="domcontentloaded").status == 200
            assert page.locator("input[name=password]").count() == 1
            assert page.evaluate(wide) <= PHONE["width"], "/setup"
        finally:
            context.close()
