"""The annotated clip: the input re-decoded, each frame drawn over (viz), encoded as H.264 MP4.

Same frame count and constant frame rate as the input, so the same duration; the file format is
h264.py's (browser-playable). Decoding (a prefetch thread), drawing plus colour conversion (this
thread) and encoding (a third, see h264.py) overlap.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .h264 import DEFAULT_CRF, DEFAULT_PRESET, ThreadEncoder, as_oserror, frame_rate
from .io import open_video, prefetch
from .viz import FrameData, Layout, draw_frame

# The annotated clip is for watching on a phone or laptop: 960x540 is plenty, and encoding cost
# grows with pixels while the pose model's does not (a 720p clip annotated at 720p took ~35%
# of its analysis time)
MAX_SIDE = 960
MIN_SIDE = 480  # a smaller clip is enlarged so the overlay's text stays readable


@dataclass(frozen=True)
class AnnotatedClip:
    path: str
    frames: int
    fps: Fraction
    width: int
    height: int
    seconds: float  # wall time it took


def output_size(
    width: int, height: int, max_side: int = MAX_SIDE, min_side: int = MIN_SIDE
) -> tuple[int, int, float]:
    """Even (width, height) with the short side at least min_side (small clips are enlarged, for the
    overlay's text) and the long side at most max_side (which wins), and the scale from input pixels.

    yuv420p halves chroma in both directions, so x264 needs even sizes; an odd input kept at its
    size is padded by a pixel rather than resampled (which would soften every frame)."""
    scale = max(1.0, min_side / min(width, height))
    scale = min(scale, max_side / max(width, height))
    if abs(scale - 1.0) > 1e-9:
        w, h = int(round(width * scale / 2)) * 2, int(round(height * scale / 2)) * 2
        return max(w, 2), max(h, 2), scale
    return width + width % 2, height + height % 2, 1.0


def resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize for display, cheaply: OpenCV's area filter is fast only for whole-number factors
    (4.5 ms for 720p -> 540p against 0.8 ms bilinear), so it does the whole-number part of a large
    reduction (no aliasing) and bilinear the rest."""
    h, w = frame.shape[:2]
    k = min(w // width, h // height)
    if k >= 2:
        frame = cv2.resize(frame, (w // k, h // k), interpolation=cv2.INTER_AREA)
    if frame.shape[:2] == (height, width):
        return frame
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)


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
) -> AnnotatedClip:
    """Decode `clip` again (upright, as the pose pass saw it), draw `data` on every frame and write
    the H.264 MP4 to out_path atomically. Raises OSError when the output cannot be written
    (FFmpeg's own failures included), FormcheckError when the clip cannot be read."""
    start = time.perf_counter()
    with open_video(clip, fps=fps) as reader:
        info = reader.info
        width, height, scale = output_size(info.width, info.height, max_side, min_side)
        pad = (height - info.height, width - info.width) if scale == 1.0 else (0, 0)
        lay = Layout.for_size(width, height)
        try:
            sink = ThreadEncoder(out_path, width, height, info.fps, preset, crf)
        except Exception as exc:
            converted = as_oserror(exc)
            if converted is exc:
                raise
            raise converted from exc
        try:
            with contextlib.closing(prefetch(reader)) as frames:  # closing() joins the decode thread
                for i, frame in enumerate(frames):
                    if scale != 1.0:
                        frame = resize(frame, width, height)
                    elif any(pad):
                        frame = cv2.copyMakeBorder(frame, 0, pad[0], 0, pad[1], cv2.BORDER_REPLICATE)
                    draw_frame(frame, i, data, lay, scale)
                    sink.put(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420))
        except BaseException:
            sink.abort()
            raise
        written = sink.finish()  # cleans up after itself when it fails
    return AnnotatedClip(
        str(out_path), written, frame_rate(info.fps), width, height, time.perf_counter() - start
    )
