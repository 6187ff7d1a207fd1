"""The phase truth of the real clips (tests/data/phase_truth.csv) is well-formed, agrees with
../shared/videos/labels.csv and the clips, and tools/phase_truth.py reproduces its "contour"
boundaries. Without the clips folder the clip tests skip, but FAIL under CI=true.
FORMCHECK_SHARED_VIDEOS overrides the folder (e.g. from a git worktree)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "tests" / "data" / "phase_truth.csv"
COLUMNS = ["clip", "rep", "drive_start", "top_reached", "descent_start", "bottom_reached", "fps",
           "source", "ambiguity_frames", "note"]
BOUNDS = COLUMNS[2:6]
# short clips the tool is rerun on (a few seconds each)
RERUN = ["glute_bridge_side_5reps.mp4", "single_leg_glute_bridge_oblique_setup.mp4",
         "hip_thrust_barbell_gym_portrait.mp4"]


def _rows() -> list[dict]:
    with open(TRUTH, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def _by_clip() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in _rows():
        out.setdefault(row["clip"], []).append(row)
    return out


def _frames(row: dict) -> list[int]:
    return [int(row[b]) for b in BOUNDS if row[b]]


def _eye(row: dict) -> set[str]:
    """Boundaries set by eye, from a source like "contour 5%; eye: top_reached, descent_start"."""
    parts = [p.strip() for p in row["source"].split(";")]
    eye = [p[len("eye:"):] for p in parts if p.startswith("eye:")]
    return {b.strip() for b in eye[0].split(",")} if eye else set()


@pytest.fixture(scope="module")
def videos(shared_videos: Path) -> Path:
    return shared_videos


@pytest.fixture(scope="module")
def labels(videos: Path) -> dict[str, dict]:
    with open(videos / "labels.csv", newline="", encoding="utf-8") as fh:
        return {r["clip"]: r for r in csv.DictReader(fh)}


def test_rows_are_well_formed():
    for row in _rows():
        where = f"{row['clip']} rep {row['rep']!r}"
        assert float(row["fps"]) > 0, where
        if not row["rep"]:  # a clip with no phase truth: nothing else, and why
            assert not any(row[b] for b in BOUNDS) and row["source"] == "none", where
            assert row["note"].startswith("no phase truth"), where
            continue
        assert int(row["rep"]) >= 0, where
        frames = _frames(row)
        assert len(frames) >= 2 and all(f >= 0 for f in frames), where
        assert frames == sorted(frames) and len(set(frames)) == len(frames), f"{where}: not increasing"
        assert row["source"].startswith("contour 5%"), where
        assert _eye(row) <= set(BOUNDS) and all(row[b] for b in _eye(row)), where
        for item in filter(None, row["ambiguity_frames"].split(";")):
            name, frames_ = item.split("=")
            assert name in BOUNDS and row[name] and int(frames_) > 2, f"{where}: {item}"
        missing = [b for b in BOUNDS if not row[b]]
        assert not missing or row["note"], f"{where}: missing {missing} without a note"


def test_reps_in_order_and_numbered():
    for clip, rows in _by_clip().items():
        if not rows[0]["rep"]:
            assert len(rows) == 1, clip
            continue
        reps = [int(r["rep"]) for r in rows]
        full = [n for n in reps if n > 0]
        assert full == list(range(1, len(full) + 1)), f"{clip}: reps {reps}"
        assert reps.count(0) <= 1 and (0 not in reps or reps[0] == 0), f"{clip}: a partial rep 0 comes first"
        for a, b in zip(rows, rows[1:], strict=False):
            assert _frames(a)[-1] <= _frames(b)[0], f"{clip}: rep {a['rep']} overlaps rep {b['rep']}"
        # a rep after the first/before the last must be complete
        for r in rows[1:-1]:
            assert all(r[b] for b in BOUNDS), f"{clip}: rep {r['rep']} inside the clip lacks a boundary"


def test_rep_counts_agree_with_labels(labels):
    truth = _by_clip()
    assert set(truth) == set(labels), "every labelled clip has phase truth or a no-truth row"
    for clip, rows in truth.items():
        label = labels[clip]
        if not label["reps"]:
            assert not rows[0]["rep"], f"{clip}: labels.csv gives no rep truth"
            continue
        full = sum(int(r["rep"]) > 0 for r in rows)
        assert full == int(label["reps"]), f"{clip}: {full} full reps, labels.csv {label['reps']}"
        assert int(label["reps_ok_min"]) <= len(rows) <= int(label["reps_ok_max"]), clip
        assert abs(float(rows[0]["fps"]) - float(label["fps"])) < 0.5, clip


def test_fps_and_frames_match_the_clips(videos):
    import cv2

    for clip, rows in _by_clip().items():
        cap = cv2.VideoCapture(str(videos / clip))
        fps, count = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        for row in rows:
            assert abs(float(row["fps"]) - fps) < 0.001, f"{clip}: fps {row['fps']} vs {fps:.3f}"
            assert all(f < count for f in _frames(row)), f"{clip}: frame beyond {count}"


def _tool():
    spec = importlib.util.spec_from_file_location("phase_truth_tool", ROOT / "tools" / "phase_truth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("clip", RERUN)
def test_tool_reproduces_the_contour_boundaries(clip, videos):
    tool = _tool()
    reps, _ = tool.measure(videos / clip, tool.load_settings()[clip])
    rows = _by_clip()[clip]
    assert len(reps) == len(rows), f"{clip}: tool found {len(reps)} reps, CSV has {len(rows)}"
    for rep, row in zip(reps, rows, strict=True):
        for b in BOUNDS:
            if b in _eye(row) or not row[b]:
                continue
            assert rep[b] is not None and abs(rep[b] - int(row[b])) <= 1, (
                f"{clip} rep {row['rep']} {b}: tool {rep[b]}, CSV {row[b]}")
