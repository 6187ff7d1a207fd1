"""One live session: capture -> pose -> live analysis and cues -> display, then the set summary
and the saved session.

Threads: capture (sources/capture), pose (pipeline), coaching (coach), audio; the main thread
shows the window (OpenCV's GUI wants the main thread) and handles Ctrl-C. However the session
ends (q/Esc, the window closed, Ctrl-C, the clip's end, the camera lost, an internal error),
what was recorded is analysed as a whole, printed and saved before the process exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from formcheck import pipeline
from formcheck.errors import FormcheckError, TruncatedVideo, UsageError
from formcheck.pose import MediaPipePoseBackend, PoseBackend, frame_stride
from formcheck.profiles import ProfileError, load_profile
from formcheck.variants import AUTO

from . import online, save
from .audio import AudioOut
from .capture import CaptureThread, FrameQueue, queue_frames
from .coach import Coach
from .cues import CuePolicy
from .display import BANNER_SHOW_S, CUE_SHOW_S, Hud, Overlay, Window
from .layout import DEFAULT_SCREEN
from .online import LOST_TEXT, LiveAnalyzer, LiveRep, hip_angle, live_phase, nearer_side, pose_unusable
from .processor import Processed, Processor
from .recorder import TrackRecorder
from .report import session_doc, set_report, summary_text
from .screens import SetSummary, loading_screen, message_screen, set_summary, summary_screen
from .setup import SetupCheck, SetupStatus
from .signals import sigint_deferred, sigterm_as_interrupt
from .sources import Source, open_source

PHASE_FRAMES = 8  # newest displayed hip angles the phase guess reads
NEXT_SET_KEYS = (ord("n"), ord("N"), ord(" "), 13)  # end this set (then rest, then the next one)
NEXT_KEYS_TEXT = "n or Space: rest, then the next set    q: finish the session"
END_KEYS_TEXT = "Any key: close"
LOST_CODES = ("no_person", "out_of_frame")
LOST_AFTER_S = 0.3  # the setup check's dropout limit: one missed frame is not "out of the picture"
LOSSLESS_QUEUE_S = 0.3
BEHIND_S = 0.15  # a frame this late is shown only if none was for DISPLAY_GAP_S: the pose catches up
DISPLAY_GAP_S = 0.1


@dataclass
class LiveOptions:
    variant: str = AUTO
    out: str | None = None
    headless: bool = False
    audio: str | None = None  # None, "speech" or "tone"
    mirror: bool = True
    hold_s: float = 1.0
    max_lag_s: float = 2.0  # how far the pose may fall behind the camera before frames are dropped
    window_s: float = 60.0  # the live analysis' span (online.WINDOW_S)
    quiet: bool = False  # no status lines on stderr
    screen: tuple[int, int] | None = None  # the window's size (None: layout.DEFAULT_SCREEN)


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
    lost_since: float | None = None  # session time the body left the picture mid-set
    last_at: float = 0.0  # perf_counter of the last frame drawn


@dataclass(frozen=True)
class FinishedSet:
    """A set the lifter ended with the next-set key (the session goes on)."""

    number: int
    start_frame: int
    end_frame: int
    reps: tuple[LiveRep, ...]
    summary: SetSummary | None  # from the set's own report; None when it could not be analysed
    report_error: str | None


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
        self.stride = frame_stride(source.fps)  # analyze's: a 60 fps source analysed at 30 fps
        self.recorder = TrackRecorder(
            self.folder / ".spool",
            source.width,
            source.height,
            None if source.is_camera else source.fps / self.stride,
            source=getattr(source, "path", source.name),
            model=getattr(backend, "model", ""),
            keep_frames=int(math.ceil((options.window_s + 30.0) * source.fps)),
            meta={"live": {"source": source.name}, "backend": getattr(backend, "name", "")},
        )
        self.setup = SetupCheck(
            source.width, source.height, source.fps / self.stride, options.variant, view_profile.view,
            options.hold_s, options.mirror,
        )  # fmt: skip
        self.first_arm: int | None = None  # the session's first counted frame
        self.sets: list[FinishedSet] = []
        self.set_number = 1
        self.analysis_runs_before = 0  # live analyses of the sets already ended
        self.ended_analyzers: list[LiveAnalyzer] = []
        self.rest_from: float | None = None  # session time the last set was ended (between sets)
        # a clip read on demand waits for the pose instead (a short queue keeps the display current)
        lag_s = options.max_lag_s if source.realtime else LOSSLESS_QUEUE_S
        self.queue = FrameQueue(queue_frames(lag_s, source, self.stride), lossless=not source.realtime)
        self.capture = CaptureThread(source, self.queue, self.stride)
        self.processor = Processor(self.queue, backend, self.recorder, self.setup, self._on_armed)
        self.problems: list[str] = []
        audio = AudioOut(options.audio, self._problem) if options.audio else None
        self.coach = Coach(self._new_analyzer(), CuePolicy(), self._setup_now, audio)
        self.hud = Hud(source.width, source.height, options.mirror, options.screen or DEFAULT_SCREEN)
        self.display = _Display()
        self._stop_requested = threading.Event()
        self._last_set: pipeline.Result | None = None  # the last set's report, once the session ends
        self._last_error: str | None = None

    # ------------------------------------------------------------------ running

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        print(f"formcheck: {message}", file=self.stderr)

    @property
    def analyzer(self) -> LiveAnalyzer:
        """The current set's live analysis (the coach holds it; a new set brings a new one)."""
        return self.coach.analyzer

    def _new_analyzer(self) -> LiveAnalyzer:
        return LiveAnalyzer(self.recorder, self.opt.variant, window_s=self.opt.window_s)

    def _on_armed(self, index: int) -> None:
        """The start position was held (pose thread): count this set from `index`."""
        self.analyzer.arm(index)
        if self.first_arm is None:
            self.first_arm = index

    def live_reps(self) -> list[LiveRep]:
        """Every set's reps as counted live, numbered through the session as the report does."""
        out: list[LiveRep] = []
        for reps in [s.reps for s in self.sets] + [tuple(self.analyzer.state.reps)]:
            out += [dataclasses.replace(r, number=len(out) + k + 1) for k, r in enumerate(reps)]
        return out

    def withdrawn_reps(self) -> list[LiveRep]:
        return [r for a in [*self.ended_analyzers, self.analyzer] for r in a.withdrawn]

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
            with sigterm_as_interrupt():
                self.capture.start()
                self.processor.start()
                self.coach.start()
                ended_by = self._loop(window)
        except KeyboardInterrupt:
            ended_by = "interrupted"
        finally:
            with sigint_deferred(self.stderr):
                result = self._finish(ended_by, window)
        if window is not None:
            with contextlib.suppress(KeyboardInterrupt):
                self._end_screen(window, result)
            window.close()
        return result

    def _end_screen(self, window: Window, result: SessionResult) -> None:
        """The last set's summary in the window until a key is pressed (not after Ctrl-C or a
        failure: the lifter wants out, or the terminal says what went wrong)."""
        if result.ended_by in ("interrupted", "error") or result.analysed is None:
            return
        # None: ended while resting (that set's summary was shown already) or not analysable
        if self._last_set is not None:  # the last set's own report (one set: the session's too)
            summary = set_summary(self._last_set.report, self.set_number)
            window.hold(summary_screen(*self._screen(), summary, END_KEYS_TEXT))

    def request_stop(self) -> None:
        """End the session as q would (from another thread: a benchmark, an embedding app)."""
        self._stop_requested.set()

    def _loop(self, window: Window | None) -> str:
        while not self._stop_requested.is_set():
            item = self.processor.latest.take(timeout=0.03)
            if item is not None and self._skip(item):  # dropped for the display, not the analysis
                item = None
            if item is not None:
                frame = self._compose(item)
                if window is not None and not window.show(frame):
                    return "quit"
                if window is not None and window.last_key in NEXT_SET_KEYS and not self._next_set(window):
                    return "quit"
                self.display.latency.append(time.perf_counter() - item.frame.captured_at)
                self.display.shown += 1
            elif window is not None and not window.poll():
                return "quit"
            if self.processor.done or self.coach.error is not None:
                return self._why_ended()
        return "quit"

    def _skip(self, item: Processed) -> bool:
        """Behind the camera: draw at most every DISPLAY_GAP_S, leaving the cores to the pose."""
        now, last = time.perf_counter(), self.display.last_at
        skip = self.source.realtime and now - item.frame.captured_at > BEHIND_S and now - last < DISPLAY_GAP_S
        self.display.last_at = last if skip else now
        return skip

    def _next_set(self, window: Window) -> bool:
        """The lifter ended the set: its summary until a key, then the rest and the next set.
        False: they chose to finish the session instead."""
        if self.analyzer.set_start is None or not self.analyzer.state.reps:  # no set to end yet
            return True
        done = self._end_set()
        if done.summary is None:
            return True
        key = window.hold(summary_screen(*self._screen(), done.summary, NEXT_KEYS_TEXT))
        return key not in (-1, 27, ord("q"), ord("Q"))

    def _end_set(self) -> FinishedSet:
        end = self.recorder.n_frames
        start = self.analyzer.set_start if self.analyzer.set_start is not None else 0
        result, error = self._set_report(start, end)
        old = self.coach.end_set(self._new_analyzer(), CuePolicy(), result)
        self.processor.new_set()
        summary = set_summary(result.report, self.set_number) if result is not None else None
        done = FinishedSet(self.set_number, start, end, tuple(old.state.reps), summary, error)
        self.analysis_runs_before += old.runs
        self.ended_analyzers.append(old)
        self.sets.append(done)
        self.set_number += 1
        self.rest_from = self.recorder.last_t
        return done

    def _set_report(self, start: int, end: int) -> tuple[pipeline.Result | None, str | None]:
        return set_report(self.recorder.track(start, end), self.opt.variant)

    def _screen(self) -> tuple[int, int]:
        return self.hud.place.width, self.hud.place.height

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
        lost = self._lost(item)
        if lost is not None:
            hip = float("nan")
        # the rest lasts until the next set's first rep (a lifter who stays on the bench holds
        # the start position long before the set begins)
        resting = self.rest_from is not None and state.rep_count == 0
        self.display.hips.append((item.frame.t, hip))
        hips = np.array(self.display.hips, dtype=float)
        phase = live_phase(hips[:, 1], hips[:, 0], state.low, state.high) if state.analysis else ""
        now = item.frame.t
        cue = self.coach.cue if self.coach.cue and now - self.coach.cue.t < CUE_SHOW_S else None
        faults, at = self.coach.banner
        overlay = Overlay(
            rep=state.rep_count,
            phase=phase,
            hip=online.gauge_number(state.analysis, hip),  # the phase above still follows the reading
            lockout_deg=state.lockout_deg,
            overextension_deg=state.overextension_deg,
            side=side,
            setup=item.setup,
            cue=cue,
            banner=faults if now - at < BANNER_SHOW_S else (),
            stats=self._stats_line(),
            lost=lost,
            set_number=self.set_number,
            rest=(self.set_number, max(0.0, now - (self.rest_from or 0.0))) if resting else None,
        )
        return self.hud.compose(item.frame.image, item.row, overlay)

    def _lost(self, item: Processed) -> str | None:
        """Mid-set, the body has been out of the picture for a moment: what to do about it."""
        why, state = None, self.coach.state
        if self.analyzer.set_start is not None:
            why = next((a.text for a in item.setup.advice if a.blocking and a.code in LOST_CODES), None)
            if why is None and pose_unusable(state.analysis, item.frame.t, state.analysed_to):
                why = LOST_TEXT  # a body drawn where the analysis sees none (a close-up, a cut)
        d = self.display
        if why is None:
            d.lost_since = None
            return None
        if d.lost_since is None:
            d.lost_since = item.frame.t
        return why if item.frame.t - d.lost_since >= LOST_AFTER_S else None

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
            window.paint(message_screen(*self._screen(), "Saving the set...", ""))
        self.capture.stop()
        self.capture.join(timeout=5.0)
        self.queue.close()
        self.processor.join()  # drains what was queued: at most 2 x max_lag_s of frames
        self.source.close()
        start = self.analyzer.set_start
        if start is not None:  # the last set's report: its summary, and the last word on its verdicts
            self._last_set, self._last_error = self._set_report(start, self.recorder.n_frames)
        self.coach.finish(self._last_set)
        if self.coach.audio is not None:
            self.coach.audio.close()
        result = self._save(ended_by)
        self.stdout.write(result.text)
        self.stdout.flush()
        return result

    def _save(self, ended_by: str) -> SessionResult:
        arm = self.first_arm
        track = self.recorder.track(arm or 0)
        error = self._ending_error()
        analysed: pipeline.Result | None = None
        report_error = None
        save.save_track(self.folder, track)
        if arm is not None:
            try:
                if not self.sets and self.analyzer.set_start == arm and self._last_error is None:
                    analysed = self._last_set  # one set: its report is the session's, not a rerun
                if analysed is None:
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
        window = None if options.headless else Window(screen=options.screen)
        if window is not None:
            undo.callback(window.close)
            options = dataclasses.replace(options, screen=window.screen)
            window.paint(loading_screen(*window.screen, source.name))
        backend = MediaPipePoseBackend(model)
        undo.callback(backend.close)
        session = LiveSession(options, source, backend)
        return session.run(window)
