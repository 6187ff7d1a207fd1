"""The hips' lift as the drive signal, for reps the hip angle cannot follow.

Seen from the feet no hip angle can be read at all; at the side or an angle it can, unless the
model loses the knee or the hip for the whole top: a plate hiding the hips (a barbell GIF read
its left knee and ankle jumping across the picture at every top, the hip angle 15-140 deg where
the truth was 175-180), the legs folding toward the lens. The hips' height above the shoulders
in the upright picture still shows each drive (the hip points themselves stay put), so reps and
tempo come from it, and every angle judgement is said not measurable, with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

from . import kinematics as kin
from . import signal as sig

LIFT_REASON = (
    "the hip angle could not be followed through the reps (the model's knee or hip points jump "
    "at the top: a plate or bar hiding the hips, or the legs folded toward the lens); reps and "
    "tempo come from the hips' lift in the picture instead"
)
LIFT_TEMPO_ONLY = "tempo only: lockout and range need the hip angle, which could not be followed on this clip"
# what needs the side's shoulder-hip-knee-ankle points, which the lift does not keep
LIFT_CODES = ("incomplete_lockout", "overextension", "inconsistent_depth", "foot_placement",
              "head_not_neutral", "load_drift", "leaning_back")


ANGLE_LOST_FRACTION = 0.15  # of the clip: the angle must have lost this much more than the lift


def angle_lost(angle_usable: np.ndarray, lift_usable: np.ndarray) -> bool:
    """Whether the hip angle lost stretches the lift still follows (the reason to count on the
    lift): a clip whose angle is seen throughout but swings too little has no reps to find, and
    the lift must not find some there (small pulses, a wobble)."""
    return float(lift_usable.mean() - angle_usable.mean()) >= ANGLE_LOST_FRACTION


def lift_config(cfg: sig.SignalConfig, gain_deg: float, max_lift_speed: float) -> sig.SignalConfig:
    """The signal stage's settings for a lift: no anatomical range bounds it, and its speed limit
    is its own (in body scales per second times the gain)."""
    return replace(cfg, plausible_hip_deg=(-np.inf, np.inf), max_joint_speed_deg_s=gain_deg * max_lift_speed)


def trunk_length(image: np.ndarray) -> float:
    """Median shoulder-to-hip length in pixels: the lift's scale at the side or an angle, where the
    shoulder width is foreshortened."""
    _, length = sig.body_scale(image)
    length = length[np.isfinite(length)]
    return float(np.median(length)) if len(length) else float("nan")


def lift_drive(image: np.ndarray, front: bool, gain_deg: float) -> partial:
    """kinematics.front_lift scaled by the shoulder width from the feet, else by the trunk."""
    scale = kin.shoulder_width(image) if front else trunk_length(image)
    return partial(kin.front_lift, scale=scale, gain_deg=gain_deg)


MIXED_VIEWS_REASON = (
    "the camera switches between a view from the feet and one from the side or an angle (hard "
    "cuts): no one hip angle runs through the clip; reps and tempo come from the hips' height above "
    "the feet in each shot instead"
)

# knee cave is read from the feet only, and the reps of a mixed clip cross into the other camera's shots
MIXED_CODES = (*LIFT_CODES, "knee_cave")


def shot_views(
    image: np.ndarray, detected: np.ndarray, cuts: np.ndarray, view_cfg: kin.ViewConfig, min_frames: int
) -> list[tuple[int, int, str]]:
    """(first frame, end frame, view) of every shot between hard cuts at least min_frames long."""
    edges = [0, *np.flatnonzero(cuts).tolist(), len(cuts)]
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        seen = detected[a:b]
        if b - a >= min_frames and seen.sum() >= min_frames // 2:
            out.append((a, b, kin.detect_view(image[a:b][seen], view_cfg).view))
    return out


def mixed_views(shots: list[tuple[int, int, str]]) -> bool:
    """Shots from the feet and shots from the side or an angle in one clip: their drive signals (a
    lift, an angle) cannot be joined, so the clip is counted on one lift throughout."""
    views = {view for _, _, view in shots}
    return "front" in views and len(views) > 1


SHOT_SPAN = 0.4  # a shot's 5th-95th percentile lift, in the lift's units (shoulder widths)
# no speed gate on the joined lift: a shot's span is normalised, so how fast a landmark jump looks
# depends on the shot (at 10 spans/s the gate blanked most of a frog pump's pulses from the feet);
# the 3 Hz low-pass smooths the jitter
MAX_SPANS_PER_S = float("inf")


def shot_lift(
    points: np.ndarray, image: np.ndarray, shots: list[tuple[int, int, str]], gain_deg: float
) -> kin.Angles:
    """Per shot, the hips' height above the ankles in the picture (mid points, (T, 4, 2)), in that
    shot's scale (shoulder width from the feet, the trunk otherwise), its highest lifts at 180.

    The feet stay planted in any view, so the ankles are the one reference every shot shares;
    from the feet the shoulders ride up with the hips in the picture (a frog pump filmed at floor
    level: hips and shoulders both rose ~20 px at each top), so the shoulder-based lift misses reps."""
    hip = np.full(len(points), np.nan)
    for a, b, view in shots:
        scale = kin.shoulder_width(image[a:b]) if view == "front" else trunk_length(image[a:b])
        lift = (points[a:b, 3, 1] - points[a:b, 1, 1]) / scale
        if np.isfinite(lift).sum() > 1:
            lo, hi = np.nanpercentile(lift, [5, 95])
            # each shot spans the same units: one camera's lift is no measure of the other's
            hip[a:b] = 180.0 + gain_deg * SHOT_SPAN * (lift - hi) / max(hi - lo, 1e-6)
    nan = np.full(len(points), np.nan)
    return kin.Angles(hip=hip, knee=nan, shin=nan, torso=nan, floor=np.full((len(points), 2), np.nan))


def partial_lift(image: np.ndarray, shots: list[tuple[int, int, str]], gain_deg: float) -> partial:
    """shot_lift as a drive: points in, Angles out."""
    return partial(shot_lift, image=image, shots=shots, gain_deg=gain_deg)
