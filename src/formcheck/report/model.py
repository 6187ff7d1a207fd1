"""The typed report: what one analysed clip tells a coach, as validated data.

Every output renders from a `Report`: the JSON (schema formcheck.report/1, this model dumped field
by field), the CSV, the terminal text, the HTML page, the web app's pages and database rows, the
live summary. A report read back from disk (batch's earlier results, the web app's files) is
validated into the same model, so no consumer picks a dict apart.

Keys added within formcheck.report/1 (removing or renaming one bumps the schema):

- faults[].reps: every rep a finding covers (set-level findings such as fatigue_drift cover
  several; faults[].rep is the first of them).
- measurement.partly_measurable: fault code -> what part of it was not judged, and why.
- faults[].code head_not_neutral, load_drift, leaning_back (the guide's posture mistakes,
  posture.py), measured in "deg face line past square to the trunk", "% of trunk length, vs the
  set's typical top" or "... vs the set's bottoms" (load_drift, signed: + toward the knees, -
  toward the chest) and "% of trunk length, vs the set's typical top" (leaning_back); from the
  feet or at an angle all three are in measurement.not_measurable (side views only).
- reps[].score and sets[].score: {"score" 0-100, "base", "deductions": [{"code", "severity",
  "points", "why"}], "not_scored": {code: why}}; a rep's base is 100, a set's the mean of its reps.
- sets: the clip split at rests (profile sets.min_rest_s), the first rep of each set against the
  last reps of the one before ("vs_previous": {"top" deg lower, "depth" deg shallower, "up" ratio}).
- summary.score (rep-weighted mean of the set scores), summary.set_count; with several sets
  summary.rep_range_goals is empty (the guide's ranges are per set, see sets[]).
  summary.no_reps_reason: with no rep counted, why, where the view tells (a camera looking down).
- clip.frame_stride, clip.source_fps, clip.analysed_fps: a clip above 30 fps is analysed at every
  k-th frame (k = frame_stride; 1 with --every-frame); clip.frames and clip.fps keep meaning the
  frames analysed and their rate (analysed_fps), source_fps is the clip's own rate.
- reps[].speed: {"mean_mps", "peak_mps", "why"}: the hips' upward concentric speed (mean and
  peak, m/s), nulls with "why" when not measured; sets[].velocity_loss_pct: (fastest rep's mean
  - last rep's) / fastest x 100; measurement.speed_scale: {"source" ("height", "world" or null),
  "px_per_m", "height_m", "expected_error_pct", "method", "not_measurable"} (src/formcheck/speed.py).
- measurement.pelvis: for "roll" and "obliquity", whether this view measures it, what it is read
  from, how reliable the view proved on rendered truth, or why it is not measurable.
- reps[].pelvis: the rep's pelvis roll and obliquity at the top and as change from its set's
  bottoms, deg (+ = left hip lower / nearer the head; raw model readings, null where not
  measurable); single-leg, free_side_drop_deg (the raised leg's side, + = dropped); "roll" says it
  in words with the side named ("right hip 9 deg lower", "no drop").
- checklist: per set, every fault code the profile knows with its status (pass, fail, not measurable,
  partly measured, not judged when no rep was found, disabled when the profile switches it off), the
  set's worst measured value with its limit, unit and comparison, and the verdict per rep (per drift
  measure for fatigue_drift and short_rest) (report/checklist.py). The HTML checklist shows this block.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA = "formcheck.report/1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantGuess(_Model):
    name: str
    confidence: float
    reason: str


class VariantInfo(_Model):
    name: str
    title: str
    detected: VariantGuess | None = None  # None when the user named the variant


class ClipFacts(_Model):
    frames: int  # analysed: with a frame stride k, about 1/k of the clip's
    fps: float | None  # the analysed rate (analysed_fps)
    duration_s: float | None
    detected_fraction: float | None
    usable_fraction: float | None
    truncated: bool
    # defaults: reports written before the frame stride read back as every frame analysed
    analysed_fps: float | None = None
    frame_stride: int = 1
    source_fps: float | None = None


class SpeedScale(_Model):
    """How rep speeds were scaled to metres (source null: not measured, see not_measurable)."""

    source: Literal["height", "world"] | None
    px_per_m: float | None
    height_m: float | None
    expected_error_pct: float | None
    method: str
    not_measurable: str | None


class RepSpeedReport(_Model):
    mean_mps: float | None
    peak_mps: float | None
    why: str | None  # why the figures are null


class PelvisMeasure(_Model):
    """Whether this view measures one pelvis figure (roll or obliquity), how, and how well."""

    measurable: bool
    read_from: str | None = Field(
        default=None, description="'image' (2D picture landmarks) or 'world' (MediaPipe's 3D landmarks)")
    reliability: str | None = Field(default=None, description="'good', 'fair' or 'poor' in this view")
    expected_error_deg: float | None = Field(
        default=None, description="largest error of the change at a top seen on rendered truth in this view")
    basis: str | None = Field(default=None, description="the renders the reliability was measured on")
    reason: str | None = Field(default=None, description="why it is not measurable from this view")


class PelvisMeasurement(_Model):
    """Roll: one hip lower, about the trunk's long axis. Obliquity: one hip toward the head, in the
    plane of the back. Both are the hip line against the shoulder line."""

    roll: PelvisMeasure
    obliquity: PelvisMeasure
    sign: str = "+ = left hip lower (roll) or nearer the head (obliquity), against the shoulder line"


def hip_angle_not_shown(not_measurable: dict[str, str]) -> str | None:
    """Why the calibrated hip angle is not shown (None: it is). It is shown only where the lockout
    can be judged on it: every reason that check is not measurable (filmed from the feet, a load
    hiding the hip, a body or view the calibration does not cover) is a reason the number would
    mislead (a single-leg thrust at an angle read 201 for a straight line, a barbell thrust at 30 deg
    148-152 for tops of 175-180)."""
    why = not_measurable.get("incomplete_lockout")
    return None if why is None else f"the lockout cannot be judged on this clip's hip angle ({why})"


def hip_angle_shown(not_measurable: dict[str, str]) -> bool:
    return hip_angle_not_shown(not_measurable) is None


class Measurement(_Model):
    view: str
    view_confidence: float | None
    not_measurable: dict[str, str]  # fault code -> why this view cannot show it
    partly_measurable: dict[str, str]  # fault code -> what part was not judged, and why
    side: str
    side_reason: str
    single_leg: bool
    hip_angle: str
    hip_angle_not_shown: str | None = Field(
        default=None,
        description="why this clip's calibrated hip angles (top/bottom, per rep and summary) are null;"
        " the model's readings stay in the *_raw_deg fields",
    )
    lockout_line_deg: float | None = Field(
        default=None, description="calibrated top hip angle below which a rep is short of the line"
    )
    overextension_line_deg: float | None = Field(
        default=None, description="calibrated top hip angle above which a rep arches past the line"
    )
    # formcheck < issue 15 wrote one constant model bias; accepted when read back, never written
    model_hip_bias_deg: float | None = Field(default=None, exclude=True)
    hysteresis_deg: list[float | None]
    phases: str
    speed_scale: SpeedScale | None = None  # rep speed (issue 16 item 9); None in older reports
    pelvis: PelvisMeasurement | None = None  # None in reports written before it existed


class Deduction(_Model):
    code: str
    severity: str
    points: float
    why: str


class ScoreReport(_Model):
    score: float | None
    base: float | None
    deductions: list[Deduction]
    not_scored: dict[str, str]


class RepPelvisReport(_Model):
    """One rep's pelvis, deg; null where the view cannot measure it (measurement.pelvis says why)."""

    top_roll_deg: float | None = Field(
        description="roll over the middle of the top hold, + = left hip lower (hip line vs shoulder line)")
    roll_change_deg: float | None = Field(description="top roll minus the roll over the set's bottoms")
    free_side_drop_deg: float | None = Field(
        default=None, description="single-leg: how far the raised leg's side dropped (negative: it rose)")
    roll: str = Field(description="in words: single-leg 'right hip 9 deg lower' (the free side dropped) or "
                      "'no drop'; '-' where not measurable")
    top_obliquity_deg: float | None = Field(description="obliquity at the top, + = left hip nearer the head")
    obliquity_change_deg: float | None = Field(description="top obliquity minus the set's bottoms")
    obliquity: str = Field(description="the change in words, e.g. 'right hip 5 deg toward the head', '-'")


