"""The coach web app in a real browser: Debian's chromium, headless, driven by Playwright, against a
real `formcheck serve` that runs the real pose model end to end (no cached track).

A clip is dropped on the upload page, the job page shows its progress, then the report: the rep
count on the page must be the JSON report's. No console error, no request leaves the server.
Without chromium or Playwright this skips on a laptop but FAILS under CI=true.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from browser import launched_browser
from test_web_support import CLEAN, ServerProcess

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
DROP = """([b64, name, type]) => {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, {type}));
    return dt;
}"""


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as b:
        yield b


class Watch:
    """What a page did that it should not: console errors, page errors, requests off the server."""

    def __init__(self, page, origin: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on(
            "request",
            lambda r: None if r.url.startswith((origin, "data:", "blob:")) else self.outside.append(r.url),
        )

    def _failed(self, request) -> None:
        # leaving a page cancels the video's range request (ERR_ABORTED): a cancellation, not a failure
        if not (request.resource_type == "media" and "ERR_ABORTED" in (request.failure or "")):
            self.errors.append(f"request failed: {request.url} {request.failure}")


def drop(page, path: Path | None = None, data: bytes | None = None, name: str = "", mime: str = "video/mp4"):
    """A real drop event on the drop zone, carrying the file."""
    data = path.read_bytes() if path is not None else data
    transfer = page.evaluate_handle(DROP, [base64.b64encode(data).decode(), name or path.name, mime])
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})


def wait_value(page, script: str):
    """Poll a function in the page (the app's CSP forbids the string evaluation wait_for_function uses)."""
    for _ in range(600):
        value = page.evaluate(script)
        if value is not None:
            return value
        page.wait_for_timeout(100)
    pytest.fail(f"never true in the page: {script}")


def test_a_dropped_clip_is_analysed_and_its_report_shown(browser, tmp_path):
    server = ServerProcess(tmp_path / "data")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    watch = Watch(page, server.url)
    try:
        page.goto(server.url + "/", wait_until="load")
        page.fill("#athlete", "Jordan Park")
        page.select_option("#variant", "auto")
        drop(page, CLEAN)
        assert CLEAN.name in page.inner_text("#file-info")
        page.click("#upload-button")
        page.wait_for_url("**/jobs/*")
        uid = page.url.rstrip("/").rsplit("/", 1)[-1]
        # the page follows the job: frames counted while the model runs, then the report
        page.wait_for_selector("#job-count:has-text('frames')", timeout=240_000)
        page.wait_for_selector("#rep-count", timeout=240_000)
        report = json.loads(server.client.get(f"/api/jobs/{uid}/report").content)
        expected = str(report["summary"]["rep_count"])
        assert page.inner_text("#rep-count").strip() == expected
        assert int(expected) > 0 and report["source"] == CLEAN.name
        # the embedded HTML report says the same, and the annotated clip plays
        framed = page.frame_locator("#report-frame").locator("#rep-count")
        assert framed.inner_text().strip() == expected
        duration = wait_value(
            page,
            "() => { const v = document.getElementById('annotated');"
            " return v.readyState >= 1 ? v.duration : null; }",
        )
        assert duration == pytest.approx(report["clip"]["duration_s"], abs=0.1)
        for link in ("report.json", "reps.csv", "report.html", "annotated.mp4"):
            assert page.locator(f"a[href='/jobs/{uid}/files/{link}?download=true']").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web_job.png"), full_page=True)

        page.goto(f"{server.url}/athletes/jordan-park", wait_until="load")
        assert page.locator("svg.trend").count() == 5
        assert page.locator("#sessions tbody tr").count() == 1
        page.screenshot(path=str(ARTIFACTS / "web_athlete.png"), full_page=True)
        assert watch.errors == [] and watch.outside == []

        # a text file with a video's name: refused with a clear message on the page, nothing queued
        page.goto(server.url + "/", wait_until="load")
        page.fill("#athlete", "Jordan Park")
        drop(page, data=b"not a video at all\n" * 200, name="notes.mp4")
        page.click("#upload-button")
        page.wait_for_selector("#upload-error:not([hidden])")
        assert "not a video" in page.inner_text("#upload-error")
        assert page.url == server.url + "/"
        page.screenshot(path=str(ARTIFACTS / "web_refused.png"), full_page=True)
        # chromium logs the refused request itself as a console error; nothing else may appear
        assert [e for e in watch.errors if "415" not in e] == [] and watch.outside == []
        assert len(server.client.get("/api/jobs").json()) == 1
    finally:
        page.close()
        server.stop()
