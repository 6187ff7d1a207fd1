"""The live window read from the bench (issue 18): the frame is the screen's size whatever the
camera's orientation, nothing is drawn off it, the panels never cover the lifter, and the type
measured in the pictures is big enough to read at 3 m (cap height >= 1/25 of the screen).

The same frames are shown in a real window under a virtual X display (Xvfb) and screenshotted;
the type is measured again on the screenshot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import in_ci
from synthetic import RepPlan, plan_track

from formcheck.analysis import analyze_track
from formcheck.findings import Fault
from formcheck.live.cues import Cue
from formcheck.live.display import Hud, Overlay
from formcheck.live.draw import PANEL_BG
from formcheck.live.layout import Box
from formcheck.live.screens import loading_screen, set_summary, summary_screen
from formcheck.live.setup import Advice, SetupStatus
from formcheck.profiles import load_profile
from formcheck.report import build_report

SCREENS = [(1280, 800), (1920, 1080)]
SOURCES = {"webcam": (640, 480), "landscape": (1280, 720), "phone": (608, 1080), "portrait": (720, 1280)}
READABLE = 1 / 25  # of the screen height: the cap height read at 3 m
BIG = ("rep", "phase", "gauge", "cue")  # rep count, phase, the gauge's number, the cue headline
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def track():
    """4 reps, the second 28 deg short of the line."""
    plan = RepPlan(reps=4, top_degs=[178.5, 160.0, 178.5, 178.5], down_s=1.5, bottom_s=0.8, lead_s=1.5)
    return plan_track(plan, noise_px=0.5)


def _row(track, i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame i's landmarks (the live row: image x, y, z, world x, y, z, visibility) moved into a
    camera picture of `size`, the body kept inside it."""
    row = np.concatenate([track.image[i], track.world[i], track.visibility[i][:, None]], axis=1)
    row[:, :2] *= min(size[0] / track.width, size[1] / track.height)
    return row


_ANALYSED: dict = {}


def _analysed():
    """4 reps, the second and fourth short of the lockout line: its analysis and report."""
    if not _ANALYSED:
        plan = RepPlan(reps=4, top_degs=[178.5, 160.0, 178.5, 160.0], down_s=1.5, bottom_s=0.8, lead_s=1.5)
        profile = load_profile("hip_thrust")
        analysis = analyze_track(plan_track(plan, noise_px=0.5), profile)
        _ANALYSED.update(analysis=analysis, report=build_report(analysis, profile))
    return _ANALYSED["analysis"], _ANALYSED["report"]


def _faults() -> tuple[Fault, ...]:
    return tuple(_analysed()[0].faults[:2])


def _report():
    return _analysed()[1]


def _overlay(**kw) -> Overlay:
    cue = Cue(
        1.0, "fault", "Finish the lockout", "Squeeze your glutes hard at the top until your hips are in line"
    )
    base = dict(
        rep=12, phase="down", hip=172.0, lockout_deg=180.0, overextension_deg=203.0, side="right",
        setup=None, cue=cue, banner=_faults(), stats="30 fps  dropped 0  latency 41 ms",
    )  # fmt: skip
    base.update(kw)
    return Overlay(**base)


