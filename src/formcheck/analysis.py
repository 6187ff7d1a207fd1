"""The analysis stage: a PoseTrack and a profile in, an Analysis out. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from . import kinematics as kin
from . import signal as sig
from .calibration import IDENTITY, Calibration, calibrate, clip_features
from .check_signals import Signals
from .checks import judge_reps, leg_hidden
from .errors import ClipTooShort, NoPersonDetected
from .fault_rules import FootPlacementRule, HipRotationRule, LoadDriftRule
from .findings import CheckResult, Fault, faults_of, sort_faults
from .lift import (
    LIFT_CODES,
    LIFT_REASON,
    LIFT_TEMPO_ONLY,
    MAX_SPANS_PER_S,
    MIXED_CODES,
    MIXED_VIEWS_REASON,
    SHOT_SPAN,
    angle_lost,
    lift_config,
    lift_drive,
    mixed_views,
    partial_lift,
    shot_views,
)
from .pelvis import PelvisReading
from .pelvis import measure as measure_pelvis
from .posture import PostureSignals, check_posture, load_on_hips, posture_signals
from .profiles import Profile
from .reps import Rep, Segmentation, segment
from .scoring import Scores, score_all
from .set_checks import ANGLE_MEASURES, check_sets
from .sets import TrainingSet, build_sets, compare_sides, split_sets, without_rests
from .track import PoseTrack
from .view_limits import (
    ANGLE_CODES,
    FAR_LEG_VISIBILITY_GAP,
    FAR_WORKING_LEG,
    FAR_WORKING_LEG_DRIVE,
    FEET_OUT_UNJUDGED,
    FRONT_SHIN_REASON,
    FRONT_TEMPO_ONLY,
    FRONT_VIEW_REASON,
    load_hides_hip,
    view_limits,
)


@dataclass(frozen=True)
class Analysis:
    source: str
    variant: str
    variant_title: str
    n_frames: int
    fps: float
    duration_s: float
    detected_fraction: float
    usable_fraction: float
    side: kin.SideChoice
    reps: list[Rep]
    faults: list[Fault]
    unusable: list[sig.Stretch]
    rejected: list[tuple[float, str]]
    low_threshold: float
    high_threshold: float
    range_deg: float
    timestamps: np.ndarray
    hip: np.ndarray
    knee: np.ndarray
    usable: np.ndarray
    truncated: bool = False  # the clip ended before its advertised length
    frame_stride: int = 1  # every stride-th frame of the clip was analysed (fps is the analysed rate)
    view: kin.ViewEstimate = kin.ViewEstimate("side", 0.0, float("nan"))
    not_measurable: dict[str, str] = field(default_factory=dict)  # fault code -> why, in this view
    partly_measurable: dict[str, str] = field(default_factory=dict)  # fault code -> what was not judged
    sets: list[TrainingSet] = field(default_factory=list)
    scores: Scores = Scores({}, [])
    variant_detected: dict | None = None  # with --variant auto: name, confidence, reason
    sides: dict | None = None  # single-leg work on both legs: per-side figures and imbalances
    pelvis: PelvisReading | None = None  # roll/obliquity per frame and per rep, where the view shows them
    calibration: Calibration = IDENTITY  # raw model hip reading -> anatomical angle (hip is shown)
    # every check's verdict per rep (set-level checks: per set and measure); faults are the failing ones
    results: list[CheckResult] = field(default_factory=list)
    # fault code -> the part of the check never judged in this view or variant (on every rep)
    caveats: dict[str, str] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def faults_by_rep(self) -> dict[int, list[Fault]]:
        """Each rep's faults; a set-level fault counts for every rep it names."""
        out: dict[int, list[Fault]] = {}
        for f in self.faults:
            for rep in f.reps or (f.rep,):
                out.setdefault(rep, []).append(f)
        return out


Drive = Callable[[np.ndarray], kin.Angles]


