"""The coach web app's JSON API, pages and job worker, in-process (FastAPI's TestClient).

Bad inputs each get one status with a JSON detail and leave nothing behind; jobs run in the real
child process (runner.py) with the sample clip's pose track seeded in the cache, so they skip the
model (the browser test runs it end to end)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from test_web_support import (
    CLEAN,
    RUSHED,
    add_coach,
    files_under,
    finished,
    settings_for,
    sign_in,
    signed_in_app,
    upload,
    uvicorn_thread,
    wait_for,
)

from formcheck import cli
from formcheck.cache import file_sha256
from formcheck.web.app import create_app
from formcheck.web.db import Database

with warnings.catch_warnings():  # starlette announces a move away from httpx: nothing to act on here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient



FORM = "multipart/form-data; boundary=b0undary"


def chunked_form(clip: Path):
    """A multipart body as a generator, so the client sends it chunked, without a length."""
    yield b'--b0undary\r\nContent-Disposition: form-data; name="athlete"\r\n\r\nSam\r\n'
    yield b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n\r\n'
    data = clip.read_bytes()
    for i in range(0, len(data), 65536):
        yield data[i : i + 65536]
    yield b"\r\n--b0undary--\r\n"


@pytest.fixture
def queue_only(tmp_path):
    """An app that accepts and queues uploads but runs no job."""
    with signed_in_app(tmp_path / "data", job_workers=0) as app:
        yield app


@pytest.fixture
def working(tmp_path):
    """An app with one job worker; the clean sample's track is cached."""
    with signed_in_app(tmp_path / "data", job_workers=1) as app:
        yield app


def job_of(client: TestClient, uid: str) -> dict:
    r = client.get(f"/api/jobs/{uid}")
    assert r.status_code == 200, r.text
    return r.json()


