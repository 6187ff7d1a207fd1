"""Integration: the real model on every labelled clip of ../shared/videos and ../shared/videos_new.

Tracks are extracted once per test session (conftest's shared_track). Under CI=true a
missing clips folder (either) fails instead of skipping.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import SHARED_FOLDERS, SHARED_VIDEOS, missing_data

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

DATA = Path(__file__).parent / "data"


def _label_rows(with_truth: bool | None = None) -> list:
    """Both folders' labels.csv rows as test parameters; with_truth filters on having a rep count."""
    params = []
    for folder in SHARED_FOLDERS:
        labels = folder / "labels.csv"
        if not labels.exists():
            # the shared_videos(_new) fixtures turn this into a skip, or a failure under CI=true
            params.append(pytest.param({"_folder": folder}, id=f"{folder.name}/labels-missing"))
            continue
        with open(labels, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if with_truth is not None:
            rows = [r for r in rows if bool(r["reps"]) == with_truth]
        params += [pytest.param({**row, "_folder": folder}, id=row["clip"]) for row in rows]
    return params


@pytest.fixture
def row(request, shared_videos):
    """The label row; a videos_new row needs that folder too (skip, or fail under CI=true)."""
    row = request.param
    if row["_folder"] != SHARED_VIDEOS:
        request.getfixturevalue("shared_videos_new")
    if "clip" not in row:  # the folder is there but not its labels
        missing_data(f"{row['_folder'] / 'labels.csv'} not found")
    return row


def _variant(row: dict) -> str:
    """The labelled variant's profile: "glute_bridge;banded" is a banded glute bridge."""
    return row["variant"].split(";")[0].strip()


def _codes(cell: str) -> set[str]:
    return {c.strip() for c in cell.replace(";", ",").split(",") if c.strip()}


@pytest.fixture(scope="module")
def analysed(shared_track):
    cache: dict[str, object] = {}

    def get(row: dict):
        if row["clip"] not in cache:
            cache[row["clip"]] = analyze_track(shared_track(row["clip"]), load_profile(_variant(row)))
        return cache[row["clip"]]

    return get


@pytest.mark.parametrize("row", _label_rows(with_truth=True), indirect=True)
def test_rep_count_within_the_accepted_range(row, analysed):
    result = analysed(row)
    lo, hi = int(row["reps_ok_min"]), int(row["reps_ok_max"])
    assert lo <= result.rep_count <= hi, f"{row['clip']}: counted {result.rep_count}, truth {row['reps']}"


def _known_misses(clip: str) -> set[str]:
    """Codes this clip is known to be wrongly flagged with, each with its open issue and evidence
    (tests/data/real_clip_known_misses.csv); tools/eval_faults.py still counts them as false."""
    with open(DATA / "real_clip_known_misses.csv", newline="", encoding="utf-8") as fh:
        return {r["code"] for r in csv.DictReader(fh) if r["clip"] == clip}


@pytest.mark.parametrize("row", _label_rows(), indirect=True)
def test_expected_faults_flagged_and_forbidden_ones_not(row, analysed):
    flagged = {f.code for f in analysed(row).faults}
    missing = _codes(row["expected_faults"]) - flagged
    wrong = _codes(row["must_not_flag"]) & flagged
    known = _known_misses(row["clip"])
    assert not missing, f"{row['clip']}: expected {sorted(missing)} to be flagged"
    assert not wrong - known, f"{row['clip']}: must not flag {sorted(wrong - known)}"
    fixed = sorted(known - wrong)
    assert not fixed, f"{row['clip']}: {fixed} no longer flagged: drop it from the known misses"


@pytest.mark.parametrize("row", _label_rows(with_truth=False), indirect=True)
def test_edited_clip_completes_and_marks_cuts(row, analysed):
    result = analysed(row)
    reasons = {s.reason for s in result.unusable}
    assert "hard_cut" in reasons, "an edited clip must show its hard cuts"
    assert "pose_not_usable" in reasons or "short_shot" in reasons
    assert result.usable_fraction < 0.9
    for rep in result.reps:  # no rep may straddle an unusable stretch
        for s in result.unusable:
            assert not (rep.start_s < s.start_s < rep.end_s and s.end_s < rep.end_s), (rep, s)


def test_cli_end_to_end_on_a_real_clip_and_track_replay(shared_videos, tmp_path, capsys):
    from formcheck import cli

    clip = shared_videos / "single_leg_glute_bridge_oblique_setup.mp4"
    if not clip.exists():
        missing_data(f"{clip.name} not in this shared folder")
    track, first, second = tmp_path / "t.npz", tmp_path / "a.json", tmp_path / "b.json"
    argv = ["analyze", str(clip), "--variant", "single_leg_glute_bridge", "--save-track", str(track)]
    assert cli.main([*argv, "--json", str(first)]) == 0
    err = capsys.readouterr().err
    assert "pose: " in err
    argv = ["analyze", "--track", str(track), "--variant", "single_leg_glute_bridge", "--json", str(second)]
    assert cli.main(argv) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["reps"] == b["reps"] and a["faults"] == b["faults"]
    assert a["summary"]["rep_count"] == 1


def _top_holds() -> dict[str, list[dict]]:
    """tests/data/top_hold_truth.csv: tops of real clips labelled by eye (top reached, descent start)."""
    with open(DATA / "top_hold_truth.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["clip"], []).append(r)
    return out


TOP_HOLDS = _top_holds()


@pytest.mark.parametrize("row", [p for p in _label_rows() if p.values[0].get("clip") in TOP_HOLDS],
                         indirect=True)
def test_labelled_tops_read_as_on_the_frames_and_a_hold_is_never_called_missing(row, analysed):
    """Each labelled top is one rep's top phase, within 0.15 s of the frames where under a second
    (the angle leaves a slow sag later than the hips' outline does), and no rep whose labelled top
    lasts min_top_pause_s is flagged no_top_pause."""
    from formcheck.fault_rules import NoTopPauseRule

    result = analysed(row)
    limit = load_profile(_variant(row)).rule(NoTopPauseRule).min_top_pause_s
    verdicts = {(r.rep, r.code): r for r in result.results}
    for label in TOP_HOLDS[row["clip"]]:
        fps = float(label["fps"])
        top, leave = int(label["top_reached"]) / fps, int(label["descent_start"]) / fps
        rep = min(result.reps, key=lambda r: abs(r.top_start_s - top) + abs(r.top_end_s - leave))
        assert rep.top_start_s < leave and rep.top_end_s > top, f"rep {label['rep']}: no rep at {top:.2f} s"
        if leave - top < 1.0:  # where the verdict turns on it (a 2 s hold with knee pulses reads 1.9-2.4)
            assert rep.top_pause_s == pytest.approx(leave - top, abs=0.15), f"rep {label['rep']}"
        if leave - top >= limit:
            assert verdicts[(rep.index, "no_top_pause")].status != "fail", f"rep {label['rep']}"
