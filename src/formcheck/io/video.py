"""Video decoding: validated opening, upright RGB frames, and the clip's facts.

Frames are streamed one at a time (memory stays flat for long clips). Phone
clips carry a rotation flag instead of rotated pixels; OpenCV's FFmpeg backend
applies it when CAP_PROP_ORIENTATION_AUTO is on, and we rotate ourselves only
when the backend says it did not, so every frame is turned exactly once.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from formcheck.errors import (
    BadFrameRate,
    EmptyVideo,
    InputIsDirectory,
    InputNotFound,
    NotAVideo,
    TruncatedVideo,
    VideoTooLarge,
)

from .container import top_boxes

# FFmpeg's own chatter ("moov atom not found", "Invalid NAL unit size") would
# bury the one-line errors below; it is read when the first capture opens, and a
# value the user set (to debug a file) wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

MAX_PIXELS = 40_000_000  # per frame: 8K (DCI 8192x4320 is 35 MP) passes, beyond is refused
FPS_RANGE = (1.0, 1000.0)  # beyond this the container's rate is broken (960 fps slow-mo is real)

# OpenCV reports the rotation to apply in clockwise degrees; map it to cv2.rotate codes
_ROTATE_CODE = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}

# first bytes of containers we know: used only to word errors for files OpenCV rejects
_CONTAINER_MAGIC = {
    b"\x1a\x45\xdf\xa3": "Matroska/WebM",
    b"RIFF": "AVI",
}


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a clip, in the upright orientation frames are delivered in."""

    path: str
    fps: float
    frame_count: int  # as advertised by the container (0 when it does not say)
    width: int
    height: int
    rotation: int  # clockwise degrees applied to the stored pixels (0, 90, 180, 270)
    codec: str
    fps_source: str = "container"  # or "override"

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    def as_dict(self) -> dict:
        return {**asdict(self), "duration": self.duration}


def check_path(path: str | Path) -> Path:
    """Reject what is obviously not a readable video file, before OpenCV sees it."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"{p}: no such file")
    if p.is_dir():
        raise InputIsDirectory(f"{p}: is a directory, expected a video file")
    if p.stat().st_size == 0:
        raise EmptyVideo(f"{p}: file is empty (0 bytes)")
    return p


def _explain_unopenable(p: Path) -> Exception:
    """Choose between 'truncated' and 'not a video' for a file OpenCV cannot open."""
    mp4 = top_boxes(p)
    if mp4 is not None:
        boxes, cut = mp4
        if b"moov" not in boxes:
            return TruncatedVideo(
                f"{p}: MP4/MOV file without its index (moov box): the file is incomplete"
                " (interrupted recording, download or copy)"
            )
        if cut:
            return TruncatedVideo(f"{p}: MP4/MOV file ends in the middle of a box: the file is incomplete")
        return NotAVideo(f"{p}: MP4/MOV container OpenCV cannot decode (corrupt or unsupported codec)")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    kind = _CONTAINER_MAGIC.get(magic)
    if kind:
        return NotAVideo(f"{p}: {kind} file OpenCV cannot decode (corrupt, truncated or unsupported codec)")
    return NotAVideo(f"{p}: not a video file OpenCV can read")


def _fourcc_text(value: float) -> str:
    code = int(value)
    text = code.to_bytes(4, "little").decode("latin-1").strip("\0 ")
    return text if text.isprintable() else f"0x{code:08x}"


def _capture(p: Path) -> cv2.VideoCapture:
    """Open with the FFmpeg backend (the one that knows rotation metadata), quietly:
    a refusal is explained by our own error, not by OpenCV's warning."""
    log = cv2.utils.logging
    previous = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    finally:
        log.setLogLevel(previous)


