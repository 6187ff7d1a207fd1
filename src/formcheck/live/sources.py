"""Where live frames come from: a webcam, or a clip fed as if it were one.

A source yields `Frame`s in capture order. Each frame carries the capture time on the session's
clock (seconds; what the pose model and the track use) and the wall-clock instant it was
captured (`time.perf_counter`, for latency). A clip played `realtime` releases frame i at
start + i / fps whatever the consumer does, as a camera would; without `realtime` it is read
as fast as it is taken (nothing is dropped). A clip's capture times are its own timeline
(i / fps), so a live run over a clip sees exactly the frames and times `formcheck analyze` does.
"""

from __future__ import annotations

import glob
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from formcheck.errors import CameraUnavailable, SourceLost
from formcheck.io import open_video
from formcheck.pose import native_stderr_silenced

DEFAULT_CAMERA_FPS = 30.0
FIRST_FRAME_TIMEOUT_S = 5.0  # a camera that opens but sends nothing for this long is not working
LOST_AFTER_S = 2.0  # this long without a frame from an open camera: it was unplugged or failed


@dataclass(frozen=True)
class Frame:
    index: int  # capture order, from 0 (a dropped frame keeps its number)
    t: float  # seconds on the session clock (a clip: its own timeline)
    captured_at: float  # time.perf_counter() when the frame became available
    image: np.ndarray  # upright RGB uint8, as the camera sees it (not mirrored)
    ms: int  # the pose model's timestamp (milliseconds), computed as `formcheck analyze` does


class Source(Protocol):
    """What the capture thread needs from a frame source."""

    name: str
    fps: float  # nominal frame rate
    width: int
    height: int
    realtime: bool  # frames arrive on their own clock (drop when busy) rather than on demand
    is_camera: bool

    def frames(self) -> Iterator[Frame]:
        """Frames in order; ends at the end of a clip, raises SourceLost when a camera stops."""

    def close(self) -> None: ...


class ClipSource:
    """A video file fed as a camera: at its own frame rate (`realtime`) or as fast as it is read.

    `loop` plays it again and again (a stream of any length for benchmarks); the timeline
    keeps running across loops, as a camera's clock would.
    """

    is_camera = False

    def __init__(
        self, path: str | Path, realtime: bool = True, loop: bool = False, fps: float | None = None
    ) -> None:
        self.path = str(path)
        self._open = lambda: open_video(path, fps=fps)
        self._reader = self._open()  # validates the file now: bad input fails before any thread
        info = self._reader.info
        self.name = f"clip {Path(path).name}"
        self.fps, self.width, self.height = info.fps, info.width, info.height
        self.realtime, self.loop = realtime, loop
        self.truncated = False

    def frames(self) -> Iterator[Frame]:
        index = 0
        start = time.perf_counter()
        step_ms = 1000.0 / self.fps
        while True:
            reader = self._reader
            for image in reader:
                t = index / self.fps
                if self.realtime:
                    _sleep_until(start + t)
                yield Frame(index, t, time.perf_counter(), image, int(round(index * step_ms)))
                index += 1
            self.truncated = self.truncated or reader.truncated
            if not self.loop:
                return
            reader.close()
            self._reader = self._open()

    def close(self) -> None:
        self._reader.close()


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def camera_devices() -> list[str]:
    """Video devices this machine shows (Linux: /dev/video*), for the error message."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p))


def _no_camera_message(index: int) -> str:
    found = camera_devices()
    if os.name == "posix" and Path("/dev").is_dir():
        seen = ", ".join(found) if found else "none"
        return f"cannot open camera {index}: no working video device at that index (video devices: {seen})"
    return f"cannot open camera {index}: no working video device at that index"


class CameraSource:
    """A webcam through OpenCV. Opening checks that a first frame arrives."""

    is_camera = True
    realtime = True

    def __init__(self, index: int, width: int = 640, height: int = 480) -> None:
        self.index = index
        self.name = f"camera {index}"
        log = cv2.utils.logging
        previous = log.getLogLevel()
        log.setLogLevel(log.LOG_LEVEL_SILENT)
        try:
            with native_stderr_silenced():  # V4L2's own complaints about a missing device
                cap = cv2.VideoCapture(index)
        finally:
            log.setLogLevel(previous)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(_no_camera_message(index))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a driver backlog
        self._cap = cap
        self._cv2 = cv2
        first = self._read(FIRST_FRAME_TIMEOUT_S)
        if first is None:
            cap.release()
            raise CameraUnavailable(
                f"camera {index} opened but sent no picture within {FIRST_FRAME_TIMEOUT_S:.0f} s"
                " (in use by another program, or no permission?)"
            )
        self._first = first
        self.height, self.width = first.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and 1.0 <= fps <= 240.0 else DEFAULT_CAMERA_FPS

    def _read(self, patience_s: float) -> np.ndarray | None:
        """The next frame as RGB, retrying failed reads for up to patience_s; None if none came."""
        give_up = time.perf_counter() + patience_s
        while True:
            try:
                ok, frame = self._cap.read()
            except self._cv2.error:
                ok, frame = False, None
            if ok and frame is not None:
                return self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)
            if time.perf_counter() >= give_up:
                return None
            time.sleep(0.01)

    def frames(self) -> Iterator[Frame]:
        start = time.perf_counter()
        image: np.ndarray | None = self._first
        index = 0
        while image is not None:
            now = time.perf_counter()
            yield Frame(index, now - start, now, image, int(round((now - start) * 1000.0)))
            index += 1
            image = self._read(LOST_AFTER_S)
        raise SourceLost(
            f"camera {self.index} stopped sending pictures after {time.perf_counter() - start:.1f} s"
            " (unplugged or taken by another program?)"
        )

    def close(self) -> None:
        self._cap.release()


def open_source(camera: int, clip: str | None, realtime: bool, width: int = 640, height: int = 480) -> Source:
    """The clip when one is given, else the camera."""
    if clip is not None:
        return ClipSource(clip, realtime=realtime)
    return CameraSource(camera, width, height)
