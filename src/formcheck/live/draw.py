"""Text on the live screens: lines written down a box at a given cap height, wrapped to its
width, each line's box kept (tests measure the type in the pictures through them)."""

from __future__ import annotations

import cv2
import numpy as np

from .layout import FONT, Box, line_height, text_scale, text_width, wrap

PANEL_BG = (16, 16, 16)  # near black: white and the cue colours stand out at any distance
WHITE = (255, 255, 255)


def ascii_text(text: str) -> str:
    """The Hershey font has ASCII only."""
    return text.encode("ascii", "replace").decode("ascii")


class Flow:
    """Writes lines down `box`, top to bottom. A line that would not fit above `bottom` is not
    written (the caller orders lines by importance), so nothing is ever drawn off the box."""

    def __init__(self, frame: np.ndarray, box: Box, pad: int) -> None:
        self.frame, self.box, self.pad = frame, box, pad
        self.y = box.y0 + pad
        self.bottom = box.y1 - pad
        self.lines: list[tuple[str, str, Box]] = []  # (name, text, box of its capitals)

    @property
    def width(self) -> int:
        return self.box.w - 2 * self.pad

    def fits(self, cap: float, n: int = 1) -> bool:
        return self.y + line_height(cap) * n - int(cap * 0.6) <= self.bottom

    def text(
        self,
        text: str,
        cap: float,
        colour: tuple[int, int, int],
        name: str = "",
        max_lines: int = 3,
        x: int | None = None,
    ) -> int:
        """Wrapped lines (at most `max_lines`); returns how many were written."""
        scale, thick = text_scale(cap)
        x0 = self.box.x0 + self.pad if x is None else x
        width = self.box.x1 - self.pad - x0
        lines = list(wrap(ascii_text(text), width, scale, thick))
        if len(lines) > max_lines:  # cut: say so rather than stop mid-sentence unmarked
            lines = lines[:max_lines]
            words = lines[-1].split()
            while len(words) > 1 and text_width(" ".join(words) + "...", scale, thick) > width:
                words.pop()
            lines[-1] = " ".join(words) + "..."
        written = 0
        for line in lines:
            if not self.fits(cap):
                break
            base = self.y + int(round(cap))
            cv2.putText(self.frame, line, (x0, base), FONT, scale, colour, thick, cv2.LINE_AA)
            self.lines.append(
                (name, line, Box(x0, base - int(round(cap)), x0 + text_width(line, scale, thick), base))
            )
            self.y += line_height(cap)
            written += 1
        return written

    def gap(self, px: int) -> None:
        self.y += px

    def fill(self, y0: int, y1: int, colour: tuple[int, int, int]) -> None:
        """A solid band across the box (a panel behind lines about to be written)."""
        cv2.rectangle(self.frame, (self.box.x0, y0), (self.box.x1 - 1, y1), colour, -1)

    def named(self, name: str) -> list[Box]:
        return [b for n, _, b in self.lines if n == name]


def blank(width: int, height: int, colour: tuple[int, int, int] = PANEL_BG) -> np.ndarray:
    return np.full((height, width, 3), colour, np.uint8)


def degree_ring(frame: np.ndarray, box: Box, colour: tuple[int, int, int], thick: int) -> None:
    """A small ring after a number (Hershey fonts have no degree sign)."""
    r = max(2, box.h // 5)
    centre = (box.x1 + r + max(2, thick), box.y0 + r)
    cv2.circle(frame, centre, r, colour, max(1, thick // 2 + 1), cv2.LINE_AA)
