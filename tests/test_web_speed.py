"""Rep speed in the web app: the athlete profile's height (page form, API), stored in tables of
its own that an older database gains on first use, passed to the job's analysis, and the
sessions' hip speed on the athlete page's trend."""

from __future__ import annotations

import sqlite3
import warnings

import pytest
from sqlalchemy import inspect
from test_web_support import (
    CLEAN,
    add_coach,
    finished,
    old_schema,
    seed_track,
    settings_for,
    signed_in_app,
    upload,
    wait_for,
)

from formcheck.web import accounts, speed_store
from formcheck.web.app import create_app
from formcheck.web.db import Database
from formcheck.web.runner import settings_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_an_older_database_gains_the_tables_and_keeps_heights(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    # as a formcheck from before rep speed made it: the schema before accounts, less rep speed's tables
    statements = [s for s in old_schema() if "athlete_heights" not in s and "job_speeds" not in s]
    with sqlite3.connect(tmp_path / "old.db") as con:
        for statement in statements:
            con.execute(statement)
    db = Database(url)
    sam = db.athlete("Sam", coach_id=1)
    db.add_clip("0" * 64, 1, "mp4", "0.mp4")
    job = db.create_job(sam, "0" * 64, "c.mp4", "auto")
    assert speed_store.height_of(db, sam.id) is None
    speed_store.set_height(db, sam.id, 182.0)
    assert speed_store.height_of(db, sam.id) == 182.0 and speed_store.height_for_job(db, job.uid) == 182.0
    speed_store.set_height(db, sam.id, 175.5)
    assert speed_store.height_for_job(db, job.uid) == 175.5
    speed_store.set_height(db, sam.id, None)
    assert speed_store.height_for_job(db, job.uid) is None
    speed_store.record(db, job.uid, {"mean_velocity_mps": 0.31, "velocity_loss_pct": 12.5})
    assert speed_store.job_speeds(db, [job.uid])[job.uid].mean_velocity_mps == 0.31
    assert {"athlete_heights", "job_speeds"} <= set(inspect(db.engine).get_table_names())
    db.close()


@pytest.mark.parametrize("value", ["99", "251", "tall", "nan", 300])
def test_heights_outside_100_250_are_refused(value):
    with pytest.raises(ValueError, match="100 to 250"):
        speed_store.checked_height(value)
    assert speed_store.checked_height("") is None and speed_store.checked_height("180") == 180.0


def test_the_spec_height_reaches_the_analysis_settings():
    assert settings_of({"variant": "auto", "height_cm": 181.0}).height_cm == 181.0
    assert settings_of({"variant": "auto"}).height_cm is None


@pytest.fixture
def queue_only(tmp_path):
    with signed_in_app(tmp_path / "data", job_workers=0) as (client, _):
        yield client


def test_height_through_the_api_and_the_athlete_page_form(queue_only):
    client = queue_only
    assert upload(client, CLEAN, athlete="Sam Lee").status_code in (200, 201, 202)
    r = client.put("/api/athletes/sam-lee/height", json={"height_cm": 172})
    assert r.status_code == 200 and r.json() == {"slug": "sam-lee", "height_cm": 172.0}
    assert client.put("/api/athletes/sam-lee/height", json={"height_cm": 90}).status_code == 400
    assert client.put("/api/athletes/nobody/height", json={"height_cm": 170}).status_code == 404
    page = client.get("/athletes/sam-lee").text
    assert 'value="172.0"' in page and "Hip speed" in page
    r = client.post("/athletes/sam-lee/height", data={"height_cm": "185"}, follow_redirects=False)
    assert r.status_code == 303
    assert 'value="185.0"' in client.get("/athletes/sam-lee").text
    bad = client.post("/athletes/sam-lee/height", data={"height_cm": "7 ft"})
    assert bad.status_code == 400 and "100 to 250" in bad.text
    assert client.put("/api/athletes/sam-lee/height", json={"height_cm": None}).json()["height_cm"] is None


def test_a_job_is_scaled_by_the_athletes_height_and_trended(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=1)
    seed_track(settings.data_dir)
    settings.prepare()
    db = Database(settings.db_url)
    token = add_coach(db)
    coach = accounts.find_user(db, "Coach")
    speed_store.set_height(db, db.athlete("Sam Lee", coach.id).id, 168.0)  # the profile before the upload
    db.close()
    with TestClient(create_app(settings)) as client:
        client.headers["authorization"] = f"Bearer {token}"
        uid = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
        job = wait_for(lambda: client.get(f"/api/jobs/{uid}").json(), finished)
        assert job["status"] == "done", job
        report = client.get(f"/api/jobs/{uid}/report").json()
        scale = report["measurement"]["speed_scale"]
        assert scale["source"] == "height" and scale["height_m"] == 1.68
        means = [r["speed"]["mean_mps"] for r in report["reps"]]
        assert all(0.1 < m < 1.0 for m in means)
        page = client.get("/athletes/sam-lee").text
        assert "Rep speed: mean hip speed up (m/s)" in page
        assert f"{sum(means) / len(means):.2f} m/s" in page
