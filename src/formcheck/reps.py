"""Rep segmentation on the signed hip angle.

A rep is one drive from the bottom to the top (the concentric) plus what follows it:
the top hold, the descent and the bottom pause. Counting drives rather than tops means
a set that starts at the top (the lifter settles at lockout first) is counted right,
and a clip that starts lying flat (which reads ~180 deg, like a lockout) adds nothing,
because no drive led there. Tops reached with straight knees (lying flat at the end
or start of a clip) are rejected too: every hip thrust and bridge locks out with
bent knees.

Robustness: two thresholds (hysteresis) from the clip's own range, so jitter around
one level never toggles; a minimum range and duration per rep; and segmentation runs
only inside stretches the signal stage marked usable, so dropouts and hard cuts can
split or drop a rep but never invent one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .phases import PhaseConfig, rep_phases
from .signal import runs


@dataclass(frozen=True)
class RepConfig:
    low_percentile: float = 5.0
    high_percentile: float = 95.0
    enter_bottom_frac: float = 0.35
    enter_top_frac: float = 0.65
    min_range_deg: float = 20.0
    min_rep_s: float = 0.6
    band_frac: float = 0.1
    band_min_deg: float = 3.0
    # A hold is where the hips are near the end of the range AND nearly still: the band
    # alone counts the slow ends of an eased turn-around as a pause (a cusp read 0.5 s).
    hold_speed_frac: float = 0.1  # of the rep's peak hip speed
    hold_speed_min_dps: float = 4.0
    max_top_knee_deg: float = 155.0
    swing_window_s: float = 4.0  # about one rep: the span over which a rep's swing is judged
    # phase boundaries (phases.py): the rule tools/phase_truth.py labels real clips by
    phase_run_frac: float = 0.15
    phase_band_frac: float = 0.05
    phase_plateau_s: float = 0.2
    phase_speed_smooth_s: float = 0.1
    phase_lull_frac: float = 0.3
    phase_lull_s: float = 0.2
    phase_descent_band_frac: float = 0.035
    phase_landing_lag_s: float = 0.02
    phase_stall_frac: float = 0.25

    # a dropout this short inside a drive or a top (no cut in it) is bridged, not a break in the set
    bridge_gap_s: float = 0.0
    # a "rep" whose top knee is this far from the set's typical top knee is another movement
    # (loading or unloading a weight, sitting up); 0 = off
    max_knee_outlier_deg: float = 0.0

    @property
    def phase(self) -> PhaseConfig:
        return PhaseConfig(self.phase_run_frac, self.phase_band_frac, self.phase_plateau_s,
                           self.phase_speed_smooth_s, self.phase_lull_frac, self.phase_lull_s,
                           self.phase_descent_band_frac, self.phase_landing_lag_s, self.phase_stall_frac)


@dataclass(frozen=True)
class Rep:
    """One rep. Indices are frames of the track; times in seconds; None = not observed."""

    index: int
    start_frame: int
    top_frame: int
    end_frame: int
    start_s: float
    end_s: float
    bottom_hip_deg: float
    top_hip_deg: float
    end_hip_deg: float | None
    up_s: float
    top_pause_s: float
    down_s: float | None
    bottom_pause_s: float | None
    top_start_s: float
    top_end_s: float
    top_knee_deg: float
    top_shin_deg: float
    top_torso_deg: float
    complete: bool
    end_torso_deg: float | None = None  # trunk at the bottom the descent reached: depth from either leg
    leg: str | None = None  # single-leg sets: the working leg ("left"/"right"); None with both legs
    # the top hold as a person sees it: from the end of the drive's fast run to the start of the
    # descent's (phases.py); wobbles, squeezes and knee pulses inside the hold do not end it, and
    # an eased turn-around with no hold reads far shorter than top_pause_s (None: not measured)
    top_still_s: float | None = None
    top_still_from_s: float | None = None  # where that still hold begins

    @property
    def top_still_span(self) -> tuple[float, float] | None:
        """The still hold at the top, (from, to) in seconds, when measured and not empty."""
        if self.top_still_s is None or self.top_still_from_s is None or self.top_still_s <= 0:
            return None
        return self.top_still_from_s, self.top_still_from_s + self.top_still_s


@dataclass(frozen=True)
class Segmentation:
    reps: list[Rep]
    low_threshold: float
    high_threshold: float
    range_deg: float
    rejected: list[tuple[float, str]]


def hysteresis_state(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """+1 after x last rose above high, -1 after it last fell below low, 0 before either.

    Values between the two levels (and NaN) keep the previous state: that is what makes
    jitter around a single level harmless.
    """
    code = np.where(x > high, 1, np.where(x < low, -1, 0))
    last = np.where(code != 0, np.arange(len(x)), -1)
    np.maximum.accumulate(last, out=last)
    return np.where(last >= 0, code[np.maximum(last, 0)], 0)


def turning_points(x: np.ndarray, min_swing: float) -> tuple[list[float], list[float]]:
    """Peaks and troughs of x that stand at least min_swing above/below their neighbours
    (a zigzag filter: jitter smaller than min_swing never makes a turning point)."""
    xs = x[np.isfinite(x)]
    peaks: list[float] = []
    troughs: list[float] = []
    if len(xs) == 0:
        return peaks, troughs
    hi = lo = ext = float(xs[0])
    mode = 0  # 0 undecided, +1 rising (ext = running max), -1 falling (ext = running min)
    for v in map(float, xs[1:]):
        if mode == 0:
            hi, lo = max(hi, v), min(lo, v)
            if hi - v >= min_swing:
                peaks.append(hi)
                mode, ext = -1, v
            elif v - lo >= min_swing:
                troughs.append(lo)
                mode, ext = 1, v
        elif mode == 1:
            if v > ext:
                ext = v
            elif ext - v >= min_swing:
                peaks.append(ext)
                mode, ext = -1, v
        else:
            if v < ext:
                ext = v
            elif v - ext >= min_swing:
                troughs.append(ext)
                mode, ext = 1, v
    return peaks, troughs


def typical_swing(x: np.ndarray, window: int) -> float:
    """Median, over rep-long windows, of the signal's range there: what one rep spans.

    Unlike the clip's overall spread, a one-off set-up far below (or above) every rep
    moves it only for the few windows that hold the set-up."""
    finite = x[np.isfinite(x)]
    if len(finite) < 2:
        return 0.0
    window = int(np.clip(window, 2, len(finite)))
    step = max(1, window // 8)
    views = np.lib.stride_tricks.sliding_window_view(finite, window)[::step]
    return float(np.median(views.max(axis=1) - views.min(axis=1)))


def thresholds(
    hip: np.ndarray, usable: np.ndarray, cfg: RepConfig, window: int = 120
) -> tuple[float, float, float]:
    """Low and high hysteresis levels and the clip's range, from its usable frames.

    The levels sit between the typical bottom and the typical top: the medians of the
    clip's turning points, so a set-up that goes lower (or higher) than any rep, however
    long, does not drag the levels out of the reps' reach. Percentiles are the fallback
    for a clip without a full swing.
    """
    vals = hip[usable & np.isfinite(hip)]
    if len(vals) == 0:
        return np.nan, np.nan, 0.0
    lo, hi = np.percentile(vals, [cfg.low_percentile, cfg.high_percentile])
    masked = np.where(usable, hip, np.nan)
    # swings smaller than half of what a rep typically spans are wobble, not reps
    swing = max(cfg.min_range_deg, 0.5 * typical_swing(masked, window))
    peaks, troughs = turning_points(masked, swing)
    if len(peaks) >= 2 and len(troughs) >= 2:
        lo, hi = float(np.median(troughs)), float(np.median(peaks))
    rng = float(hi - lo)
    return float(lo + cfg.enter_bottom_frac * rng), float(lo + cfg.enter_top_frac * rng), rng


def segment(
    hip: np.ndarray,
    knee: np.ndarray,
    shin: np.ndarray,
    torso: np.ndarray,
    timestamps: np.ndarray,
    usable: np.ndarray,
    cfg: RepConfig,
    cuts: np.ndarray | None = None,
    fine: np.ndarray | None = None,
    height: np.ndarray | None = None,
) -> Segmentation:
    """Find reps in a hip-angle series (degrees) inside the usable frames.

    cuts: first frames of new shots; a short dropout is bridged (bridge_gap_s) unless one lies in it.
    fine: the same signal less smoothed, on which the phase boundaries are measured (a fast
    drop is not smeared); reps are found and counted on hip either way. height: the hips' height
    in the picture, where the bottom of a descent is read (phases.rep_phases)."""
    seen = usable & np.isfinite(hip)
    if fine is not None:
        fine, _ = bridge_gaps(fine, usable, timestamps, cuts, cfg.bridge_gap_s)
    if height is not None:
        height, _ = bridge_gaps(height, usable, timestamps, cuts, cfg.bridge_gap_s)
    hip, usable = bridge_gaps(hip, usable, timestamps, cuts, cfg.bridge_gap_s)
    dt = np.diff(timestamps)
    fps = 1.0 / float(np.median(dt)) if len(dt) else 30.0
    low, high, rng = thresholds(hip, usable, cfg, window=int(round(cfg.swing_window_s * fps)))
    reps: list[Rep] = []
    rejected: list[tuple[float, str]] = []
    if rng < cfg.min_range_deg:
        return Segmentation(reps, low, high, rng, rejected)
    series = _Series(hip, knee, shin, torso, timestamps, hip if fine is None else fine, height)
    for s, e in zip(*runs(usable & np.isfinite(hip)), strict=True):
        for cand in _candidates(hip[s:e], low, high):
            rep, why = _measure(series, s, e, cand, cfg, len(reps) + 1)
            if rep is None:
                rejected.append((float(timestamps[s + cand[1]]), why))
            else:
                reps.append(rep)
    reps = [_unseen_in_gaps(r, usable & ~seen, timestamps) for r in reps]
    reps, odd = unlike_the_set(reps, cfg.max_knee_outlier_deg)
    rejected += odd
    return Segmentation(_link_bottom_pauses(reps, series), low, high, rng, rejected)


def _unseen_in_gaps(rep: Rep, bridged: np.ndarray, t: np.ndarray) -> Rep:
    """A descent or a top hold that runs through a bridged dropout was not seen: its time would be
    the straight line drawn across the gap, so it is not reported (the rep still counts)."""
    top = bridged[np.searchsorted(t, rep.top_start_s) : np.searchsorted(t, rep.top_end_s) + 1].any()
    if top:
        rep = replace(rep, top_pause_s=float("nan"), top_still_s=None)
    if rep.down_s is not None and bridged[np.searchsorted(t, rep.top_end_s) : rep.end_frame + 1].any():
        rep = replace(rep, down_s=None)
    return rep


def unlike_the_set(reps: list[Rep], max_knee_outlier_deg: float) -> tuple[list[Rep], list[tuple[float, str]]]:
    """The reps without those whose top knee angle is far from the others' median, and why each
    was dropped. Every rep of a thrust or bridge locks out with the feet in the same place, so
    its knee bends alike at every top; a dumbbell rolled off the hips at the end of a demo read
    as a "rep" with its knee at 148 deg against 60-63 on the two real reps. Needs three reps
    with a knee reading (with two, neither can be told to be the odd one); judged against the
    median of all of them, which the odd one cannot drag."""
    knees = np.array([r.top_knee_deg for r in reps], dtype=float)
    if max_knee_outlier_deg <= 0 or np.isfinite(knees).sum() < 3:
        return reps, []
    typical = float(np.median(knees[np.isfinite(knees)]))  # the majority: an odd one cannot move it far
    keep, dropped = [], []
    for i, rep in enumerate(reps):
        if np.isfinite(knees[i]) and abs(knees[i] - typical) > max_knee_outlier_deg:
            why = f"top knee {knees[i]:.0f} deg against the set's {typical:.0f}: another movement, not a rep"
            dropped.append((rep.top_start_s, why))
        else:
            keep.append(rep)
    return keep, dropped


def bridge_gaps(
    hip: np.ndarray, usable: np.ndarray, t: np.ndarray, cuts: np.ndarray | None, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The hip series and usable mask with short dropouts between usable stretches filled in
    (linearly): the model loses the pose for a few frames exactly where the body is hardest to
    read (the top of a bridge seen from the feet folds the trunk toward the lens), and a rep
    split at such a gap would be no rep at all. A gap holding a hard cut is never bridged."""
    ok = usable & np.isfinite(hip)
    starts, ends = runs(ok)
    if max_gap_s <= 0 or len(starts) < 2:
        return hip, usable
    hip, usable = hip.copy(), usable.copy()
    for a, b in zip(ends[:-1], starts[1:], strict=True):  # gap = frames [a, b)
        cut = cuts is not None and bool(cuts[a : b + 1].any())
        if t[b] - t[a - 1] <= max_gap_s and not cut:
            hip[a:b] = np.interp(t[a:b], [t[a - 1], t[b]], [hip[a - 1], hip[b]])
            usable[a:b] = True
    return hip, usable


