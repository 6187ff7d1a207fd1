"""Turn raw, gappy landmark tracks into signals the rep logic can trust.

Offline analysis sees the whole clip, so smoothing is zero phase (a symmetric
kernel): a causal filter would shift every top and bottom later and bias the
tempo. Nothing is filtered, interpolated or counted across a stretch
that cannot be trusted (a long dropout or a hard cut in an edited clip).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .track import PoseTrack


@dataclass(frozen=True)
class SignalConfig:
    """Thresholds of the signal stage (values come from the profile data)."""

    min_visibility: float = 0.5
    max_gap_s: float = 0.25
    cutoff_hz: float = 3.0
    # phase boundaries are measured on a less smoothed copy: 3 Hz smears a 0.3 s drop
    phase_cutoff_hz: float = 6.0
    cut_jump_torso: float = 0.6
    cut_scale_ratio: float = 1.4
    # the whole body's extent must move or resize too: the trunk alone foreshortens end-on
    cut_confirm_jump: float = 0.04
    cut_confirm_ratio: float = 1.1
    frame_margin: float = 0.05
    min_segment_s: float = 1.0
    max_joint_speed_deg_s: float = 600.0
    plausible_hip_deg: tuple[float, float] = (45.0, 250.0)
    spike_pad_s: float = 0.1


@dataclass(frozen=True)
class Stretch:
    """A time span of the clip that the analysis could not use, and why."""

    start_s: float
    end_s: float
    reason: str


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a 1-D bool array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return edges[0::2], edges[1::2]


def gate_points(points: np.ndarray, visibility: np.ndarray, min_visibility: float) -> np.ndarray:
    """NaN out landmarks the model itself doubts: (T, K, D) points, (T, K) visibility."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[visibility < min_visibility] = np.nan
    return out


def gate_frame(points: np.ndarray, width: int, height: int, margin: float) -> np.ndarray:
    """NaN out landmarks far outside the picture: close-ups make MediaPipe extrapolate them."""
    out = np.array(points, dtype=np.float64, copy=True)
    mx, my = margin * width, margin * height
    x, y = out[..., 0], out[..., 1]
    outside = (x < -mx) | (x > width + mx) | (y < -my) | (y > height + my)
    out[outside] = np.nan
    return out


def fill_short_gaps(x: np.ndarray, max_gap: int, breaks: np.ndarray | None = None) -> np.ndarray:
    """Linearly bridge interior NaN runs of at most max_gap frames, column by column.

    x is (T, ...). Gaps at the ends and gaps containing a break (a hard cut) stay NaN:
    interpolating there would invent motion that never happened.
    """
    flat = np.array(x, dtype=np.float64, copy=True).reshape(len(x), -1)
    t = np.arange(len(flat))
    cut_frames = np.zeros(len(flat), dtype=bool) if breaks is None else np.asarray(breaks, dtype=bool)
    for col in range(flat.shape[1]):
        y = flat[:, col]
        good = np.isfinite(y)
        if good.sum() < 2 or good.all():
            continue
        starts, ends = runs(~good)
        filled = np.interp(t, t[good], y[good])
        for s, e in zip(starts, ends, strict=True):
            # a break at frame e means the frame after the gap starts a new shot
            crosses_cut = cut_frames[s : e + 1].any() if e < len(y) else True
            if s > 0 and e < len(y) and e - s <= max_gap and not crosses_cut:
                y[s:e] = filled[s:e]
    return flat.reshape(x.shape)


def gaussian_sigma_frames(fps: float, cutoff_hz: float) -> float:
    """Gaussian kernel width whose response is -3 dB at cutoff_hz."""
    return float(np.sqrt(np.log(2.0)) / (2.0 * np.pi * cutoff_hz) * fps)


