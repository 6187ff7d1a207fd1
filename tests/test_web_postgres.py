"""The web app on PostgreSQL: a throwaway server (initdb + pg_ctl in a temp dir, on a free port) runs
the database layer, concurrent claims and a whole job through the app.

`scripts/setup_test_postgres.sh` installs Debian's server; without it this skips on a laptop but
FAILS under CI=true. As root, the server runs as the `postgres` user (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import in_ci
from test_web_migrations import upgrade_keeps_every_row
from test_web_support import CLEAN, finished, free_port, seed_track, settings_for, sign_in, upload, wait_for

from formcheck.web.app import create_app
from formcheck.web.db import Database

with warnings.catch_warnings():  # starlette announces a move away from httpx: nothing to act on here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _unavailable(why: str) -> None:
    if in_ci():
        pytest.fail(f"{why} (CI=true: the PostgreSQL test must run)")
    pytest.skip(why)


def server_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


def as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: use the package's own `postgres` user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def postgres_url():
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]')")
    initdb, pg_ctl = server_bin("initdb"), server_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        _unavailable("no PostgreSQL server binaries (bash scripts/setup_test_postgres.sh)")
    root = Path(tempfile.mkdtemp(prefix="formcheck-pg-"))  # not under pytest's root-only tmp dir
    data, port = root / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    run = {"check": True, "capture_output": True, "text": True}
    try:
        init = [initdb, "-D", str(data), "-A", "trust", "-U", "formcheck", "--no-sync"]
        subprocess.run(as_server_user(init), **run)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(as_server_user(start), **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"cannot start a throwaway PostgreSQL: {exc.stderr or exc.stdout}")
    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=formcheck dbname=postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE formcheck_test")
        yield f"postgresql+psycopg://formcheck@127.0.0.1:{port}/formcheck_test"
    finally:
        subprocess.run(
            as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def test_database_layer_and_concurrent_claims_on_postgresql(postgres_url):
    db = Database(postgres_url)
    assert db.is_postgres
    # eight uploads naming a new athlete at once: one athlete
    barrier = threading.Barrier(8)

    def same_athlete(_: int) -> int:
        barrier.wait()
        return db.athlete("Casey Moore", 1).id

    with ThreadPoolExecutor(8) as pool:
        assert len(set(pool.map(same_athlete, range(8)))) == 1
    athlete = db.athlete("casey moore", 1)
    db.add_clip("c" * 64, 10, "mp4/mov", "c.mp4")
    db.add_clip("c" * 64, 10, "mp4/mov", "c.mp4")  # the same bytes again: one row
    uids = [db.create_job(athlete, "c" * 64, f"set {i}.mp4", "auto").uid for i in range(12)]
    # four workers claim at once (SKIP LOCKED): every job exactly once, none twice
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        start.wait()
        while (job := db.claim(f"test/{n}")) is not None:
            with lock:
                claimed.append(job.uid)
            assert db.progress(job.uid, f"test/{n}", "pose model", 5, 10)
            assert db.finish(job.uid, f"test/{n}", {"rep_count": n + 1, "mean_top_hip_deg": 180.5})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    assert sorted(claimed) == sorted(uids)
    jobs = db.jobs(athlete.id, limit=100)
    assert {j.status for j in jobs} == {"done"} and all(j.mean_top_hip_deg == 180.5 for j in jobs)
    assert db.counts()["done"] == 12 and db.athletes(1)[0][1] == 12
    db.close()


def test_a_job_runs_through_the_app_on_postgresql(postgres_url, tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=1, database_url=postgres_url)
    seed_track(settings.data_dir)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        assert client.get("/api/health").json()["database"] == "postgresql"
        uid = upload(client, CLEAN, athlete="Riley Chen").json()["id"]
        job = wait_for(lambda: client.get(f"/api/jobs/{uid}").json(), finished)
        assert job["status"] == "done", job
        report = client.get(f"/api/jobs/{uid}/report").json()
        assert job["summary"]["rep_count"] == report["summary"]["rep_count"] > 0
        history = client.get("/api/athletes/riley-chen").json()
        assert [p["id"] for p in history["trend"]] == [uid]
    assert not (settings.data_dir / "formcheck.db").exists()  # the SQLite default was not used
    # a second app on the same database sees everything the first one wrote
    with TestClient(create_app(settings, start_workers=False)) as client:
        sign_in(client)
        assert client.get(f"/api/jobs/{uid}").json()["summary"] == job["summary"]


def test_servers_starting_at_once_migrate_a_new_database_once(postgres_url):
    """Three server processes opening one new PostgreSQL database together: the advisory lock lets
    one run the migrations; the others find the newest revision and go on."""
    import psycopg
    from sqlalchemy import inspect

    from formcheck.web.migrations import current

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("CREATE DATABASE formcheck_race")
    url = postgres_url.rsplit("/", 1)[0] + "/formcheck_race"
    script = ("import sys; from formcheck.web.db import Database;"
              " from formcheck.web.migrations import current;"
              " db = Database(sys.argv[1]); print(current(db.engine))")  # fmt: skip
    cmd = [sys.executable, "-c", script, url]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in outs]
    revisions = [out.strip() for out, _ in outs]
    db = Database(url)
    assert revisions == [current(db.engine)] * 3 and revisions[0] is not None
    assert {"users", "athletes", "jobs", "athlete_links"} <= set(inspect(db.engine).get_table_names())
    db.close()


def test_concurrent_first_coaches_make_one_on_postgresql(postgres_url):
    """The first-run page's check-then-create under concurrent posts: one coach, the rest refused."""
    import psycopg

    from formcheck.web import accounts

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("CREATE DATABASE formcheck_first")
    db = Database(postgres_url.rsplit("/", 1)[0] + "/formcheck_first")
    start = threading.Barrier(4)

    def first(n: int) -> str:
        start.wait()
        try:
            return accounts.add_user(db, f"Coach {n}", "a long password", admin=True, only_first=True).name
        except accounts.FirstCoachExists:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(first, range(4)))
    made = accounts.users(db)
    assert len(made) == 1 and outcomes.count("refused") == 3 and made[0].name in outcomes
    db.close()


def test_a_revision_0003_database_upgrades_keeping_every_row_on_postgresql(postgres_url, tmp_path):
    import psycopg

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("CREATE DATABASE formcheck_v0003")
    upgrade_keeps_every_row(tmp_path / "data", postgres_url.rsplit("/", 1)[0] + "/formcheck_v0003")
