"""Browser-playable H.264 MP4 out of raw frames.

OpenCV's pip wheel cannot encode H.264, so frames go to libx264 through PyAV (its wheels bundle
FFmpeg with x264). The file is what browsers play: H.264 in MP4, yuv420p, even width and height,
the index (moov) at the front so playback starts before the download ends, constant frame rate.

`ThreadEncoder` runs the writer on its own thread, so encoding overlaps decoding and drawing.
PyAV holds the GIL for part of each encode call; an encoder in a child process fed through a
pipe was tried and was slower (1.5-2.0 s against 1.3-1.5 s for the 16 s benchmark clip, and
more CPU: the frames' copies through the pipe and the child's start cost more than the GIL).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .files import PendingFile

# x264 'ultrafast' with the macroblock-tree rate control it leaves out: the 13 s 960x540 annotated
# benchmark clip is 2.15 MB (ultrafast alone 3.67 MB) for 0.98 s of one core's encoding; CABAC on
# top saves another 10% of size (1.94 MB) for 16% more encoding time (1.14 s), so it stays off.
# A 5-frame lookahead at CRF 22 gives the 13 s 854x480 one the size and quality of 10 frames at
# CRF 23 (1.84 MB, PSNR 40.3 against 40.5 dB) for a little less encoding there (1.46-1.64 against
# 1.61-1.75 ms a frame, 3 runs each); on two other clips the times did not differ beyond noise.
# psy=0: at ultrafast's subme 0 and no trellis the psychovisual options barely act (on the 13 s
# benchmark clip at 854x480: 5 of 392 frames differ, same size, PSNR 42.16 dB both) but their
# bookkeeping cost 6% of the encoding (1.32-1.34 against 1.40-1.42 ms a frame, two runs each).
DEFAULT_PRESET = "ultrafast"
X264_PARAMS = "mbtree=1:rc-lookahead=5:psy=0"
DEFAULT_CRF = 22


def frame_rate(fps: float) -> Fraction:
    """The container's rate as a fraction: 29.97... -> 30000/1001, 924/31 stays exact."""
    return Fraction(fps).limit_denominator(1001)


class H264Writer:
    """I420 frames (the writer's size) in, a browser-playable MP4 out, written atomically:
    to a hidden temp file beside it first, renamed on close(); abort() leaves no file behind."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float | Fraction,
        preset: str = DEFAULT_PRESET,
        crf: int = DEFAULT_CRF,
        threads: int = 0,
        faststart: bool = True,
    ) -> None:
        """`threads`: x264's threads (0: its default, one per core and a lookahead); `faststart`:
        the index at the front (what a browser needs; a segment joined later does not)."""
        if width % 2 or height % 2:
            raise ValueError(f"H.264 in yuv420p needs an even size, got {width}x{height}")
        self.path = Path(path)
        self._file = PendingFile(self.path)  # a plain OSError for an unwritable place, before FFmpeg's own
        self._tmp = self._file.tmp
        self.width, self.height = width, height
        self.rate = fps if isinstance(fps, Fraction) else frame_rate(fps)
        self.frames = 0
        self._av = av
        try:
            options = {"movflags": "+faststart"} if faststart else {}
            self._out = av.open(str(self._tmp), "w", format="mp4", options=options)
            stream = self._out.add_stream("libx264", rate=self.rate)
            if threads:
                stream.codec_context.thread_count = threads
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

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3 // 2

    def write(self, frame_rgb: np.ndarray) -> None:
        self.write_i420(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2YUV_I420))

    def write_i420(self, yuv: np.ndarray) -> None:
        """One frame already converted (cv2.COLOR_RGB2YUV_I420: (3h/2, w) uint8)."""
        frame = _wrapped_i420(yuv)
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
        self._file.commit()

    def abort(self) -> None:
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()
        self._file.abort()


def _wrapped_i420(yuv: np.ndarray) -> av.VideoFrame:
    """The array as a frame without copying it: a copy into a fresh frame took 0.18-0.19 ms of a
    768x432 frame's ~2.2 (wrapping 0.005). libx264 copies the picture in before the encode call
    returns, so the array is free again afterwards. A PyAV that cannot wrap it (older releases)
    gets the copy."""
    global _can_wrap
    if _can_wrap:
        try:
            return av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(yuv), format="yuv420p")
        except (AttributeError, ValueError, TypeError):
            _can_wrap = False
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


_can_wrap = True  # cleared for the process when this PyAV cannot wrap an I420 array


def join_segments(parts: list[Path], pending: PendingFile, rate: Fraction) -> int:
    """Concatenate MP4 segments from H264Writers with the same size and settings (so the same
    SPS/PPS; each starts on a keyframe) into one browser-playable MP4, moved into place when done
    (`pending`: made before the work, so an unwritable place fails first), without re-encoding: the
    packets are copied, their times shifted by the frames before them. Returns the number of
    frames. x264 'ultrafast' has no B-frames, so decode order is display order."""
    try:
        with av.open(str(pending.tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            with av.open(str(parts[0])) as first:
                stream = out.add_stream_from_template(first.streams.video[0])
            frames = 0
            for part in parts:
                with av.open(str(part)) as src:
                    source = src.streams.video[0]
                    shift = round(Fraction(frames) / rate / source.time_base)
                    for packet in src.demux(source):
                        if packet.dts is None:  # the demuxer's end-of-stream marker
                            continue
                        packet.pts += shift
                        packet.dts += shift
                        packet.stream = stream
                        out.mux(packet)
                        frames += 1
    except BaseException:
        pending.abort()
        raise
    pending.commit()
    return frames


def as_oserror(exc: BaseException) -> BaseException:
    """FFmpeg's failures that are not OSErrors already (a bad option, an encoder error) as one."""
    if isinstance(exc, av.error.FFmpegError) and not isinstance(exc, OSError):
        return OSError(f"FFmpeg: {exc}")
    return exc


class ThreadEncoder(threading.Thread):
    """The writer on its own thread, fed from a bounded queue (memory stays flat)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float, preset: str, crf: int) -> None:
        super().__init__(name="formcheck-encode", daemon=True)
        self.writer = H264Writer(path, width, height, fps, preset=preset, crf=crf)
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    rgb, frame = item
                    self.writer.write_i420(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420) if rgb else frame)
                except BaseException as exc:  # re-raised by the producer
                    self.error = exc

    def put(self, yuv: np.ndarray) -> None:
        """A frame already in I420."""
        self._put((False, yuv))

    def put_rgb(self, frame: np.ndarray) -> None:
        """An RGB frame the caller no longer touches: converted on the encoder's thread, so the
        conversion overlaps the caller drawing the next frame."""
        self._put((True, frame))

    def _put(self, item: tuple[bool, np.ndarray]) -> None:
        if self.error is not None:
            raise as_oserror(self.error)
        self.queue.put(item)

    def finish(self) -> int:
        """Encode what is queued, write the file into place; the number of frames written."""
        self.queue.put(None)
        self.join()
        if self.error is not None:
            self.writer.abort()
            raise as_oserror(self.error)
        try:
            self.writer.close()
        except Exception as exc:
            converted = as_oserror(exc)
            if converted is exc:
                raise
            raise converted from exc
        return self.writer.frames

    def abort(self) -> None:
        self.error = self.error or RuntimeError("stopped")  # the thread drains the queue unwritten
        self.queue.put(None)
        self.join()
        self.writer.abort()
