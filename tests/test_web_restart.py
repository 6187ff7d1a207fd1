"""`formcheck serve` as a real process, stopped and started again: nothing uploaded or finished is
lost, queued jobs resume, and a job whose server was killed mid-run is queued again and completes.
With accounts and their tables: two coaches' per-coach inbox folders, comments on reps, athletes'
upload links (live and revoked) and the stored curves come through kill -9 and SIGTERM whole, each
job once, none left running."""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
from pathlib import Path

import httpx
from test_web_support import (
    CLEAN,
    RUSHED,
    ServerProcess,
    add_coach,
    finished,
    kill_quietly,
    seed_track,
    settings_for,
    upload,
    wait_for,
)

from formcheck.web.db import Database
from formcheck.web.storage import result_dir

INBOX_ARGS = ("--inbox-per-coach",)  # with "--inbox DIR" before it


def statuses(data_dir) -> dict[str, str]:
    """Straight from the database file, as a server that is down leaves it."""
    with sqlite3.connect(data_dir / "formcheck.db") as con:
        return dict(con.execute("select uid, status from jobs"))


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper that a container lacks)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def rows(data_dir, table: str) -> int:
    with sqlite3.connect(data_dir / "formcheck.db") as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def other_coach(data_dir: Path) -> str:
    """A second coach (with an API token), made before the first server starts."""
    settings = settings_for(data_dir)
    settings.prepare()
    db = Database(settings.db_url)
    try:
        add_coach(db)  # "Coach", whom ServerProcess acts as
        return add_coach(db, "Other")
    finally:
        db.close()


def drop_in_inbox(inbox: Path, coach: str, athlete: str) -> None:
    """A clip copied into a coach's inbox folder (written aside, then renamed in, as a sync does)."""
    folder = inbox / coach / athlete
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CLEAN, folder / "set.mp4.part")
    (folder / "set.mp4.part").rename(folder / "set.mp4")