def test_openapi_schema_lists_the_api(queue_only):
    client, _ = queue_only
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for route in (
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/report",
        "/api/jobs/{job_id}/retry",
        "/api/athletes",
        "/api/athletes/{slug}",
        "/api/variants",
        "/api/health",
        "/jobs/{job_id}/files/{name}",
    ):
        assert route in paths, route
    upload_body = paths["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(upload_body["required"]) == {"file", "athlete"}
    assert {"413", "415", "422"} <= set(paths["/api/jobs"]["post"]["responses"])
    assert not any(p.startswith("/athletes") or p == "/" for p in paths)  # pages are not API


def test_upload_is_stored_by_content_and_queued(queue_only):
    client, settings = queue_only
    first = upload(client, CLEAN, athlete="  Sam   Lee ")
    again = upload(client, CLEAN, athlete="sam lee", filename="same bytes, other name.mp4")
    assert first.status_code == again.status_code == 201
    a, b = first.json(), again.json()
    assert a["status"] == "queued" and a["athlete"] == "Sam Lee" and a["athlete_slug"] == "sam-lee"
    assert b["athlete_slug"] == "sam-lee" and b["file_name"] == "same bytes, other name.mp4"
    assert a["id"] != b["id"] and b["progress"]["queue_position"] == 1
    # identical bytes are stored once, under their hash; the uploaded names are only text
    assert files_under(settings.clips_dir) == [file_sha256(CLEAN) + ".mp4"]
    assert files_under(settings.incoming_dir) == []
    assert client.get(f"/jobs/{a['id']}/clip").content == CLEAN.read_bytes()
    athletes = client.get("/api/athletes").json()
    assert [(x["name"], x["sessions"]) for x in athletes] == [("Sam Lee", 2)]
    # results are not served before the job is done
    assert client.get(f"/jobs/{a['id']}/files/report.json").status_code == 409


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("too_big", 413, "larger than"),
        ("too_big_streamed", 413, "larger than"),
        ("text_named_mp4", 415, "not a video"),
        ("empty", 400, "empty"),
        ("unknown_variant", 422, "unknown variant"),
        ("missing_athlete", 422, "athlete"),
        ("blank_athlete", 422, "athlete"),
        ("no_file", 422, "no clip"),
        ("not_multipart", 415, "multipart"),
        ("json", 415, "multipart"),
        ("mp4_cut_short", 422, "incomplete"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(tmp_path, case, status, words):
    limit = 300_000 if case.startswith("too_big") else 500 * 1024 * 1024
    settings = settings_for(tmp_path / "data", job_workers=0, max_upload_bytes=limit)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        if case == "too_big":
            r = upload(client, CLEAN)  # 499 KB against 300 KB
        elif case == "too_big_streamed":  # chunked, no Content-Length: the limit holds while it streams
            r = client.post("/api/jobs", content=chunked_form(CLEAN), headers={"content-type": FORM})
        elif case == "text_named_mp4":
            r = upload(client, b"just some notes, not a video\n" * 100, filename="clip.mp4")
        elif case == "empty":
            r = upload(client, b"", filename="clip.mp4")
        elif case == "unknown_variant":
            r = upload(client, CLEAN, variant="deadlift")
        elif case == "missing_athlete":
            r = upload(client, CLEAN, athlete=None)
        elif case == "blank_athlete":
            r = upload(client, CLEAN, athlete="   ")
        elif case == "no_file":
            body = b'--b\r\nContent-Disposition: form-data; name="athlete"\r\n\r\nSam\r\n--b--\r\n'
            r = client.post(
                "/api/jobs", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
            )
        elif case == "json":  # a script sending JSON to the upload route
            r = client.post("/api/jobs", json={"athlete": "Sam", "file": "clip.mp4"})
        elif case == "not_multipart":
            r = client.post(
                "/api/jobs", content=CLEAN.read_bytes()[:5000], headers={"content-type": "video/mp4"}
            )
        else:  # the first bytes of an MP4 and nothing else: an interrupted copy, nothing to decode
            r = upload(client, CLEAN.read_bytes()[:2048])
        assert r.status_code == status, r.text
        assert words.lower() in r.json()["detail"].lower()
        assert client.get("/api/jobs").json() == []
    assert files_under(settings.clips_dir) == [] and files_under(settings.incoming_dir) == []


def test_path_traversal_file_names_are_only_text(queue_only, tmp_path):
    client, settings = queue_only
    before = files_under(tmp_path)
    for name in ("../../etc/passwd.mp4", "..\\..\\windows\\evil.mp4", "/etc/passwd.mp4", "a/../../../x.mp4"):
        r = upload(client, CLEAN, filename=name)
        assert r.status_code == 201, r.text
        shown = r.json()["file_name"]
        assert "/" not in shown and "\\" not in shown and ".." not in shown.replace(".mp4", "")
        refused = upload(client, b"root:x:0:0:root:/root:/bin/bash\n" * 64, filename=name)
        assert refused.status_code == 415
    new = sorted(set(files_under(tmp_path)) - set(before))
    assert new and all(f.startswith("data/") for f in new), new  # nothing written outside the data dir
    assert not (tmp_path / "etc").exists() and not Path("/etc/passwd.mp4").exists()
    assert files_under(settings.clips_dir) == [file_sha256(CLEAN) + ".mp4"]
    # names from URLs never reach the disk either
    uid = r.json()["id"]
    for bad in (
        f"/jobs/{uid}/files/..%2F..%2Fformcheck.db",
        f"/jobs/{uid}/files/formcheck.db",
        "/jobs/..%2F..%2Fformcheck.db/files/report.json",
        "/api/jobs/../../formcheck.db",
    ):
        assert client.get(bad).status_code in (404, 409), bad


def test_concurrent_uploads_on_a_real_server(tmp_path):
    """Eight uploads at once from threads, to uvicorn: every one stored and queued exactly once."""
    settings = settings_for(tmp_path / "data", job_workers=0)
    clips = [CLEAN, RUSHED] * 4
    app = create_app(settings)
    with uvicorn_thread(app) as url:
        auth = {"authorization": f"Bearer {add_coach(app.state.ctx.db)}"}
        barrier = threading.Barrier(len(clips))

        def send(i: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=60, headers=auth) as c:
                barrier.wait()
                return upload(c, clips[i], athlete=f"Athlete {i % 3}")

        with ThreadPoolExecutor(len(clips)) as pool:
            responses = list(pool.map(send, range(len(clips))))
        assert [r.status_code for r in responses] == [201] * len(clips), [r.text for r in responses]
        jobs = httpx.get(f"{url}/api/jobs", headers=auth).json()
        athletes = httpx.get(f"{url}/api/athletes", headers=auth).json()
    assert len({j["id"] for j in jobs}) == len(clips)
    assert sorted(a["sessions"] for a in athletes) == [2, 3, 3]
    assert files_under(settings.clips_dir) == sorted(f"{file_sha256(c)}.mp4" for c in (CLEAN, RUSHED))
    assert files_under(settings.incoming_dir) == []


def test_a_job_runs_to_its_report_files_and_the_athletes_history(working):
    client, settings = working
    uid = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
    job = wait_for(lambda: job_of(client, uid), finished)
    assert job["status"] == "done", job
    report = client.get(f"/api/jobs/{uid}/report").json()
    assert report["schema"] == "formcheck.report/1" and report["source"] == CLEAN.name
    assert job["summary"]["rep_count"] == report["summary"]["rep_count"] > 0
    assert job["summary"]["mean_top_hip_deg"] == report["summary"]["mean_top_hip_deg"]
    assert job["progress"]["done"] == job["progress"]["total"] == report["clip"]["frames"]
    csv_text = client.get(f"/jobs/{uid}/files/reps.csv").text
    assert csv_text.splitlines()[0].startswith("rep,") and len(csv_text.splitlines()) == 1 + len(
        report["reps"]
    )
    html = client.get(f"/jobs/{uid}/files/report.html")
    assert html.headers["content-type"].startswith("text/html") and 'id="rep-count"' in html.text
    video = client.get(f"/jobs/{uid}/files/annotated.mp4", headers={"range": "bytes=0-15"})
    assert video.status_code == 206 and video.content[4:8] == b"ftyp"
    download = client.get(f"/jobs/{uid}/files/report.json?download=true")
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content)["summary"] == report["summary"]
    # the page shows the same count; the athlete page has the trend charts and the session
    page = client.get(f"/jobs/{uid}").text
    assert f'id="rep-count">{report["summary"]["rep_count"]}<' in page
    # filmed from the side: the pelvis card says why it shows no figure
    assert report["measurement"]["pelvis"]["roll"]["measurable"] is False
    assert 'id="pelvis"' in page and "Roll: not measurable from this view (camera at the side" in page
    athlete = client.get("/api/athletes/sam-lee").json()
    assert [p["rep_count"] for p in athlete["trend"]] == [report["summary"]["rep_count"]]
    history = client.get("/athletes/sam-lee").text
    assert history.count("<svg") == 5 and uid in history  # reps, lockout, tempo, score, hip speed


def test_a_crashing_job_is_failed_with_its_reason_and_the_server_goes_on(tmp_path):
    crash = (sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    settings = settings_for(tmp_path / "data", job_workers=1, runner=crash)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        uid = upload(client, CLEAN).json()["id"]
        job = wait_for(lambda: job_of(client, uid), finished)
        assert job["status"] == "failed" and "SIGKILL" in job["error"] and job["error_code"] == 1
        assert client.get("/api/health").json()["jobs"]["failed"] == 1
        page = client.get(f"/jobs/{uid}").text
        assert "The analysis failed" in page and "SIGKILL" in page


def test_a_clip_without_a_person_fails_with_the_analyze_error_and_can_be_retried(tmp_path, make_video):
    settings = settings_for(tmp_path / "data", job_workers=1)
    clip = make_video("empty_room.mp4", n_frames=15)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        uid = upload(client, clip, athlete="Sam").json()["id"]
        job = wait_for(lambda: job_of(client, uid), finished)
        assert job["status"] == "failed" and job["error_code"] == 16, (
            job
        )  # NoPersonDetected, as `analyze` exits
        assert "no person" in job["error"] and "empty_room.mp4" in job["error"]
        assert str(settings.data_dir) not in job["error"]  # the server's paths are not shown
        assert client.post(f"/api/jobs/{uid}/retry").json()["status"] in ("queued", "running")
        again = wait_for(lambda: job_of(client, uid), finished)
        assert again["status"] == "failed" and again["error_code"] == 16
        assert client.post(f"/api/jobs/{'0' * 32}/retry").status_code == 404


def test_pages_and_errors_for_people(queue_only):
    client, _ = queue_only
    home = client.get("/")
    assert home.status_code == 200 and 'id="upload-form"' in home.text and "hip_thrust" in home.text
    assert (
        "Content-Security-Policy" in home.headers
        and "script-src 'self'" in home.headers["content-security-policy"]
    )
    assert 'src="http' not in home.text and 'href="http' not in home.text  # nothing from elsewhere
    missing = client.get("/jobs/" + "0" * 32, headers={"accept": "text/html"})
    assert missing.status_code == 404 and "Not found" in missing.text
    assert client.get("/api/jobs/" + "0" * 32).json() == {"detail": f"no job {'0' * 32!r}"}
    refused = client.post(
        "/upload", data={"athlete": "Sam"}, files={"file": ("x.mp4", b"hello" * 300, "video/mp4")}
    )
    assert refused.status_code == 415 and "not a video" in refused.text and 'id="upload-form"' in refused.text
    ok = client.post(
        "/upload",
        data={"athlete": "Sam"},
        files={"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith("/jobs/")
    assert client.get("/static/upload.js").status_code == 200
    # names are text on every page: a name that is markup is shown, not run
    upload(client, CLEAN, athlete="<script>alert(1)</script>", filename="<img src=x onerror=alert(1)>.mp4")
    for path in ("/", "/athletes", "/athletes/script-alert-1-script"):
        text = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text, path
    assert "<img src=x" not in client.get("/").text
    assert client.get("/athletes").status_code == 200 and "Sam" in client.get("/athletes").text


def test_jobs_of_a_dead_worker_are_requeued_then_failed_after_max_attempts(tmp_path):
    from formcheck.web.worker import is_dead, new_worker_id

    db = Database(f"sqlite:///{tmp_path / 'f.db'}")
    db.add_clip("a" * 64, 10, "mp4/mov", "a.mp4")
    athlete = db.athlete("Sam", coach_id=1)
    uid = db.create_job(athlete, "a" * 64, "x.mp4", "auto").uid
    gone = new_worker_id().rsplit("/", 2)[0] + "/999999999/dead"  # this host, a pid that cannot exist
    for attempt in (1, 2):
        assert db.claim(gone).uid == uid
        assert db.recover(stale_after_s=3600, max_attempts=2, is_dead=is_dead) == [uid]
        assert db.job(uid).status == ("queued" if attempt == 1 else "failed")
    job = db.job(uid)
    assert "interrupted 2 times" in job.error and job.attempts == 2
    # a live worker's job is left alone; its writes are guarded by its id
    other = db.create_job(athlete, "a" * 64, "y.mp4", "auto").uid
    me = new_worker_id()
    assert db.claim(me).uid == other
    assert db.recover(stale_after_s=3600, max_attempts=2, is_dead=lambda w: False) == []
    assert not db.finish(other, "someone-else", {}) and db.job(other).status == "running"
    assert db.finish(other, me, {"rep_count": 4}) and db.job(other).rep_count == 4
    db.close()


def test_serve_command_fails_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["serve", "--data", str(blocker / "data")]) == 23
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("formcheck: error: cannot use the data dir")
    assert cli.main(["serve", "--data", str(tmp_path / "d"), "--database-url", "nosuchdb://x"]) == 23
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot open the database" in err[0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert cli.main(["serve", "--data", str(tmp_path / "d"), "--port", port]) == 23
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot listen on 127.0.0.1:{port}" in err[0]


def test_inbox_folder_queues_settled_clips_per_athlete_and_sets_aside_the_rest(tmp_path):
    from formcheck.web.inbox import Inbox

    settings = settings_for(tmp_path / "data", job_workers=0)
    inbox_dir = tmp_path / "inbox"
    (inbox_dir / "Sam Lee").mkdir(parents=True)
    (inbox_dir / "Alex Kim").mkdir()
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        inbox = Inbox(inbox_dir, client.app.state.ctx.db, settings)
        clip = inbox_dir / "Sam Lee" / "set 1.mp4"
        clip.write_bytes(CLEAN.read_bytes()[:100_000])  # a copy in progress
        (inbox_dir / "Alex Kim" / "notes.mp4").write_text("not a video\n" * 100)
        (inbox_dir / "Alex Kim" / "upload.mp4.part").write_bytes(RUSHED.read_bytes())
        (inbox_dir / "loose.mp4").write_bytes(RUSHED.read_bytes())  # no athlete folder: left alone
        assert inbox.scan() == []  # first sight: nothing has settled yet
        clip.write_bytes(CLEAN.read_bytes())  # the copy finished
        outcomes = {o.path.name: o for o in inbox.scan()}
        assert set(outcomes) == {"notes.mp4"} and "not a video" in outcomes["notes.mp4"].refused
        outcomes = {o.path.name: o for o in inbox.scan()}
        assert set(outcomes) == {"set 1.mp4"} and outcomes["set 1.mp4"].job
        job = job_of(client, outcomes["set 1.mp4"].job)
        assert (job["athlete"], job["file_name"], job["status"]) == ("Sam Lee", "set 1.mp4", "queued")
        assert inbox.scan() == []  # each file is taken once
    assert files_under(inbox_dir) == sorted(
        [f".imported/Sam Lee/{p.name}" for p in (inbox_dir / ".imported" / "Sam Lee").iterdir()]
        + [f".refused/Alex Kim/{p.name}" for p in (inbox_dir / ".refused" / "Alex Kim").iterdir()]
        + ["Alex Kim/upload.mp4.part", "loose.mp4"]
    )
    why = next((inbox_dir / ".refused" / "Alex Kim").glob("*.why.txt")).read_text()
    assert "notes.mp4" in why and "not a video" in why
    assert (next((inbox_dir / ".imported" / "Sam Lee").iterdir())).read_bytes() == CLEAN.read_bytes()
    assert files_under(settings.clips_dir) == [file_sha256(CLEAN) + ".mp4"]


def test_a_chunked_upload_without_length_is_accepted(queue_only):
    client, settings = queue_only
    r = client.post("/api/jobs", content=chunked_form(CLEAN), headers={"content-type": FORM})
    assert r.status_code == 201 and r.json()["file_name"] == "c.mp4"
    assert files_under(settings.clips_dir) == [file_sha256(CLEAN) + ".mp4"]
    assert (settings.clips_dir / f"{file_sha256(CLEAN)}.mp4").stat().st_mode & 0o044  # readable, not 0600


def test_an_upload_cut_short_is_analysed_as_far_as_it_decodes_and_says_so(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=1)
    data = CLEAN.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 55 // 100])  # an interrupted upload from a phone
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        uid = upload(client, cut, athlete="Sam").json()["id"]
        job = wait_for(lambda: job_of(client, uid), finished)
        assert job["status"] == "done" and "ends early" in job["warning"], job
        report = client.get(f"/api/jobs/{uid}/report").json()
        assert report["clip"]["truncated"] is True and job["summary"]["rep_count"] >= 1
        assert "ends early" in client.get(f"/jobs/{uid}").text
        for name in ("report.html", "annotated.mp4"):
            assert client.get(f"/jobs/{uid}/files/{name}").status_code == 200
