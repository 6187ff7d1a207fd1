"""Phase boundaries of one rep (formcheck/phases.py rep_phases) on exact signals: where a descent
leaves the top (its own band on the hip angle, the common band on a lift) and where it lands (the
hips' height in the picture when it follows the descent, else the angle; on the height, the
model's lag undone)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from formcheck.phases import PhaseConfig, rep_phases

FPS = 30.0
CFG = PhaseConfig()
EXACT = replace(CFG, landing_lag_s=0.0)  # the geometry of the rules, on readings that do not lag


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
    (_, _, _, reached), _ = rep_phases(h, height, t, marks, EXACT, coarse)
    assert reached == pytest.approx(4.0 - _edge(CFG.band_frac), abs=0.5 / FPS)
    (_, _, _, by_angle), _ = rep_phases(h, None, t, marks, EXACT, coarse)
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


def _lagged(x: np.ndarray, t: np.ndarray, lag_s: float) -> np.ndarray:
    """x through a causal first-order lag of time constant lag_s (a tracker smoothing over time)."""
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        a = (t[i] - t[i - 1]) / (lag_s + t[i] - t[i - 1])
        out[i] = out[i - 1] + a * (x[i] - out[i - 1])
    return out


@pytest.mark.parametrize("fps", [15.0, 30.0, 60.0])
def test_a_fast_landing_read_through_a_lag_is_found_where_the_hips_land(fps):
    # a 0.3 s drop whose height the model reports through its lag: the lag undone, the landing is
    # read within a frame of where the hips (the exact height) come within the band of the bottom;
    # read as it comes, it is later than that
    t = np.arange(0, 6.0, 1 / fps)
    h = _ramp(t, 1.0, 1.0, 100.0, 180.0) + _ramp(t, 3.0, 0.3, 0.0, -80.0)
    true_height = _ramp(t, 1.0, 1.0, 0.0, 1.0) + _ramp(t, 3.0, 0.3, 0.0, -1.0)
    seen = _lagged(true_height, t, CFG.landing_lag_s)
    marks = (int(0.5 * fps), int(2.5 * fps), int(2.5 * fps) + 3, len(t) - 5)
    coarse = (1.0, 2.0, 3.0, 3.3)
    lands = 3.3 - 0.3 * _edge(CFG.band_frac)
    (_, _, _, reached), _ = rep_phases(h, seen, t, marks, CFG, coarse)
    (_, _, _, as_seen), _ = rep_phases(h, seen, t, marks, EXACT, coarse)
    assert reached == pytest.approx(lands, abs=1 / fps)
    assert as_seen - lands > reached - lands + 0.5 * CFG.landing_lag_s


def test_a_descent_that_stalls_partway_starts_where_it_left_the_top():
    # the hips drop 30 of 80 deg, stall 0.4 s (the reading even creeps back up 2 deg: a hip point
    # on a barbell plate, a raised leg pulling the model's hip), then drop the rest fast: the fast
    # run begins after the stall, but the descent left the top before it
    t = np.arange(0, 7.0, 1 / FPS)
    h = (_ramp(t, 1.0, 1.0, 100.0, 180.0) + _ramp(t, 3.0, 0.4, 0.0, -30.0) + _ramp(t, 3.5, 0.2, 0.0, 2.0)
         + _ramp(t, 4.0, 0.3, 0.0, -52.0))
    marks = (int(0.5 * FPS), int(2.5 * FPS), int(2.5 * FPS) + 3, len(t) - 5)
    coarse = (1.0, 2.0, 3.0, 4.3)
    left = 3.0 + 0.4 * _edge(CFG.descent_band_frac * 80 / 30)  # the band is of the whole descent
    (_, _, descent, reached), _ = rep_phases(h, None, t, marks, CFG, coarse)
    assert descent == pytest.approx(left, abs=1 / FPS)
    assert reached == pytest.approx(4.3 - 0.3 * _edge(CFG.band_frac * 80 / 52), abs=1 / FPS)
    # judged from the fast run alone, it would start after the stall
    (_, _, after_stall, _), _ = rep_phases(h, None, t, marks, replace(CFG, stall_frac=1.0), coarse)
    assert after_stall > 3.9


def test_a_hold_that_sags_before_the_descent_is_still_the_top():
    # the hips sag 8 of 80 deg through the hold (a tenth, under stall_frac) and then drop: the
    # descent leaves from where the sag got to, as before
    t = np.arange(0, 7.0, 1 / FPS)
    h = _ramp(t, 1.0, 1.0, 100.0, 180.0) + _ramp(t, 2.2, 1.0, 0.0, -8.0) + _ramp(t, 3.5, 0.4, 0.0, -72.0)
    marks = (int(0.5 * FPS), int(2.1 * FPS), int(2.1 * FPS) + 3, len(t) - 5)
    coarse = (1.0, 2.0, 3.5, 3.9)
    (_, _, descent, _), _ = rep_phases(h, None, t, marks, CFG, coarse)
    (_, _, without, _), _ = rep_phases(h, None, t, marks, replace(CFG, stall_frac=1.0), coarse)
    assert descent == pytest.approx(without, abs=1e-9)
    assert descent > 3.4