def text_rows(frame: np.ndarray, box: Box, bg: tuple[int, int, int], contrast: int = 100) -> int:
    """The cap height of the line in `box`, measured in the picture: the longest run of rows
    (searched a cap height above and below the box) holding pixels that stand out from `bg`."""
    y0, y1 = max(0, box.y0 - box.h), min(frame.shape[0], box.y1 + box.h // 3)
    region = frame[y0:y1, box.x0 : box.x1].astype(int)
    ink = (np.abs(region - np.array(bg)).max(axis=2) > contrast).any(axis=1)
    best = run = 0
    for on in ink:
        run = run + 1 if on else 0
        best = max(best, run)
    return best


def _check_frame(frame: np.ndarray, hud: Hud, screen: tuple[int, int]) -> dict[str, int]:
    """Nothing off the screen or over the lifter, and the measured cap heights of the big type."""
    w, h = screen
    assert frame.shape == (h, w, 3)
    place, flow = hud.place, hud.flow
    assert place.picture.inside(place.canvas) and place.panel.inside(place.canvas)
    assert not place.picture.overlaps(place.panel)
    if hud.body is not None:  # the whole skeleton is on the picture, so no panel covers it
        assert hud.body.inside(
            Box(place.picture.x0 - 8, place.picture.y0 - 8, place.picture.x1 + 8, place.picture.y1 + 8)
        )
    for name, text, box in flow.lines:
        assert box.inside(place.panel), (name, text, box, place.panel)
    caps = {}
    for name in BIG:
        boxes = flow.named(name)
        assert boxes, f"{name} not drawn"
        caps[name] = min(text_rows(frame, b, PANEL_BG) for b in boxes)
    return caps


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("source", list(SOURCES))
def test_the_live_frame_fits_the_screen_and_its_type_reads_from_the_bench(track, screen, source):
    size = SOURCES[source]
    hud = Hud(*size, mirror=True, screen=screen)
    image = np.full((size[1], size[0], 3), 230, np.uint8)  # light video: the worst case for light text
    frame = hud.compose(image, _row(track, 60, size), _overlay())
    caps = _check_frame(frame, hud, screen)
    for name, cap in caps.items():
        assert cap >= screen[1] * READABLE, (name, cap, screen[1] * READABLE)
        assert cap <= screen[1] * READABLE * 1.6, (name, cap)  # the measure finds one line, not a block
    names = {n for n, _, _ in hud.flow.lines}
    assert {"detail", "fault", "status"} <= names  # the guide's cue, the faults and the status all shown
    status = hud.flow.named("status")[0]
    patch = frame[status.y0 : status.y1, status.x0 : status.x1]
    assert patch.max() >= 250 and patch.min() <= 5  # white on black


def test_a_portrait_phone_clip_on_an_800_px_screen_shows_everything(track):
    hud = Hud(608, 1080, mirror=True, screen=(1280, 800))
    frame = hud.compose(np.full((1080, 608, 3), 128, np.uint8), _row(track, 60, (608, 1080)), _overlay())
    pic = hud.place.picture
    assert pic.h == 800 and pic.w == int(608 * 800 / 1080)  # the whole picture, scaled down
    assert hud.place.panel.w >= 1280 * 0.32  # the letterbox bar is the panel
    _check_frame(frame, hud, (1280, 800))


def test_before_the_set_the_setup_advice_and_between_sets_the_rest_are_shown(track):
    advice = (
        Advice("out_of_frame", "Your feet are out of the picture (past the left edge): move back", True),
    )
    setup = SetupStatus(advice, False, 0.4, False, None, None, "side")
    hud = Hud(640, 480, screen=(1280, 800))
    hud.compose(
        np.zeros((480, 640, 3), np.uint8), _row(track, 10, (640, 480)), _overlay(setup=setup, cue=None)
    )
    texts = " ".join(t for _, t, _ in hud.flow.lines)
    assert "GET SET" in texts and "feet are out" in texts and "REP" not in texts
    hud.compose(np.zeros((480, 640, 3), np.uint8), None, _overlay(setup=setup, cue=None, rest=(2, 75.4)))
    texts = " ".join(t for _, t, _ in hud.flow.lines)
    assert "REST 1:15" in texts and "SET 2 OF 3-5" in texts and "clean setup" in texts


def test_tracking_lost_mid_set_says_so_and_draws_no_skeleton(track):
    hud = Hud(640, 480, mirror=False, screen=(1280, 800))
    image = np.zeros((480, 640, 3), np.uint8)
    row = _row(track, 60, (640, 480))
    drawn = hud.compose(image, row, _overlay()).copy()  # the canvas is reused by the next frame
    lost = hud.compose(image, row, _overlay(lost="Nobody seen: get into the picture", hip=float("nan")))
    pic = hud.place.picture
    assert drawn[pic.y0 : pic.y1, pic.x0 : pic.x1].max() > 0  # the skeleton on a black picture
    assert lost[pic.y0 : pic.y1, pic.x0 : pic.x1].max() == 0  # none on no body
    texts = [t for _, t, _ in hud.flow.lines]
    assert "OUT OF THE PICTURE" in " ".join(texts) and "Nobody seen" in " ".join(texts)
    assert "--" in texts and not any(t.isdigit() for t in texts)  # no angle read off no body


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_end_of_set_screen_is_the_report(screen):
    report = _report()
    s = set_summary(report, 1)
    assert [r for r, _, _ in s.reps] == [r.rep for r in report.reps]
    assert [clean for _, _, clean in s.reps] == [not r.faults and r.complete for r in report.reps]
    assert s.score == report.summary.score
    lockout = [f for f in report.faults if f.code == "incomplete_lockout"]
    assert s.top_fault == ("Finish the lockout", lockout[0].cue)
    frame = summary_screen(*screen, s, "n or Space: rest, then the next set    q: finish the session")
    assert frame.shape == (screen[1], screen[0], 3)
    # every rep's line is on the screen: find them by their colour (green clean, amber faulted)
    green = (np.abs(frame.astype(int) - (80, 220, 110)).max(axis=2) < 40).any(axis=1)
    amber = (np.abs(frame.astype(int) - (255, 200, 60)).max(axis=2) < 40).any(axis=1)
    assert _runs(green) == sum(c for *_, c in s.reps)
    assert _runs(amber) >= sum(not c for *_, c in s.reps) + 1  # + the "Work on" headline


def _runs(rows: np.ndarray) -> int:
    return int(np.count_nonzero(rows[1:] & ~rows[:-1]) + rows[0])


def test_the_loading_screen_is_readable():
    frame = loading_screen(1280, 800, "camera 0")
    amber = (np.abs(frame.astype(int) - (255, 200, 60)).max(axis=2) < 60).any(axis=1)
    assert amber.sum() >= 800 * READABLE  # "Loading the pose model..." at least a readable cap high


# ------------------------------------------------------------------ a real window, screenshotted

SHOT = r"""
import json, sys, time
import numpy as np
from PIL import ImageGrab
from formcheck.live.display import Window
frame = np.load(sys.argv[1])
win = Window()
start = time.monotonic()
while True:  # on a busy machine the first paint can take a while: wait for it (at most 45 s)
    shown = time.monotonic()
    while time.monotonic() - shown < 0.3:
        win.show(frame)
    shot = np.asarray(ImageGrab.grab().convert("RGB"))
    if shot.shape == frame.shape and np.abs(shot.astype(int) - frame).mean() < 2.0:
        break
    if time.monotonic() - start > 45.0:
        break
ImageGrab.grab().save(sys.argv[2])
json.dump({"screen": list(win.screen), "painted_after_s": time.monotonic() - start}, open(sys.argv[3], "w"))
win.close()
"""


@pytest.fixture(scope="module")
def xvfb_bin() -> str:
    found = shutil.which("Xvfb")
    if found is None:
        if in_ci():
            pytest.fail("Xvfb is needed for the window screenshots (apt-get install xvfb)")
        pytest.skip("no Xvfb (apt-get install xvfb)")
    return found


def _xvfb(binary: str, screen: tuple[int, int]) -> tuple[subprocess.Popen, int]:
    """A virtual X server of the screen's size on a free display number (other sessions may
    start theirs at the same moment: a number whose server does not come up is passed over)."""
    for n in range(140, 240):
        if Path(f"/tmp/.X{n}-lock").exists():
            continue
        size = "{}x{}x24".format(*screen)
        server = subprocess.Popen(
            [binary, f":{n}", "-screen", "0", size, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if server.poll() is not None:
                break
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return server, n
            time.sleep(0.05)
        server.terminate()
        server.wait(timeout=10)
    pytest.fail("no virtual X server would start")


def _screenshot(
    xvfb_bin: str, screen: tuple[int, int], frame: np.ndarray, tmp_path: Path
) -> tuple[np.ndarray, dict]:
    """The frame shown in a real window on a fresh virtual screen, screenshotted."""
    server, display = _xvfb(xvfb_bin, screen)
    try:
        np.save(tmp_path / "frame.npy", frame)
        env = {**os.environ, "DISPLAY": f":{display}", "PYTHONPATH": str(ROOT / "src")}
        shot, meta = tmp_path / "shot.png", tmp_path / "meta.json"
        done = subprocess.run(
            [sys.executable, "-c", SHOT, str(tmp_path / "frame.npy"), str(shot), str(meta)],
            env=env, timeout=120, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=10)
    return cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB), json.loads(meta.read_text())


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("source", ["landscape", "phone"])
def test_the_window_under_a_virtual_display_shows_the_whole_frame(xvfb_bin, track, tmp_path, screen, source):
    size = SOURCES[source]
    hud = Hud(*size, mirror=True, screen=screen)
    frame = hud.compose(np.full((size[1], size[0], 3), 200, np.uint8), _row(track, 60, size), _overlay())
    seen, meta = _screenshot(xvfb_bin, screen, frame, tmp_path)
    if not seen.any():
        # nothing mapped at all in 45 s (the screen stayed black: 3 cases in two runs on 3 December,
        # each passing when run again): tried once more on a fresh virtual server; a window that
        # paints the wrong picture still fails at once
        seen, meta = _screenshot(xvfb_bin, screen, frame, tmp_path)
    assert meta["screen"] == list(screen)  # the window read the screen's size
    assert seen.shape == frame.shape
    waited = meta["painted_after_s"]
    assert np.abs(seen.astype(int) - frame).mean() < 2.0, f"after {waited:.1f} s"  # the whole frame, unscaled
    caps = _check_frame(seen, hud, screen)
    assert min(caps.values()) >= screen[1] * READABLE
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "shot.png", artifacts / f"live_{source}_{screen[0]}x{screen[1]}.png")


def test_a_cut_line_says_so_and_stays_in_its_box(track):
    long = " ".join(["drive your hips upwards until your body forms a straight line"] * 4)
    cue = Cue(1.0, "fault", "Finish the lockout", long)
    hud = Hud(640, 480, screen=(1280, 800))
    hud.compose(np.zeros((480, 640, 3), np.uint8), None, _overlay(cue=cue))
    detail = [(t, b) for n, t, b in hud.flow.lines if n == "detail"]
    assert len(detail) == 4 and detail[-1][0].endswith("...")
    assert all(b.inside(hud.place.panel) for _, b in detail)