def prepared_points(
    track: PoseTrack,
    side: str,
    cfg: sig.SignalConfig,
    cuts: np.ndarray,
    drive: Drive = kin.angles_from_points,
) -> np.ndarray:
    """(T, 4, 2) gated, gap-filled, zero-phase filtered shoulder/hip/knee/ankle of one side.

    Side "mid" (front view): (T, 2, 2) shoulder and hip midpoints only; the legs point at the
    lens there, and their doubtful landmarks must not veto frames the lift signal can use."""
    if side in ("mid", "mid_all"):  # mid_all: the legs' midpoints too (the lift above the feet)
        pts, vis = kin.mid_points(track.image, track.visibility)
        pts, vis = (pts, vis) if side == "mid_all" else (pts[:, :2], vis[:, :2])
    else:
        idx = list(kin.SIDES[side])
        pts, vis = track.image[:, idx, :2], track.visibility[:, idx]
    pts = sig.gate_points(pts, vis, cfg.min_visibility)
    pts = sig.gate_frame(pts, track.width, track.height, cfg.frame_margin)
    raw = drive(pts).hip
    pts[sig.implausible(raw, track.fps, cfg)] = np.nan
    pts = sig.fill_short_gaps(pts, int(round(cfg.max_gap_s * track.fps)), breaks=cuts)
    return sig.lowpass(pts, track.fps, cfg.cutoff_hz, breaks=cuts)


def free_side_sign(side: kin.SideChoice) -> float:
    """+1 when the free (raised) leg is the left one, -1 the right, 0 with both legs working.

    kin.pelvis_roll_world reads + when the left hip sits lower: times this, + is a drop of the free side."""
    if not side.single_leg or side.side not in kin.SIDES:
        return 0.0
    return 1.0 if side.side == "right" else -1.0


def leg_visibility(track: PoseTrack, side: str) -> np.ndarray:
    """Per frame, the weaker of knee and ankle visibility on the measured side (NaN for 'both')."""
    if side not in kin.SIDES:
        return np.full(track.n_frames, np.nan)
    idx = list(kin.SIDES[side])[2:]
    return track.visibility[:, idx].min(axis=1).astype(float)


@dataclass(frozen=True)
class Findings:
    faults: list[Fault]
    sets: list[TrainingSet]
    scores: Scores
    not_measurable: dict[str, str]
    partly_measurable: dict[str, str]
    results: list[CheckResult] = field(default_factory=list)
    caveats: dict[str, str] = field(default_factory=dict)


SWITCH_MIN_SIDE_S = 4.0  # each leg must work this long before a clip counts as switching legs
SWITCH_BLANK_S = 0.3  # the change of legs itself is no rep: blanked either side of the switch
SWITCH_KNEE_GAP_DEG = 30.0


def leg_switches(track: PoseTrack) -> np.ndarray | None:
    """Per-frame working leg of a single-leg clip that switches legs, else None (one leg all along)."""
    legs = kin.working_leg_by_frame(track.image, track.fps, SWITCH_KNEE_GAP_DEG)
    seconds = {leg: float((legs == leg).sum()) / track.fps for leg in kin.SIDES}
    return legs if min(seconds.values()) >= SWITCH_MIN_SIDE_S else None


def leg_order(legs: np.ndarray) -> list[str]:
    return [str(legs[i]) for i in [0, *(np.flatnonzero(legs[1:] != legs[:-1]) + 1).tolist()]]


def switched_points(
    track: PoseTrack, legs: np.ndarray, cfg: sig.SignalConfig, cuts: np.ndarray
) -> np.ndarray:
    """Each frame's working-leg points, blank around each change of legs. Each leg is cleaned on
    its own working frames only: while raised, its angles are no part of its signal."""
    own = {}
    for leg in kin.SIDES:
        vis = track.visibility.copy()
        vis[legs != leg] = 0.0
        own[leg] = prepared_points(replace(track, visibility=vis), leg, cfg, cuts)
    points = np.where((legs == "left")[:, None, None], own["left"], own["right"])
    pad = int(round(SWITCH_BLANK_S * track.fps))
    for i in np.flatnonzero(legs[1:] != legs[:-1]) + 1:
        points[max(0, i - pad) : i + pad] = np.nan
    return points


def switched_leg_visibility(track: PoseTrack, legs: np.ndarray) -> np.ndarray:
    return np.where(legs == "left", leg_visibility(track, "left"), leg_visibility(track, "right"))


def working_leg_is_far(track: PoseTrack, side: kin.SideChoice) -> bool:
    """A single-leg set whose working leg is the one away from the camera (its knee and ankle
    seen less well than the free leg's)."""
    if not side.single_leg or side.side not in kin.SIDES:
        return False
    other = "left" if side.side == "right" else "right"
    near = float(np.nanmedian(leg_visibility(track, other)))
    return float(np.nanmedian(leg_visibility(track, side.side))) < near - FAR_LEG_VISIBILITY_GAP


