"""Bad video input through the real command: one clear line, a distinct exit code, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from formcheck.errors import (
    ClipTooShort,
    EmptyVideo,
    InputIsDirectory,
    InputNotFound,
    NoPersonDetected,
    NotAVideo,
    TruncatedVideo,
)

SAMPLE = Path(__file__).resolve().parents[1] / "sample_videos" / "hip_thrust_side_clean.mp4"


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", *args, "-q"],
        capture_output=True, text=True, timeout=300,
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int, words: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("formcheck: error: ") and words in lines[0]
    assert "Traceback" not in proc.stderr


def test_exit_codes_are_distinct():
    codes = [e.exit_code for e in (InputNotFound, InputIsDirectory, EmptyVideo, NotAVideo, TruncatedVideo,
                                   NoPersonDetected, ClipTooShort)]
    assert len(set(codes)) == len(codes) and 0 not in codes and 1 not in codes


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda d: d / "missing.mp4", InputNotFound, "missing.mp4"),
        (lambda d: d, InputIsDirectory, "director"),
        (lambda d: write(d / "empty.mp4", b""), EmptyVideo, "empty"),
        (lambda d: write(d / "notes.mp4", b"sets and reps\n" * 50), NotAVideo, "not a video"),
    ],
    ids=["missing", "directory", "zero-byte", "text-as-mp4"],
)
def test_unreadable_inputs(make, error, words, tmp_path):
    target = make(tmp_path)
    assert_one_line_error(analyze(str(target)), error.exit_code, words)


def test_truncated_clip_reports_what_decoded_and_says_so(tmp_path):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    report = tmp_path / "r.json"
    proc = analyze(str(cut), "--json", str(report))
    assert_one_line_error(proc, TruncatedVideo.exit_code, "ends early")
    # nothing that could be measured is lost: the table is printed and the JSON is written
    assert "set: " in proc.stdout
    facts = json.loads(report.read_text())
    assert facts["clip"]["truncated"] is True and facts["summary"]["rep_count"] >= 1


def test_clip_without_a_person(make_video):
    clip = make_video("nobody.mp4", n_frames=45, size=(320, 240))
    assert_one_line_error(analyze(str(clip)), NoPersonDetected.exit_code, "no person")


def test_clip_shorter_than_one_rep(tmp_path):
    import cv2

    src = cv2.VideoCapture(str(SAMPLE))
    fps = src.get(cv2.CAP_PROP_FPS)
    ok, frame = src.read()
    out = tmp_path / "blink.mp4"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, frame.shape[1::-1])
    for _ in range(8):  # a third of a second of a person lying ready
        writer.write(frame)
        ok, frame = src.read()
    writer.release()
    src.release()
    assert_one_line_error(analyze(str(out)), ClipTooShort.exit_code, "shorter than one rep")


def test_truncated_clip_still_gets_its_pictures(tmp_path):
    """A clip cut short through the slow outputs too: the page and the annotated clip cover what
    decoded, and the one error line is the truncation, not a drawing failure."""
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 55 // 100])
    page, video, report = tmp_path / "r.html", tmp_path / "a.mp4", tmp_path / "r.json"
    proc = analyze(str(cut), "--json", str(report), "--html", str(page), "--annotate", str(video))
    assert_one_line_error(proc, TruncatedVideo.exit_code, "ends early")
    facts = json.loads(report.read_text())
    assert facts["clip"]["truncated"] is True
    assert 'id="rep-count">' in page.read_text(encoding="utf-8")
    with av.open(str(video)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == facts["clip"]["frames"] * facts["clip"]["frame_stride"] > 0
