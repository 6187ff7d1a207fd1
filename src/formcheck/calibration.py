"""Hip-angle calibration: the model's shoulder-hip-knee reading -> the anatomical hip angle.

MediaPipe puts its hip point on the side of the pelvis, off the hip joint centre, so its
shoulder-hip-knee angle reads a few degrees past the true joint angle (180 = the straight line
the guide asks for). How far depends on the body and on the camera: rendered bodies read a true
straight line as 183-188 from the side and ~191 at 35 deg. The correction is a line in the clip's
own measures (how wide the body looks against its length, which grows with the camera's yaw; the
pelvis against the trunk from the world landmarks), fitted on rendered bodies with exact truth
(tools/calibration_table.py) and kept as profile data. Pure and vectorised; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import numpy as np

from .track import Landmark, PoseTrack

STRAIGHT_DEG = 180.0
FEATURES = ("width_ratio", "segment_ratio", "pelvis_ratio")  # what clip_features measures
PerFeature = Annotated[dict[str, float], FEATURES]
RangePerFeature = Annotated[dict[str, tuple[float, float]], FEATURES]


@dataclass(frozen=True)
class CalibrationModel:
    """Profile data: raw - 180 = offset + gain * (true - 180) near the line, both lines in the
    clip's features; shown = 180 + (raw - 180 - offset) / gain.

    offset_deg: the raw reading of a true straight line, minus 180, at features all zero;
    offset_per: degrees of offset per unit of each feature; gain / gain_per likewise for the raw
    degrees per true degree around the line (the camera's yaw stretches a bend in the picture);
    uncertainty_deg: the fit's spread on bodies it never saw (shown with the value).
    """

    offset_deg: float = 0.0
    unavailable: str = ""  # non-empty: this variant is not calibrated, and why (said, never guessed)
    offset_per: PerFeature = field(default_factory=dict)
    gain: float = 1.0
    gain_per: PerFeature = field(default_factory=dict)
    uncertainty_deg: float = 3.0
    slope_band_deg: float = 20.0  # the gain applies within this many raw degrees of the line
    max_width_ratio: float = 0.5  # beyond the widest view the fit saw, no calibration is claimed
    # the span of each feature the fit saw: a clip outside it is corrected as at the nearest end,
    # never by extrapolating the line
    fitted_range: RangePerFeature = field(default_factory=dict)
    # the pose model the fit was made on ("model-file.task sha256:..."); another model's hip point
    # sits elsewhere (BlazePose heavy through the full model's fit: docs/calibration.md, sixth
    # session), so its reading is not calibrated. Empty: any model.
    pose_model: str = ""


@dataclass(frozen=True)
class Calibration:
    """One clip's hip-angle calibration: what was applied, from what, and how sure."""

    calibrated: bool
    offset_deg: float  # raw - 180 of a true straight line: subtracted before the gain
    slope: float  # shown degrees per raw degree around the line
    inputs: dict[str, float]  # the clip's features the correction was read from
    uncertainty_deg: float  # +- degrees on bodies the fit never saw
    reason: str  # how it was calibrated, or why not
    band_deg: float = 20.0  # raw degrees either side of the line the gain applies to

    def shown(self, raw: np.ndarray | float) -> np.ndarray | float:
        """The calibrated (anatomical) angle of raw model readings; NaN stays NaN.

        Within band_deg of the line: the gain (the model under-reads departures there on renders).
        From band_deg to twice that the gain's extra fades out, and beyond only the offset applies
        (a rendered bottom of 100 read 106 from the side: the offset alone). Continuous, monotonic
        for slopes under 2."""
        d = np.asarray(raw, dtype=float) - STRAIGHT_DEG - self.offset_deg
        a, w, s = np.abs(d), self.band_deg, self.slope
        out = np.where(a <= w, a * s, np.where(a <= 2 * w, a * (2 - s) + 2 * w * (s - 1), a))
        return STRAIGHT_DEG + np.sign(d) * out

    def raw(self, shown: np.ndarray | float) -> np.ndarray | float:
        """The model reading behind a calibrated angle (the inverse of shown)."""
        e = np.asarray(shown, dtype=float) - STRAIGHT_DEG
        b, w, s = np.abs(e), self.band_deg, self.slope
        fade = (b - 2 * w * (s - 1)) / (2 - s)
        d = np.where(b <= w * s, b / s, np.where(b <= 2 * w, fade, b))
        return STRAIGHT_DEG + self.offset_deg + np.sign(e) * d


IDENTITY = Calibration(False, 0.0, 1.0, {}, float("nan"), "not calibrated")


def _median_distance(points: np.ndarray, a: int, b: int) -> float:
    d = np.linalg.norm(points[:, a, :3] - points[:, b, :3], axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else float("nan")


def clip_features(track: PoseTrack, width_ratio: float, side: str = "") -> dict[str, float]:
    """The clip's measures the correction may use.

    width_ratio: (hip + shoulder width) / (torso + thigh length) in the picture (grows with yaw);
    segment_ratio: the model's 3D shoulder-hip over hip-knee length on the measured side (where the
    model put its hip point between shoulder and knee: on renders the bodies it reads highest
    also read the longest trunk against the thigh); pelvis_ratio: its 3D hip width over shoulder width.
    """
    world = track.world[track.detected] if track.world is not None else np.empty((0, 33, 3))
    hips = _median_distance(world, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    shoulders = _median_distance(world, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    pick = {
        "left": (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
        "right": (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
    }
    segment = float("nan")
    if side in pick and len(world):
        s, h, k = pick[side]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.linalg.norm(world[:, s] - world[:, h], axis=1) / np.linalg.norm(
                world[:, h] - world[:, k], axis=1
            )
        ratio = ratio[np.isfinite(ratio)]
        segment = float(np.median(ratio)) if len(ratio) else float("nan")
    pelvis = hips / shoulders if shoulders > 0 else float("nan")
    return {"width_ratio": float(width_ratio), "segment_ratio": segment, "pelvis_ratio": float(pelvis)}


def _line(base: float, per: dict[str, float], features: dict[str, float]) -> float:
    return base + sum(coef * features.get(name, float("nan")) for name, coef in per.items())


def _uncalibrated(features: dict[str, float], why: str) -> Calibration:
    return Calibration(False, 0.0, 1.0, features, float("nan"), f"not calibrated: {why}")


def calibrate(
    features: dict[str, float], view: str, model: CalibrationModel, pose_model_sha256: str | None = None
) -> Calibration:
    """The correction for one clip, or IDENTITY with the reason it cannot be given.
    `pose_model_sha256`: the model the track came from (None: not recorded, taken as the fit's)."""
    if view == "front":
        return _uncalibrated(features, "camera at the feet, the hip angle is not read")
    if model.unavailable:
        return _uncalibrated(features, model.unavailable)
    name, _, fitted_sha256 = model.pose_model.partition(" sha256:")
    if fitted_sha256 and pose_model_sha256 and pose_model_sha256 != fitted_sha256:
        return _uncalibrated(
            features,
            f"the pose model in use (sha256 {pose_model_sha256[:12]}) is not the one the calibration was"
            f" fitted on ({name}, sha256 {fitted_sha256[:12]}); its hip point sits elsewhere on the body",
        )
    if features.get("width_ratio", 0.0) > model.max_width_ratio:
        return _uncalibrated(features, "the camera sits further round than any view the fit saw")
    used = {
        k: float(np.clip(v, *model.fitted_range[k])) if k in model.fitted_range else v
        for k, v in features.items()
    }
    offset = _line(model.offset_deg, model.offset_per, used)
    gain = _line(model.gain, model.gain_per, used)
    if not (np.isfinite(offset) and np.isfinite(gain) and gain > 0):
        missing = sorted(
            k for k in {*model.offset_per, *model.gain_per} if not np.isfinite(features.get(k, np.nan))
        )
        return Calibration(
            False,
            0.0,
            1.0,
            features,
            float("nan"),
            f"not calibrated: {', '.join(missing) or 'the fit'} could not be measured",
        )
    return Calibration(
        True,
        float(offset),
        float(1.0 / gain),
        features,
        model.uncertainty_deg,
        f"{view} view: the model's reading of a true straight line is 180 + {offset:.1f} deg here",
        model.slope_band_deg,
    )
