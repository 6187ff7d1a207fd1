"""Every injected fault on the rendered clips in sample_videos/ (the real pose model): found on its
rep, and nothing else raised. Tracks come from test_sample_videos' cached helper, so a session
running both extracts once. The few known misses and false findings are listed with what was
measured; the test fails on any other, and on a known one that goes away (update the list)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_sample_videos import track, truth, truth_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from eval_faults import rendered_findings  # noqa: E402

from formcheck.analysis import analyze_track
from formcheck.profiles import load_profile

# (rep, code) pairs the pose model does not carry, measured, not guessed. The posture clip is posed on
# the render rig's thigh head, so every top is a true 190.0 at the anatomical centre (an arch by
# tools/eval_faults' truth rule); on rep 3 the bar drifts 15 cm toward the belly and the hands with
# it, and the model's reading dips 9 deg (shown 182.8 against 190.6-191.8 on the other reps).
# The bridge with no hold (min-jerk moves of 0.9 s up, 1.6 s down) spends 0.47 and 0.51 s in its top
# phase on reps 1 and 3 (still 0.30, 0.37 s): a short real hold reads alike, so no_top_pause is not
# judged there (profiles/base.json's no_top_pause note); rep 2 (0.31 s, still 0.15) is found.
KNOWN_MISSES: dict[str, set] = {
    "loaded_hip_thrust_side_posture_mistakes": {(3, "overextension")},
    "feet_elevated_glute_bridge_side_no_top_pause": {(1, "no_top_pause"), (3, "no_top_pause")},
}
KNOWN_FALSE: dict[str, set] = {}
# codes injected on a clip whose view the model cannot support, reported not measurable (measured):
# a two-leg 10 deg roll from the feet at 1.05 m: the model's hip line moved <1 deg against a true 8.7
KNOWN_UNMEASURABLE: dict[str, set] = {"hip_thrust_front_pelvic_roll": {"hip_rotation"}}
CLIPS = [pytest.param(p, id=p.stem) for p in truth_files()]


@pytest.mark.parametrize("path", CLIPS)
def test_injected_faults_are_found_on_their_reps_and_nothing_else(path):
    t = truth(path)
    result = analyze_track(track(path), load_profile(t["spec"]["variant"]))
    assert result.rep_count == len(t["reps"])
    expected, found = rendered_findings(t, result)
    # a fault the view cannot see is said so, never passed: these clips are filmed where it shows
    unmeasurable = KNOWN_UNMEASURABLE.get(path.stem, set())
    assert {code for _, code in expected} & set(result.not_measurable) == unmeasurable
    expected = {(rep, code) for rep, code in expected if code not in unmeasurable}
    assert expected - found == KNOWN_MISSES.get(path.stem, set()), f"view {result.view.view}: missed"
    assert found - expected == KNOWN_FALSE.get(path.stem, set()), f"view {result.view.view}: false findings"
