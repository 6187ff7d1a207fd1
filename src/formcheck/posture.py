"""The guide's posture mistakes at the top of a rep: head thrown back, the load drifting away
from the body, and finishing by leaning back over the bench instead of standing tall.

Each is read from landmarks a side or angled camera sees well, at each rep's top:
- head_not_neutral: the face's line (ear to nose) against the trunk's (shoulder to hip). With
  the chin tucked and the gaze forward the face sits square to the trunk or tipped toward the
  knees; thrown back it tips toward the head. Ear and nose are the head landmarks the model
  keeps in profile (the eyes crowd into the nose there). Judged when the face is both past
  square and risen from the set's bottoms: the model's ear point wanders between bodies.
- load_drift: the hands on the load (the mean of the wrist's and the fingers' points: a plate or
  dumbbell hides the bar itself, not the hands) along the trunk's line from the hip, against the
  median of the set's other tops and (by a wider margin) against where they held the load at the
  set's bottoms. Along the trunk, not the thigh: the bar rests on the pelvis, which turns with the
  trunk while the thigh swings ~80 deg.
- leaning_back: the shoulders' place along the trunk's line in the picture against the set's
  typical top. The upper back pivots on the bench, so clean tops bring the shoulders back to the
  same place; when the back slides head-ward over the bench they travel (a still camera needed).
From the feet every one of these lines points along the lens, so none is measured there; at an
angle (35 deg toward the feet, a rendered set) the model did not carry them, so side views only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import signal as sig
from .fault_rules import HeadNotNeutralRule, LeaningBackRule, LoadDriftRule
from .findings import (
    CheckResult,
    Fault,
    breaks,
    faults_of,
    judged,
    make_fault,
    severity_by_excess,
    unjudged,
)
from .profiles import Profile
from .reps import Rep
from .track import Landmark, PoseTrack

POSTURE_CODES = ("head_not_neutral", "load_drift", "leaning_back")
EARS = {"left": Landmark.LEFT_EAR, "right": Landmark.RIGHT_EAR}
WRISTS = {"left": Landmark.LEFT_WRIST, "right": Landmark.RIGHT_WRIST}
# the hand's points: on a bar slid toward the belly the model kept the wrist (its confidence fell to
# 0.55-0.8) and the elbow near their clean place while the finger points followed the bar further
# (renders, the sample's 15 cm slide: wrist 25 px, fingers 28 px, true 30); their mean holds the load
HAND_POINTS = {
    "left": [Landmark.LEFT_WRIST, Landmark.LEFT_INDEX, Landmark.LEFT_PINKY, Landmark.LEFT_THUMB],
    "right": [Landmark.RIGHT_WRIST, Landmark.RIGHT_INDEX, Landmark.RIGHT_PINKY, Landmark.RIGHT_THUMB],
}
BOTTOM_QUANTILE = 0.25  # a set's frames whose drive is in this lowest fraction are its bottoms
BOTTOM_LEAD_S = 0.3  # the bottoms start this long before the set's first drive

FRONT_REASON = (
    "camera at the feet: the trunk, the face and the hands' path along the body all point at the "
    "lens, so the head's pitch, the load's drift and the shoulders' slide cannot be read"
)
OBLIQUE_REASON = (
    "camera at an angle: the model does not carry these here (on a render filmed at 35 deg from the "
    "side toward the feet, a head thrown back 35 deg read 13 deg, an upper back sliding 31% of a trunk "
    "length over the bench read 5%, and the far wrist hid the hands); film from the side"
)
HEAD_UNSEEN = "nose or ear not seen at the top (head out of the frame or turned away)"
HANDS_OFF_HIPS = (
    "the hands do not rest on the hips, or stay put while the hips rise (no load held there: the arms "
    "lie on the floor or the bench), so there is no load to drift"
)
HANDS_UNSEEN = "wrists not seen at the top and bottom"
SLIDE_RELATIVE = (
    "judged against the set's typical (median) top: a set of one rep, or one that leans on most of "
    "its reps, has no clean top to compare with"
)


@dataclass(frozen=True)
class PostureSignals:
    """Per-frame posture series (NaN where the landmarks behind them were not seen)."""

    t: np.ndarray
    drive: np.ndarray  # the hip angle: it finds the set's bottoms
    head_back: np.ndarray  # deg: the face's line past square to the trunk, + tipped toward the head
    load_along: np.ndarray  # hands along the trunk's line from the hip, trunk lengths, + toward the knees
    hands_to_hip: np.ndarray  # the wrist's distance from the hip, trunk lengths
    shoulder: np.ndarray  # (T, 2) prepared shoulder point of the measured side, pixels
    hip: np.ndarray  # (T, 2) and its hip
    wrist: np.ndarray  # (T, 2) the better-seen wrist, pixels


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return np.degrees(np.abs(np.arctan2(cross, (a * b).sum(axis=-1))))


def head_back_deg(ear: np.ndarray, nose: np.ndarray, shoulder: np.ndarray, hip: np.ndarray) -> np.ndarray:
    """(T, 2) points -> the face's line (ear to nose) past square to the trunk (shoulder to hip), deg.

    0: face square to the trunk; negative: tipped toward the knees (chin tucked); positive: toward
    the head (thrown back). In the picture's plane, so only where the camera sees the head in profile."""
    return _angle_between(nose - ear, hip - shoulder) - 90.0


