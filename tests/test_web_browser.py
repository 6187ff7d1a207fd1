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
from test_web_support import CLEAN, PASSWORD, ServerProcess

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
    # evil.example resolves to this machine, as a DNS-rebinding attacker's name would
    with launched_browser("--host-resolver-rules=MAP evil.example 127.0.0.1") as b:
        yield b


def log_in(page, url: str, name: str = "Coach", password: str = PASSWORD) -> None:
    """Through the login page, as a coach does."""
    page.goto(url + "/", wait_until="load")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill("#login", name)
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_selector("#account-link")


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
        log_in(page, server.url)
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


EVIL_PAGE = """<!doctype html><html><body>
<form id="f" method="post" action="{app}/upload" enctype="multipart/form-data">
  <input name="athlete" value="Junk"><input type="file" name="file" id="file">
</form>
<script>
  // a no-cors fetch: the page cannot read the answer, but the request is sent with the coach's cookie
  var data = new FormData();
  data.append("athlete", "Junk");
  data.append("file", new Blob([new Uint8Array(4096)], {{type: "video/mp4"}}), "junk.mp4");
  var how = {{method: "POST", mode: "no-cors", credentials: "include", body: data}};
  window.fetchDone = fetch("{app}/api/jobs", how)
    .then(function () {{ return "sent"; }}, function (e) {{ return "error " + e; }});
</script></body></html>"""


@pytest.fixture
def queue_server(tmp_path):
    """A real `formcheck serve` that queues uploads without analysing them (no model run)."""
    server = ServerProcess(tmp_path / "data", "--jobs", "0")
    yield server
    server.stop()


def test_other_sites_cannot_upload_with_the_coachs_login(browser, queue_server, tmp_path):
    """A page on another origin (another port of this machine: the same site, so the Lax cookie goes
    along) and a file:// page each try to upload: refused with 403, nothing is made."""
    import http.server
    import threading

    from test_web_support import free_port

    server = queue_server
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url)
    evil_dir = tmp_path / "evil"
    evil_dir.mkdir()
    (evil_dir / "index.html").write_text(EVIL_PAGE.format(app=server.url))
    port = free_port()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(evil_dir))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        statuses: list[int] = []
        for url in (f"http://127.0.0.1:{port}/index.html", (evil_dir / "index.html").as_uri()):
            evil = context.new_page()
            evil.on("response", lambda r: statuses.append(r.status) if r.url.startswith(server.url) else None)
            evil.goto(url, wait_until="load")
            assert evil.evaluate("() => window.fetchDone") == "sent"
            # the script-submitted form, with a file in it
            evil.set_input_files("#file", files=[{"name": "junk.mp4", "mimeType": "video/mp4",
                                                  "buffer": CLEAN.read_bytes()[:8192]}])  # fmt: skip
            with evil.expect_navigation():
                evil.evaluate("() => document.getElementById('f').submit()")
            assert "refused" in evil.content()
            evil.close()
        assert statuses == [403, 403, 403, 403], statuses
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert server.client.get("/api/jobs").json() == [] and server.client.get("/api/athletes").json() == []
    # the coach's own page still uploads (same origin, the session's CSRF token)
    page.fill("#athlete", "Sam Lee")
    drop(page, CLEAN)
    page.click("#upload-button")
    page.wait_for_url("**/jobs/*")
    assert [j["athlete"] for j in server.client.get("/api/jobs").json()] == ["Sam Lee"]
    context.close()


def test_a_second_coach_cannot_see_the_first_coachs_athletes(browser, queue_server):
    from formcheck.web import accounts
    from formcheck.web.db import Database

    server = queue_server
    clip = {"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")}
    uid = server.client.post("/api/jobs", data={"athlete": "Sam Lee"}, files=clip).json()["id"]
    db = Database(f"sqlite:///{server.data_dir / 'formcheck.db'}")
    accounts.add_user(db, "Other Coach", PASSWORD)
    db.close()
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url, "Other Coach")
    assert "Sam Lee" not in page.inner_text("main")
    for path in (f"/jobs/{uid}", "/athletes/sam-lee"):
        response = page.goto(server.url + path, wait_until="load")
        assert response.status == 404 and "Sam Lee" not in page.content(), path
    for path in ("/api/athletes", "/api/jobs"):
        response = page.goto(server.url + path)
        assert response.status == 200 and response.json() == [], path
    response = page.goto(f"{server.url}/jobs/{uid}/clip")
    assert response.status == 404
    context.close()
    # the first coach sees their athlete
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url)
    page.goto(server.url + "/athletes/sam-lee", wait_until="load")
    assert page.locator("#sessions tbody tr").count() == 1
    context.close()


def test_a_page_reached_by_another_host_name_is_refused(browser, queue_server):
    """DNS rebinding: evil.example resolves to this server, but the server answers no Host it was not
    given (--allowed-host), so the attacker's page cannot read it."""
    page = browser.new_page()
    response = page.goto(f"http://evil.example:{queue_server.port}/api/health")
    assert response.status == 400 and "unknown Host" in response.json()["detail"]
    response = page.goto(f"http://evil.example:{queue_server.port}/login")
    assert response.status == 400
    page.close()


def test_an_athlete_link_uploads_for_that_athlete_and_stops_after_revocation(browser, queue_server):
    server = queue_server
    clip = {"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")}
    server.client.post("/api/jobs", data={"athlete": "Sam Lee"}, files=clip)
    other_uid = server.client.post("/api/jobs", data={"athlete": "Alex Kim"}, files=clip).json()["id"]
    coach = browser.new_context()
    page = coach.new_page()
    log_in(page, server.url)
    page.goto(server.url + "/athletes/sam-lee", wait_until="load")
    page.fill("#link-form input[name=days]", "7")
    page.click("#link-form button")
    link = page.inner_text("#new-link").strip()
    assert link.startswith(server.url + "/a/")
    athlete = browser.new_context()  # the athlete's phone: no account
    phone = athlete.new_page()
    watch = Watch(phone, server.url)
    phone.goto(link, wait_until="load")
    assert phone.inner_text("#athlete-name") == "Sam Lee" and "Alex Kim" not in phone.content()
    drop(phone, CLEAN)
    phone.click("#upload-button")
    phone.wait_for_url(link + "/jobs/*")
    uid = phone.url.rsplit("/", 1)[-1]
    assert watch.errors == [] and watch.outside == []
    sam = server.client.get("/api/athletes/sam-lee").json()
    assert uid in [j["id"] for j in sam["jobs"]] and len(sam["jobs"]) == 2
    assert phone.goto(f"{link}/jobs/{other_uid}").status == 404  # another athlete's session
    # the coach revokes it: the athlete's page and uploads stop
    page.goto(server.url + "/athletes/sam-lee", wait_until="load")
    page.click("#links button")
    page.wait_for_selector("#links li:has-text('revoked')")
    assert phone.goto(link).status == 404 and phone.goto(f"{link}/jobs/{uid}").status == 404
    coach.close()
    athlete.close()
