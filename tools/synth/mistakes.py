"""The guide's posture mistakes, rendered with exact truth.

- head_back: "Your chin should be tucked, and your gaze fixed forward" -- the head is thrown back
  (extended against the trunk) by `degrees` at the top instead of the clean pose's tucked chin.
- load_drift: "Keep the load close" / "Letting the load drift away from the body" -- with
  `loaded = true` the hands hold a bar over the hip crease; the bar and hands slide `cm` along
  the thighs at the top (+ toward the knees, - toward the belly).
- leaning_back: "Finishing the rep by leaning back instead of standing tall" -- the upper back
  slides `cm` head-ward over the bench at the top (feet planted: the knees open, the shins tip
  toward the bench) while the hip angle still reaches its prescribed value.

Each ramps in with the rep's progress from bottom to top, like the other gradual faults. This
module only adds to motion.Rig (a subclass), so the base motion stays as it was.
"""

from __future__ import annotations

import numpy as np
from body import Body
from motion import SIDES, Pose, Rig, Schedule, axis_angle, trunk_rotation, two_bone_ik, unit
from spec import Spec

BAR_RADIUS = 0.016
BAR_HALF_LENGTH = 0.55
GRIP_HALF_WIDTH = 0.24  # hands outside the hips
HEAD_BACK_NECK_SHARE = 0.4  # of the extension, taken by the neck; the head takes the rest on top


def ramps(spec: Spec, sched: Schedule, bottom_deg: float) -> dict[str, np.ndarray]:
    """Per frame: head extension (deg), load drift (cm) and back slide (cm), ramped by progress."""
    finite = np.where(np.isnan(sched.theta), bottom_deg, sched.theta)
    progress = np.clip((finite - bottom_deg) / max(spec.top_deg - bottom_deg, 1e-6), 0, 1)
    out = {}
    for kind, field, key in (("head_back", "degrees", "head_back_deg"), ("load_drift", "cm", "load_drift_cm"),
                             ("leaning_back", "cm", "back_slide_cm")):
        amount = np.array([getattr(f, field) if (r and (f := spec.fault(kind, int(r)))) else 0.0
                           for r in sched.rep])
        out[key] = amount * progress
    return out


