"""`formcheck serve` as a real process, stopped and started again: nothing uploaded or finished is
lost, queued jobs resume, and a job whose server was killed mid-run is queued again and completes."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from test_web_support import (
    CLEAN,
    RUSHED,
    ServerProcess,
    finished,
    kill_quietly,
    seed_track,
    upload,
    wait_for,
)


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


def stopped_cleanly(server: ServerProcess) -> None:
    """SIGTERM: uvicorn shuts the app down (workers release their jobs), then exits by the signal."""
    code = server.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM) and "Traceback" not in server.output(), server.output()


def test_restarts_lose_nothing_and_resume_the_queue(tmp_path):
    data = tmp_path / "data"
    seed_track(data)  # the clean clip's track is cached; the rushed clip runs the model
    server = ServerProcess(data)
    try:
        done_uid = upload(server.client, CLEAN, athlete="Sam Lee").json()["id"]
        done = wait_for(lambda: server.job(done_uid), finished)
        assert done["status"] == "done", done
        report = server.client.get(f"/jobs/{done_uid}/files/report.json").content

        # kill -9 the server while the model is running on the second clip
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
    assert statuses(data) == {done_uid: "done", killed_uid: "running"}

    # back up without workers: the killed job is queued again at once (its worker's process is gone)
    server = ServerProcess(data, "--jobs", "0")
    try:
        assert server.job(killed_uid)["status"] == "queued"
        queued_uid = upload(server.client, CLEAN, athlete="Alex Kim").json()["id"]
        assert server.job(queued_uid)["progress"]["queue_position"] == 1
    finally:
        stopped_cleanly(server)
    assert statuses(data) == {done_uid: "done", killed_uid: "queued", queued_uid: "queued"}

    # with a worker again, stopped (SIGTERM, as a service manager does) while the model runs:
    # the running job goes back to the queue, not counted as a failed attempt
    server = ServerProcess(data)
    try:
        assert server.job(done_uid)["status"] == "done"
        wait_for(
            lambda: server.job(killed_uid), lambda j: j["status"] == "running" and j["progress"]["done"] > 0
        )
    finally:
        stopped_cleanly(server)
    assert statuses(data) == {done_uid: "done", killed_uid: "queued", queued_uid: "queued"}

    # and once more: the finished job is as it was, the queue runs in order
    server = ServerProcess(data)
    try:
        assert server.client.get(f"/jobs/{done_uid}/files/report.json").content == report
        resumed = wait_for(lambda: server.job(queued_uid), finished)
        interrupted = server.job(killed_uid)
        assert resumed["status"] == interrupted["status"] == "done", (resumed, interrupted)
        assert interrupted["attempts"] == 2 and interrupted["summary"]["rep_count"] > 0
        assert interrupted["finished_at"] < resumed["finished_at"]  # queue order kept
        history = server.client.get("/api/athletes/sam-lee").json()
        assert [p["id"] for p in history["trend"]] == [done_uid, killed_uid]
    finally:
        server.stop()
