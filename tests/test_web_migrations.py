"""A database made by the release before rep comments (schema revision 0003, with accounts, links,
heights and speeds in it) opened by this one: Alembic adds the new table, every row of every old
table is kept byte for byte, and the old coach's token, athlete link and sessions still work."""

from __future__ import annotations

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
        "insert into users values (1, 'Head Coach', 'head@example.org', '{hashed}', TRUE, TRUE,"
        " '2026-11-01 09:00:00')",
        "insert into users values (2, 'Assistant', NULL, '{hashed}', FALSE, TRUE, '2026-11-01 09:05:00')",
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


def v0003_database(url: str) -> None:
    """The schema exactly as revision 0003 leaves it, with the SEEDED rows (SQL both SQLite and
    PostgreSQL read: TRUE/FALSE, ISO times)."""
    engine = create_engine(url)
    migrate(engine, "0003")
    hashed = PasswordHasher().hash("an old long password")
    with engine.begin() as con:
        for statements in SEEDED.values():
            for sql in statements:
                con.exec_driver_sql(sql.replace("{hashed}", hashed))
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return {t: list(map(tuple, con.exec_driver_sql(f"select * from {t} order by 1"))) for t in SEEDED}
    finally:
        engine.dispose()


def upgrade_keeps_every_row(data: Path, url: str) -> None:
    """Open a revision-0003 database with this release: the new table is added, no old row changes,
    and the old coach's token, sessions and athlete link work (a comment is the new table's row)."""
    v0003_database(url)
    before = snapshot(url)
    assert all(before[t] for t in SEEDED)  # every old table has rows to lose

    settings = settings_for(data, job_workers=0, database_url="" if url.startswith("sqlite") else url)
    assert settings.db_url == url
    db = Database(url)
    assert current(db.engine) == "0004"
    db.close()
    assert snapshot(url) == before

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
    assert snapshot(url) == before  # reading and commenting changed no old row


def test_a_revision_0003_database_upgrades_keeping_every_row(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    upgrade_keeps_every_row(data, f"sqlite:///{data / 'formcheck.db'}")