def along_trunk(point: np.ndarray, shoulder: np.ndarray, hip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point's place along the trunk's line from the hip (+ past the hip, toward the knees) and its
    distance from the hip, both in trunk lengths (shoulder to hip)."""
    trunk = hip - shoulder
    length2 = (trunk * trunk).sum(axis=-1)
    rel = point - hip
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rel * trunk).sum(axis=-1) / length2, np.linalg.norm(rel, axis=-1) / np.sqrt(length2)


def shoulder_slides(reps: list[Rep], ps: PostureSignals) -> np.ndarray:
    """Per rep: how much further head-ward the shoulders sat at the top than at the set's typical
    (median) top, along the trunk's line, in trunk lengths (NaN: not seen).

    Read in the picture: the upper back pivots on the bench, so on clean reps the shoulders come
    back to the same place at every top; the camera must stand still (a tripod). The median, not
    the least-slid top, so one odd rep (a set-up movement counted as a rep) cannot make the rest
    look slid; a set that leans on most of its reps has no typical clean top to compare with."""
    sh = np.stack([top_medians(reps, ps.t, ps.shoulder[:, i]) for i in range(2)], axis=1)
    hp = np.stack([top_medians(reps, ps.t, ps.hip[:, i]) for i in range(2)], axis=1)
    axis = sh - hp
    length = np.linalg.norm(axis, axis=1)
    seen = np.isfinite(length) & (length > 0)
    if not seen.any():
        return np.full(len(reps), np.nan)
    head_ward = np.nanmedian(axis[seen] / length[seen, None], axis=0)
    along = sh @ head_ward
    return (along - np.nanmedian(along)) / float(np.nanmedian(length[seen]))


def _cleaned(
    track: PoseTrack, idx: list[int], min_vis: float, cfg: sig.SignalConfig, cuts: np.ndarray
) -> np.ndarray:
    """Gated (visibility, frame), gap-filled, low-passed picture points, like the joints'."""
    pts = sig.gate_points(track.image[:, idx, :2], track.visibility[:, idx], min_vis)
    pts = sig.gate_frame(pts, track.width, track.height, cfg.frame_margin)
    pts = sig.fill_short_gaps(pts, int(round(cfg.max_gap_s * track.fps)), breaks=cuts)
    return sig.lowpass(pts, track.fps, cfg.cutoff_hz, breaks=cuts)


def mean_seen_point(pts: np.ndarray) -> np.ndarray:
    """(T, K, 2) -> (T, 2): the mean of the points seen in each frame (NaN where none is)."""
    seen = np.isfinite(pts).all(axis=2)
    n = seen.sum(axis=1)
    total = np.where(seen[..., None], pts, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[:, None] > 0, total / n[:, None], np.nan)


def leave_one_out_median(x: np.ndarray) -> np.ndarray:
    """Per element: the median of the others (NaN where no other is finite). A rep is judged against
    the set's other tops, so its own drift cannot pull the reference toward it."""
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        others = np.delete(x, i)
        others = others[np.isfinite(others)]
        if len(others):
            out[i] = np.median(others)
    return out


def _best_seen(track: PoseTrack, marks: dict[str, Landmark], side: str) -> Landmark:
    """The measured side's landmark, or the other one when the model sees that better."""
    vis = {s: float(np.median(track.visibility[:, m])) for s, m in marks.items()}
    best = max(vis, key=lambda s: vis[s])
    return marks[side] if side in marks and vis[side] >= vis[best] - 0.05 else marks[best]


def posture_signals(
    track: PoseTrack, points: np.ndarray, drive: np.ndarray, side: str, profile: Profile, cuts: np.ndarray
) -> PostureSignals:
    """The posture series of a side or angled view; `points` are the measured side's prepared
    (T, 4, 2) shoulder, hip, knee and ankle."""
    cfg = profile.signal
    shoulder, hip = points[:, 0], points[:, 1]
    ear = _best_seen(track, EARS, side)
    head_vis = profile.rule(HeadNotNeutralRule).min_visibility
    face = _cleaned(track, [ear, Landmark.NOSE], head_vis, cfg, cuts)
    wrist = _best_seen(track, WRISTS, side)
    hand_side = "left" if wrist == Landmark.LEFT_WRIST else "right"
    hand_vis = profile.rule(LoadDriftRule).min_visibility
    points = _cleaned(track, HAND_POINTS[hand_side], hand_vis, cfg, cuts)  # wrist first
    along, _ = along_trunk(mean_seen_point(points), shoulder, hip)
    # whether a load rests on the hips stays the wrist's distance, the measure max_hands_to_hip was
    # set on (the finger points sat up to 0.04 trunk lengths further out on the labelled real clips)
    _, dist = along_trunk(points[:, 0], shoulder, hip)
    return PostureSignals(
        t=track.timestamps,
        drive=drive,
        head_back=head_back_deg(face[:, 0], face[:, 1], shoulder, hip),
        load_along=along,
        hands_to_hip=dist,
        shoulder=shoulder,
        hip=hip,
        wrist=points[:, 0],
    )


def hands_rise(reps: list[Rep], ps: PostureSignals) -> float:
    """How far the wrist rises with the hips from each rep's bottom to its top, as a fraction of the
    hips' own rise (the wrist's move projected on the hips'), the median over the reps. Hands on a
    load on the hips ride up with them (~1); hands on the floor or the bench stay put (~0)."""
    out = []
    for r in reps:
        hip = ps.hip[r.start_frame] - ps.hip[r.top_frame]
        hand = ps.wrist[r.start_frame] - ps.wrist[r.top_frame]
        norm = float(hip @ hip)
        if np.isfinite(norm) and norm > 0 and np.isfinite(hand).all():
            out.append(float(hand @ hip) / norm)
    return float(np.median(out)) if out else float("nan")


def load_on_hips(reps: list[Rep], ps: PostureSignals, rule: LoadDriftRule) -> bool | None:
    """Whether a load rests on the hips: the hands sit within max_hands_to_hip of them at the tops
    and ride up with them (at least min_hands_rise of their rise). None: the hands were not seen."""
    near = _median(top_medians(reps, ps.t, ps.hands_to_hip))
    rise = hands_rise(reps, ps)
    if not (np.isfinite(near) and np.isfinite(rise)):
        return None
    return near <= rule.max_hands_to_hip and rise >= rule.min_hands_rise


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def top_medians(reps: list[Rep], t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per rep: the median of x over its top hold (NaN when nothing was seen there)."""
    out = []
    for r in reps:
        s, e = np.searchsorted(t, r.top_start_s), np.searchsorted(t, r.top_end_s, side="right")
        out.append(_median(x[s : max(e, s + 1)]))
    return np.array(out, dtype=float)


def bottoms_median(reps: list[Rep], ps: PostureSignals, x: np.ndarray) -> float:
    """Median of x over a set's bottoms: its frames (from just before the first drive to the last
    rep's end) whose drive is in the lowest BOTTOM_QUANTILE."""
    s = np.searchsorted(ps.t, reps[0].start_s - BOTTOM_LEAD_S)
    e = np.searchsorted(ps.t, reps[-1].end_s, side="right")
    drive, vals = ps.drive[s:e], x[s:e]
    if not np.isfinite(drive).any():
        return float("nan")
    return _median(vals[drive <= np.nanpercentile(drive, 100 * BOTTOM_QUANTILE)])


def _excess_result(
    rule: HeadNotNeutralRule | LoadDriftRule | LeaningBackRule,
    rep: Rep,
    value: float,
    limit: float,
    unit: str,
    message: str,
    comparison: str = "<=",
) -> CheckResult:
    """A rep's value at the top against the limit (its size for "|x| <="), judged at the 0.1 its
    measured value keeps."""
    fault = None
    if breaks(abs(value), limit, "<=", 1):
        fault = make_fault(
            rule,
            rep,
            (rep.top_start_s, rep.top_end_s),
            severity=severity_by_excess(abs(value) - limit, rule.severity_steps),
            measured=round(float(value), 1),
            limit=round(limit, 1),
            unit=unit,
            comparison="<=",
            message=message,
        )
    return judged(rule.code, rep, value, limit, unit, comparison, 1, fault)


@dataclass(frozen=True)
class PostureFindings:
    results: list[CheckResult]
    not_measurable: dict[str, str]
    partly_measurable: dict[str, str]

    @property
    def faults(self) -> list[Fault]:
        return faults_of(self.results)


def _unjudged(code: str, why: dict[int, str], reps: list[Rep], out: PostureFindings) -> None:
    """Every rep unjudged: not measurable (with the reason); some: partly measured."""
    if not why:
        return
    reason = next(iter(why.values()))
    if len(why) == len(reps):
        out.not_measurable[code] = reason
    else:
        out.partly_measurable[code] = f"not judged on rep(s) {', '.join(map(str, sorted(why)))}: {reason}"


HEAD_UNIT = "deg face line past square to the trunk"


def check_head(groups: list[list[Rep]], profile: Profile, ps: PostureSignals, out: PostureFindings) -> None:
    rule = profile.rule(HeadNotNeutralRule)
    limit = rule.max_head_back_deg
    unseen: dict[int, str] = {}
    for group in groups:
        tops = top_medians(group, ps.t, ps.head_back)
        rise = tops - bottoms_median(group, ps, ps.head_back)
        for rep, top, up in zip(group, tops, rise, strict=True):
            if not np.isfinite(top):
                unseen[rep.index] = HEAD_UNSEEN
                out.results.append(unjudged(rule.code, rep, HEAD_UNSEEN, HEAD_UNIT, "<=", limit=limit))
                continue
            # a chin tucked toward the chest is what the guide asks for; a head that tips back only
            # relative to its own bottoms, or only past square, is the model's ear point wandering
            if top > 0 and up > rule.max_rise_deg:
                out.results.append(_excess_result(
                    rule, rep, top, limit, HEAD_UNIT,
                    f"head tipped back {top:.0f} deg past square to the trunk at the top "
                    f"(ear-nose line vs shoulder-hip line), {up:.0f} deg more than at the bottom: "
                    "chin not tucked"))
                continue
            why = ""
            if breaks(top, limit, "<=", 1):  # past the limit, yet not risen from the bottoms
                risen = f"only {up:.1f} deg more" if np.isfinite(up) else "bottoms not seen, so not more"
                why = (f"face {top:.1f} deg past square but {risen} than at the set's bottoms (more than"
                       f" {rule.max_rise_deg:g} needed): the model's ear point, not the head")
            # judged as square when excused: the value the check held against the limit
            out.results.append(judged(rule.code, rep, 0.0 if why else top, limit, HEAD_UNIT, "<=", 1,
                                      None, reason=why))
    _unjudged(rule.code, unseen, [r for g in groups for r in g], out)


LOAD_TYPICAL = "% of trunk length, vs the set's other tops"
LOAD_BOTTOM = "% of trunk length, vs the set's bottoms"


def check_load(groups: list[list[Rep]], profile: Profile, ps: PostureSignals, out: PostureFindings) -> None:
    rule = profile.rule(LoadDriftRule)
    why: dict[int, str] = {}
    for group in groups:
        # a load on the hips keeps the hands near them at the bottoms and the tops alike
        tops = _median(top_medians(group, ps.t, ps.hands_to_hip))
        near = max(bottoms_median(group, ps, ps.hands_to_hip), tops)
        rise = hands_rise(group, ps)
        if not (near <= rule.max_hands_to_hip and rise >= rule.min_hands_rise):
            reason = HANDS_OFF_HIPS if np.isfinite(near) and np.isfinite(rise) else HANDS_UNSEEN
            why |= dict.fromkeys([r.index for r in group], reason)
            out.results.extend(unjudged(rule.code, r, reason, LOAD_TYPICAL, "|x| <=") for r in group)
            continue
        along = top_medians(group, ps.t, ps.load_along)
        # against the set's other tops (the model's hip point shifts between bottom and top, which
        # cancels there; a rep that leans back moves the trunk's line too, so the median of the
        # others, not of all), and against the bottoms by a wider margin for a set that drifts every rep
        seen = np.isfinite(along).any()
        typical = np.nan_to_num((along - leave_one_out_median(along)) * 100) if seen else along
        from_bottom = np.nan_to_num((along - bottoms_median(group, ps, ps.load_along)) * 100)
        for rep, a, v, b in zip(group, along, typical, from_bottom, strict=True):
            if not np.isfinite(a):
                why[rep.index] = HANDS_UNSEEN
                out.results.append(unjudged(rule.code, rep, HANDS_UNSEEN, LOAD_TYPICAL, "|x| <="))
                continue
            first = _excess_result(
                rule, rep, v, rule.max_drift * 100, LOAD_TYPICAL,
                f"hands {abs(v):.0f}% of a trunk length further toward the "
                f"{'knees' if v > 0 else 'chest'} at the top than on the set's other reps", "|x| <=")
            second = _excess_result(
                rule, rep, b, rule.max_drift_from_bottom * 100, LOAD_BOTTOM,
                f"hands moved {abs(b):.0f}% of a trunk length toward the "
                f"{'knees' if b > 0 else 'chest'} at the top, from where they held the load at the bottom",
                "|x| <=")
            # the finding against the typical top first; a pass names the nearer of the two limits
            if first.fault is not None or (second.fault is None and first.margin >= second.margin):
                out.results.append(first)
            else:
                out.results.append(second)
    _unjudged(rule.code, why, [r for g in groups for r in g], out)


LEAN_UNIT = "% of trunk length, vs the set's typical top"


def check_leaning(
    groups: list[list[Rep]], profile: Profile, ps: PostureSignals, out: PostureFindings
) -> None:
    rule = profile.rule(LeaningBackRule)
    limit = rule.max_slide * 100
    for group in groups:
        if len(group) < 2:
            out.partly_measurable[rule.code] = SLIDE_RELATIVE
            out.results.extend(
                unjudged(rule.code, r, SLIDE_RELATIVE, LEAN_UNIT, "<=", limit=limit) for r in group)
            continue
        slide = shoulder_slides(group, ps) * 100
        for rep, v in zip(group, slide, strict=True):
            if not np.isfinite(v):
                why = "shoulders or hips not seen at the top"
                out.results.append(unjudged(rule.code, rep, why, LEAN_UNIT, "<=", limit=limit))
                continue
            # closer to the feet than typical is no lean
            out.results.append(_excess_result(
                rule, rep, max(v, 0.0), limit, LEAN_UNIT,
                f"shoulders slid {v:.0f}% of a trunk length further toward the head at the top "
                "than on the set's typical rep: the back slid over the bench instead of the hips rising"))


def check_posture(
    groups: list[list[Rep]], profile: Profile, ps: PostureSignals | None, skip: set[str], view: str = "side"
) -> PostureFindings:
    """The three posture checks on every set of a side view; what could not be judged is said,
    never passed (`ps` None: the view cannot show them)."""
    out = PostureFindings([], {}, {})
    on = [c for c in POSTURE_CODES if c not in skip and profile.fault(c).enabled]
    reps = [r for g in groups for r in g]
    if ps is None or view != "side":
        out.not_measurable.update(dict.fromkeys(on, FRONT_REASON if view == "front" else OBLIQUE_REASON))
    elif reps:
        if "head_not_neutral" in on:
            check_head(groups, profile, ps, out)
        if "load_drift" in on:
            check_load(groups, profile, ps, out)
        if "leaning_back" in on:
            check_leaning(groups, profile, ps, out)
    return out
