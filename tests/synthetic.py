"""Synthetic pose tracks with known answers, for the analysis tests.

A side view of a supine lifter (head left, feet right, image y down) is built from a
prescribed hip-angle trajectory: the torso hangs from a fixed shoulder, the thigh leaves
the hip so the shoulder-hip-knee angle is exactly the prescribed (signed) value, and the
shin leaves the knee at the prescribed knee angle. The trajectory is made of rep phases
with known durations, so counts, tempo and lockout are known exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from formcheck.track import N_LANDMARKS, Landmark, PoseTrack

TORSO_PX, THIGH_PX, SHIN_PX = 150.0, 130.0, 120.0
SHOULDER_XY = np.array([200.0, 300.0])
WIDTH, HEIGHT = 640, 480


@dataclass
class RepPlan:
    """Durations in seconds and angles in degrees (as the model would read them)."""

    reps: int = 5
    up_s: float = 0.8
    top_s: float = 0.8
    down_s: float = 1.5
    bottom_s: float = 0.6
    bottom_deg: float = 110.0
    top_deg: float = 178.5  # a straight line as the model reads it (the hip_thrust calibration shows ~180)
    top_degs: list[float] | None = None
    knee_bottom_deg: float = 70.0
    knee_top_deg: float = 95.0
    lead_s: float = 1.0
    tail_s: float = 1.0
    start_at_top: bool = False
    setup_flat_s: float = 0.0
    end_flat_s: float = 0.0
    fps: float = 30.0
    events: list[tuple[str, float]] = field(default_factory=list)
    # per-rep overrides (index = rep - 1): where each descent ends, the drive's time, the top knee
    bottom_degs: list[float] | None = None
    up_s_list: list[float] | None = None
    knee_top_degs: list[float] | None = None
    jerk_reps: list[int] = field(default_factory=list)  # 1-based reps whose drive is a burst then a grind


def _ease(n: int) -> np.ndarray:
    """0 -> 1 over n samples with zero velocity at both ends (a cosine ramp)."""
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, max(n, 1)))


def trajectory(plan: RepPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, hip_deg, knee_deg). plan.events gets ('top_start', t) etc. for each rep."""
    fps = plan.fps
    plan.events.clear()
    hip: list[np.ndarray] = []
    knee: list[np.ndarray] = []

    def hold(value_h: float, value_k: float, secs: float) -> None:
        n = int(round(secs * fps))
        hip.append(np.full(n, value_h))
        knee.append(np.full(n, value_k))

    def move(h0: float, h1: float, k0: float, k1: float, secs: float) -> None:
        e = _ease(int(round(secs * fps)))
        hip.append(h0 + (h1 - h0) * e)
        knee.append(k0 + (k1 - k0) * e)

    def now() -> float:
        return sum(len(h) for h in hip) / fps

    if plan.setup_flat_s:
        hold(180.0, 178.0, plan.setup_flat_s)
        move(180.0, plan.bottom_deg, 178.0, plan.knee_bottom_deg, 1.0)
    bottom_h, bottom_k = plan.bottom_deg, plan.knee_bottom_deg
    if plan.start_at_top:
        hold(plan.top_deg, plan.knee_top_deg, plan.lead_s)
        move(plan.top_deg, bottom_h, plan.knee_top_deg, bottom_k, plan.down_s)
        hold(bottom_h, bottom_k, plan.bottom_s)
    else:
        hold(bottom_h, bottom_k, plan.lead_s)
    start_h = bottom_h
    for i in range(plan.reps):
        top = plan.top_degs[i] if plan.top_degs else plan.top_deg
        up_s = plan.up_s_list[i] if plan.up_s_list else plan.up_s
        knee_top = plan.knee_top_degs[i] if plan.knee_top_degs else plan.knee_top_deg
        end_h = plan.bottom_degs[i] if plan.bottom_degs else bottom_h
        plan.events.append(("up_start", now()))
        if i + 1 in plan.jerk_reps:  # three quarters of the range in the first fifth, then a grind
            mid_h, mid_k = start_h + 0.75 * (top - start_h), bottom_k + 0.75 * (knee_top - bottom_k)
            move(start_h, mid_h, bottom_k, mid_k, 0.2 * up_s)
            move(mid_h, top, mid_k, knee_top, 0.8 * up_s)
        else:
            move(start_h, top, bottom_k, knee_top, up_s)
        plan.events.append(("top_start", now()))
        hold(top, knee_top, plan.top_s)
        plan.events.append(("top_end", now()))
        move(top, end_h, knee_top, bottom_k, plan.down_s)
        plan.events.append(("down_end", now()))
        hold(end_h, bottom_k, plan.bottom_s if i < plan.reps - 1 else plan.tail_s)
        start_h = end_h
    if plan.end_flat_s:
        move(bottom_h, 180.0, bottom_k, 178.0, 1.0)
        hold(180.0, 178.0, plan.end_flat_s)
    h = np.concatenate(hip)
    k = np.concatenate(knee)
    return np.arange(len(h)) / fps, h, k