@dataclass(frozen=True)
class _Series:
    hip: np.ndarray
    knee: np.ndarray
    shin: np.ndarray
    torso: np.ndarray
    t: np.ndarray
    fine: np.ndarray
    height: np.ndarray | None = None  # the hips' height in the picture (phases.rep_phases)


def _candidates(h: np.ndarray, low: float, high: float) -> list[tuple[int, int, int, int, int]]:
    """Per drive: (bottom search start, up crossing, down crossing or -1, next bottom end, run len).

    Only drives that start from the bottom state count; a run that begins at the top
    contributes its descent to nothing.
    """
    state = hysteresis_state(h, low, high)
    change = np.flatnonzero(state[1:] != state[:-1]) + 1
    ups = [i for i in change if state[i] == 1 and state[i - 1] == -1]
    downs = [i for i in change if state[i] == -1]
    out = []
    for u in ups:
        prev_down = max([d for d in downs if d < u], default=0)
        next_down = min([d for d in downs if d > u], default=-1)
        next_up = min([i for i in ups if i > u], default=len(h))
        out.append((prev_down, u, next_down, next_up, len(h)))
    return out


def _measure(
    sr: _Series, s: int, e: int, cand: tuple[int, int, int, int, int], cfg: RepConfig, number: int
) -> tuple[Rep | None, str]:
    """Phases and angles of one candidate drive (indices relative to the run [s, e))."""
    h = sr.hip[s:e]
    t = sr.t[s:e]
    prev_down, up, down, next_up, n = cand
    bottom = prev_down + int(np.argmax(-h[prev_down:up]))
    top_stop = down if down >= 0 else n
    peak = up + int(np.argmax(h[up:top_stop]))
    rise = float(h[peak] - h[bottom])
    if rise < cfg.min_range_deg:
        return None, f"range {rise:.0f} deg < {cfg.min_range_deg:.0f}"
    band = max(cfg.band_frac * rise, cfg.band_min_deg)
    speed = np.abs(np.gradient(h, t)) if len(h) > 1 else np.zeros_like(h)
    end_bottom = down + int(np.argmax(-h[down:next_up])) if down >= 0 else None
    # each move's stillness is judged against its own peak speed: a slow descent is not a pause
    still_up = _still(speed, slice(bottom, peak + 1), cfg)
    still_down = _still(speed, slice(peak, (end_bottom if end_bottom is not None else top_stop - 1) + 1), cfg)
    rising = slice(bottom, up + 1)
    up_start = bottom + _hold_edge(h[rising] <= h[bottom] + band, still_up[rising], last=True)
    top_start = up_start + _hold_edge(h[up_start : peak + 1] >= h[peak] - band, still_up[up_start : peak + 1])
    top_end = peak + _hold_edge(h[peak:top_stop] >= h[peak] - band, still_down[peak:top_stop], last=True)
    top_knee = _nanmedian(sr.knee[s + top_start : s + top_end + 1])
    # an unmeasurable knee (occluded by the bar) cannot prove the lifter was lying flat
    if top_knee > cfg.max_top_knee_deg:
        return None, f"top with straight knees ({top_knee:.0f} deg): lying flat, not a lockout"
    down_end = None
    if end_bottom is not None:
        end_band = max(cfg.band_frac * float(h[peak] - h[end_bottom]), cfg.band_min_deg)
        near = h[top_end : end_bottom + 1] <= h[end_bottom] + end_band
        down_end = top_end + _hold_edge(near, still_down[top_end : end_bottom + 1])
    last = down_end if down_end is not None else top_end
    if t[last] - t[up_start] < cfg.min_rep_s:
        return None, f"too short ({t[last] - t[up_start]:.2f} s)"
    coarse = (t[up_start], t[top_start], t[top_end], None if down_end is None else t[down_end])
    height = None if sr.height is None else sr.height[s:e]
    times, still = rep_phases(sr.fine[s:e], height, t, (bottom, peak, top_end, end_bottom), cfg.phase, coarse)
    top_slice = slice(s + top_start, s + top_end + 1)
    # a run that ends during the hold (the pose lost at the top, or the clip ending there) does not
    # show how long the hold lasted: it is timed only once the descent has begun (the hips down by
    # a quarter of the rise, the phase truth's rule for a last descent cut off), else not seen
    held = times[2] - times[1]
    if down < 0 and float(h[peak] - np.nanmin(h[peak:n])) < 0.25 * rise:
        held = float("nan")
    rep = Rep(
        index=number,
        # frames stay where the hips sit in the bottom and top bands (the angles are read there);
        # the times are the phase boundaries
        start_frame=s + up_start,
        top_frame=s + peak,
        end_frame=s + last,
        start_s=times[0],
        end_s=times[3] if times[3] is not None else times[2],
        bottom_hip_deg=float(h[bottom]),
        top_hip_deg=float(h[peak]),
        end_hip_deg=None if end_bottom is None else float(h[end_bottom]),
        up_s=times[1] - times[0],
        top_pause_s=held,
        down_s=None if times[3] is None else times[3] - times[2],
        bottom_pause_s=None,
        top_start_s=times[1],
        top_end_s=times[2],
        top_knee_deg=top_knee,
        top_shin_deg=_nanmedian(sr.shin[top_slice]),
        top_torso_deg=_nanmedian(sr.torso[top_slice]),
        complete=times[3] is not None,
        end_torso_deg=None if end_bottom is None else float(sr.torso[s + end_bottom]),
        top_still_s=None if still is None else still[1] - still[0],
        top_still_from_s=None if still is None else still[0],
    )
    return rep, ""