class RepReport(_Model):
    rep: int
    leg: str | None
    start_s: float | None
    end_s: float | None
    bottom_hip_deg: float | None = Field(description="calibrated hip angle at the bottom, 180 = straight")
    top_hip_deg: float | None = Field(description="calibrated hip angle at the top, 180 = straight line")
    up_s: float | None
    top_pause_s: float | None
    down_s: float | None
    bottom_pause_s: float | None
    top_knee_deg: float | None
    top_shin_deg: float | None
    top_torso_deg: float | None
    complete: bool
    faults: list[str]
    score: ScoreReport | None
    speed: RepSpeedReport | None = None  # rep speed (issue 16 item 9); None in older reports
    pelvis: RepPelvisReport | None = None  # None in reports written before it existed
    top_hip_raw_deg: float | None = Field(
        default=None, description="the model's own shoulder-hip-knee reading at the top (uncalibrated)"
    )
    bottom_hip_raw_deg: float | None = Field(
        default=None, description="the model's own shoulder-hip-knee reading at the bottom (uncalibrated)"
    )


class SetReport(_Model):
    set: int
    reps: list[int]
    rep_count: int
    start_s: float | None
    end_s: float | None
    rest_before_s: float | None
    rep_range_goals: list[str]
    vs_previous: dict[str, float | None]
    score: ScoreReport | None
    velocity_loss_pct: float | None = None  # rep speed (issue 16 item 9)


