"""Phase boundaries of one move (a drive or a descent) by the rule the phase truth uses.

tools/phase_truth.py labels real clips this way (tests/data/phase_truth.csv), so measuring
by the same rule makes the two comparable:

1. The move's fast run: the frames around its peak speed where the speed stays above
   `run_frac` of that peak. A sag of the hips in a wobbly hold is far slower than the
   drop that follows it, so it never joins the run: the hold stays one phase.
2. The plateaus either side: the median of the signal over `plateau_s` before the run
   starts and after it ends (the level the hips leave and the one they reach, wherever
   they wobbled to).
3. The move starts where the signal, walking back from the peak speed, last lies within
   `band_frac` of the move's amplitude of the plateau it leaves, and ends where it first
   comes within that band of the plateau it reaches; both interpolated between frames,
   so a 0.3 s drop at 15 fps is not rounded to whole frames.

On real clips the hip angle and the hips' outline in the picture (what the truth is read
on) part at two places, measured against the labelled boundaries (benchmarks/bench_phases.py):
- the angle eases out of the hold more slowly than the hips leave it (the hips' first sag of
  the descent), so a descent leaves the top within `descent_band_frac` (3.5%), not 5%: the real
  clips' top hold, down and descent start errors shrink from 5% down to 2.5% (on the clips the
  band was not chosen on too), while the renders' truth (5% on the exact angle) wants 5%, and at
  3% a rendered hold's pelvic roll was taken for the descent; of the bands tried (5, 4, 3.5, 3,
  2.5%) 3.5% is the lowest that keeps every render right (profiles/base.json notes: the figures);
- the angle keeps closing after the hips have landed (the pelvis tucks under), so the bottom
  is reached where the hips' height in the picture (the model's hip point) arrives.

The model's reading arrives at the bottom late: after a fast drop the hips stop, but the model's
hip point (MediaPipe tracks in VIDEO mode and smooths its landmarks over time) creeps the last
5-8% of the way for ~0.1 s (a 0.3 s render's hips stopped at frame 115, the model's point moved
3 px more by frame 119), and the 3 Hz smoothing spreads a move's end later too (its start earlier,
where it cancels the model's lag instead). Every rendered landing read late (+0.015 to +0.087 s,
mean +0.04), and so did the real clips' (mean +0.04). So the landing is read on the height with
that lag undone, h + landing_lag_s * dh/dt (the inverse of a first-order lag of that time
constant): a still reading is unchanged, and an arrival is read about landing_lag_s sooner. The
fall's run and levels are found on the height as read (the speed term adds the jitter).

A descent leaves the top: when its fast run begins partway down, after a stall or a reversal of
the reading (more than `stall_frac` of the way: the model's hip point on a barbell plate read
a steady 1.4 s lowering as a drop, a stall and a drop; a raised leg jerks the single-leg reading
back up 7 deg mid-descent), the descent starts where it left the top, not after the stall; a sag
of the hold (5-8 deg, a tenth of the range) is not partway and stays in the hold.

The signal may be less smoothed than the one reps are counted on: these thresholds sit
on the move's own amplitude and peak speed, and no boundary depends on a single frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhaseConfig:
    run_frac: float = 0.15  # of the move's peak speed: the fast run
    band_frac: float = 0.05  # of the move's amplitude: how close to a plateau is "at" it
    plateau_s: float = 0.2  # span whose median is the plateau's level
    speed_smooth_s: float = 0.1  # the speed is averaged over this span (one frame at least)
    lull_frac: float = 0.3  # of the peak speed: a dip of the speed below it separates two moves
    lull_s: float = 0.2  # the span the speed is averaged over to find such a dip
    descent_band_frac: float = 0.035  # of a descent's amplitude: where it leaves the top
    landing_lag_s: float = 0.02  # the model's lag undone where a descent lands (module docstring)
    stall_frac: float = 0.25  # of a descent's amplitude: a run that begins this far down began partway


@dataclass(frozen=True)
class Move:
    """One move, times in seconds."""

    start_s: float
    end_s: float
    start_level: float
    end_level: float
    peak_frame: int
    # the fast run's edges (speed above run_frac of the peak, interpolated): between one move's
    # run and the next the hips are still as a person sees it, wobbles and squeezes included
    run_start_s: float = float("nan")
    run_end_s: float = float("nan")


def speed(h: np.ndarray, t: np.ndarray, smooth_s: float) -> np.ndarray:
    """Signed speed of h (units per second), averaged over smooth_s (an odd number of frames)."""
    if len(h) < 2:
        return np.zeros(len(h))
    v = np.gradient(h, t)
    fps = 1.0 / float(np.median(np.diff(t)))
    k = max(1, int(round(smooth_s * fps)) | 1)
    if k == 1 or len(v) < k:
        return v
    pad = np.pad(v, k // 2, mode="edge")
    return np.convolve(pad, np.ones(k) / k, mode="valid")


def move(h: np.ndarray, t: np.ndarray, a: int, b: int, sign: int, cfg: PhaseConfig,
         settle: int | None = None, leave_frac: float | None = None,
         origin: int | None = None) -> Move | None:
    """The move of h inside frames [a, b] rising (sign=+1) or falling (sign=-1).

    settle: the frame where the move is known to end up (the bottom before the next drive); a
    move that stalls on the way (a slow descent paused halfway) ends where it reaches that
    level, not at the stall.

    leave_frac: the band (of the amplitude) where the move leaves its plateau, if not band_frac.

    origin: the frame the move is known to leave from (a descent: the top's peak); a move whose
    fast run begins partway, after a stall or a reversal on the way (more than `stall_frac` of the
    amplitude from that level), started where it left that level, not after the stall.

    A move still fast at b (the clip ends on it) reaches its level at b: the caller decides
    whether it got far enough to count as arrived."""
    b = min(b, len(h) - 1)
    if b - a < 2:
        return None
    v = sign * speed(h, t, cfg.speed_smooth_s)
    seg = v[a : b + 1]
    if not np.isfinite(seg).any() or np.nanmax(seg) <= 0:
        return None
    c = a + int(np.nanargmax(seg))
    fast = v > cfg.run_frac * v[c]
    # a lull between two pushes (settling into the set-up, then the drive) ends the run too:
    # a local minimum of the speed averaged over lull_s, below lull_frac of the peak
    w = sign * speed(h, t, cfg.lull_s)
    lull = (w < cfg.lull_frac * v[c]) & (w <= np.roll(w, 1)) & (w <= np.roll(w, -1))
    r0 = c - _run_length((fast & ~lull)[a : c + 1][::-1])  # last slow frame before the run
    r1 = c + _run_length(fast[c : b + 1])  # first slow frame after it
    fps = 1.0 / float(np.median(np.diff(t)))
    n = max(1, int(round(cfg.plateau_s * fps)))
    before = float(np.nanmedian(h[max(a, r0 - n + 1) : r0 + 1])) if r0 >= a else float(h[a])
    after_frames = h[min(r1, b) : min(r1 + n, b + 1)]
    still_moving = r1 > b
    after = float(np.nanmedian(after_frames)) if len(after_frames) else float(h[b])
    if still_moving:
        after = float(h[b])
    if settle is not None:
        near = h[max(a, settle - n // 2) : min(b, settle + n // 2) + 1]
        level = float(np.nanmedian(near)) if np.isfinite(near).any() else after
        if sign * (level - after) > cfg.band_frac * abs(level - before):
            after = level  # it went on past the stall
    partway = False
    if origin is not None:
        near = h[max(a, origin - n // 2) : min(b, origin + n // 2) + 1]
        level = float(np.nanmedian(near)) if np.isfinite(near).any() else before
        partway = sign * (before - level) > cfg.stall_frac * abs(after - level)
        if partway:
            before = level  # the run began after a stall on the way: the move left from there
    tol = cfg.band_frac * abs(after - before)
    leave = (cfg.band_frac if leave_frac is None else leave_frac) * abs(after - before)
    start = _last_within(h, t, max(a, 0), c, before, leave)
    end = _first_within(h, t, c, b, after, tol)
    thr = cfg.run_frac * v[c]
    run_start = float(t[a]) if r0 < a else _cross(t[r0], t[r0 + 1], thr - v[r0], thr - v[r0 + 1], 0.0)
    if partway:
        run_start = min(run_start, start)  # moving from where it left, stall included
    run_end = float(t[b]) if r1 > b else _cross(t[r1 - 1], t[r1], v[r1 - 1] - thr, v[r1] - thr, 0.0)
    return Move(start, end, before, after, c, run_start, run_end)


def _run_length(mask: np.ndarray) -> int:
    """How many leading entries of mask are True (the run's length from its first entry)."""
    off = np.flatnonzero(~mask)
    return int(off[0]) if len(off) else len(mask)


def _last_within(h: np.ndarray, t: np.ndarray, a: int, c: int, level: float, tol: float) -> float:
    """Time the signal, walking back from frame c, first lies within tol of level: interpolated
    between the last frame within the band and the next one outside it."""
    d = np.abs(h[a : c + 1] - level)
    inside = np.flatnonzero(d <= tol)
    if not len(inside):
        return float(t[a])
    i = a + int(inside[-1])
    if i >= c:
        return float(t[c])
    return _cross(t[i], t[i + 1], d[i - a], d[i + 1 - a], tol)


def _first_within(h: np.ndarray, t: np.ndarray, c: int, b: int, level: float, tol: float) -> float:
    """Time the signal, walking on from frame c, first comes within tol of level (interpolated)."""
    d = np.abs(h[c : b + 1] - level)
    inside = np.flatnonzero(d <= tol)
    if not len(inside):
        return float(t[b])
    i = c + int(inside[0])
    if i <= c:
        return float(t[c])
    return _cross(t[i - 1], t[i], d[i - 1 - c], d[i - c], tol)


def _cross(t0: float, t1: float, d0: float, d1: float, tol: float) -> float:
    """Where the distance from the plateau passes tol between two frames (linear)."""
    if not np.isfinite(d0) or not np.isfinite(d1) or d0 == d1:
        return float(t1 if d1 <= tol else t0)
    f = float(np.clip((d0 - tol) / (d0 - d1), 0.0, 1.0))
    return float(t0 + f * (t1 - t0))


Marks = tuple[int, int, int, int | None]
Times = tuple[float, float, float, float | None]


def rep_phases(
    h: np.ndarray, height: np.ndarray | None, t: np.ndarray, marks: Marks, cfg: PhaseConfig, coarse: Times,
) -> tuple[Times, tuple[float, float] | None]:
    """(drive start, top reached, descent start, bottom reached) of one rep in seconds, and the span
    still at the top, (from, to), between the drive's and the descent's fast runs (None when either
    move is not measured).

    h: the hip angle (or the lift) of the rep's stretch; height: the hips' height in the picture
    over the same frames, given with an angle (None with a lift, which is that height);
    marks: (bottom, peak, top end, end bottom or None) frames; coarse: the band-and-stillness
    times that stand in where a move cannot be measured."""
    bottom, peak, top_end, end_bottom = marks
    drive, top, descent, reached = coarse
    up = None
    if np.isfinite(h[bottom : peak + 1]).all():
        # the drive ends where it reaches the top it settles at: a grind after a burst is drive
        up = move(h, t, bottom, peak, +1, cfg, settle=peak)
    if up is not None:
        drive, top = up.start_s, up.end_s
    down: Move | None = None
    if end_bottom is not None and np.isfinite(h[peak : end_bottom + 1]).all():
        # the fastest fall after the peak: a wobble of the hold is far slower than the descent;
        # the descent reached the bottom band (the candidate's down crossing), so one cut short by
        # the clip's end is measured up to it: the hips got down even if the clip stops there
        # the hip angle lags the hips' first sag (module docstring); a lift is the hips' height itself
        leave = cfg.band_frac if height is None else cfg.descent_band_frac
        down = move(h, t, peak, end_bottom, -1, cfg, settle=end_bottom, leave_frac=leave, origin=peak)
    if down is not None:
        descent, reached = down.start_s, _landed(down, height, t, peak, end_bottom, cfg)
    top = min(top, descent)
    # still from where the drive's run ends, or the top is reached if the drive stalled below it
    still = None
    if up is not None and down is not None:
        held_from = max(up.run_end_s, top)
        still = (float(held_from), float(max(held_from, down.run_start_s)))
    return (float(drive), float(top), float(descent), None if reached is None else float(reached)), still


def lag_undone(x: np.ndarray, t: np.ndarray, lag_s: float, smooth_s: float) -> np.ndarray:
    """x with a first-order lag of time constant lag_s undone: x + lag_s * dx/dt (the speed averaged
    over smooth_s, as the moves' speed is). Where x is still it is unchanged."""
    if lag_s <= 0:
        return x
    return x + lag_s * speed(x, t, smooth_s)


def _landed(down: Move, height: np.ndarray | None, t: np.ndarray, peak: int, end_bottom: int,
            cfg: PhaseConfig) -> float:
    """Where the hips reach the bottom: by their height in the picture when it follows the whole
    descent (it falls, after the descent starts), with the model's lag at the landing undone
    (module docstring); else where the angle arrives (a lift from the feet, or a height that does
    not follow: no truth has checked the lag there)."""
    if height is None or not np.isfinite(height[peak : end_bottom + 1]).all():
        return down.end_s
    fall = move(height, t, peak, end_bottom, -1, cfg, settle=end_bottom)
    if fall is None or fall.end_level >= fall.start_level or fall.end_s <= down.start_s:
        return down.end_s
    if cfg.landing_lag_s <= 0:
        return fall.end_s
    # the same fall (its fast run, the levels it leaves and reaches), its arrival read with the lag
    # undone: the speed term adds the reading's jitter, so nothing else is found on it
    led = lag_undone(height, t, cfg.landing_lag_s, cfg.speed_smooth_s)
    tol = cfg.band_frac * abs(fall.end_level - fall.start_level)
    arrived = _first_within(led, t, fall.peak_frame, min(end_bottom, len(t) - 1), fall.end_level, tol)
    # the lag moves the arrival sooner only, and never before the descent has begun
    return max(min(arrived, fall.end_s), down.start_s)
