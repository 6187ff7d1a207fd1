"""The live picture: the mirrored camera image with the annotated clip's overlay (viz: skeleton,
hip-angle gauge with the lockout line, rep counter and phase, fault banner), plus the setup
panel before the set and the current cue. `Window` shows it with OpenCV; headless runs compose
the same picture without showing it (so the measured latency is the same work).
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck import viz
from formcheck.errors import DisplayUnavailable
from formcheck.findings import Fault

from .cues import Cue
from .setup import SetupStatus

CUE_SHOW_S = 3.0
BANNER_SHOW_S = 3.0
SETUP_WRAP = 52  # characters per line of setup advice (fits 640 px at the overlay font)
WINDOW_SHORT_SIDE = 720  # a small camera picture is shown enlarged up to this
WINDOW_TITLE = "formcheck live (q or Esc: finish, f: full screen)"
CUE_COLOURS = {  # RGB
    "fault": (255, 200, 60),
    "repeat": (200, 200, 200),
    "good": viz.GOOD_COLOUR,
    "better": viz.GOOD_COLOUR,
    "armed": viz.GOOD_COLOUR,
    "setup": (255, 200, 60),
    "note": (200, 200, 200),
}


@dataclass(frozen=True)
class Overlay:
    """Everything drawn on one frame besides the picture and its landmarks."""

    rep: int
    phase: str
    hip: float
    lockout_deg: float | None
    overextension_deg: float | None
    side: str | None
    setup: SetupStatus | None
    cue: Cue | None
    banner: tuple[Fault, ...]
    stats: str


def _gauge_data(lock: float | None, over: float | None) -> viz.FrameData:
    """viz.draw_gauge reads only the limits from its FrameData."""
    empty = np.zeros(0)
    return viz.FrameData(
        points=np.zeros((0, 33, 2), np.float32),
        rep=empty.astype(int),
        phase=empty.astype(np.int8),
        hip=empty,
        active=np.zeros((0, 0), bool),
        faults=(),
        rep_total=0,
        lockout_deg=lock,
        overextension_deg=over,
    )


def mirrored_points(row: np.ndarray | None, width: int, mirror: bool) -> np.ndarray:
    """(33, 2) points to draw, NaN where the model is not sure; x flipped with the picture."""
    if row is None:
        return np.full((33, 2), np.nan, np.float32)
    pts = row[:, :2].astype(np.float32, copy=True)
    pts[row[:, 6] < viz.MIN_VISIBILITY] = np.nan
    if mirror:
        pts[:, 0] = width - 1 - pts[:, 0]
    return pts


class Hud:
    """Composes display frames at one size (layout computed once)."""

    def __init__(self, width: int, height: int, mirror: bool = True) -> None:
        self.width, self.height, self.mirror = width, height, mirror
        self.lay = viz.Layout.for_size(width, height)
        self._gauge_key: tuple | None = None
        self._gauge: viz.FrameData | None = None

    def compose(self, image: np.ndarray, row: np.ndarray | None, ov: Overlay) -> np.ndarray:
        """A new RGB frame: the picture (mirrored) with everything drawn on."""
        frame = cv2.flip(image, 1) if self.mirror else image.copy()
        lay = self.lay
        chain = viz.CHAINS.get(ov.side or "", ())
        viz.draw_skeleton(frame, mirrored_points(row, self.width, self.mirror), chain, 1.0, lay)
        viz.draw_gauge(frame, ov.hip, self._gauge_for(ov.lockout_deg, ov.overextension_deg), lay)
        armed = ov.setup is None or ov.setup.armed
        if armed:
            self._counter(frame, ov.rep, ov.phase)
            self._line(frame, ov.stats, (lay.px(12), lay.px(96)), 0.4, (200, 200, 200))  # under the counter
            viz.draw_banner(frame, list(ov.banner), lay)
        else:
            self._setup_panel(frame, ov.setup)
        if ov.cue is not None:
            self._cue(frame, ov.cue, above=len(ov.banner) if armed else 0)
        return frame

    def _gauge_for(self, lock: float | None, over: float | None) -> viz.FrameData:
        if self._gauge is None or self._gauge_key != (lock, over):
            self._gauge_key, self._gauge = (lock, over), _gauge_data(lock, over)
        return self._gauge

    def _counter(self, frame: np.ndarray, rep: int, phase: str) -> None:
        lay = self.lay
        pad = lay.px(10)
        viz.shade(frame, pad, pad, pad + lay.px(150), pad + lay.px(70))
        self._line(frame, f"REP {rep}", (pad + lay.px(8), pad + lay.px(32)), 0.9, viz.WHITE, 2)
        if phase:
            colour = viz.PHASE_COLOURS.get(phase, viz.WHITE)
            self._line(frame, phase.upper(), (pad + lay.px(8), pad + lay.px(60)), 0.65, colour, 2)

    def _setup_panel(self, frame: np.ndarray, setup: SetupStatus | None) -> None:
        """Before the set: what to fix (red: counting waits for it; amber: advice), or the hold
        that arms counting, with its progress bar."""
        lay = self.lay
        lines: list[tuple[str, tuple[int, int, int]]] = [("GET SET", viz.WHITE)]
        for a in setup.advice if setup else ():
            colour = viz.BAD_COLOUR if a.blocking else CUE_COLOURS["setup"]
            lines += [(part, colour) for part in textwrap.wrap(a.text, SETUP_WRAP)]
        if setup is not None and setup.in_position:
            lines.append(("In position: hold it...", viz.GOOD_COLOUR))
        line_h, x0, y0 = lay.px(22), lay.px(10), lay.px(10)
        width = lay.width - lay.px(180)  # clear of the gauge
        viz.shade(frame, x0, y0, x0 + width + lay.px(16), y0 + line_h * len(lines) + lay.px(22))
        for k, (text, colour) in enumerate(lines):
            self._line(frame, text, (x0 + lay.px(8), y0 + line_h * (k + 1)), 0.5, colour, 1, width)
        if setup is not None:
            y, x = y0 + line_h * len(lines) + lay.px(8), x0 + lay.px(8)
            done = x + int(width * setup.hold_progress)
            cv2.rectangle(frame, (x, y), (max(done, x), y + lay.px(6)), viz.GOOD_COLOUR, -1)

    def _cue(self, frame: np.ndarray, cue: Cue, above: int) -> None:
        lay = self.lay
        y1 = lay.height - lay.px(26) * above - lay.px(24)
        y0 = y1 - lay.px(52)
        viz.shade(frame, 0, y0, lay.width, y1)
        colour = CUE_COLOURS.get(cue.kind, viz.WHITE)
        width = lay.width - lay.px(20)
        self._line(frame, cue.text.upper(), (lay.px(10), y0 + lay.px(24)), 0.75, colour, 2, width)
        if cue.detail:
            self._line(frame, cue.detail, (lay.px(10), y0 + lay.px(45)), 0.45, viz.WHITE, 1, width)

    def _line(
        self,
        frame: np.ndarray,
        text: str,
        org: tuple[int, int],
        scale: float,
        colour: tuple[int, int, int],
        thick: int = 1,
        width: int | None = None,
    ) -> None:
        """One line of text; with `width`, shrunk to fit it (as viz's banner lines are)."""
        text, scale, thick = _ascii(text), scale * self.lay.unit, self.lay.px(thick)
        if width is not None:
            scale = viz.fit_scale(text, width, scale, thick)
        cv2.putText(frame, text, org, viz.FONT, scale, colour, thick, cv2.LINE_AA)


def _ascii(text: str) -> str:
    """The overlay's Hershey font has ASCII only."""
    return text.encode("ascii", "replace").decode("ascii")


class Window:
    """An OpenCV window (main thread only), sized for being read from the bench. `show` returns
    False once the user wants to stop: q or Esc pressed, or the window closed; f toggles full
    screen."""

    def __init__(self, title: str = WINDOW_TITLE) -> None:
        self.title = title
        no_display = display_missing()
        if no_display:
            raise DisplayUnavailable(f"cannot open a window: {no_display}; run with --headless")
        _quiet_qt()
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            why = str(exc).strip().splitlines()[-1] if str(exc).strip() else "OpenCV has no GUI here"
            raise DisplayUnavailable(f"cannot open a window ({why}); run with --headless") from exc
        self._sized = False
        self._fullscreen = False

    def show(self, frame_rgb: np.ndarray) -> bool:
        if not self._sized:  # a webcam's 640x480 is small from a few metres away
            h, w = frame_rgb.shape[:2]
            k = min(1.6, max(1.0, WINDOW_SHORT_SIDE / min(h, w)))
            cv2.resizeWindow(self.title, int(w * k), int(h * k))
            self._sized = True
        cv2.imshow(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        return self.poll()

    def poll(self) -> bool:
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), ord("Q"), 27):
            return False
        if key in (ord("f"), ord("F")):
            self._fullscreen = not self._fullscreen
            mode = cv2.WINDOW_FULLSCREEN if self._fullscreen else cv2.WINDOW_NORMAL
            cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, mode)
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def _quiet_qt() -> None:
    """OpenCV's Qt wheel ships no fonts and says so on every frame: point it at the system's
    (a setting the user made wins)."""
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts"):
        if Path(folder).is_dir():
            os.environ.setdefault("QT_QPA_FONTDIR", folder)
            break


def display_missing() -> str | None:
    """Why no window can open here, or None. OpenCV's Qt aborts the whole process when it cannot
    reach an X display, so it is checked first (Linux/BSD only: other systems have their own)."""
    if not sys.platform.startswith(("linux", "freebsd")):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display (DISPLAY is not set)"
    local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if local and not Path(f"/tmp/.X11-unix/X{local.group(1)}").exists():
        return f"no X server at DISPLAY={display}"
    return None