class SideFigures(_Model):
    reps: int
    top_hip_deg: float | None
    range_deg: float | None
    up_s: float | None
    down_s: float | None


class Sides(_Model):
    """Single-leg work on both legs: each leg's figures and where they differ beyond the limits."""

    left: SideFigures
    right: SideFigures
    imbalances: list[str]


class FaultReport(_Model):
    code: str
    severity: Literal["minor", "moderate", "major"]
    rep: int
    start_s: float
    end_s: float
    measured: float
    limit: float
    unit: str
    comparison: str
    message: str
    guide_says: str
    checklist: str
    cue: str
    reps: list[int]

    @property
    def covered(self) -> list[int]:
        """Every rep the finding covers."""
        return self.reps or [self.rep]


class Unusable(_Model):
    start_s: float | None
    end_s: float | None
    reason: str


class RejectedCycle(_Model):
    time_s: float | None
    why: str


class Summary(_Model):
    rep_count: int
    complete_reps: int
    rep_range_goals: list[str]
    mean_up_s: float | None
    mean_top_pause_s: float | None
    mean_down_s: float | None
    mean_bottom_pause_s: float | None
    mean_top_hip_deg: float | None
    min_top_hip_deg: float | None
    mean_bottom_hip_deg: float | None
    bottom_hip_sd_deg: float | None
    fault_counts: dict[str, int]
    reps_with_faults: list[int]
    usable_fraction: float | None
    set_count: int
    score: float | None
    mean_top_hip_raw_deg: float | None = Field(default=None, description="mean top, model's own reading")
    mean_bottom_hip_raw_deg: float | None = Field(
        default=None, description="mean bottom, model's own reading"
    )
    no_reps_reason: str | None = Field(default=None, description="why no rep was counted, if the view tells")


