"""A coach's data management (web/manage.py), through the API and the pages: deleting a session or
an athlete removes their files from the disk; rename, merge and notes; only one's own athletes."""

from __future__ import annotations

import re
import warnings

import pytest
from test_web_support import (
    CLEAN,
    RUSHED,
    files_under,
    finished,
    settings_for,
    sign_in,
    signed_in_app,
    upload,
    wait_for,
)

from formcheck.cache import TrackCache, file_sha256
from formcheck.web import accounts, comments
from formcheck.web.app import create_app
from formcheck.web.runner import cache_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient



@pytest.fixture
def working(tmp_path):
    with signed_in_app(tmp_path / "data", job_workers=1) as app:
        yield app


def test_deleting_sessions_removes_their_results_clip_and_track(working):
    client, settings = working
    first = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
    done = wait_for(lambda: client.get(f"/api/jobs/{first}").json(), finished)
    assert done["status"] == "done", done
    again = upload(client, CLEAN, athlete="Sam Lee", filename="same bytes.mp4").json()["id"]
    wait_for(lambda: client.get(f"/api/jobs/{again}").json(), finished)
    clip = settings.clips_dir / f"{file_sha256(CLEAN)}.mp4"
    track = TrackCache(settings.tracks_dir).path(cache_key(file_sha256(CLEAN), None, settings.pose_workers))
    assert (settings.results_dir / first / "report.json").is_file() and clip.is_file() and track.is_file()
    # another coach cannot delete it
    other = TestClient(client.app)
    sign_in(other, "Other")
    assert other.delete(f"/api/jobs/{first}").status_code == 404
    assert client.delete(f"/api/jobs/{first}").json() == {"id": first, "deleted": True}
    assert client.get(f"/api/jobs/{first}").status_code == 404
    assert not (settings.results_dir / first).exists()
    assert clip.is_file() and track.is_file()  # the other session still uses the clip
    # the page's delete needs its box ticked
    assert client.post(f"/jobs/{again}/delete", data={}).status_code == 422
    assert client.get(f"/api/jobs/{again}").status_code == 200
    r = client.post(f"/jobs/{again}/delete", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/athletes/sam-lee"
    assert not clip.exists() and not track.exists() and files_under(settings.results_dir) == []
    assert client.get("/api/athletes/sam-lee").json()["sessions"] == 0


def test_deleting_an_athlete_removes_everything_of_theirs_only(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=0)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        upload(client, CLEAN, athlete="Sam Lee")
        upload(client, RUSHED, athlete="Sam Lee")
        kept = upload(client, CLEAN, athlete="Alex Kim").json()["id"]  # shares a clip with Sam
        assert client.put("/api/athletes/sam-lee/height", json={"height_cm": 180}).status_code == 200
        url = client.post("/api/athletes/sam-lee/links", json={}).json()["url"]
        assert client.post("/athletes/sam-lee/delete", data={}).status_code == 422
        r = client.delete("/api/athletes/sam-lee")
        assert r.json() == {"slug": "sam-lee", "deleted": True, "sessions": 2}
        assert client.get("/api/athletes/sam-lee").status_code == 404
        assert TestClient(client.app).get(url).status_code == 404  # the athlete's link went too
        assert [j["id"] for j in client.get("/api/jobs").json()] == [kept]
        assert files_under(settings.clips_dir) == [f"{file_sha256(CLEAN)}.mp4"]  # Alex's clip stays
        # a new Sam Lee starts from nothing (no height, no sessions)
        upload(client, CLEAN, athlete="Sam Lee")
        assert client.get("/api/athletes/sam-lee").json()["sessions"] == 1
        assert 'value=""' in client.get("/athletes/sam-lee").text.split('name="height_cm"')[1][:120]


def test_rename_merge_and_notes(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=0)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        a = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
        b = upload(client, RUSHED, athlete="Samuel Lee").json()["id"]
        assert client.put("/api/athletes/samuel-lee/height", json={"height_cm": 181}).status_code == 200
        # rename onto an existing name: refused, merge instead
        clash = client.patch("/api/athletes/samuel-lee", json={"name": "sam lee"})
        assert clash.status_code == 409 and "merge" in clash.json()["detail"]
        assert client.patch("/api/athletes/samuel-lee", json={"name": "  "}).status_code == 422
        renamed = client.post("/athletes/samuel-lee/rename", data={"name": "Sam  L."}, follow_redirects=False)
        assert renamed.headers["location"] == "/athletes/sam-l"
        assert client.post("/athletes/sam-l/merge", data={"into": "sam-lee"}).status_code == 422  # unticked
        merged = client.post("/api/athletes/sam-l/merge", json={"into": "sam-lee"})
        assert merged.json() == {"name": "Sam Lee", "slug": "sam-lee"}
        sam = client.get("/api/athletes/sam-lee").json()
        assert sorted(j["id"] for j in sam["jobs"]) == sorted([a, b])
        assert client.get("/api/athletes/sam-l").status_code == 404
        assert 'value="181.0"' in client.get("/athletes/sam-lee").text  # the height came along
        assert client.post("/api/athletes/sam-lee/merge", json={"into": "sam-lee"}).status_code == 422
        # notes, from the API and the page
        assert client.patch(f"/api/jobs/{a}", json={"note": "60 kg, set 2"}).json()["note"] == "60 kg, set 2"
        assert client.patch(f"/api/jobs/{a}", json={"note": "x" * 501}).status_code == 422
        client.post(f"/jobs/{b}/note", data={"note": "80 kg"})
        notes = {j["id"]: j["note"] for j in client.get("/api/jobs").json()}
        assert notes == {a: "60 kg, set 2", b: "80 kg"}
        page = client.get(f"/jobs/{a}").text
        assert re.search(r'name="note"[^>]*value="60 kg, set 2"', page)
        # another coach touches none of it
        other = TestClient(client.app)
        sign_in(other, "Other")
        assert other.patch(f"/api/jobs/{a}", json={"note": "hacked"}).status_code == 404
        assert other.patch("/api/athletes/sam-lee", json={"name": "Mine"}).status_code == 404
        assert other.delete("/api/athletes/sam-lee").status_code == 404
        assert client.get(f"/api/jobs/{a}").json()["note"] == "60 kg, set 2"


def test_names_and_notes_must_be_text(tmp_path):
    """A rename is held to the upload's rule (names are text), and a note to being a string: a JSON
    number, list or a control character is refused, not stored as whatever str() makes of it."""
    with signed_in_app(tmp_path / "data") as (client, _):
        uid = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
        for name in (["Sam"], 5, None, "Sam\u0007", "Sam\u202eeL", "Sam\x00"):
            r = client.patch("/api/athletes/sam-lee", json={"name": name})
            assert r.status_code == 422 and r.json()["detail"], name
        page = client.post("/athletes/sam-lee/rename", data={"name": "Sam\x07"}, follow_redirects=False)
        assert page.status_code == 422
        # a page form's bytes that are not UTF-8 ("%FF") arrive decoded as U+FFFD: refused, as an upload's are
        form = {"content-type": "application/x-www-form-urlencoded"}
        not_utf8 = (("/athletes/sam-lee/rename", b"name=Sam%FF"), (f"/jobs/{uid}/note", b"note=60%FFkg"))
        for path, body in not_utf8:
            assert client.post(path, content=body, headers=form).status_code == 422, path
        assert [a["name"] for a in client.get("/api/athletes").json()] == ["Sam Lee"]
        for note in (5, {"kg": 60}, ["60 kg"], True):
            r = client.patch(f"/api/jobs/{uid}", json={"note": note})
            assert r.status_code == 422 and "string" in r.json()["detail"], note
        assert client.get(f"/api/jobs/{uid}").json()["note"] == ""
        assert client.patch(f"/api/jobs/{uid}", json={"note": "60 kg"}).json()["note"] == "60 kg"
        assert client.patch(f"/api/jobs/{uid}", json={"note": None}).json()["note"] == ""  # null clears
    for refused in (lambda: accounts.clean_login("Bo\ufffd"), lambda: comments.checked("ok\ufffd", 1, 3)):
        with pytest.raises((accounts.AccountError, ValueError)):
            refused()
