from fractions import Fraction

import cv2
import numpy as np
import pytest

from formcheck import h264
from formcheck.io import open_video


def _frames(n: int, width: int = 64, height: int = 48):
    for i in range(n):
        frame = np.full((height, width, 3), 128, np.uint8)
        frame[:, : width // 2] = (220, 30, 30)
        frame[:8, :8] = 8 * (i % 30)
        yield cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)


def test_colours_survive_the_round_trip(tmp_path):
    """BT.601 limited range is produced and tagged, so red stays red and grey stays grey."""
    writer = h264.H264Writer(tmp_path / "c.mp4", 64, 48, 25.0)
    frame = np.full((48, 64, 3), 128, np.uint8)
    frame[:, :32] = (220, 30, 30)
    for _ in range(5):
        writer.write(frame)
    writer.close()
    with open_video(tmp_path / "c.mp4") as reader:
        back = next(iter(reader)).astype(int)
    assert np.abs(back[24, 8] - (220, 30, 30)).max() <= 12
    assert np.abs(back[24, 56] - 128).max() <= 6


def test_frame_rate_fractions():
    assert h264.frame_rate(30000 / 1001) == Fraction(30000, 1001)
    assert h264.frame_rate(924 / 31) == Fraction(924, 31)
    assert h264.frame_rate(24.0) == 24


def test_odd_sizes_are_refused():
    with pytest.raises(ValueError, match="even size"):
        h264.H264Writer("/tmp/never.mp4", 63, 48, 25.0)


def test_the_thread_encoder_writes_every_frame_into_place(tmp_path):
    out = tmp_path / "t.mp4"
    enc = h264.ThreadEncoder(out, 64, 48, 30000 / 1001, h264.DEFAULT_PRESET, h264.DEFAULT_CRF)
    for yuv in _frames(40):
        enc.put(yuv)
    assert enc.finish() == 40
    with open_video(out) as reader:
        assert sum(1 for _ in reader) == 40 and reader.info.fps == pytest.approx(30000 / 1001)
    assert not (tmp_path / "t.mp4.tmp").exists()


def test_abort_removes_the_unfinished_file(tmp_path):
    enc = h264.ThreadEncoder(tmp_path / "a.mp4", 64, 48, 25.0, h264.DEFAULT_PRESET, h264.DEFAULT_CRF)
    for yuv in _frames(10):
        enc.put(yuv)
    enc.abort()
    assert not list(tmp_path.iterdir())


def test_an_encoder_failure_is_one_oserror_and_leaves_nothing(tmp_path):
    enc = h264.ThreadEncoder(tmp_path / "b.mp4", 64, 48, 25.0, "bogus", h264.DEFAULT_CRF)
    with pytest.raises(OSError, match="FFmpeg") as info:
        for yuv in _frames(20):
            enc.put(yuv)
        enc.finish()
    assert "\n" not in str(info.value)
    enc.abort()
    assert not list(tmp_path.iterdir())


def _decoded(path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="yuv420p") for f in container.decode(video=0)])


@pytest.mark.parametrize("threads", [1, 0])
def test_a_wrapped_frame_can_be_reused_once_written(tmp_path, monkeypatch, threads):
    """The encoder takes the I420 array without a copy; one buffer rewritten for every frame gives
    the same clip as a fresh copy per frame (x264 has copied the picture in when write returns)."""
    frames = list(_frames(40))
    monkeypatch.setattr(h264, "_can_wrap", False)
    copied = h264.H264Writer(tmp_path / "copied.mp4", 64, 48, 25.0, threads=threads)
    for frame in frames:
        copied.write_i420(frame)
    copied.close()
    monkeypatch.setattr(h264, "_can_wrap", True)
    wrapped = h264.H264Writer(tmp_path / "wrapped.mp4", 64, 48, 25.0, threads=threads)
    buffer = np.empty_like(frames[0])
    for frame in frames:
        buffer[:] = frame
        wrapped.write_i420(buffer)
    wrapped.close()
    assert h264._can_wrap  # this PyAV wraps (a fallback to the copy would not test the reuse)
    assert np.array_equal(_decoded(tmp_path / "wrapped.mp4"), _decoded(tmp_path / "copied.mp4"))
