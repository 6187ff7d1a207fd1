"""Live mode agrees with `formcheck analyze` on every labelled real clip (../shared/videos).

Each clip is fed as a camera would (`--source CLIP --realtime --headless`), with the real model.
What live counted and judged must equal what `formcheck analyze` finds:
- always on the frames live processed (`analyze --track` of the session's saved track), and the
  rep count on the clip itself;
- on the clip itself, rep by rep with the fault codes, when no frame was dropped. A busy machine
  can make a camera-paced run drop frames (they get no pose, as with a real camera); the clip is
  then fed once more without pacing (`--source CLIP`, nothing dropped) and that run must equal
  `analyze` exactly, so every clip is checked in full whatever the machine's load.
Under CI=true a missing clip fails (conftest.shared_videos and the check below).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import missing_data
from test_real_clips import _label_rows, _variant

from formcheck import cli


def _reps(report: dict) -> list[tuple[int, list[str]]]:
    return [(r["rep"], sorted(r["faults"])) for r in report["reps"]]


def _live_reps(doc: dict) -> list[tuple[int, list[str]]]:
    return [(r["rep"], sorted(r["faults"])) for r in doc["live_reps"]]


def _analyze(args: list[str], out: Path) -> dict:
    assert cli.main(["analyze", *args, "--json", str(out), "-q"]) == 0
    return json.loads(out.read_text())


def _live(clip: Path, variant: str, out: Path, realtime: bool) -> tuple[dict, dict]:
    argv = ["live", "--source", str(clip), "--headless", "--variant", variant, "--out", str(out)]
    assert cli.main([*argv, "--realtime"] if realtime else argv) == 0
    return json.loads((out / "session.json").read_text()), json.loads((out / "report.json").read_text())


# live and analyze are known to differ here (issue 18, open); each case still runs and reports
KNOWN_DIFFERENCES = {
    # (the captioned set-up clip agrees since 4 December: its set alone reads as a side view, width
    # ratio 0.238, where side views and 30 deg obliques read alike, so the dumbbell on the hips
    # leaves the lockout unjudged in live as in analyze, whose whole clip reads oblique)
    # since the bottom is read from the hips' height, analyze no longer flags rep 4's quick drop
    # (0.41 s before); live's analysis still does: analyze's two pose shares (the clip's plan;
    # `analyze --single-stream`, live's one stream, flags it too)
    "glute_bridge_banded_abduction_pulses_portrait.mp4": "rep 4's descent: live rushed_descent, analyze not",
    # (analyze's two pose shares again: `--single-stream` gives live's verdicts)
    # no_top_pause on the top phase (pause19): rep 3's rounded top reads 0.28 s at the top, 0.16 still
    # on analyze's two pose shares (a fault: under 0.4 and 0.2) and 0.36 / 0.25 on live's one stream
    # (not judged); the clip's label accepts no_top_pause (tests/data/real_clip_acceptable.csv)
    "glute_bridge_side_5reps.mp4": "rep 3's top at no_top_pause's lines: analyze flags it, live does not",
}


@pytest.mark.parametrize("row", _label_rows())
def test_live_counts_and_faults_agree_with_analyze(row, shared_videos, tmp_path, capsys, request):
    if "clip" not in row:  # that folder's labels are missing
        missing_data(f"{row['_folder'] / 'labels.csv'} not found")
    if row["clip"] in KNOWN_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(reason=f"issue 18: {KNOWN_DIFFERENCES[row['clip']]}"))
    clip = row["_folder"] / row["clip"]
    if not clip.exists():
        missing_data(f"{clip} not found")
    variant = _variant(row)
    # live analyses the frames analyze does: every 2nd of a 60 fps clip (or camera), else every one
    expected = _analyze([str(clip), "--variant", variant], tmp_path / "analyze.json")

    doc, report = _live(clip, variant, tmp_path / "rt", realtime=True)
    frames = doc["frames"]
    stride = expected["clip"]["frame_stride"]
    assert doc["ended_by"] == "end_of_clip" and frames["recorded"] == expected["clip"]["frames"]
    assert frames["analysed_every"] == stride and -(-frames["captured"] // stride) == frames["recorded"]
    assert frames["processed"] + frames["dropped"] == frames["recorded"]
    assert 0 <= frames["bridged"] <= frames["dropped"]  # only drops are interpolated, never "no person"
    assert doc["set"]["counting_started"]
    first = min((r["start_s"] for r in expected["reps"]), default=None)
    assert first is None or doc["set"]["start_s"] <= first, "counting started after the first rep"
    on_processed = _analyze(
        ["--track", str(tmp_path / "rt" / "track.npz"), "--variant", variant], tmp_path / "t.json"
    )
    assert _live_reps(doc) == _reps(report) == _reps(on_processed)
    assert len(doc["live_reps"]) == expected["summary"]["rep_count"], f"{frames['dropped']} frames dropped"

    if frames["dropped"]:
        doc, report = _live(clip, variant, tmp_path / "lossless", realtime=False)
        assert doc["frames"]["dropped"] == 0
    assert _live_reps(doc) == _reps(report) == _reps(expected)
    assert "live:" in capsys.readouterr().out
