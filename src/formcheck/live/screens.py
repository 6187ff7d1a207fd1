"""The live window's full screens: loading the model, the end of a set (its report), and the
rest before the next set. Each is a pure function: the screen's size and what to say in, an RGB
frame out (so they are tested and screenshotted without a display)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from formcheck import viz
from formcheck.fault_rules import SEVERITIES
from formcheck.report.model import Report

from .cues import HEADLINES
from .draw import PANEL_BG, WHITE, Flow, blank
from .layout import CAP_BIG, CAP_TEXT, Box

AMBER = (255, 200, 60)
GREY = (200, 200, 200)
# the guide's rest and set guidance, in its own words (single-leg hip thrust guide: "Rest
# Guidance", "Set Guidance"); it gives no number of seconds, so the timer counts up against it
REST_GUIDE = (
    "Rest long enough that the next set still starts from a clean setup. If the first rep looks"
    " different from the previous set, the rest was probably too short."
)
SETS_GUIDE = "Start with 3-5 working sets when the exercise is the main lift."
WORKING_SETS = (3, 5)


@dataclass(frozen=True)
class SetSummary:
    """One set's report as the end-of-set screen shows it."""

    number: int
    reps: tuple[tuple[int, str, bool], ...]  # (rep, verdict in words, clean)
    score: float | None
    top_fault: tuple[str, str] | None  # (headline, the guide's cue)
    not_scored: int  # fault checks this view cannot score


def set_summary(report: Report, number: int) -> SetSummary:
    """The reps with their verdicts, the score, and the fault seen on most reps (the worse on a
    tie) with its cue: all read from the report, so the screen never says other than it."""
    reps = []
    for r in report.reps:
        words = ", ".join(HEADLINES.get(c, c.replace("_", " ")).lower() for c in r.faults)
        if not r.complete:
            words = f"not finished{', ' + words if words else ''}"
        reps.append((r.rep, words or "good rep", not r.faults and r.complete))
    top = None
    if report.faults:
        reps_with: dict[str, set[int]] = {}
        for f in report.faults:
            reps_with.setdefault(f.code, set()).update(f.covered)
        worst = Counter({f.code: SEVERITIES.index(f.severity) for f in report.faults})
        code = max(reps_with, key=lambda c: (len(reps_with[c]), worst[c]))
        fault = next(f for f in report.faults if f.code == code)
        top = (HEADLINES.get(code, code.replace("_", " ")), fault.cue)
    score = report.summary.score
    return SetSummary(number, tuple(reps), score, top, len(report.measurement.not_measurable))


def _footer(frame: np.ndarray, text: str) -> None:
    h, w = frame.shape[:2]
    cap = h * CAP_TEXT
    foot = Flow(frame, Box(0, int(h - cap * 2.6), w, h), int(cap * 0.8))
    foot.fill(foot.box.y0, h - 1, (0, 0, 0))
    foot.text(text, cap, WHITE, "keys", 1)


def message_screen(
    width: int, height: int, headline: str, detail: str, title: str = "FORMCHECK LIVE"
) -> np.ndarray:
    """A title, a headline and a line of detail (loading, saving)."""
    frame = blank(width, height, PANEL_BG)
    pad = int(height * CAP_TEXT)
    flow = Flow(frame, Box(pad, int(height * 0.3), width - pad, height), pad)
    flow.text(title, height * CAP_BIG, WHITE, "title", 1)
    flow.text(headline, height * CAP_BIG, AMBER, "headline", 2)
    flow.gap(pad)
    if detail:
        flow.text(detail, height * CAP_TEXT, GREY, "detail", 3)
    return frame


def loading_screen(width: int, height: int, source: str) -> np.ndarray:
    """Painted the moment the window opens: the pose model takes seconds to load."""
    detail = f"Camera: {source}. The first start takes a few seconds."
    return message_screen(width, height, "Loading the pose model...", detail)


def summary_screen(width: int, height: int, s: SetSummary, keys: str) -> np.ndarray:
    """The end of a set, until a key is pressed: reps and verdicts, score, the top fault's cue."""
    frame = blank(width, height, PANEL_BG)
    big, text = height * CAP_BIG, height * CAP_TEXT
    pad = int(text)
    flow = Flow(frame, Box(0, 0, width, int(height - text * 2.6)), pad)
    score = "not scored" if s.score is None else f"score {s.score:.0f}"
    reps = f"{len(s.reps)} REP{'' if len(s.reps) == 1 else 'S'}"
    flow.text(f"SET {s.number} DONE: {reps}, {score.upper()}", big, WHITE, "title", 2)
    if s.top_fault is not None:
        flow.text(f"Work on: {s.top_fault[0]}", big, AMBER, "cue", 2)
        flow.text(s.top_fault[1], text, WHITE, "detail", 3)
    elif s.reps:
        flow.text("Clean set: no faults", big, viz.GOOD_COLOUR, "cue", 1)
    flow.gap(pad // 2)
    top = flow.y
    columns = 1 if len(s.reps) <= 6 or width < 900 else 2
    col_w = width // columns
    per_col = -(-len(s.reps) // columns) if s.reps else 0
    for c in range(columns):
        col = Flow(frame, Box(c * col_w, top, (c + 1) * col_w, flow.bottom + pad), pad)
        for rep, words, clean in s.reps[c * per_col : (c + 1) * per_col]:
            col.text(f"Rep {rep}: {words}", text, viz.GOOD_COLOUR if clean else AMBER, "rep", 1)
        flow.lines += col.lines
    if not s.reps:
        flow.text("No rep was counted.", text, GREY, "rep", 1)
    _footer(frame, keys)
    return frame