def lowpass(x: np.ndarray, fps: float, cutoff_hz: float, breaks: np.ndarray | None = None) -> np.ndarray:
    """Zero-phase low-pass along axis 0: a symmetric Gaussian kernel, renormalised per sample.

    A symmetric kernel shifts nothing in time (like filtfilt), and renormalising by the
    weights actually used means NaN rows, clip ends and hard cuts need no padding: a sample
    is averaged only with finite samples of its own stretch. Rows with any NaN stay NaN.
    (numpy only: importing scipy.signal alone costs most of a second per CLI run.)
    """
    arr = np.asarray(x, dtype=np.float64)
    flat = arr.reshape(len(arr), -1)
    if cutoff_hz <= 0 or len(flat) == 0:
        return arr.copy()
    sigma = gaussian_sigma_frames(fps, cutoff_hz)
    radius = max(1, int(np.ceil(3.0 * sigma)))
    finite = np.isfinite(flat).all(axis=1)
    cut = np.zeros(len(flat), dtype=bool) if breaks is None else np.asarray(breaks, dtype=bool)
    # stretch id: changes at every NaN row and every cut, so kernels never reach across
    stretch = np.cumsum(~finite | cut)
    vals = np.where(finite[:, None], flat, 0.0)
    acc = np.zeros_like(vals)
    wsum = np.zeros(len(flat))
    n = len(flat)
    for k in range(-radius, radius + 1):
        w = np.exp(-0.5 * (k / sigma) ** 2)
        lo, hi = max(0, -k), min(n, n - k)  # rows t where t + k is inside the array
        same = finite[lo + k : hi + k] & (stretch[lo + k : hi + k] == stretch[lo:hi])
        acc[lo:hi] += w * same[:, None] * vals[lo + k : hi + k]
        wsum[lo:hi] += w * same
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acc / wsum[:, None]
    out[~finite] = np.nan
    return out.reshape(arr.shape)


def body_scale(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) centre of the trunk and (T,) trunk length in pixels, from both shoulders and hips."""
    with warnings.catch_warnings():
        # frames with no detection are all-NaN: NaN is the right answer there
        warnings.simplefilter("ignore", category=RuntimeWarning)
        shoulders = np.nanmean(image[:, [11, 12], :2], axis=1)
        hips = np.nanmean(image[:, [23, 24], :2], axis=1)
    centre = (shoulders + hips) / 2
    length = np.linalg.norm(shoulders - hips, axis=1)
    return centre, length


def body_extent(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) centre and (T,) diagonal in pixels of the box around every landmark of each frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN frames stay NaN
        lo, hi = np.nanmin(image[:, :, :2], axis=1), np.nanmax(image[:, :, :2], axis=1)
    return (lo + hi) / 2, np.linalg.norm(hi - lo, axis=1)


def _last_seen(x: np.ndarray, max_age: int) -> np.ndarray:
    """Row-wise forward fill of NaN rows from the previous finite row, at most max_age back."""
    ok = np.isfinite(x).reshape(len(x), -1).all(axis=1)
    idx = np.where(ok, np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    prev = np.concatenate(([-1], idx[:-1]))
    usable = (prev >= 0) & (np.arange(len(x)) - prev <= max_age + 1)
    out = np.full_like(x, np.nan, dtype=np.float64)
    out[usable] = x[prev[usable]]
    return out


def detect_cuts(track: PoseTrack, cfg: SignalConfig) -> np.ndarray:
    """(T,) bool, True at the first frame of a new shot.

    A body cannot move its trunk by more than a fraction of its own length, or change its
    apparent size by a large factor, between two frames; an edit (hard cut, zoom to a
    close-up) does exactly that. Frames are compared with the last frame the body was seen
    in, across a short dropout, because an edit often loses the pose for a few frames.

    The trunk alone is not enough: seen end-on (a bridge from the feet, whose top points the
    trunk at the lens) its picture shrinks to a fraction between two frames and its centre
    jumps by more than its own length, while the body as a whole stays put (a from-the-feet
    clip: trunk-based "cuts" at both tops, the box around all landmarks within 1% and 4%). So a
    cut must also move or resize that box (cut_confirm_*); the edits of the labelled clips do
    (a feet-to-side switch moved it 26% of its size; an edit 6-58% or resized it 1.1-5x).
    """
    max_age = int(round(cfg.max_gap_s * track.fps))
    trunk = _jumps(*body_scale(track.image), max_age)
    body = _jumps(*body_extent(track.image), max_age)
    trunk_cut = (trunk[0] > cfg.cut_jump_torso) | (trunk[1] > cfg.cut_scale_ratio)
    return trunk_cut & ((body[0] > cfg.cut_confirm_jump) | (body[1] > cfg.cut_confirm_ratio))


def _jumps(centre: np.ndarray, length: np.ndarray, max_age: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the move of the centre (in lengths) and the change of size (a ratio >= 1)
    since the last frame it was seen in."""
    prev_c, prev_l = _last_seen(centre, max_age), _last_seen(length, max_age)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.linalg.norm(centre - prev_c, axis=1) / np.fmax(np.fmax(length, prev_l), 1e-6)
        ratio = np.fmax(length, prev_l) / np.fmin(length, prev_l)
    return jump, ratio