class CalibrationReport(_Model):
    """How the model's hip reading became the anatomical angle on this clip's body and view."""

    calibrated: bool = Field(description="false: the angles shown are the model's raw reading")
    offset_deg: float | None = Field(description="raw reading of a true straight line, minus 180")
    slope: float | None = Field(description="calibrated degrees per raw degree around the line")
    slope_band_deg: float | None = Field(
        default=None,
        description="raw degrees from the line the slope applies within; the offset alone at twice that",
    )
    inputs: dict[str, float | None] = Field(description="the clip's measures the correction used")
    uncertainty_deg: float | None = Field(description="+- deg of a shown top on bodies the fit never saw")
    reason: str = Field(description="how it was calibrated, or why not")


CHECKLIST_STATUSES = ("pass", "fail", "not measurable", "partly measured", "not judged", "disabled")


class ChecklistResult(_Model):
    """One check's verdict on one rep (set-level checks: on one drift measure of the set)."""

    rep: int | None = Field(description="the rep judged; null for a set-level check")
    measure: str | None = Field(
        default=None, description="set-level checks: the drift compared (top, depth, up, down)")
    status: Literal["pass", "fail", "not measurable"]
    measured: float | None = Field(description="at the precision the check judges at; null: not measured")
    limit: float | None
    unit: str
    reason: str | None = Field(default=None, description="why not measurable, or what a pass did not judge")


class ChecklistItem(_Model):
    """One checklist item (fault code) on one set."""

    code: str
    item: str = Field(description="the guide's checklist words")
    status: Literal["pass", "fail", "not measurable", "partly measured", "not judged", "disabled"]
    measured: float | None = Field(
        description="the worst value over the set: the failing result furthest past its limit, else the "
        "result nearest its limit")
    limit: float | None = Field(description="the limit that value was judged against")
    unit: str | None
    comparison: str | None = Field(
        description="'>=' measured must reach the limit, '<=' must not exceed it, '|x| <=' its size must not")
    reason: str | None = Field(
        description="not measurable: why; partly measured: what was not judged; fail: reps or measures not "
        "judged, if any")
    failed_reps: list[int]
    results: list[ChecklistResult] = Field(description="per rep (per measure for set-level checks)")


class SetChecklist(_Model):
    set: int | None = Field(description="the set (sets[].set); null when no rep was found")
    reps: list[int]
    items: list[ChecklistItem] = Field(description="every fault code the profile knows, in the guide's order")


class Report(_Model):
    # "schema" would shadow a BaseModel attribute: the field is schema_, "schema" in the JSON
    schema_: str = Field(default=REPORT_SCHEMA, alias="schema")
    formcheck_version: str
    source: str
    variant: VariantInfo
    clip: ClipFacts
    measurement: Measurement
    reps: list[RepReport]
    sets: list[SetReport]
    sides: Sides | None
    faults: list[FaultReport]
    unusable: list[Unusable]
    rejected_cycles: list[RejectedCycle]
    summary: Summary
    calibration: CalibrationReport | None = None  # None only in reports written before issue 15
    checklist: list[SetChecklist] = Field(default_factory=list)  # empty in reports written before it

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def as_json_dict(self) -> dict:
        """The formcheck.report/1 document (plain JSON types, keys in the documented order)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self) -> str:
        return json.dumps(self.as_json_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json_dict(cls, data: dict) -> Report:
        """A formcheck.report/1 document (other top-level keys, e.g. batch's block, are left out).
        Raises pydantic.ValidationError for anything else."""
        if data.get("schema") != REPORT_SCHEMA:
            raise ValueError(f"not a {REPORT_SCHEMA} document (schema {data.get('schema')!r})")
        known = {f.alias or name for name, f in cls.model_fields.items()}
        return cls.model_validate({k: v for k, v in data.items() if k in known})

    @property
    def angles_readable(self) -> bool:
        """The calibrated hip angle is shown (hip_angle_shown)."""
        return hip_angle_shown(self.measurement.not_measurable)