def _still(speed: np.ndarray, move: slice, cfg: RepConfig) -> np.ndarray:
    """Frames slower than a fraction of the peak speed of one move (the rise or the descent)."""
    peak = float(np.nanmax(speed[move])) if len(speed[move]) else 0.0
    return speed < max(cfg.hold_speed_frac * peak, cfg.hold_speed_min_dps)


def _hold_edge(in_band: np.ndarray, still: np.ndarray, last: bool = False) -> int:
    """Where a hold at the end of a range starts (first) or ends (last=True), in a slice running
    toward (or away from) that end: the first/last frame both inside the band and nearly still,
    else the band's own edge (a hold that never settles lasts from the band edge)."""
    both = np.flatnonzero(in_band & still)
    band = np.flatnonzero(in_band)
    pick = both if len(both) else band
    return int(pick[-1] if last else pick[0])


def _nanmedian(x: np.ndarray) -> float:
    """Median of the finite values, NaN when there are none (without numpy's warning)."""
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def _link_bottom_pauses(reps: list[Rep], sr: _Series) -> list[Rep]:
    """Bottom pause of a rep = from the end of its descent to the start of the next drive.

    Only when the next drive follows in the same usable stretch: the last rep's bottom is
    the end of the set, not a pause.
    """
    out = []
    for i, rep in enumerate(reps):
        nxt = reps[i + 1] if i + 1 < len(reps) else None
        pause = None
        if rep.complete and nxt is not None:
            between = slice(rep.end_frame, nxt.start_frame + 1)
            if np.isfinite(sr.hip[between]).all() and nxt.start_frame >= rep.end_frame:
                pause = max(0.0, nxt.start_s - rep.end_s)
        out.append(replace(rep, index=i + 1, bottom_pause_s=pause))
    return out
