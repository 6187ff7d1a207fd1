"""Phase boundaries of one rep (formcheck/phases.py rep_phases) on exact signals: where a descent
leaves the top (its own band on the hip angle, the common band on a lift) and where it lands (the
hips' height in the picture when it follows the descent, else the angle)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.phases import PhaseConfig, rep_phases

FPS = 30.0
CFG = PhaseConfig()


def _ramp(t: np.ndarray, t0: float, dur: float, a: float, b: float) -> np.ndarray:
    """A cosine ramp from a to b over [t0, t0 + dur], flat either side."""
    tau = np.clip((t - t0) / dur, 0.0, 1.0)
    return a + (b - a) * (1 - np.cos(np.pi * tau)) / 2


def _edge(frac: float) -> float:
    """Fraction of a cosine ramp's duration from its end where it is frac of its amplitude away."""
    return math.acos(1 - 2 * frac) / math.pi


def _rep(down_end_s: float = 4.0):
    """A rep: rest at 100, a 1 s drive from 1.0 s, a 1 s hold at 180, a 1 s descent from 3.0 s."""
    t = np.arange(0, 6.0, 1 / FPS)
    up = _ramp(t, 1.0, 1.0, 100.0, 180.0)
    down = _ramp(t, 3.0, down_end_s - 3.0, 0.0, -80.0)
    h = up + down
    bottom, peak = int(0.5 * FPS), int(2.5 * FPS)
    end_bottom = len(t) - 5
    marks = (bottom, peak, peak + 10, end_bottom)
    coarse = (1.0, 2.0, 3.0, down_end_s)
    return t, h, marks, coarse


def test_a_descent_leaves_the_top_within_its_own_band_on_the_angle():
    t, h, marks, coarse = _rep()
    height = h.copy()  # a witness that moves as the angle does
    (_, _, descent, _), _ = rep_phases(h, height, t, marks, CFG, coarse)
    assert descent == pytest.approx(3.0 + _edge(CFG.descent_band_frac), abs=0.5 / FPS)
    # a lift (no height witness: the signal is the height) keeps the common band
    (_, _, lifted, _), _ = rep_phases(h, None, t, marks, CFG, coarse)
    assert lifted == pytest.approx(3.0 + _edge(CFG.band_frac), abs=0.5 / FPS)
    assert descent < lifted


def test_the_bottom_is_reached_where_the_hips_height_lands():
    # the angle keeps closing for 0.5 s after the hips have landed (the pelvis tucks under)
    t, h, marks, coarse = _rep(down_end_s=4.5)
    height = _ramp(t, 1.0, 1.0, 0.0, 1.0) + _ramp(t, 3.0, 1.0, 0.0, -1.0)
    (_, _, _, reached), _ = rep_phases(h, height, t, marks, CFG, coarse)
    assert reached == pytest.approx(4.0 - _edge(CFG.band_frac), abs=0.5 / FPS)
    (_, _, _, by_angle), _ = rep_phases(h, None, t, marks, CFG, coarse)
    assert by_angle == pytest.approx(4.5 - 1.5 * _edge(CFG.band_frac), abs=0.5 / FPS)


def test_a_height_that_does_not_follow_the_descent_is_not_used():
    t, h, marks, coarse = _rep()
    (_, _, _, by_angle), _ = rep_phases(h, None, t, marks, CFG, coarse)
    rising = np.linspace(0.0, 1.0, len(t))  # the camera tilting: the hips "rise" all clip long
    lost = h.copy()
    lost[marks[1] + 20] = np.nan  # the hip point lost mid-descent
    for height in (rising, lost):
        (_, _, _, reached), _ = rep_phases(h, height, t, marks, CFG, coarse)
        assert reached == pytest.approx(by_angle, abs=1e-9)
