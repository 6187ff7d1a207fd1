"""Video input: validation errors, facts, orientation and colour order, truncation."""

from __future__ import annotations

import math
import struct
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck import errors
from formcheck.io import open_video, prefetch, probe
from formcheck.io.video import _ROTATE_CODE

# ------------------------------------------------------------------ mp4 surgery (tests only)
# Tiny ISO-BMFF editors, so rotated, re-timed and truncated files can be made
# from OpenCV's output without an ffmpeg binary.

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes | bytearray, start: int, end: int):
    """(type, box start, payload start, box end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, pos, pos + 8, pos + size
        pos += size


def _find_all(data: bytearray, kind: bytes, start: int = 0, end: int | None = None):
    end = len(data) if end is None else end
    for k, _, payload, stop in _boxes(data, start, end):
        if k == kind:
            yield payload, stop
        if k in _CONTAINERS:
            yield from _find_all(data, kind, payload, stop)


def set_rotation(path: Path, degrees: int) -> None:
    """Write a display matrix that shows the stored pixels turned `degrees` clockwise."""
    data = bytearray(path.read_bytes())
    (payload, _), = _find_all(data, b"tkhd")
    version = data[payload]
    matrix_at = payload + 4 + (32 if version == 1 else 20) + 16
    c, s = round(math.cos(math.radians(degrees))), round(math.sin(math.radians(degrees)))
    one = 1 << 16
    matrix = (c * one, s * one, 0, -s * one, c * one, 0, 0, 0, 1 << 30)
    data[matrix_at : matrix_at + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


def scale_timescale(path: Path, factor: int) -> None:
    """Multiply the media timescale: every frame duration shrinks, fps grows by `factor`."""
    data = bytearray(path.read_bytes())
    for payload, _ in _find_all(data, b"mdhd"):
        at = payload + 4 + (16 if data[payload] == 1 else 8)
        (scale,) = struct.unpack(">I", data[at : at + 4])
        data[at : at + 4] = struct.pack(">I", scale * factor)
    path.write_bytes(bytes(data))


def move_index_first(path: Path) -> None:
    """'faststart': put moov before mdat (and fix chunk offsets), so a cut file still opens."""
    data = bytearray(path.read_bytes())
    top = {k: (s, e) for k, s, _, e in _boxes(data, 0, len(data))}
    (ms, me), (ds, _) = top[b"moov"], top[b"mdat"]
    assert ms > ds, "expected OpenCV to write moov after mdat"
    moov = bytearray(data[ms:me])
    shift = len(moov)
    for payload, _ in _find_all(moov, b"stco"):
        (n,) = struct.unpack(">I", moov[payload + 4 : payload + 8])
        at = payload + 8
        offsets = np.frombuffer(bytes(moov[at : at + 4 * n]), ">u4").astype(np.int64) + shift
        moov[at : at + 4 * n] = offsets.astype(">u4").tobytes()
    assert not list(_find_all(moov, b"co64")), "64-bit offsets not handled"
    path.write_bytes(bytes(data[:ds] + moov + data[ds:ms] + data[me:]))


# ------------------------------------------------------------------ bad input


def test_missing_path(tmp_path):
    with pytest.raises(errors.InputNotFound, match="no such file"):
        open_video(tmp_path / "nope.mp4")


def test_directory(tmp_path):
    with pytest.raises(errors.InputIsDirectory):
        open_video(tmp_path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(errors.EmptyVideo, match="0 bytes"):
        open_video(path)


@pytest.mark.parametrize(
    "content",
    [b"this is a shopping list, not a video\n" * 20, bytes(range(256)) * 64],
    ids=["text", "binary"],
)
def test_not_a_video(tmp_path, content):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(errors.NotAVideo):
        open_video(path)


def test_cut_before_index_is_truncated_not_garbage(make_video):
    # OpenCV writes the moov index last, so a cut copy has frames but no index
    path = make_video(n_frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.TruncatedVideo, match="incomplete"):
        open_video(path)


def test_truncated_mid_stream_decodes_what_it_can(make_video):
    path = make_video(n_frames=60)
    move_index_first(path)
    with open_video(path) as reader:  # the intact file reads completely
        assert sum(1 for _ in reader) == 60 and not reader.truncated
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    with open_video(path) as reader:
        assert reader.info.frame_count == 60  # the index still promises all frames
        frames = list(reader)
        assert 0 < len(frames) < 60
        assert reader.frames_decoded == len(frames)
        assert reader.truncated
        assert f"decoded {len(frames)} of 60" in reader.truncation_message()


def test_absurd_frame_rate_needs_override(make_video):
    path = make_video(fps=30.0)
    scale_timescale(path, 100_000)  # container now claims ~3,000,000 fps
    with pytest.raises(errors.BadFrameRate, match="--fps"):
        open_video(path)
    info = probe(path, fps=25.0)
    assert info.fps == 25.0 and info.fps_source == "override"
    with pytest.raises(errors.BadFrameRate):
        probe(path, fps=float("nan"))


def test_exit_codes_are_distinct():
    found = vars(errors).values()
    classes = [c for c in found if isinstance(c, type) and issubclass(c, errors.FormcheckError)]
    codes = [c.exit_code for c in classes]
    assert len(classes) >= 10
    assert len(set(codes)) == len(codes)
    # 0 ok, 1 crash, 2 usage: argparse's own, and UsageError for what argparse cannot check
    assert errors.UsageError.exit_code == 2
    assert all(c.exit_code not in (0, 1, 2) for c in classes if c is not errors.UsageError)


# ------------------------------------------------------------------ facts, frames


def test_video_facts(make_video):
    path = make_video(n_frames=24, size=(160, 112), fps=24.0)
    info = probe(path)
    assert (info.width, info.height, info.frame_count, info.rotation) == (160, 112, 24, 0)
    assert info.fps == pytest.approx(24.0)
    assert info.duration == pytest.approx(1.0)
    assert info.codec.lower() in {"fmp4", "mp4v"}
    assert info.as_dict()["duration"] == pytest.approx(1.0)


def test_frames_are_rgb_in_order(make_video):
    path = make_video(n_frames=12, size=(160, 120))
    with open_video(path) as reader:
        frames = list(reader)
    assert len(frames) == 12
    first = frames[0]
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8 and first.flags.c_contiguous
    r, g, b = first[15, 20].astype(int)  # centre of the red block
    assert r > 200 and g < 60 and b < 60, "frames must be RGB, not OpenCV's BGR"
    strip = [int(f[-5, 80, 1]) for f in frames]
    assert strip == sorted(strip) and strip[-1] - strip[0] > 60


def test_reader_iterates_once(make_video):
    with open_video(make_video()) as reader:
        list(reader)
        with pytest.raises(RuntimeError):
            list(reader)


# where the stored top-left red block must appear once the frame is upright
_RED_CORNER = {0: "top-left", 90: "top-right", 180: "bottom-right", 270: "bottom-left"}


def _red_corner(frame: np.ndarray) -> str:
    h, w = frame.shape[:2]
    corners = {
        "top-left": frame[: h // 8, : w // 8],
        "top-right": frame[: h // 8, -w // 8 :],
        "bottom-left": frame[-h // 8 :, : w // 8],
        "bottom-right": frame[-h // 8 :, -w // 8 :],
    }
    return max(corners, key=lambda k: corners[k][..., 0].mean() - corners[k][..., 2].mean())


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_phone_rotation_applied_exactly_once(make_video, degrees):
    path = make_video(n_frames=5, size=(160, 96))
    set_rotation(path, degrees)
    with open_video(path) as reader:
        frame = next(iter(reader))
        info = reader.info
    assert info.rotation == degrees
    upright = (96, 160) if degrees in (0, 180) else (160, 96)
    assert frame.shape[:2] == upright
    assert (info.height, info.width) == upright
    # a second rotation (ours on top of OpenCV's) would move the block elsewhere
    assert _red_corner(frame) == _RED_CORNER[degrees]


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_manual_rotation_matches_opencv(make_video, degrees):
    """Our fallback (for backends that ignore ORIENTATION_AUTO) turns frames the same way."""
    path = make_video(n_frames=3, size=(160, 96))
    set_rotation(path, degrees)
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    ok, raw = cap.read()
    cap.release()
    assert ok and raw.shape[:2] == (96, 160)
    with open_video(path) as reader:
        upright = next(iter(reader))
    manual = cv2.cvtColor(cv2.rotate(raw, _ROTATE_CODE[degrees]), cv2.COLOR_BGR2RGB)
    assert np.array_equal(manual, upright)


def test_streaming_keeps_memory_flat(make_video):
    import tracemalloc

    path = make_video(n_frames=150, size=(320, 240))  # 150 x 230 kB = 35 MB if all held
    tracemalloc.start()
    try:
        with open_video(path) as reader:
            n = sum(1 for _ in prefetch(reader))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 150
    assert peak < 8 * 320 * 240 * 3  # a handful of frames in flight, never the clip


# ------------------------------------------------------------------ prefetch


def test_prefetch_preserves_order_and_errors():
    assert list(prefetch(range(100), depth=2)) == list(range(100))

    def boom():
        yield 1
        raise ValueError("decoder broke")

    got = []
    with pytest.raises(ValueError, match="decoder broke"):
        for item in prefetch(boom()):
            got.append(item)
    assert got == [1]


def test_prefetch_stops_producer_when_consumer_leaves():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = threading.active_count()
    gen = prefetch(endless(), depth=3)
    assert [next(gen) for _ in range(5)] == list(range(5))
    gen.close()
    assert threading.active_count() == before
    assert len(produced) <= 5 + 3 + 2  # bounded read-ahead


# ------------------------------------------------------------------ real clips


def test_real_clip_facts(shared_videos):
    portrait = probe(shared_videos / "hip_thrust_barbell_gym_portrait.mp4")
    assert (portrait.width, portrait.height, portrait.frame_count) == (720, 1280, 316)
    assert portrait.fps == pytest.approx(60.0, abs=0.2) and portrait.codec.lower() in {"h264", "avc1"}
    ntsc = probe(shared_videos / "glute_bridge_side_5reps.mp4")
    assert ntsc.fps == pytest.approx(24000 / 1001, rel=1e-6)
    assert ntsc.duration == pytest.approx(232 / ntsc.fps)


def test_real_clip_truncated_copy(shared_videos, tmp_path):
    # this clip keeps its index first, as phones and editors usually write them
    src = shared_videos / "hip_thrust_box_bodyweight_side.mp4"
    cut = tmp_path / "cut.mp4"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with open_video(cut) as reader:
        n = sum(1 for _ in reader)
        assert reader.truncated and 0 < n < reader.info.frame_count == 482


def _gif(path, delays_cs: list[int]) -> None:
    """A GIF whose frames last the given hundredths of a second (PyAV's GIF encoder)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w", format="gif") as out:
        stream = out.add_stream("gif", rate=15)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb8"
        stream.time_base = Fraction(1, 100)
        pts = 0
        for i, delay in enumerate(delays_cs):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 100)
            pts += delay
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_gif_frame_times_are_its_own_delays(tmp_path, make_video):
    from formcheck.io import frame_times

    gif = tmp_path / "clip.gif"
    _gif(gif, [7, 6, 7, 7, 20, 7])
    starts, end = frame_times(gif)
    assert np.allclose(starts, [0.0, 0.07, 0.13, 0.20, 0.27, 0.47])
    assert frame_times(make_video()) is None, "an mp4 keeps its container's rate"
