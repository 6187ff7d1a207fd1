"""The inbox folder per coach (`--inbox-per-coach`): INBOX/<coach login>/<athlete>/ files each clip
under that coach's own athlete, another coach never sees it, and a folder naming no coach waits."""

from __future__ import annotations

import os
import time
import warnings

import pytest
from test_web_support import CLEAN, RUSHED, add_coach, files_under, settings_for

from formcheck import cli
from formcheck.web import accounts
from formcheck.web.app import create_app
from formcheck.web.inbox import Inbox

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient



def test_each_coachs_folder_files_clips_under_that_coachs_athletes(tmp_path):
    inbox_dir = tmp_path / "inbox"
    settings = settings_for(tmp_path / "data", job_workers=0, inbox=inbox_dir, inbox_per_coach=True)
    for folder in ("Ana/Sam Lee", "ben@example.com/Sam Lee", "Nobody/Sam Lee"):
        (inbox_dir / folder).mkdir(parents=True)
    with TestClient(create_app(settings)) as client:
        db = client.app.state.ctx.db
        tokens = {"Ana": add_coach(db, "Ana"), "Ben": add_coach(db, "Ben")}
        with db.session() as s:  # Ben's folder is named by his email
            from formcheck.web.accounts import User

            s.query(User).filter(User.name == "Ben").update({"email": "ben@example.com"})
        (inbox_dir / "Ana" / "Sam Lee" / "set 1.mp4").write_bytes(CLEAN.read_bytes())
        (inbox_dir / "ben@example.com" / "Sam Lee" / "set 1.mp4").write_bytes(RUSHED.read_bytes())
        (inbox_dir / "Nobody" / "Sam Lee" / "x.mp4").write_bytes(CLEAN.read_bytes())
        (inbox_dir / "Ana" / "loose.mp4").write_bytes(CLEAN.read_bytes())  # no athlete folder: left alone
        inbox = Inbox(inbox_dir, db, settings)
        assert inbox.scan() == []  # first sight: nothing has settled yet
        outcomes = {o.path.relative_to(inbox_dir).as_posix(): o for o in inbox.scan()}
        ana, ben = "Ana/Sam Lee/set 1.mp4", "ben@example.com/Sam Lee/set 1.mp4"
        nobody = "Nobody/Sam Lee/x.mp4"
        assert set(outcomes) == {ana, ben, nobody}
        assert "no coach 'Nobody'" in outcomes["Nobody/Sam Lee/x.mp4"].refused
        seen = {}
        for coach, key in (("Ana", "Ana/Sam Lee/set 1.mp4"), ("Ben", "ben@example.com/Sam Lee/set 1.mp4")):
            auth = {"authorization": f"Bearer {tokens[coach]}"}
            job = client.get(f"/api/jobs/{outcomes[key].job}", headers=auth).json()
            assert (job["athlete"], job["status"]) == ("Sam Lee", "queued")
            seen[coach] = [j["id"] for j in client.get("/api/jobs", headers=auth).json()]
        assert seen == {"Ana": [outcomes["Ana/Sam Lee/set 1.mp4"].job],
                        "Ben": [outcomes["ben@example.com/Sam Lee/set 1.mp4"].job]}  # fmt: skip
        other = {"authorization": f"Bearer {tokens['Ben']}"}
        assert client.get(f"/api/jobs/{outcomes[ana].job}", headers=other).status_code == 404
        # the coach "Nobody" is made later: their waiting clip is taken at the next scans
        add_coach(db, "Nobody")
        inbox.scan()
        (late,) = inbox.scan()
        assert late.job and late.path.name == "x.mp4"
    left = files_under(inbox_dir)
    assert "Ana/loose.mp4" in left
    assert [p.split("/")[:3] for p in left if p.startswith(".imported")] == [
        [".imported", "Ana", "Sam Lee"], [".imported", "Nobody", "Sam Lee"],
        [".imported", "ben@example.com", "Sam Lee"]]  # fmt: skip


def test_a_removed_coachs_folder_takes_nothing_more(tmp_path):
    inbox_dir = tmp_path / "inbox"
    settings = settings_for(tmp_path / "data", job_workers=0, inbox=inbox_dir, inbox_per_coach=True)
    (inbox_dir / "Ana" / "Sam Lee").mkdir(parents=True)
    with TestClient(create_app(settings)) as client:
        db = client.app.state.ctx.db
        add_coach(db, "Admin")
        add_coach(db, "Ana")
        accounts.deactivate(db, accounts.find_user(db, "Ana").id)
        (inbox_dir / "Ana" / "Sam Lee" / "set 1.mp4").write_bytes(CLEAN.read_bytes())
        inbox = Inbox(inbox_dir, db, settings)
        inbox.scan()
        (waiting,) = inbox.scan()
        assert waiting.job is None and "no coach 'Ana'" in waiting.refused
        assert db.jobs() == []
    assert files_under(inbox_dir) == ["Ana/Sam Lee/set 1.mp4"]  # left where it is


def test_per_coach_needs_an_inbox_and_replaces_the_inbox_coach(tmp_path, capsys):
    base = ["serve", "--data", str(tmp_path / "d"), "--inbox-per-coach"]
    assert cli.main(base) != 0
    assert "--inbox-per-coach needs --inbox" in capsys.readouterr().err
    assert cli.main([*base, "--inbox", str(tmp_path / "in"), "--inbox-coach", "Ana"]) != 0
    assert "replaces --inbox-coach" in capsys.readouterr().err


def test_a_file_read_again_after_a_crash_is_one_job(tmp_path, monkeypatch):
    """The server dies after the job is made but before the file is moved aside: the next server
    reads the file again and finds the same job; a new file is a new job."""
    inbox_dir = tmp_path / "inbox"
    settings = settings_for(tmp_path / "data", job_workers=0, inbox=inbox_dir)
    (inbox_dir / "Sam Lee").mkdir(parents=True)
    clip = inbox_dir / "Sam Lee" / "set 1.mp4"
    clip.write_bytes(CLEAN.read_bytes())
    with TestClient(create_app(settings)) as client:
        db = client.app.state.ctx.db
        auth = {"authorization": f"Bearer {add_coach(db, 'Ana')}"}

        def killed(*_args) -> None:
            raise SystemExit("kill -9")  # the process ends here: the file stays where it was

        crashing = Inbox(inbox_dir, db, settings)
        monkeypatch.setattr(Inbox, "_move", killed)
        crashing.scan()
        with pytest.raises(SystemExit):
            crashing.scan()
        monkeypatch.undo()
        (first,) = client.get("/api/jobs", headers=auth).json()
        assert clip.exists()

        again = Inbox(inbox_dir, db, settings)  # the next server
        again.scan()
        (retaken,) = again.scan()
        assert retaken.job == first["id"] and not clip.exists()
        assert [j["id"] for j in client.get("/api/jobs", headers=auth).json()] == [first["id"]]

        clip.write_bytes(CLEAN.read_bytes())  # the same clip dropped again later: a new session
        os.utime(clip, ns=(time.time_ns() + 10**9,) * 2)
        again.scan()
        (new,) = again.scan()
        assert new.job not in (None, first["id"])
        assert len(client.get("/api/jobs", headers=auth).json()) == 2