class PostureRig(Rig):
    """Rig with a slide of the upper back along the bench, the head's pitch and hands on a bar."""

    def __init__(self, body: Body, spec: Spec):
        self.slide = 0.0  # metres the contact point moves toward the hips (the back slides head-ward)
        super().__init__(body, spec)
        b = body
        pelvic = (b.weights[:, b.bone("pelvis")] > 0.5) & (np.abs(b.rest[:, 0]) < 0.12)
        near = pelvic & (np.abs(b.rest[:, 2] - self.mid_hip_rest[2]) < 0.03)
        front_y = float(b.rest[near, 1].min()) if near.any() else self.mid_hip_rest[1] - 0.12
        # the bar's centre over the hip crease, in rest coordinates (the body faces -y at rest)
        self.crease_rest = np.array([0.0, front_y, self.mid_hip_rest[2]])
        self.bar_rest = self.crease_rest - np.array([0.0, BAR_RADIUS + 0.005, 0.0])
        self.arm_len = {s: (np.linalg.norm(b.tail(f"upperarm_{s[0]}") - b.head(f"upperarm_{s[0]}")),
                            np.linalg.norm(b.tail(f"lowerarm_{s[0]}") - b.head(f"lowerarm_{s[0]}")))
                        for s in SIDES}

    def mid_hip(self, phi: float, drop: float = 0.0) -> np.ndarray:
        support = self.support - np.array([0.0, 0, drop])
        contact = self.contact_rest - np.array([0.0, 0, self.slide])
        return support - trunk_rotation(phi) @ (contact - self.mid_hip_rest)

    def crease(self, pose: Pose) -> np.ndarray:
        return pose.heads["pelvis"] + pose.rotations["pelvis"] @ (self.crease_rest - self.body.head("pelvis"))

    def thigh_axis(self, pose: Pose) -> np.ndarray:
        j = pose.joints
        return unit(j["left_knee"] + j["right_knee"] - j["left_hip"] - j["right_hip"])

    def bar_centre(self, pose: Pose, drift_m: float) -> np.ndarray:
        base = pose.heads["pelvis"] + pose.rotations["pelvis"] @ (self.bar_rest - self.body.head("pelvis"))
        return base + drift_m * self.thigh_axis(pose)

    def posture(self, pose: Pose, head_back_deg: float, drift_m: float) -> tuple[Pose, np.ndarray | None]:
        """The pose with the head pitched back and (loaded) the hands on the bar; the bar's ends."""
        rot = dict(pose.rotations)
        lateral = np.array([0.0, 1, 0])
        ext = np.radians(head_back_deg)
        rot["neck_01"] = axis_angle(lateral, -HEAD_BACK_NECK_SHARE * ext) @ rot["neck_01"]
        rot["head"] = axis_angle(lateral, -ext) @ rot["head"]
        bar = None
        if self.spec.loaded:
            centre = self.bar_centre(pose, drift_m)
            across = unit(pose.joints["left_hip"] - pose.joints["right_hip"])
            up = unit(np.cross(self.thigh_axis(pose), across))  # away from the body's front
            if up[2] < 0:
                up = -up
            head_dir = -self.thigh_axis(pose)
            reached = []
            for side in SIDES:
                s, out = side[0], (1.0 if side == "left" else -1.0)
                grip = centre + out * GRIP_HALF_WIDTH * across
                shoulder = pose.heads[f"upperarm_{s}"]
                pole = shoulder + out * 0.6 * across + 0.5 * up + 0.3 * head_dir
                a, b = self.arm_len[side]
                elbow = two_bone_ik(shoulder, grip, a, b, pole)
                hand = elbow + b * unit(grip - elbow)  # short of the grip when the arm cannot reach
                reached.append(hand - out * GRIP_HALF_WIDTH * across)
                rot[f"upperarm_{s}"] = self._aim(rot["spine_03"], f"upperarm_{s}", unit(elbow - shoulder))
                rot[f"lowerarm_{s}"] = self._aim(rot[f"upperarm_{s}"], f"lowerarm_{s}", unit(hand - elbow))
                rot[f"hand_{s}"] = self._aim(rot[f"lowerarm_{s}"], f"hand_{s}", unit(hand - elbow))
            centre = np.mean(reached, axis=0)  # the bar is where the hands hold it
            bar = np.stack([centre - BAR_HALF_LENGTH * across, centre + BAR_HALF_LENGTH * across])
        for name in self.body.bones:
            if name not in self.DRIVEN and name not in ("Root", "pelvis"):
                rot[name] = rot[self._driver(name)]
        heads = self._forward(rot, pose.heads["pelvis"])
        joints = dict(pose.joints)
        for side in SIDES:
            s = side[0]
            joints[f"{side}_elbow"] = heads[f"lowerarm_{s}"]
            joints[f"{side}_wrist"] = heads[f"hand_{s}"]
            joints[f"{side}_shoulder"] = heads[f"upperarm_{s}"]
        return Pose(rot, heads, joints, pose.pelvis_roll), bar

    DRIVEN = frozenset({"spine_01", "spine_02", "spine_03", "neck_01", "head", "clavicle_l", "clavicle_r",
                        "upperarm_l", "upperarm_r", "lowerarm_l", "lowerarm_r", "hand_l", "hand_r",
                        "thigh_l", "thigh_r", "calf_l", "calf_r", "foot_l", "foot_r"})

    def _forward(self, rot: dict[str, np.ndarray], pelvis_head: np.ndarray) -> dict[str, np.ndarray]:
        b = self.body
        heads: dict[str, np.ndarray] = {}
        for name in self.order:
            parent = b.parents[name]
            if not parent or name == "pelvis":
                heads[name] = pelvis_head + rot["pelvis"] @ (b.head(name) - b.head("pelvis"))
            else:
                heads[name] = heads[parent] + rot[parent] @ (b.head(name) - b.head(parent))
        return heads


def truth_frame(rig: PostureRig, pose: Pose, bar: np.ndarray | None) -> dict[str, float | None]:
    """Measured (from the posed joints) load offset along the thighs from the hip crease, cm."""
    if bar is None:
        return {"load_offset_cm": None}
    offset = (bar.mean(axis=0) - rig.crease(pose)) @ rig.thigh_axis(pose)
    return {"load_offset_cm": round(float(offset * 100), 2)}
