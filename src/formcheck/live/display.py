"""The live picture: the mirrored camera image with the annotated clip's overlay (viz: skeleton,
hip-angle gauge with the lockout line, rep counter and phase, fault banner), plus the setup
panel before the set and the current cue. `Window` shows it with OpenCV; headless runs compose
the same picture without showing it (so the measured latency is the same work).
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck import viz
from formcheck.errors import DisplayUnavailable
from formcheck.findings import Fault
from formcheck.frames import resize

from .cues import Cue
from .draw import PANEL_BG, WHITE, Flow, ascii_text, degree_ring
from .layout import (
    CAP_BIG,
    CAP_STATUS,
    CAP_TEXT,
    DEFAULT_SCREEN,
    Box,
    body_box,
    line_height,
    place,
    text_scale,
    wrap,
)
from .screens import REST_GUIDE, WORKING_SETS
from .setup import SetupStatus

CUE_SHOW_S = 3.0
BANNER_SHOW_S = 3.0
WINDOW_TITLE = "formcheck live (n or Space: end the set, q or Esc: finish, f: full screen)"
WINDOWED = 0.85  # of the screen, when full screen is toggled off
CUE_COLOURS = {  # RGB
    "fault": (255, 200, 60),
    "repeat": (215, 215, 215),
    "good": viz.GOOD_COLOUR,
    "better": viz.GOOD_COLOUR,
    "armed": viz.GOOD_COLOUR,
    "setup": (255, 200, 60),
    "note": (215, 215, 215),
}
LOST_COLOUR = (255, 110, 90)
NEAR_WHITE = (215, 215, 215)
BANNER_BG = (120, 12, 12)
STATUS_BG = (0, 0, 0)


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
    lost: str | None = None  # mid-set, the body is out of the picture: what to do about it
    set_number: int = 1
    rest: tuple[int, float] | None = None  # between sets: (the next set's number, seconds rested)


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
    """Composes the window's frames: a canvas of the screen's size with the camera picture scaled
    into it and the panel column beside it (layout computed once). `flow` keeps the last frame's
    lines and their boxes."""

    def __init__(
        self, width: int, height: int, mirror: bool = True, screen: tuple[int, int] = DEFAULT_SCREEN
    ) -> None:
        self.width, self.height, self.mirror = width, height, mirror
        self.place = place(width, height, *screen)
        pic = self.place.picture
        self.pic_lay = viz.Layout.for_size(pic.w, pic.h)
        self.big = screen[1] * CAP_BIG
        self.small = screen[1] * CAP_TEXT
        self.status = screen[1] * CAP_STATUS
        unit = screen[1] / 800.0 * 1.3  # the dial: ~110 px high on an 800 px screen
        self.gauge_lay = viz.Layout(int(round(146 * unit)), int(round(86 * unit)), unit)
        self._gauge_key: tuple | None = None
        self._gauge: viz.FrameData | None = None
        self.flow: Flow | None = None
        self._frame = np.zeros((screen[1], screen[0], 3), np.uint8)  # letterbox bars black
        panel = self.place.panel
        self._panel_bg = np.full((panel.h, panel.w, 3), PANEL_BG, np.uint8)
        self.body: Box | None = None  # the body's box on the canvas, last frame

    def compose(self, image: np.ndarray, row: np.ndarray | None, ov: Overlay) -> np.ndarray:
        """The RGB frame of the screen's size: the picture (mirrored) with the skeleton, and the
        panel. While the body is out of the picture mid-set no skeleton is drawn (it would be a
        guess on no body). The frame is reused by the next call: copy it to keep it."""
        pl = self.place
        # one canvas, reused: only the picture and the panel are painted again (a screen-sized
        # frame a time is costly beside the pose model on two cores)
        frame, pic, panel = self._frame, pl.picture, pl.panel
        frame[panel.y0 : panel.y1, panel.x0 : panel.x1] = self._panel_bg
        view = frame[pic.y0 : pic.y1, pic.x0 : pic.x1]
        # frames.resize: a 1080p camera shrunk to the window costs 1.7 ms, not the area filter's
        # 13 ms, a cost the pose model (~18 ms a frame) shares two cores with
        small = resize(image, pic.w, pic.h)
        if self.mirror:
            cv2.flip(small, 1, dst=view)
        else:
            view[...] = small
        pts = mirrored_points(None if ov.lost else row, self.width, self.mirror)
        viz.draw_skeleton(view, pts, viz.CHAINS.get(ov.side or "", ()), pl.scale, self.pic_lay)
        box = body_box(pts * pl.scale)
        self.body = (
            None if box is None else Box(box.x0 + pic.x0, box.y0 + pic.y0, box.x1 + pic.x0, box.y1 + pic.y0)
        )
        self._panel(frame, ov)
        return frame

    def _panel(self, frame: np.ndarray, ov: Overlay) -> None:
        panel = self.place.panel
        flow = self.flow = Flow(frame, panel, int(self.small * 0.8))
        status_lines = wrap(ascii_text(ov.stats), flow.width, *text_scale(self.status))[:2]
        flow.bottom -= line_height(self.status) * len(status_lines) + flow.pad
        armed = (ov.setup is None or ov.setup.armed) and ov.rest is None
        if ov.rest is not None:
            self._rest(flow, *ov.rest)
            self._setup(flow, ov.setup, title=False)
        elif armed:
            flow.text(f"REP {ov.rep}", self.big * 1.2, WHITE, "rep", 1)
            if ov.set_number > 1:
                flow.text(f"SET {ov.set_number}", self.small, NEAR_WHITE, "set", 1)
            flow.text(ov.phase.upper() or " ", self.big, viz.PHASE_COLOURS.get(ov.phase, WHITE), "phase", 1)
        else:
            self._setup(flow, ov.setup)
        self._gauge_row(frame, flow, ov)
        if ov.lost is not None:
            flow.text("OUT OF THE PICTURE", self.big, LOST_COLOUR, "cue", 2)
            flow.text(ov.lost, self.small, WHITE, "detail", 3)
        elif ov.cue is not None:
            flow.text(ov.cue.text.upper(), self.big, CUE_COLOURS.get(ov.cue.kind, WHITE), "cue", 2)
            if ov.cue.detail:
                flow.text(ov.cue.detail, self.small, WHITE, "detail", 4)
        if armed and ov.banner:
            self._banner(flow, ov.banner)
        self._status(frame, flow, status_lines)

    def _rest(self, flow: Flow, next_set: int, rested_s: float) -> None:
        """Between sets: the rest so far and the set counter, against the guide's guidance."""
        minutes, seconds = divmod(int(rested_s), 60)
        flow.text(f"REST {minutes}:{seconds:02d}", self.big * 1.2, WHITE, "rep", 1)
        lo, hi = WORKING_SETS
        flow.text(f"NEXT: SET {next_set} OF {lo}-{hi}", self.big, CUE_COLOURS["setup"], "phase", 2)
        flow.text(REST_GUIDE, self.small, NEAR_WHITE, "guide", 5)

    def _setup(self, flow: Flow, setup: SetupStatus | None, title: bool = True) -> None:
        """Before the set: what to fix (red: counting waits for it; amber: advice), or the hold
        that arms counting, with its progress bar."""
        if title:
            flow.text("GET SET", self.big, WHITE, "rep", 1)
        for a in setup.advice if setup else ():
            colour = viz.BAD_COLOUR if a.blocking else CUE_COLOURS["setup"]
            flow.text(a.text, self.small, colour, "setup", 3)
        if setup is not None and setup.in_position:
            flow.text("In position: hold it...", self.small, viz.GOOD_COLOUR, "setup", 1)
        if setup is not None:
            x0, y = flow.box.x0 + flow.pad, flow.y
            bar = int(self.small * 0.6)
            done = x0 + int(flow.width * setup.hold_progress)
            cv2.rectangle(flow.frame, (x0, y), (x0 + flow.width, y + bar), (70, 70, 70), -1)
            cv2.rectangle(flow.frame, (x0, y), (max(done, x0), y + bar), viz.GOOD_COLOUR, -1)
            flow.gap(bar + flow.pad)

    def _gauge_row(self, frame: np.ndarray, flow: Flow, ov: Overlay) -> None:
        """The dial on the left, its reading beside it at the headline's size."""
        lay = self.gauge_lay
        x0, y0 = flow.box.x0 + flow.pad, flow.y
        if y0 + lay.height > flow.bottom:
            return
        view = frame[y0 : y0 + lay.height, x0 : x0 + lay.width]
        viz.draw_gauge(view, ov.hip, self._gauge_for(ov.lockout_deg, ov.overextension_deg), lay, number=False)
        reading = f"{ov.hip:.0f}" if np.isfinite(ov.hip) else "--"
        colour = (
            viz.gauge_colour(ov.hip, ov.lockout_deg, ov.overextension_deg)
            if np.isfinite(ov.hip)
            else viz.DIM_COLOUR
        )
        colour = NEAR_WHITE if colour == viz.DIM_COLOUR else colour  # grey is hard to read from afar
        flow.y = y0 + (lay.height - line_height(self.big)) // 2
        if flow.text(reading, self.big, colour, "gauge", 1, x=x0 + lay.width + flow.pad) and reading != "--":
            degree_ring(frame, flow.lines[-1][2], colour, text_scale(self.big)[1])
        flow.y = y0 + lay.height + flow.pad

    def _banner(self, flow: Flow, faults: tuple[Fault, ...]) -> None:
        """The rep's faults on a red band, as many lines as there is room for."""
        y0 = flow.y
        band = Flow(flow.frame, Box(flow.box.x0, y0, flow.box.x1, flow.bottom + flow.pad), flow.pad)
        scale_lines = [wrap(viz.fault_label(f), band.width, *text_scale(self.small))[:3] for f in faults]
        n = sum(len(lines) for lines in scale_lines)
        height = min(flow.bottom - y0, line_height(self.small) * n + 2 * flow.pad)
        if height < line_height(self.small) + flow.pad:
            return
        flow.fill(y0, y0 + height, BANNER_BG)
        band.bottom = y0 + height - flow.pad // 2
        for fault in faults:
            band.text(viz.fault_label(fault), self.small, WHITE, "fault", 3)
        flow.lines += band.lines
        flow.y = y0 + height + flow.pad

    def _status(self, frame: np.ndarray, flow: Flow, lines: tuple[str, ...]) -> None:
        """fps, drops and latency: white on black at the panel's foot."""
        panel = flow.box
        y0 = panel.y1 - line_height(self.status) * len(lines) - flow.pad
        cv2.rectangle(frame, (panel.x0, y0), (panel.x1 - 1, panel.y1 - 1), STATUS_BG, -1)
        foot = Flow(frame, Box(panel.x0, y0, panel.x1, panel.y1), flow.pad // 2)
        foot.y = y0 + flow.pad // 2
        foot.bottom = panel.y1
        for line in lines:
            foot.text(line, self.status, WHITE, "status", 1)
        flow.lines += foot.lines

    def _gauge_for(self, lock: float | None, over: float | None) -> viz.FrameData:
        if self._gauge is None or self._gauge_key != (lock, over):
            self._gauge_key, self._gauge = (lock, over), _gauge_data(lock, over)
        return self._gauge


class Window:
    """An OpenCV window (main thread only) filling the screen, for being read from the bench.
    `show` returns False once the user wants to stop: q or Esc pressed, or the window closed;
    f toggles full screen (the picture is scaled into the window either way)."""

    def __init__(self, title: str = WINDOW_TITLE, screen: tuple[int, int] | None = None) -> None:
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
        self.screen = screen or screen_size() or DEFAULT_SCREEN
        self._fullscreen = False
        self._placed = False
        self.last_key = -1

    def _set_fullscreen(self, on: bool) -> None:
        self._fullscreen = on
        w, h = self.screen
        k = 1.0 if on else WINDOWED
        cv2.resizeWindow(self.title, int(w * k), int(h * k))
        mode = cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, mode)

    def _imshow(self, frame_rgb: np.ndarray) -> None:
        cv2.imshow(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        if not self._placed:  # Qt sizes a window only once it has been shown
            self._placed = True
            cv2.moveWindow(self.title, 0, 0)
            self._set_fullscreen(True)

    def show(self, frame_rgb: np.ndarray) -> bool:
        self._imshow(frame_rgb)
        return self.poll()

    def paint(self, frame_rgb: np.ndarray) -> None:
        """Show a frame before a long wait (the model loading): Qt paints on its event loop."""
        self._imshow(frame_rgb)
        for _ in range(5):
            cv2.waitKey(10)

    def poll(self, wait_ms: int = 1) -> bool:
        key = cv2.waitKey(wait_ms) & 0xFF
        self.last_key = -1 if key == 0xFF else key
        if key in (ord("q"), ord("Q"), 27):
            return False
        if key in (ord("f"), ord("F")):
            self._set_fullscreen(not self._fullscreen)
        return self.visible()

    def visible(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def hold(self, frame_rgb: np.ndarray, timeout_s: float | None = None) -> int:
        """Show a frame until a key is pressed (other than f), the window is closed or the
        timeout passes; the key, or -1."""
        self._imshow(frame_rgb)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while deadline is None or time.monotonic() < deadline:
            open_ = self.poll(50)
            if self.last_key not in (-1, ord("f"), ord("F")):
                return self.last_key
            if not open_:
                return -1
        return -1

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def screen_size() -> tuple[int, int] | None:
    """The X screen's size in pixels (Xlib through ctypes: OpenCV does not say), or None."""
    if not sys.platform.startswith(("linux", "freebsd")) or display_missing():
        return None
    import ctypes  # Xlib only where there is an X display
    import ctypes.util

    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    try:
        x11 = ctypes.CDLL(name)
    except OSError:
        return None
    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    for fn in (x11.XDefaultScreen, x11.XCloseDisplay):
        fn.argtypes = [ctypes.c_void_p]
    for fn in (x11.XDisplayWidth, x11.XDisplayHeight):
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = x11.XDefaultScreen(display)
        w, h = int(x11.XDisplayWidth(display, screen)), int(x11.XDisplayHeight(display, screen))
    finally:
        x11.XCloseDisplay(display)
    return (w, h) if w > 0 and h > 0 else None


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
