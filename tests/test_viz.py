import dataclasses

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck import kinematics as kin
from formcheck import viz
from formcheck.analysis import analyze_track
from formcheck.hip_lines import lockout_limit
from formcheck.profiles import load_profile
from formcheck.track import Landmark


@pytest.fixture(scope="module")
def profile():
    return load_profile("hip_thrust")


@pytest.fixture(scope="module")
def lockout_set(profile):
    """4 reps, the second stopping 28 deg short of the line: one incomplete_lockout on rep 2."""
    plan = RepPlan(reps=4, top_degs=[178.5, 160.0, 178.5, 178.5], down_s=1.5, bottom_s=0.8)
    track = plan_track(plan, noise_px=0.5)
    analysis = analyze_track(track, profile)
    return plan, track, analysis


def _frame(t: float, fps: float) -> int:
    return int(round(t * fps))


def test_rep_and_phase_per_frame_follow_the_plan(lockout_set, profile):
    plan, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    assert analysis.rep_count == 4 and data.rep_total == 4
    ev = {}
    for name, t in plan.events:
        ev.setdefault(name, []).append(t)
    phase = [viz.PHASES[p] for p in data.phase]
    first_up = _frame(ev["up_start"][0], plan.fps)
    assert data.rep[first_up - 5] == 0 and phase[first_up - 5] == ""  # lying at the bottom before the set
    for k in range(4):
        up, top0, top1, down_end = ev["up_start"][k], ev["top_start"][k], ev["top_end"][k], ev["down_end"][k]
        for when, expected in (
            ((up + top0) / 2, "up"),
            ((top0 + top1) / 2, "top"),
            ((top1 + down_end) / 2, "down"),
        ):
            i = _frame(when, plan.fps)
            assert data.rep[i] == k + 1, (k, expected)
            assert phase[i] == expected, (k, when)
        if k < 3:  # the pause at the bottom before the next drive
            i = _frame((down_end + ev["up_start"][k + 1]) / 2, plan.fps)
            assert phase[i] == "bottom" and data.rep[i] == k + 1
    assert data.rep[-1] == 4 and phase[-1] == ""  # the last rep's bottom is the end of the set, not a pause


def test_faults_are_active_exactly_on_their_frames(lockout_set, profile):
    _, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    codes = [f.code for f in analysis.faults]
    k = codes.index("incomplete_lockout")
    fault = analysis.faults[k]
    t = analysis.timestamps
    inside = (t >= fault.start_s - 0.5 / track.fps) & (t <= fault.end_s + 0.5 / track.fps)
    assert fault.rep == 2 and inside.sum() > 5
    np.testing.assert_array_equal(data.active[:, k], inside)


def test_an_instant_fault_still_gets_its_frame(lockout_set, profile):
    _, track, analysis = lockout_set
    instant = dataclasses.replace(analysis.faults[0], start_s=3.01, end_s=3.01)
    data = viz.overlay_data(track, dataclasses.replace(analysis, faults=[instant]), profile)
    assert data.active[:, 0].sum() == 1 and data.active[_frame(3.01, track.fps), 0]


def _blank(track):
    return np.full((track.height, track.width, 3), 90, np.uint8)


def _red_band(frame: np.ndarray) -> bool:
    """The bottom rows are tinted red (the fault banner), not the grey background."""
    band = frame[-8:, :, :].reshape(-1, 3).astype(int)
    r, g, b = np.median(band, axis=0)
    return r > g + 60 and r > b + 60


def test_banner_is_drawn_on_fault_frames_and_only_there(lockout_set, profile):
    _, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    lay = viz.Layout.for_size(track.width, track.height)
    banner = np.array([_red_band(viz.draw_frame(_blank(track), i, data, lay)) for i in range(track.n_frames)])
    np.testing.assert_array_equal(banner, data.active.any(axis=1))
    assert banner.sum() > 10


def test_skeleton_is_drawn_where_the_landmarks_are_and_not_where_unsure(lockout_set, profile):
    _, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    lay = viz.Layout.for_size(track.width, track.height)
    i = 100
    assert data.measured(i) == tuple(int(j) for j in kin.SIDES[analysis.side.side])
    hip = data.points[i, data.measured(i)[1]]  # the measured side's hip: ringed in the chain's colour
    frame = viz.draw_frame(_blank(track), i, data, lay)
    x, y = int(hip[0]), int(hip[1])
    patch = frame[y - 8 : y + 9, x - 8 : x + 9].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - viz.MEASURED_COLOUR).sum(axis=1) < 60).any()
    # a landmark the model is unsure of is not drawn at all
    vis = track.visibility.copy()
    vis[:, Landmark.LEFT_WRIST] = 0.1
    points = viz.visible_points(dataclasses.replace(track, visibility=vis))
    assert np.isnan(points[:, Landmark.LEFT_WRIST]).all() and np.isfinite(points[:, Landmark.LEFT_HIP]).all()