def inbox_jobs(server: ServerProcess, token: str | None = None) -> list[dict]:
    """The inbox's jobs of ServerProcess's coach, or of the coach whose API token this is."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    jobs = server.client.get("/api/jobs", headers=headers).json()
    return [j for j in jobs if j["note"] == "from the inbox folder"]


def stopped_cleanly(server: ServerProcess) -> None:
    """SIGTERM: uvicorn shuts the app down (workers release their jobs), then exits by the signal."""
    code = server.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM) and "Traceback" not in server.output(), server.output()


def job_as(server: ServerProcess, uid: str, token: str) -> dict:
    r = server.client.get(f"/api/jobs/{uid}", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def comment_texts(server: ServerProcess, uid: str) -> list[str]:
    return [c["text"] for c in server.client.get(f"/api/jobs/{uid}/comments").json()]


def test_restarts_lose_nothing_and_resume_the_queue(tmp_path):
    data, inbox = tmp_path / "data", tmp_path / "inbox"
    seed_track(data)  # the clean clip's track is cached; the rushed clip runs the model
    other = other_coach(data)
    args = ("--inbox", str(inbox), *INBOX_ARGS)
    server = ServerProcess(data, *args)
    try:
        done_uid = upload(server.client, CLEAN, athlete="Sam Lee").json()["id"]
        done = wait_for(lambda: server.job(done_uid), finished)
        assert done["status"] == "done", done
        report = server.client.get(f"/jobs/{done_uid}/files/report.json").content
        curve = (result_dir(settings_for(data), done_uid) / "curve.json").read_bytes()
        said = server.client.post(f"/api/jobs/{done_uid}/comments", json={"rep": 1, "text": "Chin tucked"})
        assert said.status_code == 201, said.text
        # the athlete's upload links: one live, one revoked; both must stay as they are
        live = server.client.post("/api/athletes/sam-lee/links", json={"days": 30}).json()["url"]
        gone = server.client.post("/api/athletes/sam-lee/links", json={}).json()
        assert server.client.delete(f"/api/athletes/sam-lee/links/{gone['id']}").status_code == 200

        # each coach's inbox folder files a clip under that coach's athlete; both run before the kill
        drop_in_inbox(inbox, "Coach", "Alex Kim")
        drop_in_inbox(inbox, "Other", "Jo Park")
        one = lambda s: len(s["jobs"]) == 1  # noqa: E731
        (mine,) = wait_for(lambda: {"jobs": inbox_jobs(server)}, one)["jobs"]
        (theirs,) = wait_for(lambda: {"jobs": inbox_jobs(server, other)}, one)["jobs"]
        assert (mine["athlete"], theirs["athlete"]) == ("Alex Kim", "Jo Park")
        assert wait_for(lambda: server.job(mine["id"]), finished)["status"] == "done"
        assert wait_for(lambda: job_as(server, theirs["id"], other), finished)["status"] == "done"

        # kill -9 the server while the model is running on the next clip
        killed_uid = upload(server.client, RUSHED, athlete="Sam Lee").json()["id"]
        wait_for(
            lambda: server.job(killed_uid), lambda j: j["status"] == "running" and j["progress"]["done"] > 0
        )
        runners = server.children()
        assert runners, "the job runs in a child process"
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        server.stop(signal.SIGKILL)
    try:  # the job's process dies with its server (PR_SET_PDEATHSIG): no orphan keeps a core busy
        wait_for(lambda: {"alive": [p for p in runners if running(p)]},
                 lambda s: not s["alive"], "the killed server's job process")  # fmt: skip
    finally:
        for pid in runners:
            kill_quietly(pid)
    earlier = {done_uid: "done", mine["id"]: "done", theirs["id"]: "done"}
    assert statuses(data) == earlier | {killed_uid: "running"}
    assert rows(data, "rep_comments") == 1 and rows(data, "athlete_links") == 2

    # back up without workers: the killed job is queued again at once (its worker's process is gone)
    server = ServerProcess(data, "--jobs", "0", *args)
    try:
        assert server.job(killed_uid)["status"] == "queued"
        assert comment_texts(server, done_uid) == ["Chin tucked"]
        queued_uid = upload(server.client, CLEAN, athlete="Alex Kim").json()["id"]
        assert server.job(queued_uid)["progress"]["queue_position"] == 1
    finally:
        stopped_cleanly(server)
    assert statuses(data) == earlier | {killed_uid: "queued", queued_uid: "queued"}

    # with a worker again, stopped (SIGTERM, as a service manager does) while the model runs:
    # the running job goes back to the queue, not counted as a failed attempt
    server = ServerProcess(data, *args)
    try:
        assert server.job(done_uid)["status"] == "done"
        wait_for(
            lambda: server.job(killed_uid), lambda j: j["status"] == "running" and j["progress"]["done"] > 0
        )
        said = server.client.post(f"/api/jobs/{done_uid}/comments", json={"rep": 2, "text": "Pause up top"})
        assert said.status_code == 201, said.text
    finally:
        stopped_cleanly(server)
    assert statuses(data) == earlier | {killed_uid: "queued", queued_uid: "queued"}

    # and once more: the finished jobs, their comments and curves are as they were, the queue runs
    # in order, and each clip is one job (the inbox's imported files are not taken again)
    server = ServerProcess(data, *args)
    try:
        assert server.client.get(f"/jobs/{done_uid}/files/report.json").content == report
        assert (result_dir(settings_for(data), done_uid) / "curve.json").read_bytes() == curve
        resumed = wait_for(lambda: server.job(queued_uid), finished)
        interrupted = server.job(killed_uid)
        assert resumed["status"] == interrupted["status"] == "done", (resumed, interrupted)
        assert interrupted["attempts"] == 2 and interrupted["summary"]["rep_count"] > 0
        assert interrupted["finished_at"] < resumed["finished_at"]  # queue order kept
        history = server.client.get("/api/athletes/sam-lee").json()
        assert [p["id"] for p in history["trend"]] == [done_uid, killed_uid]
        assert comment_texts(server, done_uid) == ["Chin tucked", "Pause up top"]
        # the athlete's link (no login) still opens, with both sessions and the coach's comments
        athlete = httpx.Client(base_url=server.url)
        assert {done_uid, killed_uid} <= set(re.findall(r"/jobs/([0-9a-f]{32})", athlete.get(live).text))
        shown = athlete.get(f"{live}/jobs/{done_uid}").text
        assert "Chin tucked" in shown and "Pause up top" in shown
        assert athlete.get(gone["url"]).status_code == 404  # revoked stays so
        athlete.close()
        both = server.client.get("/api/compare", params={"a": done_uid, "b": killed_uid}).json()
        assert both["a"]["curve"]["hip_deg"] and both["b"]["curve"]["hip_deg"]  # the resumed job's too
        assert sorted(j["id"] for j in server.client.get("/api/jobs").json()) == sorted(
            [done_uid, mine["id"], killed_uid, queued_uid])  # fmt: skip
        as_other = {"authorization": f"Bearer {other}"}
        assert [j["id"] for j in server.client.get("/api/jobs", headers=as_other).json()] == [theirs["id"]]
        assert [p.name for p in inbox.rglob("*") if p.is_file() and ".imported" not in p.parts] == []
        assert len([p for p in (inbox / ".imported").rglob("*") if p.is_file()]) == 2
    finally:
        server.stop()
    assert set(statuses(data).values()) == {"done"} and rows(data, "rep_comments") == 2
