"""One clip: schedule -> poses -> skinned frames, camera, scene props and the ground truth."""

from __future__ import annotations

import numpy as np
from body import Body
from mistakes import PostureRig, ramps, truth_frame
from motion import (
    BENCH_HEIGHT,
    BOX_HEIGHT,
    SIDES,
    angle_between,
    build_schedule,
    signed_hip_angle,
    skin,
    unit,
)
from spec import Spec

TRUTH_SCHEMA = "formcheck.synth-truth/1"
SENSOR_WIDTH_MM = 36.0
FOCAL_MM = 26.0
HIP_POINT_NOTE = (
    "joints3d/joints2d '<side>_hip' and hip_angle_deg use the hip point the spec's hip_centre names: "
    "'harrington' = the anatomical hip joint centre (Harrington et al. 2007 from the pelvis's skin "
    "markers), 'rig' = the head of the rig's thigh bone (4-5 cm deeper in the buttock; clips made "
    "before the anatomical centre, whose truth files say no hip_centre). '<side>_hip_anatomical' / "
    "hip_angle_anatomical_deg and '<side>_hip_rig' / hip_angle_rig_deg are both always given. "
    "'<side>_hip_surface' is a point on the lateral pelvis at the rig head's height; "
    "hip_angle_surface_deg uses it."
)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Camera-to-world rotation for a camera looking along its -z with +y up (Blender's convention)."""
    back = unit(eye - target)
    right = unit(np.cross([0.0, 0, 1], back))
    up = np.cross(back, right)
    return np.stack([right, up, back], axis=1)


def project(points: np.ndarray, cam: dict) -> np.ndarray:
    """World points (..., 3) -> pixel (u, v), origin top-left."""
    rot, loc = np.asarray(cam["rotation"]), np.asarray(cam["location"])
    p = (points - loc) @ rot
    scale = cam["focal_mm"] / cam["sensor_width_mm"] * cam["width"]
    u = cam["width"] / 2 + scale * p[..., 0] / -p[..., 2]
    v = cam["height"] / 2 - scale * p[..., 1] / -p[..., 2]
    return np.stack([u, v], axis=-1)


def place_camera(spec: Spec, points: np.ndarray) -> dict:
    """Frame all the given points (every frame's body and the props) with a margin."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    target = (lo + hi) / 2
    near = -1.0 if spec.near_side == "right" else 1.0  # the body's left faces +y
    yaw = np.radians({"side": 0.0, "front": 90.0, "oblique": spec.yaw_deg or 40.0}[spec.view])
    direction = np.array([np.sin(yaw), near * np.cos(yaw), 0.0])
    cam = {"focal_mm": FOCAL_MM, "sensor_width_mm": SENSOR_WIDTH_MM,
           "width": spec.width, "height": spec.height}
    dist = 3.0
    for _ in range(8):
        eye = target + dist * direction
        eye[2] = spec.camera_height_m
        cam.update(location=eye.tolist(), rotation=look_at(eye, target).tolist())
        uv = project(points, cam)
        half = np.array([spec.width, spec.height]) / 2
        extent = np.max(np.abs(uv - half) / (half * np.array([0.94, 0.90])))
        dist *= extent
    return cam


def props(spec: Spec, rig: PostureRig) -> list[dict]:
    """Boxes in the scene: the bench under the upper back, a box under the feet."""
    boxes = []
    if not spec.on_floor:
        boxes.append({"name": "bench", "center": [-0.25, 0.0, BENCH_HEIGHT / 2 - 0.02],
                      "size": [0.46, 1.2, BENCH_HEIGHT - 0.04], "color": [0.08, 0.08, 0.09]})
    if "feet_elevated" in spec.variant:
        x = float(np.mean([a[0] for a in rig.ankles.values()]))
        # the heels near the box's near edge: the hips hang clear of it at the bottom
        boxes.append({"name": "box", "center": [x + 0.15, 0.0, BOX_HEIGHT / 2],
                      "size": [0.45, 0.7, BOX_HEIGHT], "color": [0.15, 0.22, 0.35]})
    return boxes


def band_loop(joints: dict[str, np.ndarray], n: int = 24) -> np.ndarray:
    """A resistance band around both thighs just above the knees."""
    centers = {s: joints[f"{s}_hip"] + 0.85 * (joints[f"{s}_knee"] - joints[f"{s}_hip"]) for s in SIDES}
    mid = (centers["left"] + centers["right"]) / 2
    axis = unit(joints["left_knee"] + joints["right_knee"] - joints["left_hip"] - joints["right_hip"])
    across = centers["left"] - centers["right"]
    across = across - (across @ axis) * axis
    half = np.linalg.norm(across) / 2 + 0.075
    e1 = unit(across)
    e2 = np.cross(axis, e1)
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return mid + half * np.cos(ang)[:, None] * e1 + 0.075 * np.sin(ang)[:, None] * e2


def make_clip(body: Body, spec: Spec) -> tuple[np.ndarray, dict, dict]:
    """Returns (vertices per frame (F, V, 3) float32, scene for the renderer, ground truth)."""
    rig = PostureRig(body, spec)
    rest_angle = rig.sagittal_angle(rig.rest_phi, rig.rest_drop)
    sched = build_schedule(spec, rest_angle)
    posture = ramps(spec, sched, max(float(spec.bottom_deg), rest_angle))
    for r in sched.reps:  # the distance-type faults' amounts
        for f in r["faults"]:
            if (given := spec.fault(f["type"], r["rep"])) is not None and given.cm:
                f["cm"] = given.cm
    first = next(i for i in range(len(sched.t)) if not np.isnan(sched.theta[i]))
    first_phi = rig.solve_phi(float(sched.theta[first]))
    n = len(sched.t)
    verts = np.empty((n, len(body.rest), 3), dtype=np.float32)
    joint_names = None
    joints3d: dict[str, list] = {}
    per_frame: dict[str, list] = {k: [] for k in (
        "phi_deg", "torso_angle_deg", "pelvis_roll_deg", "hip_line_vs_shoulder_line_deg",
        "knee_cave_deg", "head_back_deg", "load_drift_cm", "back_slide_cm", "load_offset_cm",
        "knee_spread_hip_widths", "ankle_spread_hip_widths")}
    angles: dict[str, list] = {}
    bands, bars = [], []
    for i in range(n):
        rig.slide = float(posture["back_slide_cm"][i]) / 100
        if np.isnan(sched.theta[i]):
            pose = rig.setup_pose(float(sched.setup[i]), first_phi)
            phi = np.nan
        else:
            phi = rig.solve_phi(float(sched.theta[i]), float(sched.knee_cave[i]), float(sched.roll[i]))
            pose = rig.pose(phi, float(sched.roll[i]), float(sched.knee_cave[i]))
        head, drift = float(posture["head_back_deg"][i]), float(posture["load_drift_cm"][i]) / 100
        pose, bar = rig.posture(pose, head, drift)
        v = skin(body, pose)
        verts[i] = v
        marks = {name: v[idx] for name, idx in body.landmarks.items()}
        joints = {**pose.joints, **marks}
        if joint_names is None:
            joint_names = sorted(joints)
            joints3d = {k: [] for k in joint_names}
        for k in joint_names:
            joints3d[k].append(joints[k])
        left_axis = unit(pose.rotations["spine_03"] @ np.array([1.0, 0, 0]))
        for side in SIDES:
            sh, hp, kn, an = (joints[f"{side}_{j}"] for j in ("shoulder", "hip", "knee", "ankle"))
            angles.setdefault(f"hip_angle_deg_{side}", []).append(signed_hip_angle(sh, hp, kn, left_axis))
            angles.setdefault(f"hip_angle_surface_deg_{side}", []).append(
                signed_hip_angle(sh, joints[f"{side}_hip_surface"], kn, left_axis))
            for centre in ("anatomical", "rig"):
                angles.setdefault(f"hip_angle_{centre}_deg_{side}", []).append(
                    signed_hip_angle(sh, joints[f"{side}_hip_{centre}"], kn, left_axis))
            angles.setdefault(f"knee_angle_deg_{side}", []).append(angle_between(hp - kn, an - kn))
            angles.setdefault(f"shin_from_vertical_deg_{side}", []).append(
                angle_between(kn - an, np.array([0.0, 0, 1])))
        mid_s = (joints["left_shoulder"] + joints["right_shoulder"]) / 2
        mid_h = (joints["left_hip"] + joints["right_hip"]) / 2
        per_frame["phi_deg"].append(None if np.isnan(phi) else round(float(np.degrees(phi)), 3))
        per_frame["torso_angle_deg"].append(np.degrees(np.arctan2(mid_h[2] - mid_s[2], mid_h[0] - mid_s[0])))
        per_frame["pelvis_roll_deg"].append(float(sched.roll[i]))
        per_frame["hip_line_vs_shoulder_line_deg"].append(angle_between(
            joints["left_hip"] - joints["right_hip"], joints["left_shoulder"] - joints["right_shoulder"]))
        per_frame["knee_cave_deg"].append(float(sched.knee_cave[i]))
        hip_width = np.linalg.norm(joints["left_hip"] - joints["right_hip"])
        for part in ("knee", "ankle"):
            per_frame[f"{part}_spread_hip_widths"].append(
                float(np.linalg.norm(joints[f"left_{part}"] - joints[f"right_{part}"]) / hip_width))
        for key in ("head_back_deg", "load_drift_cm", "back_slide_cm"):
            per_frame[key].append(float(posture[key][i]))
        per_frame["load_offset_cm"].append(truth_frame(rig, pose, bar)["load_offset_cm"])
        if bar is not None:
            bars.append(bar)
        if spec.banded:
            bands.append(band_loop(joints))

    # From the feet, the legs stretched out during the set-up come far toward the lens; framing them
    # would leave the lifter tiny, so a front camera frames the set itself (as a lifter would).
    framed = verts if spec.view != "front" else verts[np.asarray(sched.phase) != "setup"]
    sample = framed[:, ::7].reshape(-1, 3)
    boxes = props(spec, rig)
    corners = [np.asarray(b["center"]) + np.asarray(b["size"]) / 2 * np.array(s)
               for b in boxes for s in [(-1, -1, 1), (1, 1, 1), (-1, 1, -1), (1, -1, -1)]]
    cam = place_camera(spec, np.vstack([sample, *corners]) if corners else sample)

    j3 = {k: np.asarray(v) for k, v in joints3d.items()}
    j2 = {k: project(v, cam) for k, v in j3.items()}
    scene = {
        "camera": cam, "boxes": boxes, "faces": body.faces, "region": body.region.tolist(),
        "colors": {"skin": spec.skin, "shirt": spec.shirt, "shorts": spec.shorts,
                   "background": spec.background, "floor": spec.floor},
        "width": spec.width, "height": spec.height, "samples": spec.samples, "fps": spec.fps,
        "bands": np.asarray(bands).tolist() if bands else [],
        "bars": np.asarray(bars).tolist() if bars else [],
    }
    truth = {
        "schema": TRUTH_SCHEMA,
        "spec": spec.to_dict(),
        "video": {"fps": spec.fps, "width": spec.width, "height": spec.height, "n_frames": n,
                  "duration_s": n / spec.fps},
        "hip_point": HIP_POINT_NOTE,
        "conventions": {
            "world": "metres, z up, floor at z=0; body lies along +x (head toward -x), its left toward +y",
            "hip_angle": "signed shoulder-hip-knee in the body's sagittal plane: 180 = straight line, "
                         ">180 = hips past the line",
            "pelvis_roll_deg": "rotation of the pelvis about the trunk's long axis; positive drops the "
                               "non-working side",
            "head_back_deg": "head extended against the trunk beyond the clean pose's tucked chin, deg",
            "load_drift_cm": "prescribed slide of the bar along the thighs (+ toward the knees, - the belly)",
            "load_offset_cm": "bar centre's offset from the hip crease along the thighs, measured, cm "
                              "(null: no load held)",
            "back_slide_cm": "the upper back's slide head-ward over the bench (leaning back), cm",
            "joints2d": "pixels, origin top-left",
            "knee_spread_hip_widths": "3D distance between the knees over that between the hip points "
                                      "(ankle_spread_hip_widths likewise for the ankles)",
        },
        "camera": cam,
        "rest_hip_angle_deg": rest_angle,
        "frames": {
            "t": sched.t.round(4).tolist(),
            "phase": sched.phase,
            "rep": sched.rep.tolist(),
            "prescribed_hip_angle_deg": [None if np.isnan(x) else round(float(x), 3) for x in sched.theta],
            **{k: np.round(v, 3).tolist() for k, v in angles.items()},
            **{k: [None if x is None else round(float(x), 3) for x in v] for k, v in per_frame.items()},
            "joints3d": {k: np.round(v, 4).tolist() for k, v in j3.items()},
            "joints2d": {k: np.round(v, 2).tolist() for k, v in j2.items()},
        },
        "reps": _rep_truth(sched.reps, sched.t, angles),
    }
    return verts, scene, truth


def _rep_truth(reps: list[dict], t: np.ndarray, angles: dict[str, list]) -> list[dict]:
    """Measured (not just prescribed) top and bottom angles of each rep: the bottom it drives
    up from (the start of its concentric) and the top it reaches before lowering."""
    hip = {s: np.asarray(angles[f"hip_angle_deg_{s}"]) for s in SIDES}
    out = []
    for r in reps:
        up, down = r["phases"]["up"], r["phases"]["down"]
        concentric = (t >= up[0] - 1e-9) & (t <= up[1] + 1e-9)
        before_lowering = (t >= up[0] - 1e-9) & (t <= down[0] + 1e-9)
        r = dict(r)
        for s in SIDES:
            r[f"top_hip_angle_deg_{s}"] = round(float(hip[s][before_lowering].max()), 3)
            r[f"bottom_hip_angle_deg_{s}"] = round(float(hip[s][concentric].min()), 3)
            for centre in ("anatomical", "rig"):
                other = np.asarray(angles[f"hip_angle_{centre}_deg_{s}"])
                r[f"top_hip_angle_{centre}_deg_{s}"] = round(float(other[before_lowering].max()), 3)
        r["tempo_s"] = {k: round(v[1] - v[0], 4) for k, v in r["phases"].items()}
        r["phases"] = {k: [round(v[0], 4), round(v[1], 4)] for k, v in r["phases"].items()}
        r["start"], r["end"] = round(r["start"], 4), round(r["end"], 4)
        out.append(r)
    return out
