"""The pelvis per rep, as measurements: roll and obliquity at each top and as change from the bottoms.

Roll: one hip lower, a turn of the hip line about the trunk's long axis. Obliquity: one hip toward
the head, a turn of the hip line in the plane of the back. Both are read as the hip line against the
shoulder line, so a lifter lying crooked on the bench reads level; + is the left hip lower (roll) or
nearer the head (obliquity).

What the real model supports (MediaPipe landmarks on rendered clips with exact truth, renders in
tools/synth/specs_pelvis and sample_videos):
- both legs working, a rendered 10 deg roll (shoulders level, feet planted) did not move the model's
  hip points: from the feet (camera 1.05 m) the picture's hip line changed by 0.1-1.4 deg between
  the clean and the rolled reps against a true 8.7, the world landmarks' by under 1; at 0.7 m it
  moved 3.6 deg the wrong way (true -9.5); from 1.5 m the picture's true hip line turns 1 deg only;
  at 35 deg oblique the world roll read -3.4 to -4.3 deg on clean and rolled tops alike. Not
  measurable: the figure would read level.
  Tried since (from the feet, tops of the renders' truth phases): the knees' line does not carry
  the roll either (the renders keep the knees in place: true picture knee line 0.0-0.4 deg; the
  model's 3D knee line swung -6 to +13 deg between clean tops), and the silhouette from the pose
  model's segmentation mask did not (top contour across the hips: at 1.05 m 0.2 deg clean, 1.3 and
  2.5 rolled against a true picture hip line of 8.7; at 0.7 m 1.9 and -6.2 clean, 5.2 rolled; the
  left/right share of the trunk band moved 1 point): the hips sit behind the thighs from the feet.
- single leg, at an angle: the world landmarks (3D) follow a drop of the free side (a true 12 deg
  drop read 8.2-9.7 deg, 45 deg oblique), but raising the free leg pulls the model's hip point up
  (a clean single-leg thrust read its free side 19 deg higher), so only a drop is reported.
- single leg from the feet: no rendered check yet, so no figure.
- from the side the two hips sit one behind the other along the lens: nothing is measurable.
Obliquity is nowhere measurable yet: no render injects it, so no reading of it has been checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import kinematics as kin
from .check_signals import top_reading
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
TWO_LEG_REASON = (
    "both legs working: the model's hip points do not follow a pelvic roll with the shoulders level "
    "(renders of a true 10 deg roll: from the feet at 0.7 and 1.05 m the hip line moved 0.1-3.6 deg "
    "against the clean reps, at 0.7 m the wrong way; from 1.5 m high the roll turns the picture's hip "
    "line by 1 deg only; at 35 deg oblique the 3D roll moved under 1 deg), so it would read level "
    "when it is not"
)
SINGLE_LEG_FEET_REASON = (
    "single-leg, camera at the feet: no rendered check of the model's reading yet; film at an angle"
)


@dataclass(frozen=True)
class Reliability:
    """How far a reading in this view was from the rendered truth."""

    grade: str  # "good" (expected error <= 3 deg), "fair" (<= 6), "poor"
    expected_error_deg: float  # largest |measured - truth| of the change at a top on the renders
    basis: str  # which renders it was measured on


# Single-leg at an angle, the drop of the free side against the rendered truth (sample_videos):
# a true 12 deg drop read 8.2-9.7 deg; two clean single-leg sets read no drop.
SINGLE_LEG_OBLIQUE = Reliability(
    "fair", 4.0, "single-leg at 30-45 deg: a rendered 12 deg drop read 8.2-9.7, clean sets no drop"
)


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
    top_roll_deg: float | None  # + left hip lower (raw model reading)
    roll_change_deg: float | None  # top minus the set's bottoms
    free_side: str | None = None  # single-leg: the raised leg's side, whose drop is what the view reads
    top_obliquity_deg: float | None = None  # + left hip nearer the head
    obliquity_change_deg: float | None = None

    @property
    def free_side_drop_deg(self) -> float | None:
        """How far the free side dropped (negative: it rose), deg; None with both legs."""
        if self.free_side is None or self.roll_change_deg is None:
            return None
        return self.roll_change_deg if self.free_side == "left" else -self.roll_change_deg


def pelvis_series(track: PoseTrack, view: str, single_leg: bool) -> PelvisSeries:
    """The per-frame readings this view supports, and why the others are not measurable."""
    obliquity = {"front": OBLIQUITY_FEET_REASON, "oblique": OBLIQUITY_OBLIQUE_REASON,
                 "side": OBLIQUITY_SIDE_REASON}.get(view, UNKNOWN_VIEW_REASON)
    if view == "side":
        roll_reason = SIDE_REASON
    elif view not in ("front", "oblique"):
        roll_reason = UNKNOWN_VIEW_REASON
    elif not single_leg:
        roll_reason = TWO_LEG_REASON
    elif view == "front":
        roll_reason = SINGLE_LEG_FEET_REASON
    else:
        return PelvisSeries(
            roll=kin.pelvis_roll_world(track.world), obliquity=None, roll_from="world",
            not_measurable={OBLIQUITY: obliquity}, reliability={ROLL: SINGLE_LEG_OBLIQUE},
        )
    return PelvisSeries(roll=None, obliquity=None, not_measurable={ROLL: roll_reason, OBLIQUITY: obliquity})


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
    free_side: dict[int, str] | None = None,
) -> list[RepPelvis]:
    """Each rep's top reading and its change from its own set's bottoms (None where not measurable).
    free_side: single-leg, rep number -> the raised leg's side."""
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
                top = top_reading(t, x, rep, trim)  # the same frames hip_rotation judges
                vals[name] = (_finite(top), _finite(top - base[name]))
            side = (free_side or {}).get(rep.index)
            out.append(RepPelvis(rep.index, *vals[ROLL], side, *vals[OBLIQUITY]))
    return out


def describe_drop(p: RepPelvis, level_within: float = 2.0) -> str:
    """Single-leg: 'right hip 9 deg lower' (the free side dropped) or 'no drop'; a rise is not read."""
    drop = p.free_side_drop_deg
    if drop is None or not np.isfinite(drop):
        return "-"
    return f"{p.free_side} hip {drop:.0f} deg lower" if drop >= level_within else "no drop"


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
    free_side: dict[int, str] | None = None,
) -> PelvisReading:
    """Every pelvis figure this view supports, per frame and per rep. free_side: single-leg sets,
    rep number -> the raised leg's side (empty or None: both legs working)."""
    series = pelvis_series(track, view, bool(free_side))
    reps = per_rep(series, groups, track.timestamps, drive, lead_s=lead_s, quantile=quantile, trim=trim,
                   free_side=free_side)
    return PelvisReading(series, reps)
