"""Every injected fault on the rendered clips in sample_videos/ (the real pose model): found on its
rep, and nothing else raised. Tracks come from test_sample_videos' cached helper, so a session
running both extracts once. The few known misses and false findings are listed with what was
measured; the test fails on any other, and on a known one that goes away (update the list)."""

from __future__ import annotations

import pytest
from test_sample_videos import track, truth, truth_files

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

INJECTED = {
    "short_lockout": "incomplete_lockout",
    "overextension": "overextension",
    "pelvic_roll": "hip_rotation",
    "rushed_descent": "rushed_descent",
    "no_top_pause": "no_top_pause",
    "inconsistent_depth": "inconsistent_depth",
    "knee_cave": "knee_cave",
}
SET_LEVEL = {"inconsistent_depth", "fatigue_drift", "short_rest"}  # scored once per clip (rep None)

# (rep, code) pairs the pose model does not carry, measured, not guessed:
KNOWN_MISSES = {
    # MediaPipe's hip point sits high on the front of the pelvis and rises as the hips sag: true
    # 165 deg tops read 179-180, clean 180 deg tops 185-188 on this body, while a real lifter's
    # (hip_thrust_dumbbell_slow_side_a) 172-174 must pass
    "hip_thrust_side_short_lockout": {(1, "incomplete_lockout"), (2, "incomplete_lockout"),
                                      (3, "incomplete_lockout")},
    # the model's knees stay 38-40 px apart at every top while the true gap falls from 56 to 10 px
    "banded_glute_bridge_front_knee_cave": {(2, "knee_cave"), (3, "knee_cave")},
}  # fmt: skip
KNOWN_FALSE = {
    # with the knees caving, the front view's hip-lift signal drifts through the top hold
    "banded_glute_bridge_front_knee_cave": {(3, "no_top_pause")},
    # the far (working) leg behind the raised one at 45 deg: a 3.3x burst read on a smooth drive
    "single_leg_glute_bridge_oblique_pelvic_roll": {(2, "jerky_concentric")},
}
CLIPS = [pytest.param(p, id=p.stem) for p in truth_files()]


def truth_rep(t: dict, start_s: float, end_s: float) -> int | None:
    """The rendered rep a finding's span overlaps most (rep numbers may differ from ours)."""
    best, rep = 0.0, None
    for r in t["reps"]:
        lo, hi = r["start"], r["phases"]["bottom"][1]
        overlap = min(hi, end_s) - max(lo, start_s)
        if overlap > best:
            best, rep = overlap, r["rep"]
    return rep


@pytest.mark.parametrize("path", CLIPS)
def test_injected_faults_are_found_on_their_reps_and_nothing_else(path):
    t = truth(path)
    result = analyze_track(track(path), load_profile(t["spec"]["variant"]))
    assert result.rep_count == len(t["reps"])
    expected = {
        (None if INJECTED[f["type"]] in SET_LEVEL else r["rep"], INJECTED[f["type"]])
        for r in t["reps"]
        for f in r["faults"]
    }
    found = {
        (None if f.code in SET_LEVEL else truth_rep(t, f.start_s, f.end_s), f.code) for f in result.faults
    }
    # a fault the view cannot see is said so, never passed: these clips are filmed where it shows
    assert not {code for _, code in expected} & set(result.not_measurable)
    assert expected - found == KNOWN_MISSES.get(path.stem, set()), f"view {result.view.view}: missed"
    assert found - expected == KNOWN_FALSE.get(path.stem, set()), f"view {result.view.view}: false findings"
