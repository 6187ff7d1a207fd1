"""One live session: capture -> pose -> live analysis and cues -> display, then the set summary
and the saved session.

Threads: capture (sources/capture), pose (pipeline), coaching (coach), audio; the main thread
shows the window (OpenCV's GUI wants the main thread) and handles Ctrl-C. However the session
ends (q/Esc, the window closed, Ctrl-C, the clip's end, the camera lost, an internal error),
what was recorded is analysed as a whole, printed and saved before the process exits.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from formcheck import pipeline
from formcheck.errors import FormcheckError, TruncatedVideo, UsageError
from formcheck.pose import MediaPipePoseBackend, PoseBackend
from formcheck.profiles import ProfileError, load_profile
from formcheck.variants import AUTO

from . import save
from .audio import AudioOut
from .capture import CaptureThread, FrameQueue
from .coach import Coach
from .cues import CuePolicy
from .display import BANNER_SHOW_S, CUE_SHOW_S, Hud, Overlay, Window
from .online import LiveAnalyzer, hip_angle, live_phase, nearer_side
from .processor import Processed, Processor
from .recorder import TrackRecorder
from .report import session_doc, summary_text
from .setup import SetupCheck, SetupStatus
from .sources import Source, open_source

PHASE_FRAMES = 8  # newest displayed hip angles the phase guess reads


@dataclass
class LiveOptions:
    variant: str = AUTO
    out: str | None = None
    headless: bool = False
    audio: str | None = None  # None, "speech" or "tone"
    mirror: bool = True
    hold_s: float = 1.0
    max_lag_s: float = 0.3  # how far the pose may fall behind the camera before frames are dropped
    window_s: float = 60.0  # the live analysis' span (online.WINDOW_S)
    quiet: bool = False  # no status lines on stderr


@dataclass
class SessionResult:
    folder: Path
    ended_by: str  # quit, interrupted, end_of_clip, camera_lost, error
    doc: dict
    analysed: pipeline.Result | None = None  # the set's analysis and report (None: no set counted)
    error: FormcheckError | None = None  # what to exit with after saving (camera lost, ...)
    text: str = ""

    @property
    def exit_code(self) -> int:
        return int(getattr(self.error, "exit_code", 1)) if self.error is not None else 0


@dataclass
class _Display:
    """What the main thread keeps between frames."""

    latency: array = field(default_factory=lambda: array("f"))  # capture -> on screen, seconds
    shown: int = 0
    hips: deque = field(default_factory=lambda: deque(maxlen=PHASE_FRAMES))
    started: float = field(default_factory=time.perf_counter)


class LiveSession:
    def __init__(
        self,
        options: LiveOptions,
        source: Source,
        backend: PoseBackend,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.opt = options
        self.source = source
        self.backend = backend
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.folder = save.session_dir(options.out)
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        view_profile = load_profile(options.variant if options.variant != AUTO else "hip_thrust")
        self.recorder = TrackRecorder(
            self.folder / ".spool",
            source.width,
            source.height,
            None if source.is_camera else source.fps,
            source=getattr(source, "path", source.name),
            model=getattr(backend, "model", ""),
            keep_frames=int(math.ceil((options.window_s + 30.0) * source.fps)),
            meta={"live": {"source": source.name}, "backend": getattr(backend, "name", "")},
        )
        self.setup = SetupCheck(
            source.width, source.height, source.fps, options.variant, view_profile.view, options.hold_s,
            options.mirror,
        )  # fmt: skip
        self.analyzer = LiveAnalyzer(self.recorder, options.variant, window_s=options.window_s)
        lag_frames = max(2, int(math.ceil(options.max_lag_s * source.fps)))
        self.queue = FrameQueue(lag_frames, lossless=not source.realtime)
        self.capture = CaptureThread(source, self.queue)
        self.processor = Processor(self.queue, backend, self.recorder, self.setup, self.analyzer.arm)
        self.problems: list[str] = []
        audio = AudioOut(options.audio, self._problem) if options.audio else None
        self.coach = Coach(self.analyzer, CuePolicy(), self._setup_now, audio)
        self.hud = Hud(source.width, source.height, options.mirror)
        self.display = _Display()
        self._stop_requested = threading.Event()

    # ------------------------------------------------------------------ running

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        print(f"formcheck: {message}", file=self.stderr)

    def _setup_now(self) -> tuple[SetupStatus, float]:
        return self.setup.status, self.recorder.last_t

    def run(self, window: Window | None = None) -> SessionResult:
        """Until the user, the source or a failure ends it; `window` None runs headless."""
        ended_by = "error"
        if not self.opt.quiet:
            src = self.source
            print(
                f"formcheck: live: {src.name}, {src.width}x{src.height} at {src.fps:.0f} fps; saving to"
                f" {self.folder}; {'Ctrl-C' if window is None else 'q, Esc or Ctrl-C'} to finish",
                file=self.stderr,
                flush=True,
            )
        try:
            with _sigterm_as_interrupt():
                self.capture.start()
                self.processor.start()
                self.coach.start()
                ended_by = self._loop(window)
        except KeyboardInterrupt:
            ended_by = "interrupted"
        finally:
            with _sigint_deferred(self.stderr):
                result = self._finish(ended_by, window)
        return result

    def request_stop(self) -> None:
        """End the session as q would (from another thread: a benchmark, an embedding app)."""
        self._stop_requested.set()

    def _loop(self, window: Window | None) -> str:
        while not self._stop_requested.is_set():
            item = self.processor.latest.take(timeout=0.03)
            if item is not None:
                frame = self._compose(item)
                if window is not None and not window.show(frame):
                    return "quit"
                self.display.latency.append(time.perf_counter() - item.frame.captured_at)
                self.display.shown += 1
            elif window is not None and not window.poll():
                return "quit"
            if self.processor.done or self.coach.error is not None:
                return self._why_ended()
        return "quit"

    def _why_ended(self) -> str:
        if self.processor.error is not None or self.coach.error is not None:
            return "error"
        if self.capture.stats.error is not None:
            return "camera_lost" if self.source.is_camera else "source_lost"
        return "end_of_clip"

    def _compose(self, item: Processed) -> np.ndarray:
        state = self.coach.state
        side = state.side
        if state.analysis is None and item.setup.view != "front":  # before the set: the nearer side
            side = nearer_side(item.row)
        # the analysis's calibration puts the gauge on the report's scale; none yet: no number
        cal = state.analysis.calibration if state.analysis is not None else None
        hip = float(cal.shown(hip_angle(item.row, side))) if cal is not None else float("nan")
        self.display.hips.append((item.frame.t, hip))
        hips = np.array(self.display.hips, dtype=float)
        phase = live_phase(hips[:, 1], hips[:, 0], state.low, state.high) if state.analysis else ""
        now = item.frame.t
        cue = self.coach.cue if self.coach.cue and now - self.coach.cue.t < CUE_SHOW_S else None
        faults, at = self.coach.banner
        overlay = Overlay(
            rep=state.rep_count,
            phase=phase,
            hip=hip,
            lockout_deg=state.lockout_deg,
            overextension_deg=state.overextension_deg,
            side=side,
            setup=item.setup,
            cue=cue,
            banner=faults if now - at < BANNER_SHOW_S else (),
            stats=self._stats_line(),
        )
        return self.hud.compose(item.frame.image, item.row, overlay)

    def _stats_line(self) -> str:
        lat = self.display.latency
        recent = float(np.median(np.frombuffer(lat, dtype=np.float32)[-30:])) * 1000 if len(lat) else 0.0
        elapsed = max(time.perf_counter() - self.display.started, 1e-6)
        return (
            f"{self.processor.processed / elapsed:.0f} fps  dropped {self.queue.dropped_count}"
            f"  latency {recent:.0f} ms"
        )

    # ------------------------------------------------------------------ finishing

    def _finish(self, ended_by: str, window: Window | None) -> SessionResult:
        """Stop the threads in order, analyse what was recorded, save it, print the summary."""
        if window is not None:
            window.close()
        self.capture.stop()
        self.capture.join(timeout=5.0)
        self.queue.close()
        self.processor.join()  # drains what was queued: at most max_lag_s of frames
        self.source.close()
        self.coach.finish()
        if self.coach.audio is not None:
            self.coach.audio.close()
        result = self._save(ended_by)
        self.stdout.write(result.text)
        self.stdout.flush()
        return result

    def _save(self, ended_by: str) -> SessionResult:
        arm = self.analyzer.set_start
        track = self.recorder.track(arm or 0)
        error = self._ending_error()
        analysed: pipeline.Result | None = None
        report_error = None
        save.save_track(self.folder, track)
        if arm is not None:
            try:
                analysed = pipeline.run_track(track, pipeline.Settings(variant=self.opt.variant))
                save.save_report(self.folder, analysed.report)
            except FormcheckError as exc:
                report_error = str(exc)
                error = error or exc
        doc = session_doc(self, ended_by, arm, track, report_error, error)
        save.save_session(self.folder, doc)
        self.recorder.discard_spool()
        result = SessionResult(self.folder, ended_by, doc, analysed, error)
        result.text = summary_text(self, result, report_error)
        return result

    def _ending_error(self) -> FormcheckError | None:
        """The error to exit with once everything is saved."""
        for exc in (self.capture.stats.error, self.processor.error, self.coach.error):
            if isinstance(exc, FormcheckError):
                return exc
            if exc is not None:
                return FormcheckError(f"live session failed: {type(exc).__name__}: {exc}")
        if getattr(self.source, "truncated", False):
            return TruncatedVideo(
                f"{self.source.name}: the clip ends early or is corrupt; saved as far as read"
            )
        return None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A `kill` (SIGTERM) ends the session as Ctrl-C does: saved, not lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _sigint_deferred(stderr: TextIO) -> Iterator[None]:
    """While saving, a second Ctrl-C only says to wait: it must not lose the session."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(*_: object) -> None:
        print("formcheck: saving the session, one moment", file=stderr)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def start_session(
    options: LiveOptions,
    camera: int = 0,
    clip: str | None = None,
    realtime: bool = False,
    model: str | None = None,
    resolution: tuple[int, int] = (640, 480),
) -> SessionResult:
    """Check the variant, open the source, the window and the model (each failing with one
    clear error before anything is recorded), then run the session."""
    if options.variant != AUTO:
        try:
            load_profile(options.variant)
        except ProfileError as exc:
            raise UsageError(str(exc)) from exc
    with contextlib.ExitStack() as undo:
        source = open_source(camera, clip, realtime, *resolution)
        undo.callback(source.close)
        window = None if options.headless else Window()
        if window is not None:
            undo.callback(window.close)
        backend = MediaPipePoseBackend(model)
        undo.callback(backend.close)
        session = LiveSession(options, source, backend)
        return session.run(window)
