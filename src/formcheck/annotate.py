"""The annotated clip: the input re-decoded, each frame drawn over (viz), encoded as H.264 MP4.

OpenCV's pip wheel cannot encode H.264, so frames go to libx264 through PyAV (its wheels bundle
FFmpeg with x264). The file is what browsers play: H.264 in MP4, yuv420p, even width and height,
the index (moov) at the front so playback starts before the download ends, constant frame rate
with the input's frame count, so its duration is the input's too.

Speed: decoding (a prefetch thread), drawing plus colour conversion (this thread) and encoding
(x264's own threads, fed from a third) overlap; all of them release the GIL.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .io import open_video, prefetch
from .viz import FrameData, Layout, draw_frame

# x264 'ultrafast' with two of the cheap things it leaves out, CABAC and the macroblock-tree rate
# control: on the 16 s 640x656 benchmark clip 1.26 MB (ultrafast alone 2.64 MB, 'superfast' with
# the tree 0.71 MB) for 2/3 of superfast's encode time. Encoding is most of the annotate cost,
# and PyAV holds the GIL for part of it; bench_annotate.py compares presets.
DEFAULT_PRESET = "ultrafast"
X264_PARAMS = "cabac=1:mbtree=1:rc-lookahead=10"
DEFAULT_CRF = 23
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


def frame_rate(fps: float) -> Fraction:
    """The container's rate as a fraction: 29.97... -> 30000/1001, 924/31 stays exact."""
    return Fraction(fps).limit_denominator(1001)


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


class H264Writer:
    """Frames (RGB uint8, the writer's size) in, a browser-playable MP4 out, written atomically:
    to `path.tmp` first, renamed on close(); abort() leaves no file behind."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        preset: str = DEFAULT_PRESET,
        crf: int = DEFAULT_CRF,
    ) -> None:
        import av  # imported here: only the annotated clip needs it

        if width % 2 or height % 2:
            raise ValueError(f"H.264 in yuv420p needs an even size, got {width}x{height}")
        self.path = Path(path)
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        open(self._tmp, "wb").close()  # a plain OSError for an unwritable place, before FFmpeg's own
        self.width, self.height = width, height
        self.rate = frame_rate(fps)
        self.frames = 0
        self._av = av
        try:
            self._out = av.open(str(self._tmp), "w", format="mp4", options={"movflags": "+faststart"})
            stream = self._out.add_stream("libx264", rate=self.rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            # BT.601 limited range: what cv2's RGB->I420 produces; tagged so players do not guess
            cc = stream.codec_context
            cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc = 1, 6, 6, 6
            stream.options = {
                "preset": preset,
                "crf": str(crf),
                "profile": "high",
                "x264-params": X264_PARAMS,
            }
            self._stream = stream
        except BaseException:
            self._discard()
            raise

    def write(self, frame_rgb: np.ndarray) -> None:
        self.write_i420(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2YUV_I420))

    def write_i420(self, yuv: np.ndarray) -> None:
        """One frame already converted (cv2.COLOR_RGB2YUV_I420: (3h/2, w) uint8)."""
        frame = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self.frames
        frame.time_base = 1 / self.rate
        self._out.mux(self._stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder, write the index and move the file into place."""
        try:
            self._out.mux(self._stream.encode(None))
            self._out.close()
        except BaseException:
            self._discard()
            raise
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()
        with contextlib.suppress(OSError):
            self._tmp.unlink()


class _Encoder(threading.Thread):
    """Feeds the writer from a bounded queue, so encoding overlaps decoding and drawing."""

    def __init__(self, writer: H264Writer, depth: int = 8) -> None:
        super().__init__(name="formcheck-encode", daemon=True)
        self.writer = writer
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.writer.write_i420(item)
                except BaseException as exc:  # re-raised by the producer
                    self.error = exc

    def put(self, yuv: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(yuv)

    def finish(self) -> None:
        self.queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


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
    the H.264 MP4 to out_path atomically. Raises OSError when the output cannot be written (FFmpeg's
    own failures included), FormcheckError when the clip cannot be read."""
    import av

    try:
        return _render(clip, out_path, data, fps, (max_side, min_side), preset, crf)
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        raise OSError(f"FFmpeg: {exc}") from exc


def _render(
    clip: str | Path, out_path: str | Path, data: FrameData, fps: float | None, sides: tuple[int, int],
    preset: str,
    crf: int,
) -> AnnotatedClip:  # fmt: skip
    start = time.perf_counter()
    with open_video(clip, fps=fps) as reader:
        info = reader.info
        width, height, scale = output_size(info.width, info.height, *sides)
        pad = (height - info.height, width - info.width) if scale == 1.0 else (0, 0)
        lay = Layout.for_size(width, height)
        writer = H264Writer(out_path, width, height, info.fps, preset=preset, crf=crf)
        encoder = _Encoder(writer)
        encoder.start()
        try:
            with contextlib.closing(prefetch(reader)) as frames:  # closing() joins the decode thread
                for i, frame in enumerate(frames):
                    if scale != 1.0:
                        frame = resize(frame, width, height)
                    elif any(pad):
                        frame = cv2.copyMakeBorder(frame, 0, pad[0], 0, pad[1], cv2.BORDER_REPLICATE)
                    draw_frame(frame, i, data, lay, scale)
                    encoder.put(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420))
            encoder.finish()
            writer.close()
        except BaseException:
            encoder.error = encoder.error or RuntimeError("stopped")  # it drains the queue unwritten
            encoder.queue.put(None)
            encoder.join()
            writer.abort()
            raise
    return AnnotatedClip(
        str(out_path), writer.frames, writer.rate, width, height, time.perf_counter() - start
    )
