"""Hip-thrust motion: tempo and faults -> per-frame pose -> skinned mesh and ground truth.

The body lies along +x (head toward -x, feet toward +x), face up (+z), its left side toward +y.
A frame's pose is set by the trunk pitch `phi` about the lateral axis, pivoting on the support
(bench edge or floor) under the upper back; the feet stay planted and the knees follow by
two-bone IK. `phi` is solved per frame so the sagittal shoulder-hip-knee angle equals the
prescribed angle, so every angle in the ground truth is exact, not estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from body import Body
from spec import Spec

BENCH_HEIGHT = 0.42
BOX_HEIGHT = 0.32
ANKLE_HEIGHT = 0.075  # ankle joint above the sole
HIP_CLEARANCE = 0.115  # hip joint above the floor when sitting/lying on the buttocks
# frog pump: the soles pressed together put the ankle joints about a foot's width apart (the
# bridge's stance distance already puts them ~30 cm from the hip joints, heels near the glutes)
FROG_ANKLE_HALF_GAP = 0.06
SIDES = ("left", "right")


# --- small rotation helpers -------------------------------------------------------------------

def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, float)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction a onto direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    cross = np.cross(a, b)
    s = np.linalg.norm(cross)
    c = float(np.clip(a @ b, -1, 1))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.cross(a, [1.0, 0, 0]) if abs(a[0]) < 0.9 else np.cross(a, [0, 1.0, 0])
        return axis_angle(perp, np.pi)
    return axis_angle(cross, np.arctan2(s, c))


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


# Rest (left=+x, back=+y, up=+z) -> lying on the back, head toward -x, left toward +y.
R_SUPINE = np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]])


def trunk_rotation(phi: float) -> np.ndarray:
    """phi > 0 raises the hips relative to the shoulders."""
    return axis_angle([0, 1, 0], -phi) @ R_SUPINE


def two_bone_ik(hip: np.ndarray, ankle: np.ndarray, a: float, b: float, pole: np.ndarray) -> np.ndarray:
    d_vec = ankle - hip
    d = float(np.clip(np.linalg.norm(d_vec), abs(a - b) + 1e-4, (a + b) * 0.9995))
    e = d_vec / np.linalg.norm(d_vec)
    along = (a * a - b * b + d * d) / (2 * d)
    h = np.sqrt(max(a * a - along * along, 0.0))
    p = pole - (pole @ e) * e
    return hip + along * e + h * unit(p)


def signed_hip_angle(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray, left_axis: np.ndarray) -> float:
    """Shoulder-hip-knee angle, 180 = straight line, > 180 = hips past the line."""
    v1, v2 = shoulder - hip, knee - hip
    v1 = v1 - (v1 @ left_axis) * left_axis
    v2 = v2 - (v2 @ left_axis) * left_axis
    cross = np.cross(v1, v2)
    ang = np.degrees(np.arctan2(np.linalg.norm(cross), v1 @ v2))
    return float(ang if cross @ left_axis >= 0 else 360 - ang)


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b)), a @ b)))


# --- the rep schedule ---------------------------------------------------------------------------

@dataclass
class Schedule:
    """Per-frame targets: what the body should do at each frame."""

    t: np.ndarray
    theta: np.ndarray  # prescribed sagittal hip angle (NaN during the lead-in)
    setup: np.ndarray  # 0..1 through the lead-in (1 = planted and ready), NaN after
    roll: np.ndarray  # pelvis roll, degrees (positive: the non-working side drops)
    knee_cave: np.ndarray  # degrees
    phase: list[str]
    rep: np.ndarray  # 1-based rep number, 0 outside reps
    reps: list[dict]


def min_jerk(tau: np.ndarray) -> np.ndarray:
    tau = np.clip(tau, 0, 1)
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


def hold_wobble(t: np.ndarray, holds: list[list[float]], degrees: float, period_s: float,
                rng: np.random.Generator) -> np.ndarray:
    """Sag of the hip angle during each top hold (degrees, >= 0): whole waves that leave the top,
    sag by 60-100% of `degrees` and squeeze back up, so every hold still starts and ends at the
    top and the truth keeps it one phase. A hold shorter than one period sags once."""
    sag = np.zeros(len(t))
    if degrees <= 0:
        return sag
    for a, b in holds:
        if b - a <= 0:
            continue
        waves = max(1, int(round((b - a) / period_s)))
        inside = (t > a) & (t < b)
        tau = (t[inside] - a) / (b - a) * waves
        depth = degrees * rng.uniform(0.6, 1.0, waves)
        sag[inside] = depth[np.minimum(tau.astype(int), waves - 1)] * (1 - np.cos(2 * np.pi * tau)) / 2
    return sag


def build_schedule(spec: Spec, rest_angle: float) -> Schedule:
    rng = np.random.default_rng(spec.seed)
    bottom = max(spec.bottom_deg, rest_angle)
    depth_fault = next((f for f in spec.faults if f.type == "inconsistent_depth"), None)
    depth_offsets = np.zeros(spec.reps)
    if depth_fault:
        depth_offsets = rng.permutation(np.linspace(0, depth_fault.degrees, spec.reps))

    def jitter(seconds: float) -> float:
        return max(0.0, seconds * (1 + spec.tempo_jitter * float(np.clip(rng.standard_normal(), -2, 2))))

    # Keyframes: (time, angle, phase-name-for-the-segment-that-starts-here, rep)
    reps: list[dict] = []
    t = spec.lead_in_s
    angle = bottom + depth_offsets[0]
    keys = [(0.0, np.nan, "setup", 0)]
    if spec.settle_s > 0:
        # the set-up's move into the bottom ends, then the body rests there before the drive:
        # without it the set-up flows into rep 1 and its drive has no still bottom to start from
        keys.append((t, angle, "rest", 0))
        t += spec.settle_s
    keys.append((t, angle, "up", 1))
    for i in range(1, spec.reps + 1):
        top = spec.top_deg
        if f := spec.fault("short_lockout", i):
            top -= f.degrees
        if f := spec.fault("overextension", i):
            top += f.degrees
        up = jitter(spec.up_s)
        pause = 0.0 if spec.fault("no_top_pause", i) else jitter(spec.top_pause_s)
        rushed = spec.fault("rushed_descent", i)
        down = (rushed.seconds or 0.35) if rushed else jitter(spec.down_s)
        next_bottom = bottom + depth_offsets[i] if i < spec.reps else bottom
        bottom_pause = jitter(spec.bottom_pause_s) if i < spec.reps else spec.lead_out_s
        start = t
        phases = {
            "up": [t, t + up],
            "top": [t + up, t + up + pause],
            "down": [t + up + pause, t + up + pause + down],
            "bottom": [t + up + pause + down, t + up + pause + down + bottom_pause],
        }
        t = phases["bottom"][1]
        last = i == spec.reps
        keys += [
            (phases["up"][1], top, "top", i),
            (phases["top"][1], top, "down", i),
            (phases["down"][1], next_bottom, "rest" if last else "bottom", 0 if last else i),
            (t, next_bottom, "rest" if last else "up", 0 if last else i + 1),
        ]
        injected = [
            {"type": f.type, "degrees": f.degrees, "seconds": f.seconds}
            for f in spec.faults
            if f.applies(i) and f.type != "inconsistent_depth"
        ]
        if depth_fault:
            injected.append({"type": "inconsistent_depth", "degrees": depth_fault.degrees,
                             "bottom_offset_deg": float(depth_offsets[i - 1])})
        reps.append({
            "rep": i, "start": start, "end": phases["down"][1], "phases": phases,
            "prescribed_bottom_deg": float(angle), "prescribed_top_deg": float(top),
            "faults": injected,
        })
        angle = next_bottom

    n = int(round(t * spec.fps))
    times = np.arange(n) / spec.fps
    theta = np.full(n, np.nan)
    setup = np.full(n, np.nan)
    phase = ["rest"] * n
    rep = np.zeros(n, dtype=int)
    kt = np.array([k[0] for k in keys])
    for j, tt in enumerate(times):
        k = int(np.searchsorted(kt, tt, side="right") - 1)
        k = min(k, len(keys) - 1)
        t0, a0, name, r = keys[k]
        phase[j] = name
        rep[j] = r
        if k == 0:
            setup[j] = tt / spec.lead_in_s
            continue
        if k + 1 < len(keys):
            t1, a1 = keys[k + 1][0], keys[k + 1][1]
            tau = (tt - t0) / max(t1 - t0, 1e-9)
            theta[j] = a0 + (a1 - a0) * min_jerk(np.array(tau))
        else:
            theta[j] = a0
    theta -= hold_wobble(times, [r["phases"]["top"] for r in reps], spec.hold_wobble_deg,
                         spec.hold_wobble_period_s, rng)
    # progress from bottom (0) to top (1) drives the gradual faults
    finite = np.where(np.isnan(theta), bottom, theta)
    progress = np.clip((finite - bottom) / max(spec.top_deg - bottom, 1e-6), 0, 1)
    roll = np.zeros(n)
    cave = np.zeros(n)
    for j in range(n):
        if rep[j] and (f := spec.fault("pelvic_roll", rep[j])):
            roll[j] = f.degrees * progress[j]
        if rep[j] and (f := spec.fault("knee_cave", rep[j])):
            cave[j] = f.degrees * progress[j]
    return Schedule(times, theta, setup, roll, cave, phase, rep, reps)


# --- posing ---------------------------------------------------------------------------------------

@dataclass
class Pose:
    rotations: dict[str, np.ndarray]  # bone -> absolute rotation (rest -> world)
    heads: dict[str, np.ndarray]  # bone -> posed head position
    joints: dict[str, np.ndarray]  # named anatomical joints
    pelvis_roll: float


class Rig:
    """Poses the body for one variant; everything spatial about a clip lives here."""

    def __init__(self, body: Body, spec: Spec):
        self.body = body
        self.spec = spec
        b = body
        self.mid_hip_rest = (b.head("thigh_l") + b.head("thigh_r")) / 2
        self.mid_shoulder_rest = (b.head("upperarm_l") + b.head("upperarm_r")) / 2
        self.thigh_len = {s: np.linalg.norm(b.tail(f"thigh_{s[0]}") - b.head(f"thigh_{s[0]}")) for s in SIDES}
        self.shin_len = {s: np.linalg.norm(b.tail(f"calf_{s[0]}") - b.head(f"calf_{s[0]}")) for s in SIDES}
        self.working = spec.working_leg
        self.free = "right" if self.working == "left" else "left"
        # Contact between the upper back and its support, as a body point in rest coordinates.
        # On the floor the body rolls up onto the top of the shoulders: pivot at the neck's base,
        # so the neck and head never sink into the floor however high the hips go.
        level = b.head("neck_01")[2] if spec.on_floor else b.head("spine_03")[2] + 0.12
        band = np.flatnonzero(np.abs(b.rest[:, 2] - level) < 0.02)
        back = b.rest[band[np.argmax(b.rest[band, 1])]]
        self.contact_rest = np.array([0.0, back[1], back[2]])
        self.support = np.array([0.0, 0.0, 0.0 if spec.on_floor else BENCH_HEIGHT])
        self.foot_z = (BOX_HEIGHT if "feet_elevated" in spec.variant else 0.0) + ANKLE_HEIGHT
        self.order = self._topological(b)
        self.ankles = self._place_ankles()
        self.rest_phi, self.rest_drop = self._solve_rest()

    @staticmethod
    def _topological(b: Body) -> list[str]:
        order: list[str] = []
        pending = list(b.bones)
        while pending:
            for name in list(pending):
                parent = b.parents[name]
                if not parent or parent in order:
                    order.append(name)
                    pending.remove(name)
        return order

    # geometry of the trunk for a pitch
    def mid_hip(self, phi: float, drop: float = 0.0) -> np.ndarray:
        support = self.support - np.array([0.0, 0, drop])
        return support - trunk_rotation(phi) @ (self.contact_rest - self.mid_hip_rest)

    def mid_shoulder(self, phi: float, drop: float = 0.0) -> np.ndarray:
        return self.mid_hip(phi, drop) + trunk_rotation(phi) @ (self.mid_shoulder_rest - self.mid_hip_rest)

    def pelvis_point(self, mid_hip: np.ndarray, rotation: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """A point fixed in the pelvis (given in rest coordinates), posed."""
        return mid_hip + rotation @ (rest - self.mid_hip_rest)

    def hip_joint(self, phi: float, side: str, roll_deg: float = 0.0, drop: float = 0.0) -> np.ndarray:
        rest = self.body.head(f"thigh_{side[0]}")
        return self.pelvis_point(self.mid_hip(phi, drop), self.pelvis_rotation(phi, roll_deg), rest)

    def hip_centre(self, phi: float, side: str, roll_deg: float = 0.0, drop: float = 0.0) -> np.ndarray:
        """The hip point the prescribed angle is measured at: the anatomical joint centre when the
        spec says so (the thigh still turns about the rig's head, the skinning's pivot)."""
        if self.spec.hip_centre == "rig":
            return self.hip_joint(phi, side, roll_deg, drop)
        rest = self.body.hip_centres[side]
        return self.pelvis_point(self.mid_hip(phi, drop), self.pelvis_rotation(phi, roll_deg), rest)

    def pelvis_rotation(self, phi: float, roll_deg: float) -> np.ndarray:
        rt = trunk_rotation(phi)
        long_axis = rt @ np.array([0.0, 0, 1])
        # positive roll drops the free (non-working) side
        sign = 1.0 if self.free == "left" else -1.0
        return axis_angle(long_axis, sign * np.radians(roll_deg)) @ rt

    def _bisect(self, f, lo: float, hi: float, target: float) -> float:
        flo = f(lo) - target
        for _ in range(50):
            mid = (lo + hi) / 2
            fm = f(mid) - target
            if (fm > 0) == (flo > 0):
                lo, flo = mid, fm
            else:
                hi = mid
        return (lo + hi) / 2

    def _place_ankles(self) -> dict[str, np.ndarray]:
        """Feet hip-width apart, placed so the shins are vertical at a straight-line lockout."""
        thigh = np.mean(list(self.thigh_len.values()))
        shin = np.mean(list(self.shin_len.values()))

        def knee_height(phi: float) -> float:
            s, h = self.mid_shoulder(phi), self.mid_hip(phi)
            return float((h + thigh * unit(h - s))[2])

        phi_top = self._bisect(knee_height, np.radians(-40), np.radians(70), self.foot_z + shin)
        s, h = self.mid_shoulder(phi_top), self.mid_hip(phi_top)
        knee_x = float((h + thigh * unit(h - s))[0])
        ankles = {}
        frog = self.spec.variant == "frog_pump"
        for side in SIDES:
            y = self.body.head(f"thigh_{side[0]}")[0] * 1.25  # rest +x (left) -> world +y
            if frog:
                y = np.sign(y) * FROG_ANKLE_HALF_GAP
            ankles[side] = np.array([knee_x, y, self.foot_z])
        if self.spec.variant == "b_stance_hip_thrust":
            ankles[self.free] = ankles[self.free] + np.array([0.20, 0, 0.02])
        return ankles

    def _solve_rest(self) -> tuple[float, float]:
        """Pitch (and drop of the back's support) with the hips on the floor: the set-up position.

        On a bench the lifter sits against its front face, so the support drops until the hips
        reach the floor at a steep trunk."""
        lowest = np.radians(-55)
        if float(self.mid_hip(lowest)[2]) <= HIP_CLEARANCE:
            phi = self._bisect(lambda p: float(self.mid_hip(p)[2]), lowest, np.radians(40), HIP_CLEARANCE)
            return phi, 0.0
        return lowest, float(self.mid_hip(lowest)[2]) - HIP_CLEARANCE

    def sagittal_angle(self, phi: float, drop: float = 0.0, cave: float = 0.0, roll: float = 0.0) -> float:
        """The prescribed angle: shoulder-hip-knee of the working leg(s) in the trunk's sagittal
        plane, with the pelvis rolled and the knees caved as the faults put them."""
        s = self.mid_shoulder(phi, drop)
        left_axis = trunk_rotation(phi) @ np.array([1.0, 0, 0])
        angles = [
            signed_hip_angle(
                s,
                self.hip_centre(phi, side, roll, drop),
                self._knee(phi, side, self.ankles[side], roll, cave, drop),
                left_axis,
            )
            for side in self._planted_sides()
        ]
        return float(np.mean(angles))

    def _planted_sides(self) -> tuple[str, ...]:
        """The legs whose hip angle is prescribed: the working one in single-leg and B-stance."""
        one = self.spec.single_leg or self.spec.variant == "b_stance_hip_thrust"
        return (self.working,) if one else SIDES

    def _knee(
        self, phi: float, side: str, ankle: np.ndarray, roll: float, cave: float, drop: float = 0.0
    ) -> np.ndarray:
        hip = self.hip_joint(phi, side, roll, drop)
        pole = np.array([0.3, 0, 1.0])
        inward = cave - self.spec.knee_out_deg  # knees out (a frog pump, a wide bridge) is negative
        if inward:
            # knees collapse toward the midline: tilt the pole medially
            # about the hip->ankle axis (toward the feet, +x), +angle turns up (+z) toward -y
            sign = 1.0 if side == "left" else -1.0
            pole = axis_angle(ankle - hip, sign * np.radians(inward)) @ pole
        return two_bone_ik(hip, ankle, self.thigh_len[side], self.shin_len[side], pole)

    def solve_phi(self, theta: float, cave: float = 0.0, roll: float = 0.0) -> float:
        """Trunk pitch that shows the prescribed angle (with pelvis and knees as the faults put them)."""
        lo, hi = np.radians(-75), np.radians(75)
        return self._bisect(lambda p: self.sagittal_angle(p, cave=cave, roll=roll), lo, hi, theta)

    def extended_ankle(self, phi: float, side: str, drop: float) -> np.ndarray:
        """Where the ankle lies with the leg straight along the floor (start of the set-up)."""
        hip = self.hip_joint(phi, side, 0.0, drop)
        reach = 0.985 * (self.thigh_len[side] + self.shin_len[side])
        dz = ANKLE_HEIGHT - hip[2]
        dx = np.sqrt(max(reach**2 - dz**2, 0.0))
        return np.array([hip[0] + dx, self.ankles[side][1], ANKLE_HEIGHT])

    def setup_pose(self, setup: float, first_bottom_phi: float) -> Pose:
        """The lead-in, setup in [0, 1): legs out -> feet slide in -> free leg rises -> into rep 1."""
        into = float(min_jerk(np.array((setup - 0.85) / 0.15)))
        phi = (1 - into) * self.rest_phi + into * first_bottom_phi
        return self.pose(phi, 0.0, 0.0, setup, (1 - into) * self.rest_drop)

    def pose(self, phi: float, roll: float, cave: float, setup: float = np.nan, drop: float = 0.0) -> Pose:
        """setup in [0, 1): lying with legs out -> feet sliding in -> free leg rising; NaN = ready."""
        b = self.body
        rt = trunk_rotation(phi)
        rp = self.pelvis_rotation(phi, roll)
        lateral = np.array([0.0, 1, 0])
        rot: dict[str, np.ndarray] = {}
        for name in ("Root", "pelvis"):
            rot[name] = rp
        rot["spine_01"] = self.pelvis_rotation(phi, roll / 2)
        for name in ("spine_02", "spine_03", "clavicle_l", "clavicle_r"):
            rot[name] = rt
        # chin toward the chest; on the floor the neck and head also undo the trunk's pitch, so
        # the head keeps lying on the floor while the hips rise
        level = phi if self.spec.on_floor else 0.0
        rot["neck_01"] = axis_angle(lateral, level + np.radians(6)) @ rt
        rot["head"] = axis_angle(lateral, level + np.radians(12)) @ rt

        slide = 1.0 if np.isnan(setup) else float(min_jerk(np.array((setup - 0.3) / 0.4)))
        raise_free = 1.0 if np.isnan(setup) else float(min_jerk(np.array((setup - 0.75) / 0.2)))
        joints: dict[str, np.ndarray] = {}
        for side in SIDES:
            s = side[0]
            hip = self.hip_joint(phi, side, roll, drop)
            stretched = self.extended_ankle(self.rest_phi, side, self.rest_drop)
            ankle = (1 - slide) * stretched + slide * self.ankles[side]
            knee = self._knee(phi, side, ankle, roll, cave, drop)
            thigh_dir, shin_dir = unit(knee - hip), unit(ankle - knee)
            foot_dir = np.array([1.0, 0, -0.45])
            if self.spec.variant == "frog_pump":  # soles together: toes forward and turned out
                foot_dir = np.array([1.0, 0.45 * (1.0 if side == "left" else -1.0), -0.25])
            if self.spec.variant == "b_stance_hip_thrust" and side == self.free:
                foot_dir = np.array([1.0, 0, 0.55])
            if self.spec.single_leg and side == self.free and raise_free > 0:
                if "hip_thrust" in self.spec.variant:  # leg to the ceiling
                    up = unit(np.array([0.25, 0, 1.0]))
                    raised = (up, up, unit(np.array([-1.0, 0, 0.35])))
                else:  # leg straight, in line with the working thigh
                    work_knee = self._knee(phi, self.working, self.ankles[self.working], roll, 0, drop)
                    along = unit(work_knee - self.hip_joint(phi, self.working, roll, drop))
                    raised = (along, along, unit(np.array([0.2, 0, 1.0])))
                thigh_dir = unit((1 - raise_free) * thigh_dir + raise_free * raised[0])
                shin_dir = unit((1 - raise_free) * shin_dir + raise_free * raised[1])
                foot_dir = unit((1 - raise_free) * unit(foot_dir) + raise_free * raised[2])
            rot[f"thigh_{s}"] = self._aim(rp, f"thigh_{s}", thigh_dir)
            rot[f"calf_{s}"] = self._aim(rot[f"thigh_{s}"], f"calf_{s}", shin_dir)
            rot[f"foot_{s}"] = self._aim(rot[f"calf_{s}"], f"foot_{s}", unit(foot_dir))
            # arms: along the floor beside the body, or spread on the bench
            out = 1.0 if side == "left" else -1.0
            if self.spec.on_floor:
                ua, la = unit(np.array([1.0, 0.35 * out, -0.05])), unit(np.array([1.0, 0.2 * out, 0.0]))
            else:
                ua, la = unit(np.array([-0.25, out, -0.25])), unit(np.array([-0.8, 0.5 * out, 0.05]))
            rot[f"upperarm_{s}"] = self._aim(rt, f"upperarm_{s}", ua)
            rot[f"lowerarm_{s}"] = self._aim(rot[f"upperarm_{s}"], f"lowerarm_{s}", la)
        for name in b.bones:
            if name not in rot:
                rot[name] = rot[self._driver(name)]

        heads: dict[str, np.ndarray] = {}
        mid_hip = self.mid_hip(phi, drop)
        for name in self.order:
            parent = b.parents[name]
            if not parent or name == "pelvis":
                heads[name] = mid_hip + rp @ (b.head(name) - self.mid_hip_rest)
            else:
                heads[name] = heads[parent] + rot[parent] @ (b.head(name) - b.head(parent))
        for side in SIDES:
            s = side[0]
            joints[f"{side}_shoulder"] = heads[f"upperarm_{s}"]
            joints[f"{side}_elbow"] = heads[f"lowerarm_{s}"]
            joints[f"{side}_wrist"] = heads[f"hand_{s}"]
            joints[f"{side}_hip_rig"] = heads[f"thigh_{s}"]
            joints[f"{side}_hip_anatomical"] = self.pelvis_point(mid_hip, rp, b.hip_centres[side])
            posed_on = "rig" if self.spec.hip_centre == "rig" else "anatomical"
            joints[f"{side}_hip"] = joints[f"{side}_hip_{posed_on}"]
            joints[f"{side}_knee"] = heads[f"calf_{s}"]
            joints[f"{side}_ankle"] = heads[f"foot_{s}"]
        return Pose(rot, heads, joints, roll)

    def _aim(self, carrier: np.ndarray, bone: str, direction: np.ndarray) -> np.ndarray:
        """Rotation of a bone carried by its parent's rotation, then swung to point along direction."""
        rest = unit(self.body.tail(bone) - self.body.head(bone))
        return swing(carrier @ rest, direction) @ carrier

    def _driver(self, bone: str) -> str:
        if bone.startswith(("thumb", "index", "middle", "ring", "pinky")):
            return f"hand_{bone[-1]}"
        if bone.startswith("ball"):
            return f"foot_{bone[-1]}"
        return "pelvis"


def skin(body: Body, pose: Pose) -> np.ndarray:
    """Linear blend skinning of the rest mesh into the pose."""
    out = np.zeros_like(body.rest)
    for j, name in enumerate(body.bones):
        w = body.weights[:, j]
        idx = np.flatnonzero(w > 0)
        if len(idx) == 0:
            continue
        local = body.rest[idx] - body.heads[j]
        out[idx] += w[idx, None] * (local @ pose.rotations[name].T + pose.heads[name])
    return out
