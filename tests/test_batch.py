"""Batch scoring: discovery by content, resume, track cache, bad files, crashes, executors.

Where the pose model is not the point, `fake_score` stands in for it (a synthetic 3-rep track);
the real model runs on a few 4-second cuts of the rendered sample clips.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from batchkit import (
    ROOT,
    SAMPLES,
    fake_clips,
    fake_score,
    never_called,
    read_summary,
    settings,
)

from formcheck import batch
from formcheck.batch import ClipTask
from formcheck.batch import progress as batch_progress
from formcheck.cache import TrackCache
from formcheck.errors import FormcheckError, NoClipsFound
from formcheck.files import atomic_write, atomic_write_text
from formcheck.io import mp4_duration, sniff

# ------------------------------------------------------------------ discovery


def test_sniff_knows_containers_by_their_first_bytes(tmp_path):
    cases = {
        "mp4": (SAMPLES / "hip_thrust_side_clean.mp4").read_bytes()[:64],
        "mkv": b"\x1a\x45\xdf\xa3" + bytes(60),
        "avi": b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(48),
        "ts": bytes([0x47] + [0] * 187) * 3,
        "m4a": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom",
        "wav": b"RIFF\x00\x10\x00\x00WAVEfmt " + bytes(48),
        "txt": b"ftyp is how an mp4 starts\n" * 4,
        "gif": b"GIF89a\x10\x00\x10\x00" + bytes(40),
        "gif87": b"GIF87a\x10\x00\x10\x00" + bytes(40),
    }
    got = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        got[name] = sniff(tmp_path / name)
    assert got == {"mp4": "mp4/mov", "mkv": "matroska/webm", "avi": "avi", "ts": "mpeg-ts", "m4a": None,
                   "wav": None, "txt": None, "gif": "gif", "gif87": "gif"}


def test_discovery_is_recursive_and_by_content(tmp_path):
    src = tmp_path / "clips"
    (src / "athlete_a" / "day1").mkdir(parents=True)
    shutil.copy(SAMPLES / "hip_thrust_side_clean.mp4", src / "athlete_a" / "day1" / "set1.mp4")
    shutil.copy(SAMPLES / "glute_bridge_side_clean.mp4", src / "athlete_a" / "renamed_mov")  # no extension
    (src / "notes.mp4").write_text("not a video\n")  # a video's name: tried, then reported
    (src / "labels.csv").write_text("clip,reps\n")  # neither: ignored
    (src / "._set1.mp4").write_bytes(b"\x00\x05\x16\x07")  # macOS fork: hidden, ignored
    (src / ".cache").mkdir()
    shutil.copy(SAMPLES / "hip_thrust_side_clean.mp4", src / ".cache" / "copy.mp4")
    out = src / "results"  # an output folder inside the input is not searched
    out.mkdir()
    shutil.copy(SAMPLES / "hip_thrust_side_clean.mp4", out / "old.mp4")
    found = batch.discover([src], exclude=[out])
    assert sorted(c.name for c in found.clips) == [
        "clips/athlete_a/day1/set1.mp4", "clips/athlete_a/renamed_mov", "clips/notes.mp4"
    ]
    assert found.ignored == 1


def test_discovery_keeps_names_apart_and_files_once(tmp_path):
    a, b = fake_clips(tmp_path / "a", ["clip.mp4"])[0], fake_clips(tmp_path / "b", ["clip.mp4"])[0]
    found = batch.discover([a, b, a])
    names = [c.name for c in found.clips]
    assert len(names) == 2 and len(set(names)) == 2 and all(n.startswith("clip.mp4~") for n in names)


def test_mp4_duration_from_the_header():
    clip = SAMPLES / "hip_thrust_side_clean.mp4"
    assert mp4_duration(clip) == pytest.approx(380 / 24.0, abs=0.1)
    assert mp4_duration(ROOT / "README.md") is None


# ------------------------------------------------------------------ resume, cache, results


def test_rerun_skips_what_is_scored_and_rescoring_skips_the_model(tmp_path):
    clips = fake_clips(tmp_path / "in", ["a.mp4", "b.mp4", "sub/c.mov"])
    out = tmp_path / "out"
    first = batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=fake_score,
                            progress="off")
    assert first.exit_code == 0 and first.scored == 3 and first.earlier == 0
    docs = {p.name: json.loads(p.read_text()) for p in out.rglob("*.json")}
    assert set(docs) == {"a.mp4.json", "b.mp4.json", "c.mov.json"}
    assert all(d["schema"] == "formcheck.report/1" and d["batch"]["status"] == "ok" for d in docs.values())
    assert len(list((out / ".tracks").glob("*.npz"))) == 3

    again = batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=never_called,
                            progress="off")
    assert again.earlier == 3 and again.scored == 0
    assert all(r["from_earlier_run"] for r in again.rows)

    clips[0].write_bytes(clips[0].read_bytes() + b"changed")  # new bytes: scored again
    changed = batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=fake_score,
                              progress="off")
    assert changed.scored == 1 and changed.earlier == 2

    rescored = batch.run_batch([tmp_path / "in"], out, settings("glute_bridge"), executor="inline",
                               task_fn=never_called, progress="off")  # the model never runs again
    assert rescored.from_cache == 3 and rescored.scored == 0 and rescored.exit_code == 0
    rows = read_summary(out)
    assert {r["variant"] for r in rows.values()} == {"glute_bridge"}
    assert json.loads((out / "in/a.mp4.json").read_text())["batch"]["track_from_cache"] is True


def test_auto_variant_is_detected_per_clip_and_named_in_the_summary(tmp_path):
    fake_clips(tmp_path / "in", ["a.mp4"])
    res = batch.run_batch([tmp_path / "in"], tmp_path / "out", settings("auto"), executor="inline",
                          task_fn=fake_score, progress="off")
    doc = json.loads((tmp_path / "out/in/a.mp4.json").read_text())
    assert doc["variant"]["detected"]["name"] == doc["variant"]["name"] == res.rows[0]["variant"]
    assert doc["batch"]["variant"] == "auto"


def test_settings_hash_follows_profile_contents(tmp_path):
    base = json.loads((ROOT / "src/formcheck/profiles/hip_thrust.json").read_text())
    (tmp_path / "mine.json").write_text(json.dumps(base))
    base.setdefault("reps", {})["min_rep_s"] = 0.9
    (tmp_path / "stricter.json").write_text(json.dumps(base))
    hashes = {settings(str(tmp_path / n)).sha256 for n in ("mine.json", "stricter.json")}
    assert len(hashes) == 2 and settings("hip_thrust").sha256 == settings("hip_thrust").sha256


def test_a_worker_with_other_code_refuses(tmp_path):
    clip = fake_clips(tmp_path, ["a.mp4"])[0]
    task = ClipTask(str(clip), str(clip), dataclasses.replace(settings(), code_sha256="0" * 64),
                    check_code=True)
    out = batch.score_clip(task)
    assert out.status == "failed" and "is not the driver's" in out.error


def test_identical_clips_run_the_model_once(tmp_path):
    a = fake_clips(tmp_path / "in", ["a.mp4"])[0]
    shutil.copy(a, tmp_path / "in" / "copy_of_a.mp4")
    calls = []

    def counting(task):
        calls.append(task.source)
        return fake_score(task)

    res = batch.run_batch([tmp_path / "in"], tmp_path / "out", settings(), executor="inline",
                          task_fn=counting, progress="off")
    assert len(calls) == 1 and res.scored == 1 and res.from_cache == 1
    doc = json.loads((tmp_path / "out/in/copy_of_a.mp4.json").read_text())
    assert doc["source"].endswith("copy_of_a.mp4")


def test_summary_has_one_row_per_clip_with_the_asked_columns(tmp_path):
    fake_clips(tmp_path / "in", ["a.mp4", "b.mp4"])
    (tmp_path / "in" / "bad.mp4").write_text("no video here\n")
    res = batch.run_batch([tmp_path / "in"], tmp_path / "out", settings(), executor="inline",
                          task_fn=batch.score_clip, cache_dir=tmp_path / "tracks", progress="off")
    rows = read_summary(tmp_path / "out")
    assert set(rows) == {"in/a.mp4", "in/b.mp4", "in/bad.mp4"}
    for column in ("status", "variant", "view", "reps", "faults", "score", "seconds", "error"):
        assert column in rows["in/a.mp4"]
    bad = rows["in/bad.mp4"]
    assert bad["status"] == "failed" and bad["error_code"] == "13" and "not a video" in bad["error"]
    # the fake mp4 headers are not decodable either: every clip fails, each with its own line
    assert res.exit_code == batch.EXIT_SOME_FAILED and res.failed == 3


def test_failed_clips_are_not_retried_unless_asked(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.mp4").write_text("no video here\n")
    out = tmp_path / "out"
    batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", progress="off")
    again = batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=never_called,
                            progress="off")
    assert again.earlier == 1 and again.exit_code == batch.EXIT_SOME_FAILED
    with pytest.raises(AssertionError, match="pose model was asked"):
        batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=never_called,
                        retry_failed=True, progress="off")


def test_a_damaged_cached_track_is_recomputed(tmp_path):
    fake_clips(tmp_path / "in", ["a.mp4"])
    out = tmp_path / "out"
    batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=fake_score, progress="off")
    (npz,) = (out / ".tracks").glob("*.npz")
    npz.write_bytes(b"garbage")
    res = batch.run_batch([tmp_path / "in"], out, settings("glute_bridge"), executor="inline",
                          task_fn=fake_score, progress="off")
    assert res.scored == 1 and TrackCache(out / ".tracks").get(npz.stem) is not None


def test_atomic_write_leaves_the_old_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_results_are_readable_like_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_stale_temps_are_cleared_and_a_second_writer_is_refused(tmp_path):
    fake_clips(tmp_path / "in", ["a.mp4"])
    out = tmp_path / "out"
    (out / "in").mkdir(parents=True)
    stale = out / "in" / ".a.mp4.json.x1y2.tmp"
    stale.write_text('{"half": ')
    batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=fake_score, progress="off")
    assert not stale.exists()
    with open(out / batch.LOCK_NAME, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(FormcheckError, match="another formcheck batch"):
            batch.run_batch([tmp_path / "in"], out, settings(), executor="inline", task_fn=fake_score)


def test_nothing_to_score_is_an_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello\n")
    with pytest.raises(NoClipsFound, match="1 other file"):
        batch.run_batch([tmp_path / "in"], tmp_path / "out", settings(), executor="inline")


def test_progress_shows_an_eta(tmp_path, capsys):
    fake_clips(tmp_path / "in", ["a.mp4", "b.mp4"])
    batch.run_batch([tmp_path / "in"], tmp_path / "o1", settings(), executor="inline", task_fn=fake_score,
                    progress="lines")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("[1/2] in/") and "ETA" in lines[0]
    batch.run_batch([tmp_path / "in"], tmp_path / "o2", settings(), executor="inline", task_fn=fake_score,
                    progress="bar")
    err = capsys.readouterr().err
    assert "2/2" in err and "clip" in err and "<" in err  # tqdm: elapsed<remaining


def test_eta_counts_clips_by_their_expected_work(monkeypatch, capsys):
    clock = iter([0.0, 90.0])  # the start, then when the long clip is done
    monkeypatch.setattr(batch_progress.time, "monotonic", lambda: next(clock))
    progress = batch.Progress({"long.mp4": 90.0, "short.mp4": 10.0}, "lines")
    progress.update({"clip": "long.mp4", "status": "ok", "reps": 3, "score": 90.0, "seconds": 90.0})
    assert "[1/2] long.mp4: ok" in (err := capsys.readouterr().err) and "ETA 0:10" in err


# ------------------------------------------------------------------ local processes


def test_a_clip_that_kills_its_worker_is_recorded_and_the_rest_are_scored(tmp_path):
    fake_clips(tmp_path / "in", ["a.mp4", "crash1.mp4", "b.mp4", "crash2.mp4", "c.mp4", "d.mp4"])
    res = batch.run_batch([tmp_path / "in"], tmp_path / "out", settings(), jobs=2, executor="local",
                          task_fn=fake_score, progress="off")
    status = {r["clip"].removeprefix("in/"): (r["status"], r["error"]) for r in res.rows}
    assert {name for name, (st, _) in status.items() if st == "ok"} == {"a.mp4", "b.mp4", "c.mp4", "d.mp4"}
    for name in ("crash1.mp4", "crash2.mp4"):
        assert status[name][0] == "failed" and "worker process died" in status[name][1]
    assert res.exit_code == batch.EXIT_SOME_FAILED


def test_bad_files_through_the_command(tmp_path, short_clips, make_video):
    """Every kind of bad input is recorded with its error; the good clip is scored; exit 4."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(short_clips[0], src / "good.mp4")
    shutil.copy(short_clips[1], src / "good_renamed")  # found by content
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mp4").write_text("sets and reps\n" * 40)
    data = short_clips[2].read_bytes()
    (src / "cut_short.mp4").write_bytes(data[: len(data) // 2])
    shutil.copy(make_video("grey.mp4", n_frames=20), src / "nobody.mp4")
    huge = cv2.VideoWriter(str(src / "huge.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, (8000, 6000))
    huge.write(np.zeros((6000, 8000, 3), np.uint8))
    huge.release()
    (src / "README.txt").write_text("ignored\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "batch", str(src), "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == batch.EXIT_SOME_FAILED, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_summary(out)
    assert set(rows) == {f"in/{n}" for n in ("good.mp4", "good_renamed", "empty.mp4", "notes.mp4",
                                              "cut_short.mp4", "nobody.mp4", "huge.avi")}
    got = {name.removeprefix("in/"): (r["status"], r["error_code"]) for name, r in rows.items()}
    assert got["good.mp4"] == ("ok", "") and got["good_renamed"] == ("ok", "")
    assert got["empty.mp4"] == ("failed", "12") and got["notes.mp4"] == ("failed", "13")
    assert got["cut_short.mp4"][1] == "14"  # truncated: scored as far as it decodes, or not at all
    assert got["nobody.mp4"] == ("failed", "16") and got["huge.avi"] == ("failed", "21")
    assert "8000x6000" in rows["in/huge.avi"]["error"]
    failures = [line for line in proc.stderr.splitlines() if line.startswith("formcheck: ")]
    assert len(failures) == 5
    assert "7 clips: 2 ok, 5 failed" in proc.stdout
