"""Typed fault rules: what a profile's "faults" section holds for each fault code.

One frozen dataclass per code, with the limits its check reads. A field without a default must be
in the profile (base.json states them all; a variant states only what differs); `enabled` is on
unless the profile switches it off. profiles.load_profile checks every key and type against these
classes, so a misspelt key is refused instead of silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

SEVERITIES = ("minor", "moderate", "major")


@dataclass(frozen=True, kw_only=True)
class Guide:
    """The exercise guide's words for a fault: what it says, the checklist line, the coaching cue."""

    says: str = ""
    checklist: str = ""
    cue: str = ""


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    """What every rule has. `code` names the fault code the rule is for."""

    code: ClassVar[str] = ""
    enabled: bool = True
    guide: Guide = Guide()


# severity_steps: the minor/moderate and moderate/major borders. For a measure past a limit they
# ascend (how far past it); for a time that is too short they descend (measured / limit).


@dataclass(frozen=True, kw_only=True)
class IncompleteLockoutRule(FaultRule):
    code: ClassVar[str] = "incomplete_lockout"
    anatomical_target_deg: float
    tolerance_deg: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class HipRotationRule(FaultRule):
    code: ClassVar[str] = "hip_rotation"
    min_reps: int
    max_roll_deg: float
    bottom_window_s: float  # the set's bottoms start this long before its first drive
    bottom_quantile: float  # frames whose drive is in this lowest fraction are bottoms
    top_trim_frac: float  # of each top hold, cut at both ends (the world landmarks lag)
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class OverextensionRule(FaultRule):
    code: ClassVar[str] = "overextension"
    anatomical_limit_deg: float
    tolerance_deg: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class RushedDescentRule(FaultRule):
    code: ClassVar[str] = "rushed_descent"
    min_down_s: float
    min_down_to_up_ratio: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class NoTopPauseRule(FaultRule):
    code: ClassVar[str] = "no_top_pause"
    min_top_pause_s: float
    # a top shorter than min_top_pause_s is a fault only if the hips were still for less than this
    # too: above it a short hold and an eased turn-around without one read alike (profile note)
    max_still_to_flag_s: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class JerkyConcentricRule(FaultRule):
    code: ClassVar[str] = "jerky_concentric"
    max_speed_ratio: float
    min_up_frames: int
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class InconsistentDepthRule(FaultRule):
    code: ClassVar[str] = "inconsistent_depth"
    min_reps: int
    max_deviation_deg: float
    severity_steps: tuple[float, float]
    # "torso": read each bottom from the trunk's slope, which both legs share (B-stance)
    measure: Literal["hip", "torso"] = "hip"


@dataclass(frozen=True, kw_only=True)
class KneeCaveRule(FaultRule):
    code: ClassVar[str] = "knee_cave"
    min_reps: int
    max_cave_deg: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class FootPlacementRule(FaultRule):
    code: ClassVar[str] = "foot_placement"
    max_shin_tilt_deg: float
    min_leg_visibility: float
    severity_steps: tuple[float, float]
    judge_feet_out: bool = True  # False: only feet too close is judged (a B-stance kickstand)


@dataclass(frozen=True, kw_only=True)
class HeadNotNeutralRule(FaultRule):
    """Head thrown back at the top: the face's line (ear to nose) tipped toward the head past square
    to the trunk's line by more than max_head_back_deg, and by max_rise_deg more than at the set's
    bottoms (both: the model's ear point wanders between bodies and sides)."""

    code: ClassVar[str] = "head_not_neutral"
    max_head_back_deg: float
    max_rise_deg: float
    min_visibility: float  # nose and ear; below it (head out of frame, turned away) a top is not judged
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class LoadDriftRule(FaultRule):
    """The hands (on the load) along the trunk's line at the top, in trunk lengths (shoulder to hip):
    against the set's typical top by more than max_drift, or against where they held the load at
    the set's bottoms by more than max_drift_from_bottom (wider: the model's hip point shifts
    between bottom and top)."""

    code: ClassVar[str] = "load_drift"
    max_drift: float
    max_drift_from_bottom: float
    max_hands_to_hip: float  # hands further from the hip at the set's bottoms or tops: no load on the hips
    min_hands_rise: float  # hands rising less than this fraction of the hips' rise: no load on them
    min_visibility: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class LeaningBackRule(FaultRule):
    """The shoulders sliding head-ward along the trunk at the top against the set's median top,
    in trunk lengths (shoulder to hip)."""

    code: ClassVar[str] = "leaning_back"
    max_slide: float
    severity_steps: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class DriftRule(FaultRule):
    """Limits on how much worse later reps may be than a baseline (fatigue_drift, short_rest)."""

    max_top_drop_deg: float
    max_shallower_deg: float
    max_up_ratio: float
    min_down_ratio: float | None = None  # None: the descent's time is not compared
    severity_steps_deg: tuple[float, float]
    severity_steps_ratio: tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class FatigueDriftRule(DriftRule):
    code: ClassVar[str] = "fatigue_drift"
    min_reps: int
    baseline_reps: int
    tail_reps: int


@dataclass(frozen=True, kw_only=True)
class ShortRestRule(DriftRule):
    code: ClassVar[str] = "short_rest"


# the catalogue's order: reports list a rep's faults in this order
RULES: dict[str, type[FaultRule]] = {
    cls.code: cls
    for cls in (
        IncompleteLockoutRule,
        HipRotationRule,
        OverextensionRule,
        RushedDescentRule,
        NoTopPauseRule,
        JerkyConcentricRule,
        InconsistentDepthRule,
        KneeCaveRule,
        FootPlacementRule,
        HeadNotNeutralRule,
        LoadDriftRule,
        LeaningBackRule,
        FatigueDriftRule,
        ShortRestRule,
    )
}
FAULT_CODES = tuple(RULES)
# judged on a whole set (or a set against the one before), not on one rep
SET_LEVEL_CODES = frozenset({FatigueDriftRule.code, ShortRestRule.code})