def pelvis_roll(track: PoseTrack, view: str) -> tuple[np.ndarray | None, str]:
    """The roll series and what it was read from: from the feet the picture shows a roll
    directly; at an angle only the world landmarks can; from the side nothing can."""
    if view == "front":
        return kin.pelvis_roll_image(track.image), "the picture"
    return (None if view == "side" else kin.pelvis_roll_world(track.world)), "3D"


LINE_CODES = ("incomplete_lockout", "overextension")  # judged against 180, so need the calibration


def judge(
    reps: list[Rep],
    profile: Profile,
    signals: Signals,
    view: str,
    far_working_leg: bool = False,
    posture: PostureSignals | None = None,
    uncalibrated: str | None = None,
    lifted: str | None = None,
) -> Findings:
    """Every check the view supports, the sets, and the scores; the rest is said to be unmeasurable.

    uncalibrated: why the hip angle could not be calibrated (side/oblique only): the lockout and
    overextension lines are then not judged, as the raw reading is off the line by an unknown amount.
    lifted: why the reps came from the hips' lift at the side or an angle: no angle is judged."""
    not_measurable, partly = view_limits(view, profile.single_leg or signals.free_side_sign != 0.0)
    caveats = dict(partly)  # what the view never judges, on any rep
    if uncalibrated and view != "front":
        not_measurable |= dict.fromkeys(LINE_CODES, uncalibrated)
    if far_working_leg and view != "front":
        not_measurable["foot_placement"] = FAR_WORKING_LEG
        not_measurable["jerky_concentric"] = FAR_WORKING_LEG_DRIVE
    skip_measures: set[str] = set(ANGLE_MEASURES) if lifted else set()
    if view == "front":  # the drive signal is a lift, not an angle: no angle may be judged from it
        not_measurable |= dict.fromkeys(ANGLE_CODES, FRONT_VIEW_REASON)
        not_measurable["foot_placement"] = FRONT_SHIN_REASON
        partly |= dict.fromkeys(("fatigue_drift", "short_rest"), FRONT_TEMPO_ONLY)
        skip_measures = set(ANGLE_MEASURES)
    else:
        hidden = [r.index for r in reps if leg_hidden(r, profile, signals)]
        why = "knee or ankle hidden at the top, the shin's tilt cannot be read"
        if reps and len(hidden) == len(reps):
            not_measurable["foot_placement"] = why
        elif hidden:
            partly["foot_placement"] = f"not judged on rep(s) {', '.join(map(str, hidden))}: {why}"
        if not profile.rule(FootPlacementRule).judge_feet_out:
            caveats["foot_placement"] = FEET_OUT_UNJUDGED
            known = partly.get("foot_placement")
            partly["foot_placement"] = f"{known}; {FEET_OUT_UNJUDGED}" if known else FEET_OUT_UNJUDGED
    if lifted:
        not_measurable |= dict.fromkeys(MIXED_CODES if lifted == MIXED_VIEWS_REASON else LIFT_CODES, lifted)
        partly |= dict.fromkeys(("fatigue_drift", "short_rest"), LIFT_TEMPO_ONLY)
    partly = {code: why for code, why in partly.items() if code not in not_measurable}
    groups = split_sets(reps, profile.sets)
    skip = set(not_measurable)
    results = judge_reps(reps, profile, skip=skip, signals=signals, groups=groups)
    held = check_posture(groups, profile, posture, skip, view)  # side views only
    results += held.results
    not_measurable |= held.not_measurable
    partly |= held.partly_measurable
    skip = set(not_measurable)
    whole_sets = check_sets(groups, profile, skip, skip_measures)
    results += whole_sets.results
    sets = build_sets(groups, profile, whole_sets.vs_previous)
    faults = sort_faults(faults_of(results))
    scores = score_all(reps, faults, sets, profile, not_measurable)
    caveats = {code: why for code, why in caveats.items() if code not in not_measurable}
    return Findings(faults, sets, scores, not_measurable, partly, results, caveats)


def calibrated_rep(rep: Rep, cal: Calibration) -> Rep:
    """The rep's hip angles on the anatomical scale."""
    end = None if rep.end_hip_deg is None else float(cal.shown(rep.end_hip_deg))
    return replace(
        rep,
        top_hip_deg=float(cal.shown(rep.top_hip_deg)),
        bottom_hip_deg=float(cal.shown(rep.bottom_hip_deg)),
        end_hip_deg=end,
    )


