"""The annotated clip: every frame of the input drawn over (viz), encoded as H.264 MP4.

Same frame count and constant frame rate as the input, so the same duration; the file format is
h264.py's (browser-playable). The frames are the pose pass's downscaled copy when it kept one
(frames.SpillFrames), else the clip decoded again. Reading (a read-ahead thread), drawing plus
colour conversion (this thread) and encoding (a third, see h264.py) overlap.

The annotated clip is for watching on a phone or laptop: 960x540 is plenty (frames.MAX_SIDE), and
encoding cost grows with pixels while the pose model's does not (a 720p clip annotated at 720p
took ~35% of its analysis time).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .frames import MAX_SIDE, MIN_SIDE, ClipFrames, FileFrames, output_size, resize
from .h264 import DEFAULT_CRF, DEFAULT_PRESET, ThreadEncoder, as_oserror, frame_rate
from .io import open_video
from .viz import FrameData, Layout, draw_frame

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
) -> AnnotatedClip:
    """Draw `data` on every frame of the clip and write the H.264 MP4 to out_path atomically.

    The frames come from `frames` (the pose pass's copy, see frames.py) or, without it, from
    decoding `clip` again (upright, as the pose pass saw it). Every frame of the input is written;
    a frame the model skipped (frame stride) shows the nearest analysed pose. Raises OSError when
    the output cannot be written (FFmpeg's own failures included), FormcheckError when the clip
    cannot be read."""
    start = time.perf_counter()
    source = frames if frames is not None else FileFrames(clip, fps, max_side, min_side)
    width, height, scale = source.width, source.height, source.scale
    lay = Layout.for_size(width, height)
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
    written = sink.finish()  # cleans up after itself when it fails
    return AnnotatedClip(
        str(out_path), written, frame_rate(source.fps), width, height, time.perf_counter() - start
    )