def test_gauge_maps_angles_onto_the_dial_and_clips():
    assert viz.gauge_angle(90.0) == pytest.approx(180.0)
    assert viz.gauge_angle(210.0) == pytest.approx(0.0)
    assert viz.gauge_angle(150.0) == pytest.approx(90.0)
    assert viz.gauge_angle(20.0) == viz.gauge_angle(90.0) and viz.gauge_angle(300.0) == viz.gauge_angle(210.0)


@pytest.mark.parametrize("lines", [(170.0, 195.0), (None, None)])
@pytest.mark.parametrize("size", [(768, 432), (432, 768), (640, 480)])
def test_the_dial_laid_over_a_frame_looks_as_if_drawn_on_it(lines, size):
    """The dial is drawn once per clip and laid over each frame; on any picture under it, that
    matches drawing it there (anti-aliased edges within a few levels of rounding)."""
    width, height = size
    lay = viz.Layout.for_size(width, height)
    picture = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    drawn, laid = picture.copy(), picture.copy()
    viz._draw_gauge_dial(drawn, lay, *lines, True)
    layer = viz._dial_layer(lay, *lines, True)
    viz.lay_over(laid, layer)
    box = layer[0]
    assert np.abs(drawn.astype(int) - laid).max() <= 6
    assert (drawn != picture).any(axis=2).sum() > 0.02 * width * height  # the dial is there at all
    assert np.array_equal(laid[: box[0].start], picture[: box[0].start])  # nothing outside its box


def test_gauge_shows_the_lockout_line_only_when_angles_are_readable(lockout_set, profile):
    _, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    assert data.lockout_deg == pytest.approx(lockout_limit(profile)) and data.overextension_deg is not None
    blind = dataclasses.replace(
        analysis, hip=np.full_like(analysis.hip, np.nan), not_measurable={"incomplete_lockout": "front"}
    )
    data = viz.overlay_data(track, blind, profile)
    assert data.lockout_deg is None and data.overextension_deg is None
    lay = viz.Layout.for_size(track.width, track.height)
    viz.draw_frame(_blank(track), 50, data, lay)  # draws "n/a" instead of a needle, without error
    # read but not judged (a load hiding the hip): the gauge shows no number either
    hidden = dataclasses.replace(analysis, not_measurable={"incomplete_lockout": "a load hides the hip"})
    data = viz.overlay_data(track, hidden, profile)
    assert data.lockout_deg is None and np.isnan(data.hip).all() and np.isfinite(analysis.hip).any()


def test_frames_beyond_the_track_are_left_alone(lockout_set, profile):
    _, track, analysis = lockout_set
    data = viz.overlay_data(track, analysis, profile)
    frame = _blank(track)
    viz.draw_frame(frame, track.n_frames + 3, data, viz.Layout.for_size(track.width, track.height))
    assert (frame == 90).all()


def test_fault_label_is_ascii_with_rep_and_message(lockout_set):
    _, _, analysis = lockout_set
    fault = next(f for f in analysis.faults if f.code == "incomplete_lockout")
    text = viz.fault_label(dataclasses.replace(fault, message="161° short"))
    assert text.startswith("INCOMPLETE LOCKOUT (rep 2): ") and text.isascii()


def test_the_highlighted_leg_follows_each_reps_working_leg(lockout_set, profile):
    """A single-leg lifter who switches legs: every rep's own leg is the one drawn as measured."""
    _, track, analysis = lockout_set
    legs = ["left", "left", "right", "right"]
    reps = [dataclasses.replace(r, leg=leg) for r, leg in zip(analysis.reps, legs, strict=True)]
    switched = dataclasses.replace(analysis, reps=reps, sides={"left": {}, "right": {}, "imbalances": []})
    data = viz.overlay_data(track, switched, profile)
    left, right = (tuple(int(j) for j in kin.SIDES[s]) for s in ("left", "right"))
    assert data.measured(reps[1].top_frame) == left and data.measured(reps[2].top_frame) == right
    assert data.measured(reps[3].end_frame) == right
    one_leg = viz.overlay_data(track, analysis, profile)  # no switch: the measured side all along
    assert {one_leg.measured(r.top_frame) for r in reps} == {
        tuple(int(j) for j in kin.SIDES[analysis.side.side])
    }
