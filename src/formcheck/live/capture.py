"""Capture on its own thread, decoupled from the pose model by a bounded frame queue.

A camera never waits for the consumer: when the queue already holds `max_lag_s` of frames the
oldest one is dropped (and counted), so a slow frame or a busy machine costs frames, never a
stalled capture or an ever-growing delay. The queue is deeper than one slot on purpose: a
short hiccup (another program taking the core for a moment) is absorbed and every frame still
gets a pose, which is what keeps live counts equal to `formcheck analyze`'s; only a sustained
overload drops frames. Dropped frames are handed to the consumer as (index, time) so the track
keeps a row for them (no pose), and the analysis bridges them like any short dropout.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from formcheck.errors import FormcheckError, SourceLost

from .sources import Frame, Source


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
        self._dropped: list[tuple[int, float]] = []
        self._cond = threading.Condition()
        self._closed = False
        self.dropped_count = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self.lossless:
                while len(self._frames) >= self.max_frames and not self._closed:
                    self._cond.wait(0.1)
            elif len(self._frames) >= self.max_frames:
                old = self._frames.popleft()
                self._dropped.append((old.index, old.t))
                self.dropped_count += 1
            self._frames.append(frame)
            self._cond.notify_all()

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
            dropped, self._dropped = self._dropped, []
            if self._frames:
                frame = self._frames.popleft()
                self._cond.notify_all()
                return Batch(dropped, frame)
            if self._closed:
                return Batch(dropped, None) if dropped else None
            return Batch(dropped, None)

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)


@dataclass
class CaptureStats:
    captured: int = 0
    error: FormcheckError | None = None  # how the source ended, if it failed
    ended: bool = False
    last_t: float = 0.0


class CaptureThread:
    """Reads a source into a FrameQueue until the source ends, fails or stop() is called."""

    def __init__(self, source: Source, queue: FrameQueue) -> None:
        self.source = source
        self.queue = queue
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
