"""The windows top readings are taken over (formcheck/check_signals.py): the middle of the still hold
at the top where it was measured, else of the top phase."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck.check_signals import hold_middle, top_reading
from formcheck.reps import Rep

T = np.arange(0, 5, 1 / 30)
TRIM = 0.25


def _rep(still_from: float | None, still_s: float | None) -> Rep:
    """A rep whose top phase runs 1.0-3.0 s (the bands' edges) and whose still hold is given."""
    return Rep(1, 0, 45, 120, 0.2, 4.0, 130, 180, 130, 0.8, 2.0, 1.0, None, 1.0, 3.0, 90, 0, 0, True,
               top_still_s=still_s, top_still_from_s=still_from)


def test_the_still_hold_is_the_window_when_measured():
    rep = _rep(1.2, 0.8)
    assert rep.top_still_span == pytest.approx((1.2, 2.0))
    assert hold_middle(rep, TRIM) == pytest.approx((1.4, 1.8))
    assert hold_middle(rep, TRIM, still=False) == pytest.approx((1.5, 2.5))
    for unmeasured in (_rep(None, None), _rep(1.2, None), _rep(1.2, 0.0)):
        assert unmeasured.top_still_span is None
        assert hold_middle(unmeasured, TRIM) == pytest.approx((1.5, 2.5))


def test_a_top_reading_comes_from_where_the_hips_were_still():
    # the hips sat still and rolled 10 deg from 1.1 to 1.7 s, then eased down: by the bands' 4-5%
    # rule the top phase runs on to 3.0 s, and over its middle the reading would be the easing-down
    x = np.where((T >= 1.1) & (T <= 1.8), 10.0, 0.0)
    rep = _rep(1.1, 0.6)
    assert top_reading(T, x, rep, TRIM) == pytest.approx(10.0)
    assert top_reading(T, x, replace(rep, top_still_s=None), TRIM) == pytest.approx(0.0)


def test_a_still_hold_with_no_frame_in_its_middle_falls_back_to_the_top_phase():
    x = np.where((T >= 1.5) & (T <= 2.5), 7.0, 0.0)
    assert top_reading(T, x, _rep(1.9, 0.02), TRIM) == pytest.approx(7.0)
    lost = np.where((T > 1.3) & (T < 1.9), np.nan, x)  # the pose lost over the still hold
    assert top_reading(T, lost, _rep(1.4, 0.4), TRIM) == pytest.approx(7.0)
