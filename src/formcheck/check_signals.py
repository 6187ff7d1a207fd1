"""The per-frame series some checks read beyond the Rep summaries, and the window medians they
take of them (over a rep's top hold, over a set's bottoms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reps import Rep


@dataclass(frozen=True)
class Signals:
    """Per-frame series some checks need beyond the Rep summaries."""

    t: np.ndarray
    drive: np.ndarray  # hip angle, or the front view's lift signal: both are fine for speed ratios
    leg_visibility: np.ndarray  # weaker of knee and ankle visibility on the measured side (NaN: unknown)
    pelvis_roll: np.ndarray | None = None  # hip line against shoulder line about the trunk, deg
    pelvis_roll_from: str = "3D"  # what it was read from: "3D" (world landmarks) or "the picture"
    knee_cave: np.ndarray | None = None  # knees' swing toward the midline, deg (world)
    free_side_sign: float = 0.0  # single-leg: +1 free leg left, -1 right (a drop of it reads +); 0 both legs
    free_side_by_frame: np.ndarray | None = None  # the same per frame, when the lifter switches legs

    def free_side_at(self, rep: Rep) -> float:
        if self.free_side_by_frame is not None:
            return float(self.free_side_by_frame[min(rep.top_frame, len(self.free_side_by_frame) - 1)])
        return self.free_side_sign


def frame_at(t: np.ndarray, secs: float) -> int:
    """The first frame at or after `secs` (the last frame past the end)."""
    return int(min(np.searchsorted(t, secs), len(t) - 1))


def nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def window_median(sig_t: np.ndarray, x: np.ndarray, span: tuple[float, float]) -> float:
    """Median of x over the frames in [span[0], span[1]] (NaN when none is finite)."""
    s, e = np.searchsorted(sig_t, span[0]), np.searchsorted(sig_t, span[1], side="right")
    return nanmedian(x[s:e])


def top_values(reps: list[Rep], t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per rep: the median of x over its top hold; NaN where the hold was not seen in full (the pose
    lost in it, whose frames around the gap are the hips arriving or leaving, or the clip ending)."""
    seen = [np.isfinite(r.top_pause_s) for r in reps]
    return np.array([window_median(t, x, (r.top_start_s, r.top_end_s)) if ok else np.nan
                     for r, ok in zip(reps, seen, strict=True)], dtype=float)


def hold_middle(rep: Rep, trim: float, still: bool = True) -> tuple[float, float]:
    """The top hold without trim of its length at each end: the world landmarks lag the motion.

    The hold is where the hips were still at the top (between the drive's and the descent's fast
    runs, reps.Rep.top_still_span) when measured, else (or with still=False) the top phase. The
    top phase's edges are where the moves are a few % of the way, a timing rule that moves with its
    bands (a descent band of 4% instead of 5% took a frame off the middle of a single-leg hold and
    its 12 deg roll read 8.04 instead of 8.17); the still hold does not depend on them."""
    a, b = (rep.top_still_span if still else None) or (rep.top_start_s, rep.top_end_s)
    cut = (b - a) * trim
    return a + cut, b - cut


def top_reading(t: np.ndarray, x: np.ndarray, rep: Rep, trim: float) -> float:
    """Median of x over the middle of the rep's top hold (hold_middle); over the top phase's middle
    when the still hold's holds no finite frame (a hold a frame long, the pose lost in it)."""
    value = window_median(t, x, hold_middle(rep, trim))
    if np.isnan(value) and rep.top_still_span is not None:
        value = window_median(t, x, hold_middle(rep, trim, still=False))
    return value
