"""Analysis (+ its profile) -> the typed Report: rounding, set/rep scores, the summary. Pure."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict

from .. import __version__
from .. import pelvis as pel
from ..analysis import Analysis
from ..calibration import Calibration
from ..hip_lines import hip_lines
from ..kinematics import LOOKING_DOWN
from ..profiles import Profile
from ..scoring import Score
from ..sets import rep_goals as _set_rep_goals
from .checklist import build_checklist
from .model import (
    CalibrationReport,
    ClipFacts,
    Deduction,
    FaultReport,
    Measurement,
    PelvisMeasure,
    PelvisMeasurement,
    RejectedCycle,
    Report,
    RepPelvisReport,
    RepReport,
    ScoreReport,
    SetReport,
    Sides,
    Summary,
    Unusable,
    VariantGuess,
    VariantInfo,
    hip_angle_not_shown,
    hip_angle_shown,
)

HIP_ANGLE = (
    "signed shoulder-hip-knee at the hip joint centre, calibrated from the model's image-plane reading"
    " for this clip's body and view (180 = straight line, above = past it); *_raw_deg: the model's own"
)


def _num(x: float | None, nd: int = 2) -> float | None:
    """Round for output; NaN and None become null (JSON has no NaN)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _sd(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def rep_goals(count: int, profile: Profile) -> list[str]:
    """The guide's rep-range goals this count falls in (ranges overlap, so maybe several)."""
    return _set_rep_goals(count, profile.rep_ranges)


def score_report(score: Score | None) -> ScoreReport | None:
    if score is None:
        return None
    return ScoreReport(
        score=_num(score.score, 1),
        base=_num(score.base, 1),
        deductions=[Deduction(**asdict(d)) for d in score.deductions],
        not_scored=dict(score.not_scored),
    )


def summary(analysis: Analysis, profile: Profile) -> Summary:
    reps = analysis.reps
    by_code = Counter(f.code for f in analysis.faults)
    bottoms = [r.bottom_hip_deg for r in reps]
    return Summary(
        rep_count=len(reps),
        complete_reps=sum(r.complete for r in reps),
        # the guide's ranges are per set: with several sets see sets[].rep_range_goals
        rep_range_goals=rep_goals(len(reps), profile) if len(analysis.sets) <= 1 else [],
        mean_up_s=_num(_mean([r.up_s for r in reps])),
        mean_top_pause_s=_num(_mean([r.top_pause_s for r in reps])),
        mean_down_s=_num(_mean([r.down_s for r in reps])),
        mean_bottom_pause_s=_num(_mean([r.bottom_pause_s for r in reps])),
        mean_top_hip_deg=_shown(analysis, _mean([r.top_hip_deg for r in reps])),
        min_top_hip_deg=_shown(analysis, min((r.top_hip_deg for r in reps), default=None)),
        mean_bottom_hip_deg=_shown(analysis, _mean(bottoms)),
        bottom_hip_sd_deg=_shown(analysis, _sd(bottoms)),
        fault_counts=dict(sorted(by_code.items())),
        reps_with_faults=sorted({f.rep for f in analysis.faults}),
        usable_fraction=_num(analysis.usable_fraction, 3),
        set_count=len(analysis.sets),
        score=_num(analysis.scores.overall, 1),
        mean_top_hip_raw_deg=_raw(analysis.calibration, _mean([r.top_hip_deg for r in reps])),
        mean_bottom_hip_raw_deg=_raw(analysis.calibration, _mean(bottoms)),
        no_reps_reason=None if reps else no_reps_reason(analysis, profile),
    )


def no_reps_reason(analysis: Analysis, profile: Profile) -> str | None:
    """Why a clip gave no rep, where its view tells: a camera looking down on the body."""
    tilt = analysis.view.tilt_deg
    if tilt is not None and tilt > profile.view.looking_down_deg:
        return LOOKING_DOWN.format(tilt=tilt)
    return None


def _raw(cal: Calibration, shown: float | None) -> float | None:
    """The model's own reading behind a calibrated angle, rounded like it."""
    return None if shown is None else _num(float(cal.raw(shown)), 1)


def calibration_report(cal: Calibration) -> CalibrationReport:
    return CalibrationReport(
        calibrated=cal.calibrated,
        offset_deg=_num(cal.offset_deg, 2),
        slope=_num(cal.slope, 3),
        slope_band_deg=_num(cal.band_deg, 1),
        inputs={k: _num(v, 3) for k, v in cal.inputs.items()},
        uncertainty_deg=_num(cal.uncertainty_deg, 1),
        reason=cal.reason,
    )


def _sets(analysis: Analysis) -> list[SetReport]:
    scores = analysis.scores.sets
    return [
        SetReport(
            set=s.index,
            reps=list(s.reps),
            rep_count=s.rep_count,
            start_s=_num(s.start_s, 3),
            end_s=_num(s.end_s, 3),
            rest_before_s=_num(s.rest_before_s, 2),
            rep_range_goals=list(s.rep_range_goals),
            vs_previous={k: _num(v, 2) for k, v in s.vs_previous.items()},
            score=score_report(scores[i] if i < len(scores) else None),
        )
        for i, s in enumerate(analysis.sets)
    ]


def _codes_by_rep(analysis: Analysis) -> dict[int, list[str]]:
    """Each rep's fault codes, once each, in the order found."""
    return {rep: list(dict.fromkeys(f.code for f in fs)) for rep, fs in analysis.faults_by_rep().items()}


def _shown(analysis: Analysis, deg: float | None) -> float | None:
    """A calibrated angle as the report shows it: None where the clip's angles are not shown."""
    return _num(deg, 1) if hip_angle_shown(analysis.not_measurable) else None


def _reps(analysis: Analysis) -> list[RepReport]:
    codes = _codes_by_rep(analysis)
    return [
        RepReport(
            rep=r.index,
            leg=r.leg,
            start_s=_num(r.start_s, 3),
            end_s=_num(r.end_s, 3),
            bottom_hip_deg=_shown(analysis, r.bottom_hip_deg),
            top_hip_deg=_shown(analysis, r.top_hip_deg),
            up_s=_num(r.up_s),
            top_pause_s=_num(r.top_pause_s),
            down_s=_num(r.down_s),
            bottom_pause_s=_num(r.bottom_pause_s),
            top_knee_deg=_num(r.top_knee_deg, 1),
            top_shin_deg=_num(r.top_shin_deg, 1),
            top_torso_deg=_num(r.top_torso_deg, 1),
            complete=r.complete,
            faults=codes.get(r.index, []),
            score=score_report(analysis.scores.reps.get(r.index)),
            pelvis=rep_pelvis(analysis.pelvis.of_rep(r.index)) if analysis.pelvis else None,
            top_hip_raw_deg=_raw(analysis.calibration, r.top_hip_deg),
            bottom_hip_raw_deg=_raw(analysis.calibration, r.bottom_hip_deg),
        )
        for r in analysis.reps
    ]


def _deg(x: float | None) -> float | None:
    """One decimal, and never -0.0."""
    v = _num(x, 1)
    return None if v is None else v + 0.0


def rep_pelvis(p: pel.RepPelvis | None) -> RepPelvisReport | None:
    if p is None:
        return None
    roll, obl = _deg(p.roll_change_deg), _deg(p.obliquity_change_deg)
    return RepPelvisReport(
        top_roll_deg=_deg(p.top_roll_deg),
        roll_change_deg=roll,
        free_side_drop_deg=_deg(p.free_side_drop_deg),
        roll=pel.describe_drop(p) if p.free_side else pel.describe(roll, pel.ROLL),
        top_obliquity_deg=_deg(p.top_obliquity_deg),
        obliquity_change_deg=obl,
        obliquity=pel.describe(obl, pel.OBLIQUITY),
    )


def pelvis_measurement(series: pel.PelvisSeries) -> PelvisMeasurement:
    def one(name: str, read_from: str) -> PelvisMeasure:
        if name in series.not_measurable:
            return PelvisMeasure(measurable=False, reason=series.not_measurable[name])
        rel = series.reliability.get(name)
        return PelvisMeasure(
            measurable=True,
            read_from=read_from or None,
            reliability=rel.grade if rel else None,
            expected_error_deg=rel.expected_error_deg if rel else None,
            basis=rel.basis if rel else None,
        )

    return PelvisMeasurement(roll=one(pel.ROLL, series.roll_from),
                             obliquity=one(pel.OBLIQUITY, series.obliquity_from))


def _sides(analysis: Analysis) -> Sides | None:
    """Each leg's figures; its top angle only where the clip's angles are shown."""
    if not analysis.sides:
        return None
    if hip_angle_shown(analysis.not_measurable):
        return Sides(**analysis.sides)
    legs = {leg: {**analysis.sides[leg], "top_hip_deg": None} for leg in ("left", "right")}
    return Sides(**{**analysis.sides, **legs})


def _measurement(analysis: Analysis, profile: Profile) -> Measurement:
    rc = profile.reps
    return Measurement(
        view=analysis.view.view,
        view_confidence=_num(analysis.view.confidence, 2),
        not_measurable=dict(analysis.not_measurable),
        partly_measurable=dict(analysis.partly_measurable),
        side=analysis.side.side,
        side_reason=analysis.side.reason,
        single_leg=analysis.side.single_leg,
        hip_angle=HIP_ANGLE,
        hip_angle_not_shown=hip_angle_not_shown(analysis.not_measurable),
        lockout_line_deg=hip_lines(profile)["lockout"],
        overextension_line_deg=hip_lines(profile)["overextension"],
        hysteresis_deg=[_num(analysis.low_threshold, 1), _num(analysis.high_threshold, 1)],
        phases=(
            f"up / top pause / down / bottom pause: a pause is where the hips are both within"
            f" {rc.band_frac:.0%} of the rep's range (at least {rc.band_min_deg:g} deg) of its top or"
            f" bottom and nearly still (slower than {rc.hold_speed_frac:.0%} of the rep's peak hip"
            f" speed, or {rc.hold_speed_min_dps:g} deg/s)"
        ),
        pelvis=pelvis_measurement(analysis.pelvis.series) if analysis.pelvis else None,
    )


def build_report(analysis: Analysis, profile: Profile) -> Report:
    """The whole report of one analysed clip."""
    guess = analysis.variant_detected
    return Report(
        formcheck_version=__version__,
        source=analysis.source,
        variant=VariantInfo(
            name=analysis.variant,
            title=analysis.variant_title,
            detected=VariantGuess(**guess) if guess else None,
        ),
        clip=ClipFacts(
            frames=analysis.n_frames,
            fps=_num(analysis.fps, 3),
            duration_s=_num(analysis.duration_s, 3),
            detected_fraction=_num(analysis.detected_fraction, 3),
            usable_fraction=_num(analysis.usable_fraction, 3),
            truncated=analysis.truncated,
            analysed_fps=_num(analysis.fps, 3),
            frame_stride=analysis.frame_stride,
            source_fps=_num(analysis.fps * analysis.frame_stride, 3),
        ),
        measurement=_measurement(analysis, profile),
        reps=_reps(analysis),
        sets=_sets(analysis),
        sides=_sides(analysis),
        faults=[FaultReport(**{**asdict(f), "reps": list(f.reps)}) for f in analysis.faults],
        unusable=[Unusable(start_s=_num(s.start_s, 3), end_s=_num(s.end_s, 3), reason=s.reason)
                  for s in analysis.unusable],
        rejected_cycles=[RejectedCycle(time_s=_num(t, 3), why=why) for t, why in analysis.rejected],
        summary=summary(analysis, profile),
        calibration=calibration_report(analysis.calibration),
        checklist=build_checklist(analysis, profile),
    )
