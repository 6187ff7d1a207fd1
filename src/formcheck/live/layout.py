"""Where things go on the live screen, and how big: pure geometry and text measures, no drawing.

The window's picture is a canvas the size of the screen. The camera picture is scaled to fit it
beside a panel column (letterboxed, whatever its orientation), so the panels never cover the
lifter; every size is a share of the canvas height, so the type is as readable on a laptop as on
a television from the bench.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
CAP_AT_SCALE_1 = 20.0  # rendered cap height (px) of FONT at scale 1, thick or thin strokes alike
# shares of the canvas height. 1/25 of the screen is read at 3 m (issue 18); 1/21 keeps that
# with the window un-maximised to 85% of the screen
CAP_BIG = 1 / 21  # rep count, phase, the gauge's number, the cue headline
CAP_TEXT = 1 / 36  # the guide's cue, the faults, setup advice
CAP_STATUS = 1 / 48  # fps, dropped frames, latency
PANEL_SHARE = (0.32, 0.5)  # of the canvas width: the panel column's least and most
DEFAULT_SCREEN = (1280, 800)  # headless runs and screens whose size cannot be read


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def inside(self, other: Box) -> bool:
        return other.x0 <= self.x0 <= self.x1 <= other.x1 and other.y0 <= self.y0 <= self.y1 <= other.y1

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


@dataclass(frozen=True)
class Placement:
    """The canvas split into the scaled camera picture and the panel column beside it."""

    width: int
    height: int
    scale: float  # camera pixels -> canvas pixels
    picture: Box
    panel: Box

    @property
    def canvas(self) -> Box:
        return Box(0, 0, self.width, self.height)


def place(src_w: int, src_h: int, width: int, height: int) -> Placement:
    """Fit the picture beside a right-hand panel column: a portrait phone's wide bars become the
    panel; a landscape picture shrinks just enough to leave the column its least width."""
    lo, hi = int(width * PANEL_SHARE[0]), int(width * PANEL_SHARE[1])
    bar = width - int(src_w * min(width / src_w, height / src_h))
    panel_w = min(max(lo, bar), hi)
    room = width - panel_w
    scale = min(room / src_w, height / src_h)
    w, h = max(1, int(src_w * scale)), max(1, int(src_h * scale))
    x0, y0 = (room - w) // 2, (height - h) // 2
    return Placement(width, height, scale, Box(x0, y0, x0 + w, y0 + h), Box(room, 0, width, height))


def text_scale(cap_px: float) -> tuple[float, int]:
    """Font scale and stroke width whose capitals are `cap_px` high."""
    scale = cap_px / CAP_AT_SCALE_1
    return scale, max(1, int(round(scale * 1.5)))


@lru_cache(maxsize=512)
def text_width(text: str, scale: float, thick: int) -> int:
    return int(cv2.getTextSize(text, FONT, scale, thick)[0][0])


@lru_cache(maxsize=256)
def wrap(text: str, width: int, scale: float, thick: int) -> tuple[str, ...]:
    """Greedy word wrap to `width` pixels at this size (a word longer than the line is cut)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if text_width(trial, scale, thick) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    out = []
    for line in lines:  # a single overlong word: cut it by characters
        while text_width(line, scale, thick) > width and len(line) > 1:
            per = max(1, int(len(line) * width / text_width(line, scale, thick)))
            part = textwrap.wrap(line, per, break_long_words=True)
            out.append(part[0])
            line = line[len(part[0]) :].strip()
        out.append(line)
    return tuple(out)


def line_height(cap_px: float) -> int:
    """Baseline to baseline: a cap height and a half of room."""
    return int(round(cap_px * 1.6))


def body_box(points: np.ndarray) -> Box | None:
    """The bounding box of the drawn landmarks ((33, 2), NaN where unsure), or None."""
    ok = np.isfinite(points).all(axis=1)
    if not ok.any():
        return None
    lo, hi = points[ok].min(axis=0), points[ok].max(axis=0)
    return Box(int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0])) + 1, int(np.ceil(hi[1])) + 1)
