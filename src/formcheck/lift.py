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