def implausible(angle: np.ndarray, fps: float, cfg: SignalConfig) -> np.ndarray:
    """(T,) bool: frames whose raw angle is outside the body's range or moves impossibly fast.

    Close-ups and half-visible bodies make the model guess joints that then jump tens of
    degrees between frames; no hip moves like that. Flagged frames are padded a little on
    both sides, since the guesses around a jump are not better.
    """
    lo, hi = cfg.plausible_hip_deg
    bad = (angle < lo) | (angle > hi)
    speed = np.abs(np.diff(angle)) * fps
    fast = np.nan_to_num(speed, nan=0.0) > cfg.max_joint_speed_deg_s
    bad[1:] |= fast
    bad[:-1] |= fast
    pad = int(round(cfg.spike_pad_s * fps))
    if pad > 0 and bad.any():
        kernel = np.ones(2 * pad + 1)
        bad = np.convolve(bad.astype(float), kernel, mode="same") > 0
    return bad


def unusable_stretches(
    usable: np.ndarray, cuts: np.ndarray, timestamps: np.ndarray, fps: float, cfg: SignalConfig
) -> tuple[np.ndarray, list[Stretch]]:
    """Final usable mask and the stretches removed from it, with reasons.

    usable: frames where the measured joints were seen (after gap filling). Segments between
    cuts shorter than min_segment_s are dropped too: a two-second shot inside an edit is a
    close-up or a title, not a set.
    """
    keep = np.asarray(usable, dtype=bool).copy()
    stretches: list[Stretch] = []
    frame = 1.0 / fps
    for s, e in zip(*runs(~keep), strict=True):
        stretches.append(Stretch(float(timestamps[s]), float(timestamps[e - 1] + frame), "pose_not_usable"))
    shot_id = np.cumsum(cuts)
    min_frames = int(round(cfg.min_segment_s * fps))
    for shot in np.unique(shot_id):
        idx = np.flatnonzero(shot_id == shot)
        good = keep[idx]
        if 0 < good.sum() < min_frames:
            keep[idx] = False
            stretches.append(
                Stretch(float(timestamps[idx[0]]), float(timestamps[idx[-1]] + frame), "short_shot")
            )
    for i in np.flatnonzero(cuts):
        stretches.append(Stretch(float(timestamps[i]), float(timestamps[i]), "hard_cut"))
    stretches.sort(key=lambda st: (st.start_s, st.end_s))
    return keep, _merge(stretches)


def _merge(stretches: list[Stretch]) -> list[Stretch]:
    """Merge overlapping stretches of the same reason so the report stays short."""
    merged: list[Stretch] = []
    for st in stretches:
        last = merged[-1] if merged else None
        if last and last.reason == st.reason and st.start_s <= last.end_s + 1e-9 and st.reason != "hard_cut":
            merged[-1] = Stretch(last.start_s, max(last.end_s, st.end_s), last.reason)
        else:
            merged.append(st)
    return merged
