"""Capture on its own thread, decoupled from the pose model by a bounded frame queue.

A camera never waits for the consumer. The queue holds up to `max_lag_s` of frames (about two
seconds by default, capped in bytes), so a hiccup (another program taking the cores for a
moment) is absorbed and every frame still gets a pose: frames are skipped for the display, never
for the analysis, while the machine keeps up on average, which is what keeps live verdicts equal
to `formcheck analyze`'s. Only a sustained overload fills it; then the frame whose loss leaves the
shortest gap is dropped (and counted), so the drops are spread out one or two frames apart
rather than cut as one long hole, and the queue never spans more than twice `max_lag_s`.
Dropped frames are handed to the consumer as (index, time), in order, so the track keeps a row
for them on the camera's clock (no pose) and the analysis bridges them like any short dropout:
the tempo is unchanged.
"""

from __future__ import annotations

import bisect
import collections
import math
import threading
from dataclasses import dataclass

import numpy as np

from formcheck.errors import FormcheckError, SourceLost

from .sources import Frame, Source

QUEUE_BYTES = 256 << 20  # the capture queue's memory cap (1080p: 1.4 s of frames)


@dataclass
class Batch:
    """What the consumer gets: the frames dropped since its last take, then one frame (or None)."""

    dropped: list[tuple[int, float]]
    frame: Frame | None


class FrameQueue:
    """Bounded FIFO of frames. `lossless` (a clip read on demand) blocks the producer instead
    of dropping."""

    def __init__(self, max_frames: int, lossless: bool = False) -> None:
        self.max_frames = max(1, max_frames)
        self.lossless = lossless
        self._frames: collections.deque[Frame] = collections.deque()
        self._dropped: list[tuple[int, float]] = []  # in capture order
        self._cond = threading.Condition()
        self._closed = False
        self._taken = -1  # index of the last frame handed out
        self.dropped_count = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self.lossless:
                while len(self._frames) >= self.max_frames and not self._closed:
                    self._cond.wait(0.1)
            else:
                while self._frames and frame.index - self._frames[0].index >= 2 * self.max_frames:
                    self._drop(0)  # never more than twice the budget behind the camera
                if len(self._frames) >= self.max_frames:
                    self._drop(shortest_gap([f.index for f in self._frames], self._taken, frame.index))
            self._frames.append(frame)
            self._cond.notify_all()

    def _drop(self, k: int) -> None:
        old = self._frames[k]
        del self._frames[k]
        bisect.insort(self._dropped, (old.index, old.t))
        self.dropped_count += 1

    def close(self) -> None:
        """No more frames will come; the consumer drains what is queued."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Batch | None:
        """The next frame with the drops before it; None when closed and empty (or on timeout,
        a Batch with no frame)."""
        with self._cond:
            if not self._frames and not self._closed:
                self._cond.wait(timeout)
            if self._frames:
                frame = self._frames.popleft()
                self._taken = frame.index
                cut = bisect.bisect_left(self._dropped, (frame.index, -np.inf))
                dropped, self._dropped = self._dropped[:cut], self._dropped[cut:]  # only those before it
                self._cond.notify_all()
                return Batch(dropped, frame)
            dropped, self._dropped = self._dropped, []
            if self._closed:
                return Batch(dropped, None) if dropped else None
            return Batch(dropped, None)

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)


def queue_frames(lag_s: float, source: Source, stride: int = 1) -> int:
    """The queue's depth: `lag_s` of the frames analysed (every `stride`-th of the source's), at
    most QUEUE_BYTES of them."""
    frames = int(math.ceil(lag_s * source.fps / stride))
    return max(2, min(frames, QUEUE_BYTES // max(1, source.width * source.height * 3)))


def shortest_gap(queued: list[int], taken: int, incoming: int) -> int:
    """Which queued frame to drop: the one whose loss leaves the shortest run of missing frames
    between its neighbours (the last frame handed out before the first, the incoming one after
    the last); the oldest of equals."""
    idx = np.asarray([taken, *queued, incoming])
    return int(np.argmin(idx[2:] - idx[:-2]))


@dataclass
class CaptureStats:
    captured: int = 0
    error: FormcheckError | None = None  # how the source ended, if it failed
    ended: bool = False
    last_t: float = 0.0


class CaptureThread:
    """Reads a source into a FrameQueue until the source ends, fails or stop() is called.

    Only every `stride`-th frame is queued: a camera above 30 fps is analysed as `formcheck
    analyze` analyses such a clip (pose.frame_stride: 60 fps -> every 2nd frame), which halves the
    model's work where it matters most. The other frames were never meant for the analysis, so
    they are not drops and get no row in the track (analyze's strided track has none either)."""

    def __init__(self, source: Source, queue: FrameQueue, stride: int = 1) -> None:
        self.source = source
        self.queue = queue
        self.stride = max(1, stride)
        self.stats = CaptureStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-live-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            for frame in self.source.frames():
                if self._stop.is_set():
                    break
                if frame.index % self.stride == 0:
                    self.queue.put(frame)
                self.stats.captured += 1
                self.stats.last_t = frame.t
        except FormcheckError as exc:
            self.stats.error = exc
        except Exception as exc:  # a driver or decoder failure mid-stream: the session still saves
            self.stats.error = SourceLost(f"{self.source.name} failed: {exc}")
        finally:
            self.stats.ended = True
            self.queue.close()
