import json
import subprocess
import sys

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck import cli
from formcheck.errors import ClipTooShort, InputNotFound, NoPersonDetected
from formcheck.track import PoseTrack


@pytest.fixture
def track_file(tmp_path):
    path = tmp_path / "set.npz"
    plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=1.0).save(path)
    return path


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_track_reanalysis_prints_table_and_writes_reports(track_file, tmp_path, capsys):
    js, cs = tmp_path / "r.json", tmp_path / "r.csv"
    code, out, err = run(["analyze", "--track", str(track_file), "--json", str(js), "--csv", str(cs)], capsys)
    assert code == 0 and err == ""
    assert "rep  start" in out and "set: 3 reps" in out and "incomplete_lockout" in out
    data = json.loads(js.read_text())
    assert data["schema"] == "formcheck.report/1" and data["summary"]["rep_count"] == 3
    assert cs.read_text().count("\n") == 4


def test_variant_option_selects_the_profile(track_file, tmp_path, capsys):
    js = tmp_path / "r.json"
    code, out, _ = run(
        ["analyze", "--track", str(track_file), "--variant", "glute_bridge", "--json", str(js)], capsys
    )
    assert code == 0 and json.loads(js.read_text())["variant"]["name"] == "glute_bridge"


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["analyze", "--track", "{tmp}/nope.npz"], InputNotFound.exit_code, "no such track file"),
        (["analyze", "--track", "{track}", "--variant", "squat"], 2, "unknown variant 'squat'"),
        (["analyze"], 2, "needs a CLIP or --track"),
        (
            ["analyze", "--track", "{track}", "--json", "{tmp}/no/dir/r.json"],
            cli.OutputError.exit_code,
            "cannot write",
        ),
    ],
)
def test_errors_are_one_line_with_their_exit_code(argv, code, words, track_file, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, track=track_file) for a in argv]
    got, out, err = run(argv, capsys)
    assert got == code
    assert err.count("\n") == 1 and err.startswith("formcheck: error: ") and words in err
    assert "Traceback" not in err


def test_results_written_before_a_failure_are_kept(track_file, tmp_path, capsys):
    saved, js = tmp_path / "copy.npz", tmp_path / "r.json"
    argv = ["analyze", "--track", str(track_file), "--save-track", str(saved), "--json", str(js)]
    argv += ["--csv", str(tmp_path / "missing" / "r.csv")]
    code, _, err = run(argv, capsys)
    assert code == cli.OutputError.exit_code and "r.csv" in err
    assert PoseTrack.load(saved).n_frames > 0
    assert json.loads(js.read_text())["summary"]["rep_count"] == 3


def test_clip_path_runs_extraction_with_progress_and_saves_the_track(monkeypatch, tmp_path, capsys):
    from formcheck import pipeline

    synthetic = plan_track(RepPlan(reps=2), noise_px=1.0)
    seen = {}

    def fake_extract(path, progress=None, model_path=None, **kw):
        seen["path"], seen["model"] = str(path), model_path
        for i in range(1, synthetic.n_frames + 1):
            progress(i, synthetic.n_frames)
        return synthetic

    monkeypatch.setattr(pipeline, "extract_track", fake_extract)
    monkeypatch.setattr(pipeline, "check_frame_size", lambda *a, **k: None)  # there is no clip.mp4
    saved = tmp_path / "t.npz"
    code, out, err = run(["analyze", "clip.mp4", "--model", "m.task", "--save-track", str(saved)], capsys)
    assert code == 0 and seen == {"path": "clip.mp4", "model": "m.task"}
    assert "pose: " in err and "100%" in err
    assert "set: 2 reps" in out
    assert np.allclose(PoseTrack.load(saved).image, synthetic.image, equal_nan=True)


def test_empty_and_too_short_tracks_are_clear_errors(tmp_path, capsys):
    short = plan_track(RepPlan(reps=1))
    cut = PoseTrack(
        image=short.image[:10],
        world=short.world[:10],
        visibility=short.visibility[:10],
        timestamps=short.timestamps[:10],
        fps=short.fps,
        width=short.width,
        height=short.height,
    )
    cut.save(tmp_path / "short.npz")
    code, _, err = run(["analyze", "--track", str(tmp_path / "short.npz")], capsys)
    assert code == ClipTooShort.exit_code and "shorter than one rep" in err
    empty = PoseTrack(
        image=np.full_like(short.image, np.nan),
        world=np.full_like(short.world, np.nan),
        visibility=np.zeros_like(short.visibility),
        timestamps=short.timestamps,
        fps=short.fps,
        width=short.width,
        height=short.height,
    )
    empty.save(tmp_path / "empty.npz")
    code, _, err = run(["analyze", "--track", str(tmp_path / "empty.npz")], capsys)
    assert code == NoPersonDetected.exit_code and err.count("\n") == 1


def test_module_entry_point_exits_with_the_error_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", "--track", str(tmp_path / "x.npz")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == InputNotFound.exit_code
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("formcheck: error:")


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_workers_must_be_a_positive_count(value, track_file, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["analyze", "--track", str(track_file), "--workers", value])
    assert caught.value.code == 2
    assert "--workers: expected a whole number of at least 1" in capsys.readouterr().err
