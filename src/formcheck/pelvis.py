"""The pelvis per rep, as measurements: roll and obliquity at each top and as change from the bottoms.

Roll: one hip lower, a turn of the hip line about the trunk's long axis. Obliquity: one hip toward
the head, a turn of the hip line in the plane of the back. Both are read as the hip line against the
shoulder line, so a lifter lying crooked on the bench reads level; + is the left hip lower (roll) or
nearer the head (obliquity).

What each view can see (validated on rendered clips with exact truth, see ROLL_RELIABILITY):
- from the feet the trunk's long axis runs along the lens, so a roll turns the hip line in the
  picture: roll is read from the 2D image landmarks, which stayed steadier than MediaPipe's world
  landmarks there (the world depth guesses read 8-10 deg at every clean top). Obliquity moves the
  hips along the lens there: not measurable.
- at an angle (oblique) roll is read from the world landmarks (3D); both legs working, their
  bottom-to-top offset is not steady, so only the single-leg drop of the free side is judged.
  Obliquity needs the depth of the far hip: not measurable.
- from the side the two hips sit one behind the other along the lens: neither is measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import kinematics as kin
from .reps import Rep
from .track import PoseTrack

ROLL = "roll"
OBLIQUITY = "obliquity"
SIDE_REASON = (
    "camera at the side: the two hips sit one behind the other along the lens, so the model "
    "barely separates them (a 12 deg roll moved the picture ~2 px); film from the feet"
)
OBLIQUITY_FEET_REASON = (
    "camera at the feet: a hip moving toward the head moves along the lens, which the picture "
    "cannot show and the model's depth guess does not resolve"
)
OBLIQUITY_OBLIQUE_REASON = (
    "camera at an angle: a hip moving toward the head moves partly along the lens and the far hip's "
    "depth is the model's guess; no rendered check of it has been made"
)
OBLIQUITY_SIDE_REASON = (
    "camera at the side: the far hip is hidden behind the near one, so the model guesses where it "
    "sits along the trunk; no rendered check of it has been made"
)
UNKNOWN_VIEW_REASON = "the camera view could not be told"


@dataclass(frozen=True)
class Reliability:
    """How far a reading in this view was from the rendered truth."""

    grade: str  # "good" (expected error <= 3 deg), "fair" (<= 6), "poor"
    expected_error_deg: float  # largest |measured - truth| of the change at a top on the renders
    basis: str  # which renders it was measured on


# From the renders in tools/synth/specs_pelvis (see the README's pelvis section).
ROLL_RELIABILITY: dict[str, Reliability] = {
    "front": Reliability("fair", 4.0, "feet view, camera 0.7-1.5 m: rendered 10 deg rolls, clean sets"),
    "oblique": Reliability("poor", 16.0, "35-45 deg oblique: a clean two-leg set read 13-16 deg at tops"),
}


@dataclass(frozen=True)
class PelvisSeries:
    """Per-frame pelvis readings of one clip, deg (NaN where not read), None where not measurable."""

    roll: np.ndarray | None
    obliquity: np.ndarray | None
    roll_from: str = ""  # "image" (2D picture landmarks) or "world" (MediaPipe 3D landmarks)
    obliquity_from: str = ""
    not_measurable: dict[str, str] = field(default_factory=dict)  # ROLL/OBLIQUITY -> why
    reliability: dict[str, Reliability] = field(default_factory=dict)


@dataclass(frozen=True)
class RepPelvis:
    """One rep's pelvis: the reading over the middle of its top hold, and its change from the bottoms."""

    rep: int
    top_roll_deg: float | None  # + left hip lower
    roll_change_deg: float | None  # top minus the set's bottoms
    top_obliquity_deg: float | None  # + left hip nearer the head
    obliquity_change_deg: float | None


def pelvis_series(track: PoseTrack, view: str) -> PelvisSeries:
    """The per-frame readings this view supports, and why the others are not measurable."""
    if view == "front":
        return PelvisSeries(
            roll=kin.pelvis_roll_image(track.image), obliquity=None, roll_from="image",
            not_measurable={OBLIQUITY: OBLIQUITY_FEET_REASON},
            reliability={ROLL: ROLL_RELIABILITY["front"]},
        )
    if view == "oblique":
        return PelvisSeries(
            roll=kin.pelvis_roll_world(track.world), obliquity=None, roll_from="world",
            not_measurable={OBLIQUITY: OBLIQUITY_OBLIQUE_REASON},
            reliability={ROLL: ROLL_RELIABILITY["oblique"]},
        )
    if view == "side":
        return PelvisSeries(roll=None, obliquity=None,
                            not_measurable={ROLL: SIDE_REASON, OBLIQUITY: OBLIQUITY_SIDE_REASON})
    return PelvisSeries(roll=None, obliquity=None,
                        not_measurable={ROLL: UNKNOWN_VIEW_REASON, OBLIQUITY: UNKNOWN_VIEW_REASON})


