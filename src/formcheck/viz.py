"""Drawing the annotated frame: skeleton, hip-angle gauge, rep counter, phase and fault banner.

Data is kept apart from drawing (as in roboflow/supervision): `overlay_data` turns a track and
its Analysis into per-frame arrays once, vectorised over the clip, and `draw_frame` only reads
row i of them. Drawing is plain OpenCV on an RGB uint8 frame, in place; OpenCV releases the GIL,
so drawing overlaps decoding and encoding on other threads.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .analysis import Analysis
from .findings import Fault
from .hip_lines import hip_lines
from .kinematics import SIDES
from .profiles import Profile
from .report.model import hip_angle_shown
from .track import Landmark, PoseTrack

PHASES = ("", "up", "top", "down", "bottom")  # codes 0-4 of FrameData.phase; 0 = outside a rep
CHAIN_SIDES = ("", "left", "right")  # codes of FrameData.chain; "" = no one side (front view)
CHAINS = {"": (), **{side: tuple(int(i) for i in idx) for side, idx in SIDES.items()}}
MIN_VISIBILITY = 0.5  # a landmark the model is less sure of is not drawn
GAUGE_RANGE = (90.0, 210.0)  # hip angles the dial spans, left end to right end

L = Landmark
# Bones worth drawing; hands and face are left out (jitter, and too small to read).
_LEFT_BONES = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.LEFT_ELBOW, L.LEFT_WRIST), (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.LEFT_HIP, L.LEFT_KNEE), (L.LEFT_KNEE, L.LEFT_ANKLE), (L.LEFT_ANKLE, L.LEFT_HEEL),
    (L.LEFT_HEEL, L.LEFT_FOOT_INDEX), (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
)  # fmt: skip
_RIGHT_BONES = tuple(
    (L[a.name.replace("LEFT", "RIGHT")], L[b.name.replace("LEFT", "RIGHT")]) for a, b in _LEFT_BONES
)
_CENTRE_BONES = ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP))
_JOINTS = tuple(sorted({j for bone in _LEFT_BONES + _RIGHT_BONES for j in bone} | {L.NOSE}))

# RGB colours
WHITE = (255, 255, 255)
LEFT_COLOUR = (255, 160, 50)
RIGHT_COLOUR = (70, 170, 255)
CENTRE_COLOUR = (225, 225, 225)
MEASURED_COLOUR = (80, 240, 120)
LOCKOUT_COLOUR = (255, 220, 0)
GOOD_COLOUR = (80, 220, 110)
BAD_COLOUR = (255, 80, 70)
DIM_COLOUR = (150, 150, 150)
PHASE_COLOURS = {
    "up": (110, 230, 120),
    "top": (255, 220, 0),
    "down": (100, 190, 255),
    "bottom": (200, 200, 200),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class FrameData:
    """What the overlay shows, per frame of the clip (row i = frame i)."""

    points: np.ndarray  # (T, 33, 2) float32 pixels, NaN where not detected or not visible enough
    rep: np.ndarray  # (T,) int: number of the rep under way (or last begun); 0 before the first
    phase: np.ndarray  # (T,) int8 index into PHASES
    hip: np.ndarray  # (T,) float hip angle, deg; NaN where not read (or not readable in this view)
    active: np.ndarray  # (T, F) bool: faults[f] happens at frame i
    faults: tuple[Fault, ...]
    rep_total: int
    chain: np.ndarray | None = None  # (T,) int8 index into CHAINS: the measured leg on each frame
    lockout_deg: float | None = None  # lowest top angle counted as a straight line (model reading)
    overextension_deg: float | None = None  # highest top angle before it counts as arching past it
    stride: int = 1  # the track analysed every stride-th frame of the clip (pose.frame_stride)

    @property
    def n_frames(self) -> int:
        return len(self.rep)

    def row_of(self, frame: int) -> int:
        """The row drawn on clip frame `frame`: its own, or with a frame stride the nearest analysed
        frame's; n_frames (nothing drawn) past the frames the track covers."""
        if frame >= self.n_frames * self.stride:
            return self.n_frames
        return min((2 * frame + self.stride) // (2 * self.stride), self.n_frames - 1)

    def measured(self, i: int) -> tuple[int, ...]:
        """Landmarks of the shoulder-hip-knee-ankle chain measured on frame i (none from the feet)."""
        return CHAINS[CHAIN_SIDES[self.chain[i]]] if self.chain is not None else ()


def _frames_between(t: np.ndarray, start_s: float, end_s: float, tol: float) -> tuple[int, int]:
    """[i0, i1) of the frames whose time lies within [start_s - tol, end_s + tol]."""
    return int(np.searchsorted(t, start_s - tol, "left")), int(np.searchsorted(t, end_s + tol, "right"))


def phase_codes(analysis: Analysis) -> np.ndarray:
    """(T,) int8 phase per frame: up [start, top start), top [top start, top end],
    down (top end, end], bottom (end, next drive) when a bottom pause was measured."""
    t = analysis.timestamps
    phase = np.zeros(len(t), dtype=np.int8)
    starts = [r.start_frame for r in analysis.reps[1:]] + [None]
    for rep, next_start in zip(analysis.reps, starts, strict=True):
        top0 = int(np.searchsorted(t, rep.top_start_s, "left"))
        top1 = int(np.searchsorted(t, rep.top_end_s, "right"))
        phase[rep.start_frame : top0] = 1
        phase[top0:top1] = 2
        if rep.complete:
            phase[top1 : rep.end_frame + 1] = 3
        if rep.bottom_pause_s is not None and next_start is not None:
            phase[rep.end_frame + 1 : next_start] = 4
    return phase


def rep_numbers(analysis: Analysis) -> np.ndarray:
    """(T,) number of reps begun by each frame: the counter reads 'rep k of N' from rep k's drive on."""
    starts = np.array([r.start_frame for r in analysis.reps], dtype=np.int64)
    return np.searchsorted(starts, np.arange(analysis.n_frames), "right").astype(np.int32)


def fault_activity(analysis: Analysis) -> np.ndarray:
    """(T, F) bool: fault f is shown on the frames of its [start_s, end_s] (at least its nearest frame)."""
    t = analysis.timestamps
    tol = 0.5 / analysis.fps  # fault times are rounded to the millisecond
    active = np.zeros((len(t), len(analysis.faults)), dtype=bool)
    for f, fault in enumerate(analysis.faults):
        i0, i1 = _frames_between(t, fault.start_s, fault.end_s, tol)
        if i1 <= i0 and len(t):  # an instant: its nearest frame
            i0 = min(int(np.argmin(np.abs(t - fault.start_s))), len(t) - 1)
            i1 = i0 + 1
        active[i0:i1, f] = True
    return active


def measured_chain(analysis: Analysis) -> np.ndarray:
    """(T,) code into CHAIN_SIDES: the measured side, or, when a single-leg lifter switched legs,
    each rep's working leg from its drive to the next rep's."""
    side = analysis.side.side if analysis.side.side in SIDES else ""
    chain = np.full(analysis.n_frames, CHAIN_SIDES.index(side), dtype=np.int8)
    if analysis.sides:
        ends = [r.start_frame for r in analysis.reps[1:]] + [analysis.n_frames]
        for rep, end in zip(analysis.reps, ends, strict=True):
            if rep.leg in SIDES:
                chain[rep.start_frame : end] = CHAIN_SIDES.index(rep.leg)
    return chain


def visible_points(track: PoseTrack, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """(T, 33, 2) float32 image points, NaN where the model is not sure enough of a landmark."""
    pts = track.image[..., :2].astype(np.float32, copy=True)
    pts[track.visibility < min_visibility] = np.nan
    return pts


def overlay_data(track: PoseTrack, analysis: Analysis, profile: Profile) -> FrameData:
    """Everything draw_frame needs, computed once for the whole clip."""
    shown = hip_angle_shown(analysis.not_measurable)  # the gauge says n/a where the report shows no angle
    lines = hip_lines(profile) if shown else {"lockout": None, "overextension": None}
    lockout, over = lines["lockout"], lines["overextension"]
    hip = np.asarray(analysis.hip, dtype=float) if shown else np.full(len(analysis.hip), np.nan)
    return FrameData(
        points=visible_points(track),
        rep=rep_numbers(analysis),
        phase=phase_codes(analysis),
        hip=hip,
        active=fault_activity(analysis),
        faults=tuple(analysis.faults),
        rep_total=analysis.rep_count,
        chain=measured_chain(analysis),
        lockout_deg=lockout,
        overextension_deg=over,
        stride=int(track.meta.get("frame_stride", 1)),
    )


# ------------------------------------------------------------------ drawing


@dataclass(frozen=True)
class Layout:
    """Sizes for one output frame size (computed once per clip, not per frame)."""

    width: int
    height: int
    unit: float  # 1.0 on a 480-pixel short side

    @classmethod
    def for_size(cls, width: int, height: int) -> Layout:
        return cls(width, height, max(min(width, height) / 480.0, 0.5))

    def px(self, value: float) -> int:
        return max(1, int(round(value * self.unit)))


@functools.lru_cache(maxsize=64)
def _bone_index(bones: tuple[tuple[int, int], ...]) -> np.ndarray:
    return np.array(bones, dtype=np.int64)


def _segments(points: np.ndarray, bones: tuple[tuple[int, int], ...], scale: float) -> list[np.ndarray]:
    """Bones with both ends known, as int32 polylines in 1/16 px (cv2 shift=4 keeps sub-pixel ends)."""
    ends = points[_bone_index(bones)] * (16.0 * scale)  # (B, 2, 2)
    ok = np.isfinite(ends).all(axis=(1, 2))
    return list(ends[ok].round().astype(np.int32).reshape(-1, 2, 1, 2))


def draw_skeleton(
    frame: np.ndarray, points: np.ndarray, measured: tuple[int, ...], scale: float, lay: Layout
) -> None:
    """Bones coloured by side, the measured shoulder-hip-knee-ankle chain on top, joints as dots."""
    thick = lay.px(2.5)
    for bones, colour in (
        (_CENTRE_BONES, CENTRE_COLOUR),
        (_LEFT_BONES, LEFT_COLOUR),
        (_RIGHT_BONES, RIGHT_COLOUR),
    ):
        segs = _segments(points, bones, scale)
        if segs:
            cv2.polylines(frame, segs, False, colour, thick, cv2.LINE_AA, shift=4)
    if len(measured) >= 2:
        chain = tuple(zip(measured[:-1], measured[1:], strict=True))
        segs = _segments(points, chain, scale)
        if segs:
            cv2.polylines(frame, segs, False, MEASURED_COLOUR, lay.px(4.5), cv2.LINE_AA, shift=4)
    joints = points[list(_JOINTS)] * scale
    radius = lay.px(3.5)
    for x, y in joints[np.isfinite(joints).all(axis=1)].astype(int).tolist():
        cv2.circle(frame, (x, y), radius, WHITE, -1, cv2.LINE_AA)
    if len(measured) >= 2:
        hip = points[measured[1]] * scale
        if np.isfinite(hip).all():
            cv2.circle(frame, (int(hip[0]), int(hip[1])), lay.px(6), MEASURED_COLOUR, lay.px(2), cv2.LINE_AA)


def shade(
    frame: np.ndarray,
    x0: int,
    y0: int,
    x1: int,
    y1: int,
    tint: tuple[int, int, int] = (0, 0, 0),
    keep: float = 0.35,
) -> None:
    """Darken a box in place (and tint it): a panel text stays readable on any background."""
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    roi = frame[y0:y1, x0:x1]
    cv2.convertScaleAbs(roi, roi, alpha=keep)
    if any(tint):
        cv2.add(roi, (*tint, 0), dst=roi)


def _text(
    frame: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int], thick: int
) -> None:
    cv2.putText(frame, text, org, FONT, scale, colour, thick, cv2.LINE_AA)


def _degree_text(
    frame: np.ndarray,
    value: str,
    centre_x: int,
    base_y: int,
    scale: float,
    thick: int,
    colour: tuple[int, int, int],
) -> None:
    """A number with a small ring for the degree sign (Hershey fonts have no degree glyph)."""
    (w, h), _ = cv2.getTextSize(value, FONT, scale, thick)
    x = centre_x - w // 2
    _text(frame, value, (x, base_y), scale, colour, thick)
    if value[:1].isdigit():
        r = max(2, h // 5)
        cv2.circle(frame, (x + w + r + 2, base_y - h + r), r, colour, max(1, thick // 2), cv2.LINE_AA)


def gauge_angle(deg: float) -> float:
    """Hip angle -> direction on the dial, degrees counter-clockwise from 3 o'clock (90 deg hip at 9
    o'clock, 210 at 3 o'clock, so a straight 180 sits near the right, where the lifter wants to be)."""
    lo, hi = GAUGE_RANGE
    return 180.0 - (min(max(float(deg), lo), hi) - lo) * 180.0 / (hi - lo)


def _on_dial(cx: int, cy: int, r: float, deg: float) -> tuple[int, int]:
    a = math.radians(gauge_angle(deg))  # scalar math: numpy's per-call cost shows on every frame
    return int(round(cx + r * math.cos(a))), int(round(cy - r * math.sin(a)))


def _arc(
    frame: np.ndarray,
    cx: int,
    cy: int,
    r: int,
    lo: float,
    hi: float,
    colour: tuple[int, int, int],
    thick: int,
) -> None:
    # cv2 measures arc angles clockwise from 3 o'clock; the dial's are counter-clockwise
    a0, a1 = -gauge_angle(lo), -gauge_angle(hi)
    cv2.ellipse(frame, (cx, cy), (r, r), 0.0, a0, a1, colour, thick, cv2.LINE_AA)


def gauge_colour(hip: float, lock: float | None, over: float | None) -> tuple[int, int, int]:
    """The reading's colour: grey short of the lockout line, green past it, red past overextension."""
    if over is not None and hip > over:
        return BAD_COLOUR
    return DIM_COLOUR if lock is None or hip < lock else GOOD_COLOUR


def _gauge_centre(lay: Layout) -> tuple[int, int, int, int]:
    r, pad = lay.px(52), lay.px(10)
    return lay.width - pad - r - lay.px(8), pad + r + lay.px(14), r, pad


def _draw_gauge_dial(
    frame: np.ndarray, lay: Layout, lock: float | None, over: float | None, number: bool
) -> None:
    """The part of the gauge that is the same on every frame: panel, coloured bands, lockout line, title."""
    cx, cy, r, pad = _gauge_centre(lay)
    shade(frame, cx - r - lay.px(12), pad, cx + r + lay.px(12), cy + lay.px(34 if number else 10))
    lo, hi = GAUGE_RANGE
    band = lay.px(7)
    _arc(frame, cx, cy, r, lo, lock if lock is not None else hi, DIM_COLOUR, band)
    if lock is not None:
        _arc(frame, cx, cy, r, lock, over if over is not None else hi, GOOD_COLOUR, band)
    if over is not None:
        _arc(frame, cx, cy, r, over, hi, BAD_COLOUR, band)
    if lock is not None:  # the lockout line: reach it at the top
        inner, outer = _on_dial(cx, cy, r - lay.px(14), lock), _on_dial(cx, cy, r + lay.px(9), lock)
        cv2.line(frame, inner, outer, LOCKOUT_COLOUR, lay.px(3), cv2.LINE_AA)
    _text(frame, "HIP ANGLE", (cx - r, pad + lay.px(12)), 0.38 * lay.unit, WHITE, 1)


@functools.lru_cache(maxsize=16)
def _dial_layer(
    lay: Layout, lock: float | None, over: float | None, number: bool
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The dial as a layer: drawn once over black and once over white, which gives per pixel what
    it keeps of the frame under it (x255) and what it adds, so any frame gets it in two OpenCV
    calls (drawn afresh each frame it cost 0.11 ms of ~0.5 for the whole overlay; this 0.03)."""
    over_black = np.zeros((lay.height, lay.width, 3), np.uint8)
    over_white = np.full_like(over_black, 255)
    for canvas in (over_black, over_white):
        _draw_gauge_dial(canvas, lay, lock, over, number)
    ys, xs = np.nonzero((over_black != 0).any(axis=2) | (over_white != 255).any(axis=2))
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    keep = (over_white[box].astype(np.int16) - over_black[box]).clip(0, 255).astype(np.uint8)
    return box, keep, over_black[box].copy()


def lay_over(frame: np.ndarray, layer: tuple[tuple[slice, slice], np.ndarray, np.ndarray]) -> None:
    """A layer from _dial_layer onto the frame, in place: what it keeps of the frame, plus what it adds."""
    box, keep, add = layer
    under = frame[box]
    cv2.multiply(under, keep, dst=under, scale=1 / 255)
    cv2.add(under, add, dst=under)


def draw_gauge(frame: np.ndarray, hip: float, data: FrameData, lay: Layout, number: bool = True) -> None:
    """Semicircular hip-angle dial in the top-right corner with the lockout line and a needle;
    `number` False leaves the reading to the caller (the live panel writes it larger)."""
    lay_over(frame, _dial_layer(lay, data.lockout_deg, data.overextension_deg, number))
    cx, cy, r, _ = _gauge_centre(lay)
    if np.isfinite(hip):
        colour = gauge_colour(hip, data.lockout_deg, data.overextension_deg)
        cv2.line(frame, (cx, cy), _on_dial(cx, cy, r - lay.px(4), hip), WHITE, lay.px(3), cv2.LINE_AA)
        cv2.circle(frame, (cx, cy), lay.px(4), WHITE, -1, cv2.LINE_AA)
        if number:
            _degree_text(frame, f"{hip:.0f}", cx, cy + lay.px(28), 0.8 * lay.unit, lay.px(2), colour)
    elif number:
        _degree_text(frame, "n/a", cx, cy + lay.px(26), 0.6 * lay.unit, lay.px(2), DIM_COLOUR)


def draw_counter(frame: np.ndarray, rep: int, total: int, phase: str, lay: Layout) -> None:
    """Rep counter and the current phase in the top-left corner."""
    pad = lay.px(10)
    shade(frame, pad, pad, pad + lay.px(150), pad + lay.px(70))
    _text(frame, f"REP {rep}/{total}", (pad + lay.px(8), pad + lay.px(32)), 0.9 * lay.unit, WHITE, lay.px(2))
    if phase:
        _text(
            frame,
            phase.upper(),
            (pad + lay.px(8), pad + lay.px(60)),
            0.65 * lay.unit,
            PHASE_COLOURS.get(phase, WHITE),
            lay.px(2),
        )


def fault_label(fault: Fault) -> str:
    """One banner line: what went wrong, where, and by how much (ASCII: the overlay font has no more)."""
    which = f"reps {fault.reps[0]}-{fault.reps[-1]}" if len(fault.reps) > 1 else f"rep {fault.rep}"
    text = f"{fault.code.replace('_', ' ').upper()} ({which}): {fault.message}"
    return text.encode("ascii", "replace").decode("ascii")


@functools.lru_cache(maxsize=256)
def fit_scale(text: str, width: int, scale: float, thick: int) -> float:
    """The font scale at which a banner line fits the width (the same few lines recur every frame)."""
    w = cv2.getTextSize(text, FONT, scale, thick)[0][0]
    return scale if w <= width else max(scale * width / w, 0.3)


def draw_banner(frame: np.ndarray, faults: list[Fault], lay: Layout) -> None:
    """A red band along the bottom, one line per fault happening on this frame."""
    if not faults:
        return
    line_h = lay.px(26)
    y0 = lay.height - line_h * len(faults) - lay.px(6)
    shade(frame, 0, y0, lay.width, lay.height, tint=(150, 10, 10), keep=0.3)
    thick = max(1, lay.px(1.5))
    for k, fault in enumerate(faults):
        text = fault_label(fault)
        scale = fit_scale(text, lay.width - lay.px(20), 0.55 * lay.unit, thick)
        _text(frame, text, (lay.px(10), y0 + line_h * (k + 1) - lay.px(6)), scale, WHITE, thick)


def draw_frame(frame: np.ndarray, i: int, data: FrameData, lay: Layout, scale: float = 1.0) -> np.ndarray:
    """Draw frame i's overlay onto `frame` (RGB uint8, already resized by `scale`), in place."""
    if i >= data.n_frames:  # a frame the track does not cover: leave it as it is
        return frame
    draw_skeleton(frame, data.points[i], data.measured(i), scale, lay)
    draw_gauge(frame, float(data.hip[i]), data, lay)
    draw_counter(frame, int(data.rep[i]), data.rep_total, PHASES[data.phase[i]], lay)
    draw_banner(frame, [data.faults[f] for f in np.flatnonzero(data.active[i])], lay)
    return frame