def _segmented(
    track: PoseTrack,
    ang: kin.Angles,
    cuts: np.ndarray,
    cfg: sig.SignalConfig,
    profile: Profile,
    across_cuts: bool = False,
    fine: np.ndarray | None = None, height: np.ndarray | None = None,
) -> tuple[np.ndarray, list[sig.Stretch], Segmentation]:
    """The usable frames of a drive signal, the stretches left out, and its reps (across_cuts: a
    short dropout at a cut is bridged too, where the cameras switch and the motion continues)."""
    seen = np.isfinite(ang.hip) & ~cuts
    usable, unusable = sig.unusable_stretches(seen, cuts, track.timestamps, track.fps, cfg)
    breaks = None if across_cuts else cuts
    seg = segment(ang.hip, ang.knee, ang.shin, ang.torso, track.timestamps, usable, profile.reps, breaks,
                  fine, height)
    return usable, unusable, seg


def analyze_track(track: PoseTrack, profile: Profile) -> Analysis:
    """Reps, phases and faults of one clip's pose track under one variant's profile.

    Raises NoPersonDetected for a track with no pose at all and ClipTooShort for one
    shorter than the shortest rep the profile accepts: there is nothing to report on.
    """
    if not track.detected.any():
        raise NoPersonDetected(f"{track.source or 'track'}: no person detected in any frame")
    if track.duration < profile.reps.min_rep_s:
        raise ClipTooShort(
            f"{track.source or 'track'}: {track.duration:.2f} s is shorter than one rep "
            f"({profile.reps.min_rep_s:.1f} s at least)"
        )
    cfg = profile.signal
    cuts = sig.detect_cuts(track, cfg)
    view = kin.detect_view(track.image[track.detected], profile.view, track.world[track.detected])
    front = view.view == "front"
    side = kin.choose_side(track.image, track.visibility, force_single_leg=profile.single_leg,
                           world=track.world if front else None)
    free = free_side_sign(side)  # before a front view swaps the side for the midline
    working_leg = side.side if free else "both"
    if front:
        side = kin.SideChoice("both", "front view: midpoints of both sides", side.single_leg)
    drive: Drive = kin.angles_from_points
    gain = profile.view.front_lift_gain_deg
    lift_cfg = lift_config(cfg, gain, profile.view.front_max_lift_speed)
    if front:
        drive, cfg = lift_drive(track.image, True, gain), lift_cfg
    legs = leg_switches(track) if side.single_leg and not front else None
    fine_cfg = replace(cfg, cutoff_hz=cfg.phase_cutoff_hz)
    same = cfg.phase_cutoff_hz == cfg.cutoff_hz  # then the phases' signal is the reps' own
    if legs is None:
        points = prepared_points(track, "mid" if front else side.side, cfg, cuts, drive)
        fine = points if same else prepared_points(track, "mid" if front else side.side, fine_cfg, cuts,
                                                   drive)
    else:
        points = switched_points(track, legs, cfg, cuts)
        fine = points if same else switched_points(track, legs, fine_cfg, cuts)
        order = " then ".join(leg_order(legs))
        side = kin.SideChoice(side.side, f"planted working leg, switching legs: {order}", True)
    ang = drive(points)
    features = clip_features(track, view.width_ratio, side.side)
    cal = calibrate(features, view.view, profile.calibration, track.meta.get("model_sha256"))
    fine_hip, height = ang.hip if same else drive(fine).hip, None if front else -fine[:, 1, 1]  # y is down
    usable, unusable, seg = _segmented(track, ang, cuts, cfg, profile, fine=fine_hip, height=height)
    lifted = None  # why the reps come from the hips' lift at the side or an angle
    if not front and legs is None and not seg.reps:
        trunk_lift = lift_drive(track.image, False, gain)
        lift_points = prepared_points(track, "mid", lift_cfg, cuts, trunk_lift)
        lift_ang = trunk_lift(lift_points)
        lift_seg = _segmented(track, lift_ang, cuts, lift_cfg, profile)
        if lift_seg[2].reps and angle_lost(usable, lift_seg[0]):
            points, ang, (usable, unusable, seg), lifted = lift_points, lift_ang, lift_seg, LIFT_REASON
    shots = shot_views(track.image, track.detected, cuts, profile.view, int(cfg.min_segment_s * track.fps))
    if legs is None and mixed_views(shots):  # counted on one lift above the feet, across the cuts
        shot_drive = partial_lift(track.image, shots, gain)
        shot_cfg = lift_config(cfg, gain, SHOT_SPAN * MAX_SPANS_PER_S)
        points = prepared_points(track, "mid_all", shot_cfg, cuts, shot_drive)
        ang, lifted = shot_drive(points), MIXED_VIEWS_REASON
        usable, unusable, seg = _segmented(track, ang, cuts, shot_cfg, profile, across_cuts=True)
    # reps and phases are cut on the model's own reading (timing does not depend on the calibration);
    # every angle judged and shown from here on is the anatomical one (180 = the straight line)
    reps = [calibrated_rep(r, cal) for r in seg.reps]
    if side.single_leg and side.side in kin.SIDES:
        reps = [replace(r, leg=str(legs[r.top_frame]) if legs is not None else side.side) for r in reps]
    reps = without_rests(reps, profile.sets)
    if front or lifted:  # the drive signal is a lift, not an angle: no angle may be reported from it,
        # and its wobble at the top crosses the moves' fast-run speed: the hold is the top band's time
        reps = [replace(r, bottom_hip_deg=np.nan, top_hip_deg=np.nan, end_hip_deg=None, top_still_s=None)
                for r in reps]
    roll, roll_from = pelvis_roll(track, view.view)
    signals = Signals(
        track.timestamps,
        ang.hip,
        leg_visibility(track, side.side) if legs is None else switched_leg_visibility(track, legs),
        # only where the view can use them (view_limits): the rest are reported not measurable
        pelvis_roll=roll,
        pelvis_roll_from=roll_from,
        knee_cave=kin.knee_cave_world(track.world, working_leg) if front else None,
        free_side_sign=free,
        free_side_by_frame=None if legs is None else np.where(legs == "left", -1.0, 1.0),
    )
    angled = view.view in ("side", "oblique") and not lifted
    posture = posture_signals(track, points, ang.hip, side.side, profile, cuts) if angled else None
    loaded = load_on_hips(reps, posture, profile.rule(LoadDriftRule)) if posture else None
    # why the lockout and overextension lines cannot be judged on this clip (None: they can)
    unjudged = None if cal.calibrated else cal.reason
    hidden = load_hides_hip(view.view, view.width_ratio, loaded, profile.view.angled_from_ratio,
                            profile.view.oblique_from_ratio)
    unjudged = hidden or unjudged
    found = judge(
        reps,
        profile,
        signals,
        view.view,
        far_working_leg=working_leg_is_far(track, side),
        posture=posture if view.view == "side" else None,
        uncalibrated=unjudged,
        lifted=lifted,
    )
    rot = profile.rule(HipRotationRule)
    free_sides = {r.index: "left" if signals.free_side_at(r) > 0 else "right"
                  for r in reps if signals.free_side_at(r) != 0}
    pelvis = measure_pelvis(track, view.view, split_sets(reps, profile.sets), ang.hip, free_side=free_sides,
                            lead_s=rot.bottom_window_s, quantile=rot.bottom_quantile, trim=rot.top_trim_frac)
    n = max(track.n_frames, 1)
    return Analysis(
        source=track.source,
        variant=profile.name,
        variant_title=profile.title,
        n_frames=track.n_frames,
        fps=track.fps,
        duration_s=track.duration,
        detected_fraction=float(track.detected.sum() / n),
        usable_fraction=float(usable.sum() / n),
        side=side,
        reps=reps,
        faults=found.faults,
        unusable=unusable,
        rejected=seg.rejected,
        low_threshold=float(cal.shown(seg.low_threshold)),
        high_threshold=float(cal.shown(seg.high_threshold)),
        range_deg=seg.range_deg,
        timestamps=track.timestamps,
        hip=np.full(track.n_frames, np.nan) if front or lifted else np.asarray(cal.shown(ang.hip)),
        knee=ang.knee,
        usable=usable,
        truncated=bool(track.meta.get("truncated", False)),
        frame_stride=int(track.meta.get("frame_stride", 1)),
        view=view,
        not_measurable=found.not_measurable,
        partly_measurable=found.partly_measurable,
        sets=found.sets,
        scores=found.scores,
        sides=compare_sides(reps, profile.sets),
        pelvis=pelvis,
        calibration=cal,
        results=found.results,
        caveats=found.caveats,
    )