def _window_median(t: np.ndarray, x: np.ndarray, lo: float, hi: float) -> float:
    s, e = np.searchsorted(t, lo), np.searchsorted(t, hi, side="right")
    vals = x[s:e]
    vals = vals[np.isfinite(vals)]
    return float(np.median(vals)) if len(vals) else float("nan")


def bottoms_median(
    reps: Sequence[Rep], t: np.ndarray, drive: np.ndarray, x: np.ndarray, lead_s: float, quantile: float
) -> float:
    """Median of x over a set's bottoms: its frames (from lead_s before the first rep to the last
    rep's end) whose drive sits in its lowest quantile. Every bottom counts, so one noisy pause
    cannot move the reference."""
    s = np.searchsorted(t, reps[0].start_s - lead_s)
    e = np.searchsorted(t, reps[-1].end_s, side="right")
    d, vals = drive[s:e], x[s:e]
    if not np.isfinite(d).any():
        return float("nan")
    low = vals[d <= np.nanpercentile(d, 100 * quantile)]
    low = low[np.isfinite(low)]
    return float(np.median(low)) if len(low) else float("nan")


def top_window(rep: Rep, trim: float) -> tuple[float, float]:
    """The top hold without `trim` of its length at each end: the landmarks lag the motion."""
    cut = (rep.top_end_s - rep.top_start_s) * trim
    return rep.top_start_s + cut, rep.top_end_s - cut


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def per_rep(
    series: PelvisSeries,
    groups: Sequence[Sequence[Rep]],
    t: np.ndarray,
    drive: np.ndarray,
    *,
    lead_s: float,
    quantile: float,
    trim: float,
) -> list[RepPelvis]:
    """Each rep's top reading and its change from its own set's bottoms (None where not measurable)."""
    out = []
    for group in groups:
        if not group:
            continue
        base = {
            name: bottoms_median(group, t, drive, x, lead_s, quantile)
            for name, x in ((ROLL, series.roll), (OBLIQUITY, series.obliquity)) if x is not None
        }
        for rep in group:
            vals: dict[str, tuple[float | None, float | None]] = {}
            for name, x in ((ROLL, series.roll), (OBLIQUITY, series.obliquity)):
                if x is None:
                    vals[name] = (None, None)
                    continue
                top = _window_median(t, x, *top_window(rep, trim))
                vals[name] = (_finite(top), _finite(top - base[name]))
            out.append(RepPelvis(rep.index, *vals[ROLL], *vals[OBLIQUITY]))
    return out


def describe(deg: float | None, measure: str, level_within: float = 2.0) -> str:
    """'left hip 8 deg lower' (roll) / 'right hip 5 deg toward the head' (obliquity) / 'level'."""
    if deg is None or not np.isfinite(deg):
        return "-"
    if abs(deg) < level_within:
        return "level"
    side = "left" if deg > 0 else "right"
    how = "lower" if measure == ROLL else "toward the head"
    return f"{side} hip {abs(deg):.0f} deg {how}"


@dataclass(frozen=True)
class PelvisReading:
    """A clip's pelvis: the per-frame series and each rep's figures."""

    series: PelvisSeries
    reps: list[RepPelvis]

    def of_rep(self, index: int) -> RepPelvis | None:
        return next((r for r in self.reps if r.rep == index), None)


def measure(
    track: PoseTrack,
    view: str,
    groups: Sequence[Sequence[Rep]],
    drive: np.ndarray,
    *,
    lead_s: float,
    quantile: float,
    trim: float,
) -> PelvisReading:
    """Every pelvis figure this view supports, per frame and per rep."""
    series = pelvis_series(track, view)
    reps = per_rep(series, groups, track.timestamps, drive, lead_s=lead_s, quantile=quantile, trim=trim)
    return PelvisReading(series, reps)
