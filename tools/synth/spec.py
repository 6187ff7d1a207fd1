"""Clip specs: what to render, as plain data (TOML files or CLI overrides)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

VARIANTS = (
    "hip_thrust",  # upper back on a bench, both feet planted
    "glute_bridge",  # shoulders on the floor
    "single_leg_hip_thrust",  # bench, free leg extended to the ceiling
    "single_leg_glute_bridge",  # floor, free leg held straight in line with the working thigh
    "b_stance_hip_thrust",  # bench, assisting foot forward on its heel
    "feet_elevated_glute_bridge",  # shoulders on the floor, feet on a box
    "frog_pump",  # shoulders on the floor, soles together near the glutes, knees dropped out wide
)
FAULTS = (
    "short_lockout",  # top hip angle short of the line by `degrees`
    "overextension",  # top hip angle past the line by `degrees`
    "pelvic_roll",  # pelvis rolls/drops toward the free side by `degrees` at the top
    "rushed_descent",  # lowering takes `seconds` (default 0.35 s)
    "no_top_pause",  # no hold at the top
    "inconsistent_depth",  # bottom angle varies by +-`degrees` across reps
    "knee_cave",  # knees collapse inward by `degrees` at the top (banded)
    "head_back",  # head thrown back (extended against the trunk) by `degrees` at the top
    "load_drift",  # loaded: the bar in the hands slides `cm` along the thighs at the top (+ knees, - belly)
    "leaning_back",  # the upper back slides `cm` head-ward over the bench at the top (mistakes.py)
)
VIEWS = ("side", "front", "oblique")


@dataclass
class Fault:
    type: str
    degrees: float = 0.0
    seconds: float = 0.0
    cm: float = 0.0
    reps: list[int] = field(default_factory=list)  # 1-based; empty = every rep

    def applies(self, rep: int) -> bool:
        return not self.reps or rep in self.reps


@dataclass
class Spec:
    name: str = "clip"
    description: str = ""
    variant: str = "hip_thrust"
    reps: int = 4
    bottom_deg: float | None = None  # default per variant
    top_deg: float = 180.0
    up_s: float = 0.9
    top_pause_s: float = 0.6
    # a wobbling hold: the hips sag by up to this many degrees and squeeze back up, in waves of
    # hold_wobble_period_s, while the hold stays one phase in the truth (0 = a still hold)
    hold_wobble_deg: float = 0.0
    hold_wobble_period_s: float = 0.8
    down_s: float = 1.6
    bottom_pause_s: float = 0.25
    tempo_jitter: float = 0.12  # relative spread of each phase between reps
    lead_in_s: float = 2.0  # set-up before rep 1 (lying with legs out, then feet planted)
    # still at the first bottom between the set-up and rep 1's drive, as a lifter settles before
    # the first rep (0: the set-up's last move runs straight into the drive)
    settle_s: float = 0.0
    lead_out_s: float = 0.6
    working_leg: str = "left"  # single-leg and B-stance
    banded: bool = False
    # the knees fall out: each leg's plane turns outward about its hip-ankle line by this many
    # degrees (None: 50 for a frog pump, 0 otherwise; a bridge "with the knees a little wide" 10-20)
    knee_out_deg: float | None = None
    loaded: bool = False  # hands hold a bar over the hip crease (mistakes.py)
    # the hip point the prescribed angles are posed on: "harrington" (the anatomical joint centre,
    # body.harrington_hip_centres) or "rig" (the rig's thigh head, 4-5 cm deeper: every clip
    # rendered before the anatomical centre was added)
    hip_centre: str = "rig"
    faults: list[Fault] = field(default_factory=list)
    view: str = "side"
    yaw_deg: float = 0.0  # oblique: angle from the side view toward the feet
    camera_height_m: float = 0.6
    near_side: str = "right"  # side view: which side faces the camera
    sex: float = 0.0  # 0 female .. 1 male
    height_m: float = 1.70
    mass_kg: float = 65.0
    skin: tuple[float, float, float] = (0.80, 0.60, 0.48)
    shirt: tuple[float, float, float] = (0.10, 0.25, 0.60)
    shorts: tuple[float, float, float] = (0.08, 0.08, 0.09)
    background: tuple[float, float, float] = (0.75, 0.74, 0.70)
    floor: tuple[float, float, float] = (0.35, 0.30, 0.26)
    fps: float = 24.0
    width: int = 512
    height: int = 288
    samples: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        self.faults = [f if isinstance(f, Fault) else Fault(**f) for f in self.faults]
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {', '.join(VARIANTS)}")
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}; choose from {', '.join(VIEWS)}")
        for f in self.faults:
            if f.type not in FAULTS:
                raise ValueError(f"unknown fault {f.type!r}; choose from {', '.join(FAULTS)}")
        if self.working_leg not in ("left", "right") or self.near_side not in ("left", "right"):
            raise ValueError("working_leg and near_side are 'left' or 'right'")
        if self.hip_centre not in ("rig", "harrington"):
            raise ValueError("hip_centre is 'harrington' (anatomical) or 'rig' (the rig's thigh head)")
        if self.knee_out_deg is None:
            self.knee_out_deg = 50.0 if self.variant == "frog_pump" else 0.0
        if self.bottom_deg is None:
            self.bottom_deg = 135.0 if self.on_floor else 100.0
        for name in ("skin", "shirt", "shorts", "background", "floor"):
            setattr(self, name, tuple(float(c) for c in getattr(self, name)))

    @property
    def on_floor(self) -> bool:
        return "glute_bridge" in self.variant or self.variant == "frog_pump"

    @property
    def single_leg(self) -> bool:
        return self.variant.startswith("single_leg")

    def fault(self, kind: str, rep: int) -> Fault | None:
        return next((f for f in self.faults if f.type == kind and f.applies(rep)), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_spec(path: str | Path, **overrides: Any) -> Spec:
    data = tomllib.loads(Path(path).read_text())
    known = {f.name for f in fields(Spec)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    data.setdefault("name", Path(path).stem)
    return Spec(**data)
