"""The coaching loop, on its own thread: re-analyse every `interval_s`, turn verdicts and setup
advice into cues (CuePolicy), say them (AudioOut), and keep what the display shows and the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from formcheck.findings import Fault
from formcheck.pipeline import Result

from .audio import AudioOut
from .cues import Cue, CuePolicy
from .online import LiveAnalyzer, LiveState, Verdict
from .setup import SetupStatus

INTERVAL_S = 0.3
MAX_SHARE = 0.15  # of one core: on a busy machine the analysis runs less often, the pose model first


class Coach:
    def __init__(
        self,
        analyzer: LiveAnalyzer,
        policy: CuePolicy,
        setup_status: Callable[[], tuple[SetupStatus, float] | None],
        audio: AudioOut | None = None,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.analyzer = analyzer
        self.policy = policy
        self.setup_status = setup_status  # the newest setup status and its session time
        self.audio = audio
        self.interval_s = interval_s
        self.log: list[Cue] = []
        self.cue: Cue | None = None  # the newest cue, for the display
        self.banner: tuple[tuple[Fault, ...], float] = ((), 0.0)  # the last verdict's faults and when
        self.analysis_s = 0.0  # time spent analysing (for the benchmark)
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._tick_lock = threading.Lock()  # one analysis at a time; a set's end waits for it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-live-coach", daemon=True)

    @property
    def state(self) -> LiveState:
        return self.analyzer.state

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        wait = self.interval_s
        try:
            while not self._stop.wait(wait):
                started = time.perf_counter()
                self.tick()
                wait = max(self.interval_s, (time.perf_counter() - started) / MAX_SHARE)
        except BaseException as exc:  # reported by the session; counting stops, saving does not
            self.error = exc

    def tick(self, final: bool = False) -> None:
        """One round: setup advice, then the analysis and its verdicts."""
        with self._tick_lock:
            self._tick(final)

    def end_set(self, analyzer: LiveAnalyzer, policy: CuePolicy, settled: Result | None) -> LiveAnalyzer:
        """The lifter ended the set: judge its last reps (`settled`: the set's report's analysis,
        which has the last word), then coach the next set with a fresh (not yet armed) analyzer
        and cue policy (rep numbers start again). Returns the old one."""
        with self._tick_lock:
            self._final(settled)
            old, self.analyzer, self.policy = self.analyzer, analyzer, policy
            with self._lock:
                self.cue, self.banner = None, ((), 0.0)
        return old

    def _tick(self, final: bool) -> None:
        self._setup_cues()
        started = time.perf_counter()
        verdicts = self.analyzer.update(final=final)
        self.analysis_s += time.perf_counter() - started
        for verdict in verdicts:
            self._on_verdict(verdict)

    def _setup_cues(self) -> None:
        latest = self.setup_status()
        if latest is not None:
            status, now = latest
            for cue in self.policy.on_setup(status, now):
                self._emit(cue)

    def _final(self, settled: Result | None) -> None:
        """Every rep of the set judged: by the set's report when there is one (corrections for
        whatever it changes), else by a last analysis of the window."""
        if settled is None:
            self._tick(final=True)
            return
        self._setup_cues()  # a fast clip can end between ticks: the "Go" still belongs in the log
        for verdict in self.analyzer.settle(settled.analysis, settled.profile):
            self._on_verdict(verdict)

    def _on_verdict(self, verdict: Verdict) -> None:
        now = self.analyzer.state.analysed_to
        if not verdict.withdrawn:  # the banner shows the rep's faults as last told
            with self._lock:
                self.banner = (verdict.rep.faults, now)
        for cue in self.policy.on_verdict(verdict, now):
            self._emit(cue)

    def _emit(self, cue: Cue) -> None:
        with self._lock:
            self.log.append(cue)
            self.cue = cue
        if self.audio is not None:
            self.audio.say(cue)

    def finish(self, settled: Result | None = None) -> None:
        """The session is over: every rep of the last set judged (see `_final`)."""
        if self._thread.is_alive():
            self.stop()
        with self._tick_lock:
            self._final(settled)