def frame_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the stored frames, from the container's figures (nothing is decoded)."""
    cap = _capture(check_path(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()


def check_frame_size(path: str | Path, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse frames too large to decode safely, from the container's figures, before decoding."""
    width, height = frame_size(path)
    if width * height > max_pixels:
        raise VideoTooLarge(
            f"{path}: frames are {width}x{height} ({width * height / 1e6:.0f} MP), beyond the"
            f" {max_pixels / 1e6:.0f} MP limit; scale the clip down first (e.g. to 1920 wide)"
        )


def _valid_fps(fps: float) -> bool:
    return math.isfinite(fps) and FPS_RANGE[0] <= fps <= FPS_RANGE[1]


class VideoReader:
    """An opened clip. Iterate for upright RGB frames (H, W, 3) uint8; use as a context manager.

    The first frame is decoded on open, so a file that cannot yield a single
    frame fails here with a clear error rather than later in the pipeline.
    After iteration, `frames_decoded` and `truncated` tell whether the clip
    ended early; iteration itself never raises for that (callers decide).
    """

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        p = check_path(path)
        cap = _capture(p)
        if not cap.isOpened():
            cap.release()
            raise _explain_unopenable(p)
        self._cap = cap
        try:
            self._rotate_code = self._setup_rotation()
            advertised = cap.get(cv2.CAP_PROP_FRAME_COUNT)
            frame_count = int(round(advertised)) if math.isfinite(advertised) and advertised > 0 else 0
            self._first = self._read()
            if self._first is None:
                if frame_count > 0:
                    raise TruncatedVideo(
                        f"{p}: advertises {frame_count} frames but none could be decoded"
                        " (corrupt or incomplete file)",
                        decoded=0,
                        advertised=frame_count,
                    )
                raise EmptyVideo(f"{p}: the video holds no frames")
            container_fps = cap.get(cv2.CAP_PROP_FPS)
            if fps is not None:
                if not _valid_fps(fps):
                    raise BadFrameRate(f"fps override {fps} is outside {FPS_RANGE[0]:g}-{FPS_RANGE[1]:g}")
            elif not _valid_fps(container_fps):
                raise BadFrameRate(
                    f"{p}: the container's frame rate ({container_fps:g} fps) is missing or implausible;"
                    " pass the real rate explicitly (--fps)"
                )
            height, width = self._first.shape[:2]  # the decoded frame is the truth, whatever props say
            self.info = VideoInfo(
                path=str(p),
                fps=float(fps if fps is not None else container_fps),
                frame_count=frame_count,
                width=int(width),
                height=int(height),
                rotation=self._rotation,
                codec=_fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)),
                fps_source="container" if fps is None else "override",
            )
        except BaseException:
            cap.release()
            raise
        self.frames_decoded = 0
        self.read_error: str | None = None
        self._started = False

    def _setup_rotation(self) -> int | None:
        """Ask OpenCV to auto-rotate; return a cv2.rotate code only if we must rotate ourselves."""
        cap = self._cap
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        meta = cap.get(cv2.CAP_PROP_ORIENTATION_META)
        self._rotation = int(round(meta / 90.0)) * 90 % 360 if math.isfinite(meta) else 0
        backend_rotates = bool(cap.get(cv2.CAP_PROP_ORIENTATION_AUTO))
        return None if backend_rotates else _ROTATE_CODE.get(self._rotation)

    def _read(self) -> np.ndarray | None:
        try:
            ok, frame = self._cap.read()
        except cv2.error as exc:  # a broken packet can surface as an exception
            self.read_error = str(exc).strip().splitlines()[-1]
            return None
        if not ok or frame is None:
            return None
        if self._rotate_code is not None:
            frame = cv2.rotate(frame, self._rotate_code)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:
            raise RuntimeError("a VideoReader can be iterated only once")
        self._started = True
        frame, self._first = self._first, None
        while frame is not None:
            self.frames_decoded += 1
            yield frame
            frame = self._read()

    def sparse(self, wanted: Callable[[int], bool]) -> Iterator[tuple[int, np.ndarray | None]]:
        """Every frame's clip index, with its upright RGB picture where wanted(index) is true and
        None elsewhere: an unwanted frame is only grabbed (FFmpeg decodes it, for the frames that
        refer to it, but it is never converted or copied). Starts where skip() left the reader."""
        if self._started:
            raise RuntimeError("a VideoReader can be iterated only once")
        self._started = True
        frame, self._first = self._first, None
        index = self.frames_decoded
        if frame is None:
            return
        while True:
            self.frames_decoded += 1
            yield index, (frame if wanted(index) else None)
            index += 1
            if wanted(index):
                frame = self._read()
                if frame is None:
                    return
            elif not self._grab():
                return

    def _grab(self) -> bool:
        try:
            return bool(self._cap.grab())
        except cv2.error as exc:
            self.read_error = str(exc).strip().splitlines()[-1]
            return False

    def skip(self, count: int) -> int:
        """Decode past `count` frames without converting them (for a reader starting mid-clip);
        returns how many there were. Iterating afterwards continues from there."""
        if self._started:
            raise RuntimeError("skip() must come before iteration")
        skipped = 0
        if count > 0 and self._first is not None:
            self._first = None
            skipped = 1
        while skipped < count and self._grab():
            skipped += 1
        self.frames_decoded += skipped
        if skipped == count and count > 0:
            self._first = self._read()
        return skipped

    @property
    def frames_missing(self) -> int:
        return max(0, self.info.frame_count - self.frames_decoded)

    @property
    def truncated(self) -> bool:
        """True when fewer frames decoded than advertised (beyond container rounding) or a read failed."""
        tolerance = max(1, round(0.01 * self.info.frame_count))  # estimated counts can be a little off
        return self.read_error is not None or self.frames_missing > tolerance

    def truncation_message(self) -> str:
        why = f" ({self.read_error})" if self.read_error else ""
        return (
            f"{self.info.path}: decoded {self.frames_decoded} of {self.info.frame_count} advertised frames;"
            f" the file ends early or is corrupt{why}"
        )

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path, fps: float | None = None) -> VideoReader:
    """Open and validate a clip; raises a `FormcheckError` subclass on bad input."""
    return VideoReader(path, fps=fps)


def probe(path: str | Path, fps: float | None = None) -> VideoInfo:
    """Video facts without decoding more than the first frame."""
    with open_video(path, fps=fps) as reader:
        return reader.info


T = TypeVar("T")
_END = object()


class _Failure:
    """An exception raised by the producer, carried across the queue."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Produce `items` on a background thread, at most `depth` ahead.

    OpenCV releases the GIL while decoding, so decode of frame n+1 overlaps the
    model call on frame n. The bounded queue keeps memory flat. Exceptions in
    the producer are re-raised in the consumer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_Failure(exc))

    worker = threading.Thread(target=produce, name="formcheck-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()
