"""The processing thread: pose per frame, in capture order, into the track; newest result out.

It takes frames from the capture queue (with the frames dropped before them, which get an
empty row so the track keeps the camera's clock), runs MediaPipe in VIDEO mode on the capture
timestamps, appends to the recorder, updates the setup check, and leaves the newest processed
frame in a one-slot `Latest` for the display, which never holds the pose model up.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from formcheck.pose import PoseBackend

from .capture import FrameQueue
from .recorder import TrackRecorder
from .setup import SetupCheck, SetupStatus, brightness
from .sources import Frame


@dataclass(frozen=True)
class Processed:
    frame: Frame
    row: np.ndarray | None
    setup: SetupStatus
    done_at: float  # perf_counter when the pose was ready


class Latest:
    """A one-slot mailbox: put() replaces, take() waits for something newer than last time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Processed | None = None
        self._seq = 0
        self._taken = 0

    def put(self, item: Processed) -> None:
        with self._cond:
            self._item, self._seq = item, self._seq + 1
            self._cond.notify_all()

    def take(self, timeout: float) -> Processed | None:
        with self._cond:
            if self._seq == self._taken:
                self._cond.wait(timeout)
            if self._seq == self._taken:
                return None
            self._taken = self._seq
            return self._item


class Processor:
    """Runs on its own thread until the capture side closes the queue and it is drained."""

    def __init__(
        self,
        queue: FrameQueue,
        backend: PoseBackend,
        recorder: TrackRecorder,
        setup: SetupCheck,
        on_armed: Callable[[int], None],
    ) -> None:
        self.queue = queue
        self.backend = backend
        self.recorder = recorder
        self.setup = setup
        self.on_armed = on_armed
        self.latest = Latest()
        self.processed = 0
        self.pose_latency = array("f")  # seconds from capture to pose, per processed frame
        self.error: BaseException | None = None
        self._last_ms = -1
        self._armed = False
        self._new_set = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-live-pose", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def new_set(self) -> None:
        """Wait for the start position again before arming the next set (done on this thread,
        between two frames, so the setup check is never changed under it)."""
        self._new_set.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                batch = self.queue.take(timeout=0.1)
                if batch is None:
                    return
                for _, t in batch.dropped:  # never seen by the model: the recorder bridges short runs
                    self.recorder.append(t, None, dropped=True)
                if batch.frame is not None:
                    self._process(batch.frame)
        except BaseException as exc:  # handed to the session, which saves what there is
            self.error = exc

    def _process(self, frame: Frame) -> None:
        ms = max(frame.ms, self._last_ms + 1)  # VIDEO mode needs increasing timestamps
        self._last_ms = ms
        row = self.backend.process(frame.image, ms)
        if self._new_set.is_set():
            self._new_set.clear()
            self.setup.restart()
            self._armed = False
        index = self.recorder.append(frame.t, row)
        status = self.setup.update(index, frame.t, row, brightness(frame.image))
        if status.armed and not self._armed and status.arm_index is not None:
            self._armed = True
            self.on_armed(status.arm_index)
        now = time.perf_counter()
        self.processed += 1
        self.pose_latency.append(now - frame.captured_at)
        self.latest.put(Processed(frame, row, status, now))
