"""Live reps, phase and faults: the offline analysis re-run on a bounded recent window.

Every update analyses the set so far (at most `window_s` of it) with the same code as
`formcheck analyze`, so live counts and faults agree with it by construction; the window keeps
the cost flat over a long session (~15 ms per minute of track). When the set outgrows the
window, the reps of its older half are frozen and the window restarts where the last frozen
rep ended (at the bottom, between reps), so no rep is cut in two.

A rep is counted as soon as the analysis finds its drive; its verdict (faults or a good rep)
is given once it is settled: the next rep has begun, or `settle_s` has passed since its descent
ended (the zero-phase filter and the bottom pause need a moment of what comes after). A verdict
stands unless a later analysis changes the rep's faults (e.g. a set-level check once more reps
exist): the change is then handed on as a correction, never made silently. At the set's end the
set's own report (the shared pipeline on the set's frames) is the last word: the ledger becomes
its reps, every rep without a verdict gets one and every difference is a correction, so what the
lifter was told ends equal to the report. Reps are matched between analyses by time, not by
number, so a rep found late or dropped by a later analysis cannot pass its verdict to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck import kinematics as kin
from formcheck.analysis import Analysis
from formcheck.errors import FormcheckError
from formcheck.findings import Fault
from formcheck.hip_lines import hip_lines
from formcheck.pelvis import ROLL, describe, describe_drop
from formcheck.profiles import Profile
from formcheck.report.model import hip_angle_shown
from formcheck.variants import analyze_variant

from .recorder import TrackRecorder

SETTLE_S = 0.75
WINDOW_S = 60.0  # a set of 12 reps at 4 s a rep fits; 15 ms per analysis on this machine
CORRECT_AFTER = 2  # analyses in a row that must see a rep's faults changed before it is corrected
UNUSABLE_LOST = ("pose_not_usable",)  # the analysis' stretches the display treats as no body
LOST_TEXT = "Lost track of you: get back into the picture, side-on, whole body in view"
PHASE_SPEED_DPS = 25.0  # raw hip-angle speed below which the hips count as holding (jitter ~10 deg/s)


@dataclass
class LiveRep:
    number: int  # 1-based over the whole session
    start_s: float
    end_s: float
    complete: bool
    codes: tuple[str, ...]  # fault codes as the latest analysis that held this rep sees them
    faults: tuple[Fault, ...] = ()
    leg: str | None = None
    verdict_at: float | None = None  # session time the verdict was given
    verdict_codes: tuple[str, ...] | None = None  # codes as last told (the verdict, then corrections)
    pelvis: str | None = None  # the pelvis at the top in words ("right hip 9 deg lower"); None: unmeasured
    told: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)  # (time, codes) per verdict
    changed: int = 0  # analyses in a row that saw other codes than told (a correction waits for 2)


@dataclass(frozen=True)
class Verdict:
    rep: LiveRep
    new_codes: tuple[str, ...]  # codes not told for this rep before (all of them at first verdict)
    first: bool  # the rep's first verdict (False: a correction of what was told)
    removed: tuple[str, ...] = ()  # a correction: codes told before that the rep no longer has
    withdrawn: bool = False  # a correction: the rep told before is no longer counted


@dataclass
class LiveState:
    reps: list[LiveRep] = field(default_factory=list)
    analysis: Analysis | None = None
    profile: Profile | None = None
    side: str | None = None  # measured side ("left"/"right"; None from the feet or before any analysis)
    low: float = float("nan")  # hysteresis levels of the latest analysis (phase display)
    high: float = float("nan")
    lockout_deg: float | None = None
    overextension_deg: float | None = None
    variant: str | None = None
    analysed_to: float = 0.0  # session time of the last frame analysed

    @property
    def rep_count(self) -> int:
        return len(self.reps)


class LiveAnalyzer:
    """Owns the rep ledger; `update()` re-analyses the window and returns the verdicts due."""

    def __init__(
        self,
        recorder: TrackRecorder,
        variant: str,
        window_s: float = WINDOW_S,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.recorder = recorder
        self.variant = variant
        self.window_s = window_s
        self.settle_s = settle_s
        self.set_start: int | None = None  # first frame of the set (None: counting not started)
        self.start: int | None = None  # first frame of the current window
        self.frozen: list[LiveRep] = []
        self.state = LiveState()
        self.runs = 0
        self.withdrawn: list[LiveRep] = []  # reps told and later not counted (each announced)

    def arm(self, index: int) -> None:
        if self.set_start is None:
            self.set_start = self.start = index

    def update(self, final: bool = False) -> list[Verdict]:
        """Analyse the window up to the newest frame. `final`: the set is over, every rep gets
        its verdict now (`settle` with the set's report is the last word, see there)."""
        n = self.recorder.n_frames
        if self.start is None or n - self.start < 2:
            return []
        window = self.recorder.track(self.start, n)
        try:
            analysis, profile, _ = analyze_variant(window, self.variant)
        except FormcheckError:  # too short yet, or nobody in it: nothing to count so far
            return []
        self.runs += 1
        verdicts = self._take(analysis, profile, float(window.timestamps[-1]), self.frozen, final)
        self._maybe_slide(analysis, self.state.reps, n)
        return verdicts

    def settle(self, analysis: Analysis, profile: Profile) -> list[Verdict]:
        """The set is over and `analysis` is its report's (the shared pipeline on the set's
        frames, from `set_start`): the ledger becomes its reps, with a verdict for each and a
        correction for whatever differs from what was told."""
        if self.set_start is None:
            return []
        self.frozen, self.start = [], self.set_start
        now = max(self.recorder.last_t, self.state.analysed_to)
        return self._take(analysis, profile, now, [], True)

    def _take(
        self, analysis: Analysis, profile: Profile, now: float, frozen: list[LiveRep], final: bool
    ) -> list[Verdict]:
        """Adopt an analysis (its reps after the frozen ones) and return the verdicts it makes due."""
        kept = {id(r) for r in frozen}
        previous = [r for r in self.state.reps if id(r) not in kept]
        current, lost = self._ledger(analysis, frozen, previous)
        self.state = self._state(analysis, profile, current, now)
        verdicts = [Verdict(r, (), False, tuple(r.verdict_codes or ()), True) for r in lost]
        for rep in lost:
            rep.told.append((now, ()))
        self.withdrawn += lost
        return verdicts + self._verdicts(current, now, final)

    def _ledger(
        self, analysis: Analysis, frozen: list[LiveRep], previous: list[LiveRep]
    ) -> tuple[list[LiveRep], list[LiveRep]]:
        """The analysis' reps after the frozen ones, each carrying what was told about the same
        rep before (matched by time); and the reps told before that it no longer counts."""
        by_rep = analysis.faults_by_rep()
        out = list(frozen)
        match = match_reps(
            [(r.start_s, r.end_s) for r in analysis.reps], [(r.start_s, r.end_s) for r in previous]
        )
        for k, rep in enumerate(analysis.reps):
            old = previous[match[k]] if match[k] is not None else None
            faults = by_rep.get(rep.index, [])
            out.append(
                LiveRep(
                    len(frozen) + rep.index,
                    rep.start_s,
                    rep.end_s,
                    rep.complete,
                    tuple(dict.fromkeys(f.code for f in faults)),
                    tuple(faults),
                    rep.leg,
                    old.verdict_at if old else None,
                    old.verdict_codes if old else None,
                    rep_pelvis(analysis, rep.index),
                    old.told if old else [],
                    old.changed if old else 0,
                )
            )
        kept = {m for m in match if m is not None}
        lost = [r for j, r in enumerate(previous) if j not in kept and r.verdict_at is not None]
        return out, lost

    def _state(self, analysis: Analysis, profile: Profile, reps: list[LiveRep], now: float) -> LiveState:
        readable = hip_angle_shown(analysis.not_measurable)
        side = analysis.side.side if analysis.side.side in kin.SIDES else None
        return LiveState(
            reps=reps,
            analysis=analysis,
            profile=profile,
            side=side,
            low=analysis.low_threshold,
            high=analysis.high_threshold,
            lockout_deg=hip_lines(profile)["lockout"] if readable else None,
            overextension_deg=hip_lines(profile)["overextension"] if readable else None,
            variant=profile.name,
            analysed_to=now,
        )

    def _verdicts(self, reps: list[LiveRep], now: float, final: bool) -> list[Verdict]:
        out = []
        for i, rep in enumerate(reps):
            if rep.verdict_at is None:
                # a rep the next one follows is over even when its descent was not seen whole
                settled = final or i + 1 < len(reps) or (rep.complete and now - rep.end_s >= self.settle_s)
                if settled:
                    rep.verdict_at, rep.verdict_codes = now, rep.codes
                    rep.told.append((now, rep.codes))
                    out.append(Verdict(rep, rep.codes, True))
                continue
            told = tuple(rep.verdict_codes or ())
            added = tuple(c for c in rep.codes if c not in told)
            removed = tuple(c for c in told if c not in rep.codes)
            rep.changed = rep.changed + 1 if added or removed else 0
            # e.g. inconsistent_depth, judged once enough reps exist; one analysis that sees it
            # differently may be a judgement still moving between reps: two in a row correct it
            if rep.changed >= CORRECT_AFTER or (final and rep.changed):
                rep.verdict_codes, rep.changed = rep.codes, 0
                rep.told.append((now, rep.codes))
                out.append(Verdict(rep, added, False, removed))
        return out

    def _maybe_slide(self, analysis: Analysis, reps: list[LiveRep], n: int) -> None:
        """Past the window's length: freeze the reps of its older half and restart after them,
        always between two reps (a rep cut in two would be lost or counted twice)."""
        assert self.start is not None
        fps = self.recorder.estimated_fps()
        if n - self.start < self.window_s * fps:
            return
        cut = int(n - self.window_s * fps / 2) - self.start  # in window frames
        done = [r for r in analysis.reps if r.end_frame < cut and r.complete]
        if done:
            last = done[-1]
            self.frozen = reps[: len(self.frozen) + last.index]
            self.start += last.end_frame
        elif not analysis.reps or analysis.reps[0].start_frame > cut:  # the older half holds no rep
            self.start += cut
        # else a rep straddles the cut: slide once it is over


def match_reps(new: list[tuple[float, float]], old: list[tuple[float, float]]) -> list[int | None]:
    """For each new (start, end) span, the index of the old span it overlaps most (each old span
    used once, in order), or None: the same rep seen by two analyses of a growing track."""
    out: list[int | None] = []
    used: set[int] = set()
    for a, b in new:
        overlap = [(min(b, d) - max(a, c), j) for j, (c, d) in enumerate(old) if j not in used]
        best = max(overlap, default=(0.0, None))
        out.append(best[1] if best[1] is not None and best[0] > 0 else None)
        if best[1] is not None and best[0] > 0:
            used.add(best[1])
    return out


def pose_unusable(analysis: Analysis | None, t: float, analysed_to: float) -> bool:
    """The analysis found the pose not usable at t (a close-up, the picture cut to something else:
    the model may still draw a body there), or in a stretch still going on where it ended."""
    if analysis is None:
        return False
    ongoing = analysed_to - 2.0 / max(analysis.fps, 1.0)
    return any(
        s.reason in UNUSABLE_LOST and s.start_s <= t and (t <= s.end_s or s.end_s >= ongoing)
        for s in analysis.unusable
    )


def rep_pelvis(analysis: Analysis, index: int) -> str | None:
    """The rep's pelvis at the top in words, where the view measures it."""
    p = analysis.pelvis.of_rep(index) if analysis.pelvis else None
    if p is None or p.roll_change_deg is None:
        return None
    return describe_drop(p) if p.free_side else describe(p.roll_change_deg, ROLL)


def live_phase(hip: np.ndarray, t: np.ndarray, low: float, high: float) -> str:
    """Phase at the newest frame from the last few raw hip angles: the display's guess for the
    moment the analysis has not reached yet ("" when it cannot tell)."""
    ok = np.isfinite(hip)
    if ok.sum() < 3 or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    speed = float(np.polyfit(t[ok], hip[ok], 1)[0])
    level = float(hip[ok][-1])
    if abs(speed) < PHASE_SPEED_DPS:
        if level >= high:
            return "top"
        return "bottom" if level <= low else ""
    return "up" if speed > 0 else "down"


def hip_angle(row: np.ndarray | None, side: str | None) -> float:
    """The raw signed hip angle of one frame on the measured side (NaN when it cannot be read)."""
    if row is None or side not in kin.SIDES:
        return float("nan")
    pts = row[list(kin.SIDES[side]), :2].astype(np.float64)[None]
    if (row[list(kin.SIDES[side]), 6] < 0.3).any():
        return float("nan")
    return float(kin.angles_from_points(pts).hip[0])


def gauge_number(analysis: Analysis | None, hip: float) -> float:
    """The gauge's number: none before the first analysis, nor where the report shows no angle
    (the lockout cannot be judged on it here: report.model.hip_angle_shown)."""
    if analysis is None or not hip_angle_shown(analysis.not_measurable):
        return float("nan")
    return hip


def nearer_side(row: np.ndarray | None) -> str | None:
    """The side the model sees better in one frame (the gauge's side before the first analysis)."""
    if row is None:
        return None
    vis = {side: float(row[list(idx), 6].mean()) for side, idx in kin.SIDES.items()}
    return max(vis, key=lambda k: vis[k])