def _rot(v: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rotate (T, 2) image vectors by -deg (image y points down, so this turns towards the floor)."""
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    return np.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1]], axis=1)


def side_points(hip_deg: np.ndarray, knee_deg: np.ndarray) -> np.ndarray:
    """(T, 4, 2) shoulder, hip, knee, ankle whose angles are exactly hip_deg / knee_deg."""
    n = len(hip_deg)
    alpha = np.radians((180.0 - hip_deg) / 2.0)  # torso dips and thigh rises by the same amount
    shoulder = np.tile(SHOULDER_XY, (n, 1))
    hip = shoulder + TORSO_PX * np.stack([np.cos(alpha), np.sin(alpha)], axis=1)
    knee = hip + THIGH_PX * np.stack([np.cos(alpha), -np.sin(alpha)], axis=1)
    to_hip = (hip - knee) / THIGH_PX
    ankle = knee + SHIN_PX * _rot(to_hip, knee_deg)
    return np.stack([shoulder, hip, knee, ankle], axis=1)


def make_track(
    hip_deg: np.ndarray,
    knee_deg: np.ndarray,
    fps: float = 30.0,
    noise_px: float = 0.0,
    seed: int = 0,
    near: str = "left",
    raised_leg: bool = False,
) -> PoseTrack:
    """A full 33-landmark PoseTrack around the prescribed side-view skeleton.

    The far side sits a few pixels behind the near one with lower visibility, as MediaPipe
    reports it. raised_leg=True holds the far leg straight up (single-leg variants).
    """
    rng = np.random.default_rng(seed)
    n = len(hip_deg)
    pts = side_points(hip_deg, knee_deg)
    image = np.zeros((n, N_LANDMARKS, 3))
    vis = np.full((n, N_LANDMARKS), 0.9)
    image[:, :, :2] = pts[:, 1:2, :]  # default everything to the hip, then place what matters
    near_idx = _side_indices(near)
    far_idx = _side_indices("right" if near == "left" else "left")
    offset = np.array([4.0, -3.0])
    for j, lm in enumerate(near_idx):
        image[:, lm, :2] = pts[:, j]
        vis[:, lm] = 0.98
    far = pts + offset
    if raised_leg:
        far[:, 2] = far[:, 1] + np.array([0.0, -THIGH_PX])
        far[:, 3] = far[:, 2] + np.array([0.0, -SHIN_PX])
    for j, lm in enumerate(far_idx):
        image[:, lm, :2] = far[:, j]
        vis[:, lm] = 0.6
    image[:, Landmark.NOSE, :2] = pts[:, 0] + np.array([-60.0, -15.0])
    # ears straight below the nose: the face square to the trunk (a neutral head)
    image[:, [Landmark.LEFT_EAR, Landmark.RIGHT_EAR], :2] = (pts[:, 0] + np.array([-60.0, 0.0]))[:, None]
    image[:, :, :2] += rng.normal(0.0, noise_px, size=(n, N_LANDMARKS, 2)) if noise_px else 0.0
    world = image / 500.0
    return PoseTrack(
        image=image.astype(np.float32),
        world=world.astype(np.float32),
        visibility=vis.astype(np.float32),
        timestamps=np.arange(n) / fps,
        fps=fps,
        width=WIDTH,
        height=HEIGHT,
        source="synthetic",
    )


def _side_indices(side: str) -> list[int]:
    if side == "left":
        return [Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE]
    return [Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE]


def plan_track(plan: RepPlan, noise_px: float = 0.0, seed: int = 0, **kw: object) -> PoseTrack:
    _, h, k = trajectory(plan)
    return make_track(h, k, fps=plan.fps, noise_px=noise_px, seed=seed, **kw)


def sets_track(plans: list[RepPlan], rest_s: float, noise_px: float = 0.0, seed: int = 0) -> PoseTrack:
    """Several sets in one clip: each plan's trajectory, with rest_s more of lying at the bottom between."""
    hips, knees = [], []
    for i, plan in enumerate(plans):
        _, h, k = trajectory(plan)
        hips.append(h)
        knees.append(k)
        if i < len(plans) - 1:
            n = int(round(rest_s * plan.fps))
            hips.append(np.full(n, h[-1]))
            knees.append(np.full(n, k[-1]))
    hip, knee = np.concatenate(hips), np.concatenate(knees)
    return make_track(hip, knee, fps=plans[0].fps, noise_px=noise_px, seed=seed)


def with_dropout(track: PoseTrack, start_s: float, secs: float) -> PoseTrack:
    """No detection for secs from start_s: NaN landmarks, zero visibility."""
    i0 = int(round(start_s * track.fps))
    i1 = i0 + int(round(secs * track.fps))
    image, world, vis = track.image.copy(), track.world.copy(), track.visibility.copy()
    image[i0:i1] = np.nan
    world[i0:i1] = np.nan
    vis[i0:i1] = 0.0
    return _replace(track, image, world, vis)


def with_cut(track: PoseTrack, at_s: float, shift_px: tuple[float, float], scale: float = 1.0) -> PoseTrack:
    """A hard cut: from at_s on, the body jumps (and zooms) in the picture."""
    i0 = int(round(at_s * track.fps))
    image = track.image.copy()
    centre = np.array([WIDTH / 2, HEIGHT / 2])
    image[i0:, :, :2] = (image[i0:, :, :2] - centre) * scale + centre + np.asarray(shift_px)
    return _replace(track, image, track.world, track.visibility)


def _replace(track: PoseTrack, image: np.ndarray, world: np.ndarray, vis: np.ndarray) -> PoseTrack:
    return dataclasses.replace(track, image=image, world=world, visibility=vis)


# --- 3D bodies: pelvic roll and knee cave, seen from any camera ---------------------------------
# Body frame (metres, right-handed, like MediaPipe's world): x toward the feet, y to the body's
# left, z up. The side-view skeleton above gives the sagittal plane; the two sides sit +-y of it.

PX_PER_M = 300.0  # the side skeleton above is then a 0.5 m torso, 0.43 m thigh
HALF_WIDTH_M = {"shoulder": 0.18, "hip": 0.10, "knee": 0.11, "ankle": 0.11}
SAGITTAL = ("shoulder", "hip", "knee", "ankle")
LEFT_RIGHT = {
    "shoulder": (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    "hip": (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    "knee": (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
    "ankle": (Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE),
}


def _rotate(v: np.ndarray, axis: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rodrigues: rotate rows of v (T, 3) about unit rows of axis (T, 3) by deg (T,)."""
    r = np.radians(deg)[:, None]
    along = axis * np.sum(axis * v, 1, keepdims=True)
    return v * np.cos(r) + np.cross(axis, v) * np.sin(r) + along * (1 - np.cos(r))


def _unit3(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def progress(hip_deg: np.ndarray, plan: RepPlan, reps: list[int] | None) -> np.ndarray:
    """0 at the bottom, 1 at the top, only inside the listed reps (1-based; None = every rep)."""
    frac = np.clip((hip_deg - plan.bottom_deg) / (plan.top_deg - plan.bottom_deg), 0.0, 1.0)
    starts = [t for name, t in plan.events if name == "up_start"] + [np.inf]
    t = np.arange(len(hip_deg)) / plan.fps
    rep = np.searchsorted(starts, t, side="right")  # 1-based rep each frame belongs to (0 before)
    return frac * (np.isin(rep, reps) if reps is not None else rep > 0)


def body_points(
    plan: RepPlan,
    roll_deg: float = 0.0,
    roll_reps: list[int] | None = None,
    cave_deg: float = 0.0,
    cave_reps: list[int] | None = None,
    free_leg: str | None = None,
) -> dict[str, np.ndarray]:
    """(T, 3) body-frame points by name ("left_hip", ...) for a plan, with the faults applied.

    roll_deg drops the pelvis's right side (or the free leg's side) about the trunk's long axis at
    the top; cave_deg swings the knees toward the midline about their hip-ankle lines."""
    _, hip_deg, knee_deg = trajectory(plan)
    mid = side_points(hip_deg, knee_deg) / PX_PER_M
    sag = {n: np.stack([mid[:, i, 0], np.zeros(len(mid)), -mid[:, i, 1]], 1) for i, n in enumerate(SAGITTAL)}
    lateral = np.array([0.0, 1.0, 0.0])
    pts = {f"{s}_{n}": sag[n] + sign * HALF_WIDTH_M[n] * lateral for n in SAGITTAL
           for s, sign in (("left", 1.0), ("right", -1.0))}
    axis = _unit3(sag["shoulder"] - sag["hip"])
    # + about the head-ward axis lowers the left side: drop the right side unless the free leg is left
    turn = roll_deg * progress(hip_deg, plan, roll_reps) * (1.0 if free_leg == "left" else -1.0)
    for s in ("left", "right"):
        pts[f"{s}_hip"] = sag["hip"] + _rotate(pts[f"{s}_hip"] - sag["hip"], axis, turn)
    cave = cave_deg * progress(hip_deg, plan, cave_reps)
    for s, sign in (("left", -1.0), ("right", 1.0)):  # + about hip->ankle turns the knee toward -y
        hip, ankle = pts[f"{s}_hip"], pts[f"{s}_ankle"]
        knee_axis = _unit3(ankle - hip)
        pts[f"{s}_knee"] = hip + _rotate(pts[f"{s}_knee"] - hip, knee_axis, -sign * cave)
    if free_leg:
        work = "right" if free_leg == "left" else "left"
        thigh = pts[f"{work}_knee"] - pts[f"{work}_hip"]
        pts[f"{free_leg}_knee"] = pts[f"{free_leg}_hip"] + thigh
        pts[f"{free_leg}_ankle"] = pts[f"{free_leg}_knee"] + _unit3(thigh) * SHIN_PX / PX_PER_M
    return pts


def camera_image(pts: dict[str, np.ndarray], yaw_deg: float, pitch_deg: float) -> dict[str, np.ndarray]:
    """Orthographic picture (pixels, y down) from a camera on the body's right side (yaw 0: the
    side skeleton's picture, head left) turned yaw_deg toward the feet (90: at the feet) and
    looking down by pitch_deg."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    right = np.array([np.cos(yaw), np.sin(yaw), 0.0])  # picture's x axis in the body frame
    view = np.array([-np.sin(yaw), np.cos(yaw), 0.0])  # looking direction before the pitch
    up = np.cos(pitch) * np.array([0.0, 0.0, 1.0]) + np.sin(pitch) * view
    out = {name: np.stack([p @ right, -(p @ up)], 1) * PX_PER_M for name, p in pts.items()}
    every = np.concatenate(list(out.values()))
    centre = (every.min(axis=0) + every.max(axis=0)) / 2  # the whole clip in the middle of the frame
    return {name: xy - centre + np.array([WIDTH / 2, HEIGHT / 2]) for name, xy in out.items()}


def body_track(
    pts: dict[str, np.ndarray], yaw_deg: float, pitch_deg: float = 5.0, fps: float = 30.0
) -> PoseTrack:
    """A PoseTrack with world = the body-frame points and image = their picture from the camera."""
    n = len(next(iter(pts.values())))
    pic = camera_image(pts, yaw_deg, pitch_deg)
    image = np.zeros((n, N_LANDMARKS, 3))
    world = np.zeros((n, N_LANDMARKS, 3))
    hip_mid = (pts["left_hip"] + pts["right_hip"]) / 2
    image[:, :, :2] = ((pic["left_hip"] + pic["right_hip"]) / 2)[:, None]
    world[:] = hip_mid[:, None]
    for part, (left, right) in LEFT_RIGHT.items():
        for side, lm in (("left", left), ("right", right)):
            image[:, lm, :2] = pic[f"{side}_{part}"]
            world[:, lm] = pts[f"{side}_{part}"]
    shoulders = (pic["left_shoulder"] + pic["right_shoulder"]) / 2
    image[:, Landmark.NOSE, :2] = shoulders + np.array([-40.0, -10.0])
    image[:, [Landmark.LEFT_EAR, Landmark.RIGHT_EAR], :2] = (shoulders + np.array([-40.0, 0.0]))[:, None]
    world -= hip_mid[:, None]  # MediaPipe's world landmarks are hip-centred
    return PoseTrack(
        image=image.astype(np.float32),
        world=world.astype(np.float32),
        visibility=np.full((n, N_LANDMARKS), 0.95, dtype=np.float32),
        timestamps=np.arange(n) / fps,
        fps=fps,
        width=WIDTH,
        height=HEIGHT,
        source="synthetic-3d",
    )
