"""The setup check before a set: what the lifter should fix, and when counting starts.

Per processed frame it says what stops a good reading (nobody seen, part of the body off the
picture, standing or lying with straight legs, too dark, the wrong camera angle for the variant)
and arms counting once the lifter has been in the start position (the shoulder, hip, knee and
ankle of one side in the picture, knees bent) for `hold_s` without a break. Counting starts
from the first frame of that stretch, so a lifter who starts the first rep straight away still
has it counted; what came before (walking in, lying down, adjusting the camera) never is.
The camera-angle and lighting advice does not hold counting back: a lifter who cannot move the
camera still gets reps, tempo and whatever that view can measure.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from formcheck import kinematics as kin
from formcheck.track import Landmark

MIN_VISIBILITY = 0.3  # the analysis' own gate (profile signal.min_visibility)
STRAIGHT_KNEE_DEG = 155.0  # the rep segmenter's straight-knee limit: lying flat or standing
DARK_LUMA = 45.0  # mean brightness (0-255) below which the model starts to miss people
BREAK_S = 0.25  # a dropout shorter than this does not break the start position (analysis max_gap_s)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601 weights of R, G, B
VIEW_WINDOW = 30  # frames whose proportions decide the camera angle
PARTS = {  # what the lifter is told is out of the picture, and the landmarks that show it
    "head": (Landmark.NOSE,),
    "shoulders": (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    "hips": (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    "knees": (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
    "feet": (Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE),
}
NEEDED_PARTS = ("shoulders", "hips", "knees", "feet")  # the measured chain; the head is advice only
SINGULAR_PARTS = ("head",)  # "your head is", but "your feet are"


@dataclass(frozen=True)
class Advice:
    code: str  # no_person, out_of_frame, straight_legs, too_dark, turn_side_on, face_camera
    text: str
    blocking: bool  # counting cannot start while it holds


@dataclass(frozen=True)
class SetupStatus:
    advice: tuple[Advice, ...]
    in_position: bool
    hold_progress: float  # 0..1 of the hold that arms counting
    armed: bool
    arm_index: int | None  # first frame of the counted set
    arm_t: float | None
    view: str | None


def view_needed(variant: str) -> str:
    """'front' when the variant's own check needs the camera at the feet (a band's knee cave),
    else 'side' (the hip angle, lockout and depth are read side-on)."""
    return "front" if "banded" in variant else "side"


def brightness(image: np.ndarray) -> float:
    """Mean luma of an RGB frame, from every 8th pixel (plenty for 'too dark', and ~0.1 ms)."""
    sample = image[::8, ::8].astype(np.float32)
    return float((sample @ LUMA).mean())


class SetupCheck:
    """Feed it every frame (row None when no pose was found); read `status`."""

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        variant: str,
        view_cfg: kin.ViewConfig,
        hold_s: float = 1.0,
        mirrored: bool = True,
    ) -> None:
        self.width, self.height = width, height
        self.fps = fps
        self.need = view_needed(variant)
        self.view_cfg = view_cfg
        self.hold_s = hold_s
        self.mirrored = mirrored
        self._recent: collections.deque[np.ndarray] = collections.deque(maxlen=VIEW_WINDOW)
        self._stretch_start: tuple[int, float] | None = None  # first frame of the current in-position run
        self._last_ok_t: float | None = None
        self._bad_since: float | None = None  # first frame seen out of position since the last in it
        self.status = SetupStatus((), False, 0.0, False, None, None, None)

    def restart(self) -> None:
        """A new set: counting waits for a new hold of the start position."""
        self._stretch_start = self._last_ok_t = self._bad_since = None
        self.status = SetupStatus(self.status.advice, False, 0.0, False, None, None, self.status.view)

    def update(self, index: int, t: float, row: np.ndarray | None, luma: float) -> SetupStatus:
        advice: list[Advice] = []
        if luma < DARK_LUMA:
            advice.append(Advice("too_dark", "Too dark: turn on a light or face a window", row is None))
        if row is None:
            advice.append(Advice("no_person", "Nobody seen: get into the picture", True))
        else:
            self._recent.append(row)
            advice += self._body_advice(row)
        view = self._view() if row is not None else self.status.view
        view_advice = self._view_advice(view)
        if view_advice is not None:
            advice.append(view_advice)
        in_position = row is not None and not any(a.blocking for a in advice)
        progress = self._track_position(index, t, in_position)
        armed = self.status.armed or progress >= 1.0
        arm_index, arm_t = self.status.arm_index, self.status.arm_t
        if armed and arm_index is None and self._stretch_start is not None:
            arm_index, arm_t = self._stretch_start
        self.status = SetupStatus(tuple(advice), in_position, progress, armed, arm_index, arm_t, view)
        return self.status

    def _track_position(self, index: int, t: float, ok: bool) -> float:
        """Progress of the current in-position run; a dropout under BREAK_S does not reset it.
        Only frames seen out of position break it: frames never seen (dropped by a busy machine
        before the pose model) say nothing, so they do not."""
        if ok:
            if self._stretch_start is None or self._last_ok_t is None:
                self._stretch_start = (index, t)
            self._last_ok_t, self._bad_since = t, None
        else:
            self._bad_since = t if self._bad_since is None else self._bad_since
            if self._last_ok_t is None or t - self._bad_since >= BREAK_S:
                self._stretch_start = None
        if self._stretch_start is None or self._last_ok_t is None:
            return 0.0
        return min(1.0, (self._last_ok_t - self._stretch_start[1] + 1.0 / self.fps) / self.hold_s)

    def _body_advice(self, row: np.ndarray) -> list[Advice]:
        out = []
        missing = [part for part, idx in PARTS.items() if not self._part_seen(row, idx)]
        needed = [p for p in missing if p in NEEDED_PARTS]
        if missing:
            where = self._edges(row, [i for p in missing for i in PARTS[p]])
            text = f"Your {_join(missing)} {_be(missing)} out of the picture"
            text += f" ({where})" if where else ""
            text += ": move back or turn the camera so your whole body fits"
            out.append(Advice("out_of_frame", text, bool(needed)))
        if not needed and self._knees_straight(row):
            out.append(Advice("straight_legs", "Get into your start position: lie back, knees bent", True))
        return out

    def _part_seen(self, row: np.ndarray, idx: tuple[int, ...]) -> bool:
        """At least one landmark of the part inside the picture and seen well enough."""
        pts = row[list(idx)]
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < self.width) & (pts[:, 1] >= 0) & (pts[:, 1] < self.height)
        return bool((inside & (pts[:, 6] >= MIN_VISIBILITY)).any())

    def _edges(self, row: np.ndarray, idx: list[int]) -> str:
        """Which edges of the screen (as the lifter sees it, mirrored) the missing parts are past."""
        x, y = row[idx, 0], row[idx, 1]
        left, right = "left", "right"
        if self.mirrored:
            left, right = right, left
        beyond = {left: x < 0, right: x >= self.width, "top": y < 0, "bottom": y >= self.height}
        edges = [name for name, past in beyond.items() if np.any(past)]
        return f"past the {_join(edges)} edge{'s' if len(edges) > 1 else ''}" if edges else ""

    @staticmethod
    def _knees_straight(row: np.ndarray) -> bool:
        knees = []
        for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
            a = kin.knee_angle(row[None, hip, :2], row[None, knee, :2], row[None, ankle, :2])[0]
            if np.isfinite(a):
                knees.append(a)
        # the planted leg bends: with one leg raised (single-leg) the other is straight by design
        return bool(knees) and min(knees) >= STRAIGHT_KNEE_DEG

    def _view(self) -> str | None:
        if len(self._recent) < max(3, VIEW_WINDOW // 3):
            return self.status.view
        image = np.stack(list(self._recent))[..., :3]
        return kin.detect_view(image, self.view_cfg).view

    def _view_advice(self, view: str | None) -> Advice | None:
        if view is None:
            return None
        if self.need == "side" and view == "front":
            return Advice(
                "turn_side_on",
                "Turn side-on to the camera: from the feet the hip angle (lockout, depth) cannot be read",
                False,
            )
        if self.need == "front" and view != "front":
            return Advice(
                "face_camera",
                "Face the camera, feet toward it: the knees' path (band) is checked from the front",
                False,
            )
        return None


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _be(parts: list[str]) -> str:
    """The verb that agrees with the parts named: one singular part 'is', anything else 'are'."""
    return "is" if len(parts) == 1 and parts[0] in SINGULAR_PARTS else "are"
