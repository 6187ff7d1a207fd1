"""The web app's database rows: a job's fault counts are a mapping, also for rows written before."""

from __future__ import annotations

from sqlalchemy import text

from formcheck.web.db import Database
from formcheck.web.models import Job


def test_fault_counts_are_stored_as_a_mapping_and_older_rows_still_read(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    athlete = db.athlete("Ana", coach_id=1)
    db.add_clip("a" * 64, 10, "mp4/mov", "set.mp4")
    new = db.create_job(athlete, "a" * 64, "set.mp4", "auto")
    old = db.create_job(athlete, "a" * 64, "set.mp4", "auto")
    with db.session() as s:
        s.get(Job, new.id).faults = {"no_top_pause": 2, "rushed_descent": 1}
        # a row as the app wrote it before the typed column: "code:n;code:n"
        legacy = text("UPDATE jobs SET faults = 'incomplete_lockout:3;knee_cave:1' WHERE id = :i")
        s.execute(legacy, {"i": old.id})
    with db.session() as s:
        assert s.get(Job, new.id).faults == {"no_top_pause": 2, "rushed_descent": 1}
        assert s.get(Job, old.id).faults == {"incomplete_lockout": 3, "knee_cave": 1}
        stored = s.execute(text("SELECT faults FROM jobs WHERE id = :i"), {"i": new.id}).scalar_one()
    assert stored == '{"no_top_pause":2,"rushed_descent":1}'
    db.close()
