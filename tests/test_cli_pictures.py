"""`formcheck analyze ... --annotate F --html F`: the outputs a person looks at, through the command."""

import json

import av
import pytest
from clips import clip_for
from synthetic import RepPlan, plan_track

from formcheck import cli


@pytest.fixture
def track_and_clip(tmp_path):
    track = plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=1.0)
    path = tmp_path / "set.npz"
    track.save(path)
    return track, path, clip_for(track, tmp_path / "set.mp4")


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_track_and_clip_give_the_annotated_clip_and_the_report(track_and_clip, tmp_path, capsys):
    track, saved, clip = track_and_clip
    video, page = tmp_path / "a.mp4", tmp_path / "r.html"
    code, out, err = run(["analyze", clip, "--track", saved, "--annotate", video, "--html", page], capsys)
    assert code == 0 and err == "" and "set: 3 reps" in out
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 30
        assert sum(1 for _ in container.decode(stream)) == track.n_frames
    text = page.read_text(encoding="utf-8")
    assert 'id="rep-count">3<' in text and text.count("<img") == text.count('class="fault"') > 0


def test_html_from_a_track_alone_says_key_frames_are_unavailable(track_and_clip, tmp_path, capsys):
    _, saved, _ = track_and_clip
    page = tmp_path / "r.html"
    code, _, err = run(["analyze", "--track", saved, "--html", page], capsys)
    assert code == 0 and err == ""
    assert "key frames need the video" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        (["--track", "{saved}", "--annotate", "{tmp}/a.mp4"], 2, "--annotate needs the CLIP"),
        (["{clip}", "--annotate", "{clip}"], 2, "would overwrite the input clip"),
        (["{other}", "--track", "{saved}", "--annotate", "{tmp}/a.mp4"], 2, "is not the clip the track"),
        (
            ["{clip}", "--track", "{saved}", "--annotate", "{tmp}/no/dir/a.mp4"],
            20,
            "cannot write annotated video",
        ),
        (["--track", "{saved}", "--html", "{tmp}/no/dir/r.html"], 20, "cannot write HTML report"),
    ],
)
def test_bad_picture_outputs_are_one_line_errors(extra, code, words, track_and_clip, tmp_path, capsys):
    _, saved, clip = track_and_clip
    other = clip_for(plan_track(RepPlan(reps=1)), tmp_path / "other.mp4")
    argv = ["analyze"] + [a.format(tmp=tmp_path, saved=saved, clip=clip, other=other) for a in extra]
    got, _, err = run(argv, capsys)
    assert got == code
    assert err.count("\n") == 1 and err.startswith("formcheck: error: ") and words in err
    assert "Traceback" not in err


def test_reports_written_before_a_failing_video_are_kept(track_and_clip, tmp_path, capsys):
    _, saved, clip = track_and_clip
    js, page = tmp_path / "r.json", tmp_path / "r.html"
    argv = [
        "analyze",
        clip,
        "--track",
        saved,
        "--json",
        js,
        "--html",
        page,
        "--annotate",
        tmp_path / "x" / "a.mp4",
    ]
    code, out, err = run(argv, capsys)
    assert code == cli.OutputError.exit_code and "a.mp4" in err
    assert json.loads(js.read_text())["summary"]["rep_count"] == 3
    assert 'id="rep-count">3<' in page.read_text(encoding="utf-8") and "set: 3 reps" in out
    assert not list(tmp_path.glob("*.tmp"))
