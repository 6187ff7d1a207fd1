"""hip_rotation and knee_cave on the rendered clips in sample_videos/ (the real pose model):
each injected pelvic roll / knee cave is found on its rep, and clips without one raise neither.
Tracks come from test_sample_videos' cached helper, so a session running both extracts once."""

from __future__ import annotations

import pytest
from test_sample_videos import track, truth, truth_files

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

INJECTED = {"pelvic_roll": "hip_rotation", "knee_cave": "knee_cave"}
# misses where the pose model's landmarks do not carry the fault (measured, not guessed): the
# knees of the 08:09 re-render of the knee-cave clip stay 38-40 px apart at every top while the
# true gap falls from 56 to 10 px (the first render: 38 -> 33 px, and knee_cave found on reps 2-3)
KNOWN_MISSES = {
    "banded_glute_bridge_front_knee_cave": "the model's knees do not follow the cave in this render",
}
CLIPS = [pytest.param(p, id=p.stem) for p in truth_files()]


def truth_rep(t: dict, start_s: float, end_s: float) -> int | None:
    """The rendered rep whose top overlaps a finding's span (rep numbers may differ from ours)."""
    for r in t["reps"]:
        top = r["phases"]["top"]
        if start_s < top[1] and top[0] < end_s:
            return r["rep"]
    return None


@pytest.mark.parametrize("path", CLIPS)
def test_injected_roll_and_cave_found_on_their_reps_and_nothing_else(path):
    t = truth(path)
    result = analyze_track(track(path), load_profile(t["spec"]["variant"]))
    expected = {
        (r["rep"], INJECTED[f["type"]]) for r in t["reps"] for f in r["faults"] if f["type"] in INJECTED
    }
    flagged = {
        (truth_rep(t, f.start_s, f.end_s), f.code) for f in result.faults if f.code in INJECTED.values()
    }
    unmeasured = {(rep, code) for rep, code in expected if code in result.not_measurable}
    assert flagged <= expected - unmeasured, f"view {result.view.view}: wrong findings"
    # a fault the view cannot see is said so, never passed: these clips are filmed where it shows
    assert not unmeasured
    if result.rep_count != len(t["reps"]):  # test_sample_videos fails the count itself
        pytest.xfail(f"counted {result.rep_count} of {len(t['reps'])} reps: a rep's fault cannot be judged")
    if path.stem in KNOWN_MISSES and flagged != expected:
        pytest.xfail(KNOWN_MISSES[path.stem])
    assert flagged == expected, f"view {result.view.view}: missed findings"
