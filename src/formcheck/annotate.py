"""The annotated clip: every frame of the input drawn over (viz), encoded as H.264 MP4.

Same frame count and constant frame rate as the input, so the same duration; the file format is
h264.py's (browser-playable). The frames are the pose pass's downscaled copy when it kept one
(frames.SpillFrames), else the clip decoded again. Reading (a read-ahead thread), drawing plus
colour conversion (this thread) and encoding (a third, see h264.py) overlap.

The annotated clip is for watching on a phone or laptop: 768 px on the long side (768x432 from 16:9)
is plenty (frames.MAX_SIDE), and every picture cost grows with pixels (keeping, drawing, encoding)
while the pose model's does not (a 720p clip annotated at 720p took ~35% of its analysis time; at
960x540 the pictures still added ~25%, at 854x480 15-19%; 768x432 has 19% fewer pixels than 854x480
and its overlay text is 0.9 times the size, which stays readable).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .files import PendingFile
from .frames import MAX_SIDE, MIN_SIDE, ClipFrames, FileFrames, SpillFrames, output_size, resize
from .h264 import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    H264Writer,
    ThreadEncoder,
    as_oserror,
    frame_rate,
    join_segments,
)
from .io import open_video
from .procs import opencv_single_threaded, usable_cores
from .viz import FrameData, Layout, draw_frame

MAX_PARTS = 4
MIN_PART_S = 2.0  # each part starts on a keyframe; shorter parts cost size for little time

__all__ = ["MAX_SIDE", "MIN_SIDE", "AnnotatedClip", "grab_frames", "output_size", "resize", "write_annotated"]


@dataclass(frozen=True)
class AnnotatedClip:
    path: str
    frames: int
    fps: Fraction
    width: int
    height: int
    seconds: float  # wall time it took


def grab_frames(clip: str | Path, indices: list[int], fps: float | None = None) -> dict[int, np.ndarray]:
    """Upright RGB frames at the given indices, decoding in order up to the last one (OpenCV's
    seeking is not frame-exact in every codec, and these are the frames the track was made from)."""
    wanted = set(indices)
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    last = max(wanted)
    with open_video(clip, fps=fps) as reader:
        for i, frame in enumerate(reader):
            if i in wanted:
                out[i] = frame
            if i >= last:
                break
    return out


def write_annotated(
    clip: str | Path,
    out_path: str | Path,
    data: FrameData,
    fps: float | None = None,
    max_side: int = MAX_SIDE,
    min_side: int = MIN_SIDE,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    frames: ClipFrames | None = None,
    parts: int | None = None,
    release: bool = False,
) -> AnnotatedClip:
    """Draw `data` on every frame of the clip and write the H.264 MP4 to out_path atomically.

    The frames come from `frames` (the pose pass's copy, see frames.py) or, without it, from
    decoding `clip` again (upright, as the pose pass saw it). Every frame of the input is written;
    a frame the model skipped (frame stride) shows the nearest analysed pose. `parts`: how many
    stretches of a spill are drawn and encoded at once (default one per core; see part_spans).
    `release`: nothing reads the spill after this, so the parts free its slots as they go.
    Raises OSError when
    the output cannot be written (FFmpeg's own failures included), FormcheckError when the clip
    cannot be read."""
    start = time.perf_counter()
    source = frames if frames is not None else FileFrames(clip, fps, max_side, min_side)
    lay = Layout.for_size(source.width, source.height)
    spans = part_spans(source, parts)
    with opencv_single_threaded():  # the parts (or the reader, drawing and encoder) fill the cores
        if len(spans) > 1:
            assert isinstance(source, SpillFrames)
            written = _write_in_parts(source, spans, Path(out_path), data, lay, preset, crf, release)
        else:
            written = _write_streamed(source, out_path, data, lay, preset, crf)
    seconds = time.perf_counter() - start
    return AnnotatedClip(str(out_path), written, frame_rate(source.fps), source.width, source.height, seconds)


def part_spans(source: ClipFrames, parts: int | None = None) -> list[tuple[int, int]]:
    """Contiguous [start, stop) frame ranges drawn and encoded at once, one per core: x264 on one
    encoder scales poorly past one core and drawing holds the GIL between OpenCV calls, so parts
    on their own threads (each its own encoder) finish the 1280x720 benchmark clip's pictures in
    ~2/3 of the time. Only a spill can be read at random; a clip decoded again is one part."""
    if not isinstance(source, SpillFrames) or not source.every_frame:
        return [(0, -1)]
    frames = source.count
    parts = usable_cores() if parts is None else parts
    n = max(1, min(parts, MAX_PARTS, int(frames // max(1.0, MIN_PART_S * source.fps))))
    bounds = [round(k * frames / n) for k in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _write_in_parts(
    source: SpillFrames, spans: list[tuple[int, int]], out_path: Path, data: FrameData, lay: Layout,
    preset: str, crf: int, release: bool = False,
) -> int:  # fmt: skip
    rate = frame_rate(source.fps)
    stop = threading.Event()  # a failed part stops the others early

    def encode(span: tuple[int, int], path: Path) -> None:
        writer = H264Writer(path, source.width, source.height, rate, preset, crf, threads=1, faststart=False)
        try:
            reading = source.frames(*span, release=release)
            with contextlib.closing(reading) as frames:  # closing() joins the read-ahead
                for i, frame in enumerate(frames, start=span[0]):
                    if stop.is_set():
                        raise _Stopped
                    draw_frame(frame, data.row_of(i), data, lay, source.scale)
                    writer.write(frame)  # converted to I420 here: the buffer is free again
        except BaseException:
            stop.set()
            writer.abort()
            raise
        writer.close()

    pending = PendingFile(out_path)  # an unwritable place fails before any work
    try:
        with tempfile.TemporaryDirectory(prefix="formcheck-parts-") as folder:
            paths = [Path(folder) / f"part{k}.mp4" for k in range(len(spans))]
            with ThreadPoolExecutor(len(spans), thread_name_prefix="formcheck-annotate") as pool:
                runs = [pool.submit(encode, span, path) for span, path in zip(spans, paths, strict=True)]
            failures = [e for e in (run.exception() for run in runs) if e is not None]
            if failures:
                raise next((e for e in failures if not isinstance(e, _Stopped)), failures[0])
            return join_segments(paths, pending, rate)
    except BaseException as exc:
        pending.abort()
        converted = as_oserror(exc)
        if converted is exc:
            raise
        raise converted from exc


class _Stopped(Exception):
    """A part stopped because another failed."""


def _write_streamed(source: ClipFrames, out_path: str | Path, data: FrameData, lay: Layout, preset: str,
                    crf: int) -> int:  # fmt: skip
    """One encoder on its thread, fed in clip order (reading, drawing and encoding overlap)."""
    width, height, scale = source.width, source.height, source.scale
    try:
        sink = ThreadEncoder(out_path, width, height, source.fps, preset, crf)
    except Exception as exc:
        converted = as_oserror(exc)
        if converted is exc:
            raise
        raise converted from exc
    try:
        stream = iter(source)
        with contextlib.closing(stream):  # closing() joins the read-ahead thread
            for i, frame in stream:
                draw_frame(frame, data.row_of(i), data, lay, scale)
                sink.put_rgb(frame)
    except BaseException:
        sink.abort()
        raise
    return sink.finish()  # cleans up after itself when it fails
