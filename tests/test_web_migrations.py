"""A database made by the release before rep comments (schema revision 0003, with accounts, links,
heights and speeds in it) opened by this one: Alembic adds the new table, every row of every old
table is kept byte for byte, and the old coach's token, athlete link and sessions still work."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import create_engine
from test_web_support import settings_for

from formcheck.web.accounts import digest
from formcheck.web.app import create_app
from formcheck.web.db import Database
from formcheck.web.migrations import current, migrate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "fc_" + "t" * 43  # the old coach's API token, as `formcheck users token` printed it
LINK = "L" * 43  # the athlete's upload link token
SEEDED = {  # one or more rows in every table revision 0003 has
    "users": [
        "insert into users values (1, 'Head Coach', 'head@example.org', ?, 1, 1, '2026-11-01 09:00:00')",
        "insert into users values (2, 'Assistant', NULL, ?, 0, 1, '2026-11-01 09:05:00')",
    ],
    "api_tokens": [
        f"insert into api_tokens values (1, '{digest(TOKEN)}', 1, 'script', '2026-11-01 09:10:00')"
    ],
    "login_sessions": [
        f"insert into login_sessions values ('{'s' * 64}', 2, '{'c' * 32}', '2026-11-01 09:20:00',"
        " '2099-01-01 00:00:00')"
    ],
    "athletes": [
        "insert into athletes values (1, 'sam-lee', 'Sam Lee', '2026-11-01 10:00:00', 1)",
        "insert into athletes values (2, 'jo-park', 'Jo Park', '2026-11-01 10:01:00', 2)",
    ],
    "clips": [f"insert into clips values ('{'a' * 64}', 10, 'mp4/mov', 'x.mp4', '2026-11-01 10:02:00')"],
    "jobs": [
        "insert into jobs (id, uid, athlete_id, clip_sha256, display_name, variant, note, status, stage,"
        " progress_done, progress_total, attempts, created_at, rep_count, variant_used, score, faults)"
        f" values ({n}, '{uid}', {athlete}, '{'a' * 64}', 'set {n}.mp4', 'auto', '{note}', '{status}',"
        f" '{status}', 0, 0, 1, '2026-11-0{n} 10:00:00', {reps}, 'hip_thrust', 91.5, '{{\"knee_cave\": 2}}')"
        for n, uid, athlete, note, status, reps in (
            (1, "b" * 32, 1, "60 kg", "done", 7),
            (2, "d" * 32, 1, "", "queued", "NULL"),
            (3, "e" * 32, 2, "band", "done", 5),
        )
    ],
    "athlete_heights": ["insert into athlete_heights values (1, 181.0)"],
    "job_speeds": [f"insert into job_speeds values ('{'b' * 32}', 0.42, 18.5)"],
    "athlete_links": [
        f"insert into athlete_links values (1, '{digest(LINK)}', 1, '2026-11-01 11:00:00', NULL, NULL)",
        f"insert into athlete_links values (2, '{digest('x' * 43)}', 1, '2026-11-01 11:00:00', NULL,"
        " '2026-11-02 11:00:00')",
    ],
}


def v0003_database(path: Path) -> None:
    """The schema exactly as revision 0003 leaves it, with the SEEDED rows."""
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine, "0003")
    engine.dispose()
    hashed = PasswordHasher().hash("an old long password")
    with sqlite3.connect(path) as con:
        for statements in SEEDED.values():
            for sql in statements:
                con.execute(sql, (hashed,) if "?" in sql else ())


def snapshot(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as con:
        return {t: con.execute(f"select * from {t} order by 1").fetchall() for t in SEEDED}


def test_a_revision_0003_database_upgrades_keeping_every_row(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    v0003_database(data / "formcheck.db")
    before = snapshot(data / "formcheck.db")
    assert all(before[t] for t in SEEDED)  # every old table has rows to lose

    settings = settings_for(data, job_workers=0)
    db = Database(settings.db_url)
    assert current(db.engine) == "0004"
    db.close()
    assert snapshot(data / "formcheck.db") == before
    with sqlite3.connect(data / "formcheck.db") as con:
        assert con.execute("select count(*) from rep_comments").fetchone() == (0,)

    with TestClient(create_app(settings, start_workers=False)) as client:
        client.headers["authorization"] = f"Bearer {TOKEN}"
        sam = client.get("/api/athletes/sam-lee").json()
        assert [(j["id"], j["note"], j["status"]) for j in sam["jobs"]] == [
            ("d" * 32, "", "queued"),
            ("b" * 32, "60 kg", "done"),
        ]
        assert client.get("/api/athletes/jo-park").status_code == 404  # still the assistant's
        made = client.post(f"/api/jobs/{'b' * 32}/comments", json={"rep": 3, "text": "Drive through heels"})
        assert made.status_code == 201, made.text
        with TestClient(client.app) as athlete:  # the old link still opens, and shows the new comment
            assert athlete.get(f"/a/{LINK}").status_code == 200
            page = athlete.get(f"/a/{LINK}/jobs/{'b' * 32}").text  # (no report file: not in a table)
            assert 'data-rep="3">Rep 3: Drive through heels' in page
            assert athlete.get(f"/a/{'x' * 43}").status_code == 404  # the revoked one stays revoked
    assert snapshot(data / "formcheck.db") == before  # reading and commenting changed no old row
