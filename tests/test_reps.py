import dataclasses
import math

import numpy as np
import pytest
from synthetic import RepPlan, make_track, plan_track, trajectory, with_cut, with_dropout

from formcheck.analysis import analyze_track
from formcheck.findings import NOT_MEASURABLE
from formcheck.profiles import load_profile
from formcheck.reps import RepConfig, hysteresis_state, segment

HIP_THRUST = load_profile("hip_thrust")
BRIDGE = load_profile("glute_bridge")
# A move starts where the hips leave a band of phase_band_frac of its amplitude around the
# plateau it leaves and ends where they enter it at the other end (the phase truth's rule,
# formcheck/phases.py); on the synthetic cosine ramps, (1 - cos(pi tau)) / 2 = frac, that is
# this fraction of each move's duration from either end.
EDGE = math.acos(1 - 2 * HIP_THRUST.reps.phase_band_frac) / math.pi
# a descent leaves the top within phase_descent_band_frac (the hips' first sag, formcheck/phases.py)
DESCENT_EDGE = math.acos(1 - 2 * HIP_THRUST.reps.phase_descent_band_frac) / math.pi
# a move's fast run is where its speed, (pi / 2) sin(pi tau) x its mean, tops run_frac of its peak:
# this fraction of the move from either end is slower, and counts toward the hold seen at the top
RUN_EDGE = math.asin(HIP_THRUST.reps.phase_run_frac) / math.pi


def run(plan, profile=HIP_THRUST, noise_px=1.0, seed=0, **kw):
    return analyze_track(plan_track(plan, noise_px=noise_px, seed=seed, **kw), profile)


def test_hysteresis_ignores_values_between_the_levels():
    x = np.array([150, 100, 150, 149, 151, 200, 150, 190, 150, 100])
    assert hysteresis_state(x, 120, 180).tolist() == [0, -1, -1, -1, -1, 1, 1, 1, 1, -1]


@pytest.mark.parametrize("reps", [1, 3, 8, 12])
def test_counts_exactly_with_noise(reps):
    for seed in range(3):
        assert run(RepPlan(reps=reps), noise_px=2.0, seed=seed).rep_count == reps


def test_lying_flat_before_and_after_the_set_is_not_a_rep():
    plan = RepPlan(reps=3, setup_flat_s=3.0, end_flat_s=3.0)
    result = run(plan, BRIDGE)
    assert result.rep_count == 3
    assert any("lying flat" in why for _, why in result.rejected)


def test_set_starting_at_the_top_counts_each_drive():
    result = run(RepPlan(reps=4, start_at_top=True))
    assert result.rep_count == 4
    first_up = RepPlan(reps=4, start_at_top=True)
    trajectory(first_up)
    assert result.reps[0].start_s == pytest.approx(first_up.events[0][1], abs=0.3)


def test_jitter_around_one_level_is_not_counted():
    fps = 30.0
    _, hip, knee = trajectory(RepPlan(reps=3, fps=fps))
    # a long pause half way up, wobbling +-12 deg at 1.2 Hz: every wobble crosses the upper
    # level, none goes back below the lower one, so the whole pause is ONE (partial) rep
    t = np.arange(int(8 * fps)) / fps
    wobble = 150.0 + 12.0 * np.sin(2 * np.pi * 1.2 * t)
    hold = np.linspace(110.0, 150.0, 15)
    hip = np.r_[hip[:30], hold, wobble, hold[::-1], hip[30:]]
    knee = np.r_[knee[:30], np.full(len(hold) * 2 + len(wobble), 80.0), knee[30:]]
    result = analyze_track(make_track(hip, knee, fps=fps, noise_px=1.0), HIP_THRUST)
    assert result.rep_count == 4
    raw_tops = [float(result.calibration.raw(r.top_hip_deg)) for r in result.reps]  # the model's reading
    assert raw_tops[0] < 165 and all(t > 175 for t in raw_tops[1:])


def test_model_glitches_inside_a_hold_do_not_add_reps():
    plan = RepPlan(reps=3, top_s=1.5)
    track = plan_track(plan, noise_px=1.0)
    image = track.image.copy()
    for t_top in [t for k, t in plan.events if k == "top_start"]:
        i = int((t_top + 0.6) * plan.fps)
        image[i : i + 3, 23, 1] += 120.0  # the model throws the hip 120 px for 3 frames
    glitchy = dataclasses.replace(track, image=image)
    assert analyze_track(glitchy, HIP_THRUST).rep_count == 3



def test_small_pulses_below_the_minimum_range_are_not_reps():
    plan = RepPlan(reps=6, bottom_deg=170.0, top_deg=185.0)
    assert run(plan).rep_count == 0


def test_too_fast_twitches_are_not_reps():
    # quick enough to be a twitch, slow enough (< 400 deg/s) to pass the glitch filter
    plan = RepPlan(reps=5, up_s=0.15, top_s=0.0, down_s=0.15, bottom_s=0.8, bottom_deg=150.0, top_deg=185.0)
    assert run(plan, noise_px=0.0).rep_count == 0


def test_short_dropout_inside_a_rep_changes_nothing():
    plan = RepPlan(reps=4)
    base = run(plan)
    gappy = analyze_track(with_dropout(plan_track(plan, noise_px=1.0), 5.0, 0.2), HIP_THRUST)
    assert gappy.rep_count == base.rep_count == 4
    assert not [s for s in gappy.unusable if s.reason == "pose_not_usable"]


def test_long_dropout_is_reported_and_never_invents_a_rep():
    plan = RepPlan(reps=6)
    result = analyze_track(with_dropout(plan_track(plan, noise_px=1.0), 8.0, 2.0), HIP_THRUST)
    assert 4 <= result.rep_count <= 6
    lost = [s for s in result.unusable if s.reason == "pose_not_usable"]
    assert len(lost) == 1 and lost[0].start_s == pytest.approx(8.0, abs=0.05)
    assert lost[0].end_s == pytest.approx(10.0, abs=0.05)


def test_hard_cut_mid_set_is_marked_and_counts_stay_sane():
    plan = RepPlan(reps=6)
    result = analyze_track(with_cut(plan_track(plan, noise_px=1.0), 12.0, (120.0, 30.0)), HIP_THRUST)
    assert [round(s.start_s, 2) for s in result.unusable if s.reason == "hard_cut"] == [12.0]
    assert 5 <= result.rep_count <= 6


def test_phases_match_the_prescribed_tempo():
    plan = RepPlan(reps=4, up_s=1.0, top_s=1.0, down_s=2.0, bottom_s=1.0)
    result = run(plan, noise_px=1.0)
    assert result.rep_count == 4
    for i, rep in enumerate(result.reps):
        assert rep.up_s == pytest.approx(1.0 * (1 - 2 * EDGE), abs=0.12)
        assert rep.top_pause_s == pytest.approx(1.0 + EDGE * 1.0 + DESCENT_EDGE * 2.0, abs=0.12)
        assert rep.down_s == pytest.approx(2.0 * (1 - EDGE - DESCENT_EDGE), abs=0.12)
        if i < 3:
            assert rep.bottom_pause_s == pytest.approx(1.0 + EDGE * 3.0, abs=0.12)
    assert result.reps[-1].bottom_pause_s is None, "the end of the set is not a pause"
    tops = [t for k, t in plan.events if k == "top_start"]
    for rep, t_top in zip(result.reps, tops, strict=True):
        assert rep.start_s < t_top < rep.top_end_s < rep.end_s


def test_rep_angles_are_measured():
    result = run(RepPlan(reps=3, bottom_deg=105.0, top_deg=185.0, knee_top_deg=92.0), noise_px=0.5)
    raw = result.calibration.raw  # segmentation measures the model's reading; shown is calibrated
    for rep in result.reps:
        assert raw(rep.top_hip_deg) == pytest.approx(185.0, abs=1.5)
        assert raw(rep.bottom_hip_deg) == pytest.approx(105.0, abs=1.5)
        assert rep.top_knee_deg == pytest.approx(92.0, abs=1.5)


def test_clip_ending_at_the_top_keeps_the_rep_without_a_descent():
    _, hip, knee = trajectory(RepPlan(reps=2))
    cut_at = int(len(hip) - 30 * (1.5 + 1.0 + 0.4))  # stop during the last top hold
    result = analyze_track(make_track(hip[:cut_at], knee[:cut_at], noise_px=1.0), HIP_THRUST)
    assert result.rep_count == 2
    last = result.reps[-1]
    assert not last.complete and last.down_s is None


def test_segment_directly_with_a_flat_signal_finds_nothing():
    n = 300
    flat = np.full(n, 150.0)
    seg = segment(flat, flat, flat, flat, np.arange(n) / 30, np.ones(n, dtype=bool), RepConfig())
    assert seg.reps == [] and seg.range_deg == 0.0


def test_a_turn_around_without_a_hold_reads_as_its_band_time():
    # the phase truth's rule (5% of each move's amplitude, 3% where a descent leaves the top) counts
    # the eased ends of the moves as at the top: a turn-around with no hold reads EDGE of the up
    # plus DESCENT_EDGE of the down, and a
    # hold adds its own length to that
    cusp = run(RepPlan(reps=3, up_s=1.0, top_s=0.0, down_s=2.0), noise_px=1.0)
    assert cusp.rep_count == 3
    assert all(r.top_pause_s == pytest.approx(EDGE + 2.0 * DESCENT_EDGE, abs=0.12) for r in cusp.reps)
    held = run(RepPlan(reps=3, up_s=1.0, top_s=0.6, down_s=2.0), noise_px=1.0)
    assert all(r.top_pause_s == pytest.approx(0.6 + EDGE + 2.0 * DESCENT_EDGE, abs=0.12) for r in held.reps)
    # the hold as seen (still between the two moves' fast runs) tells them apart by the hold's length
    assert all(r.top_still_s == pytest.approx(3.0 * RUN_EDGE, abs=0.1) for r in cusp.reps)
    assert all(r.top_still_s == pytest.approx(0.6 + 3.0 * RUN_EDGE, abs=0.1) for r in held.reps)
    assert {f.rep for f in cusp.faults if f.code == "no_top_pause"} == {1, 2, 3}
    assert not [f for f in held.faults if f.code == "no_top_pause"]


def test_a_hold_the_pose_is_lost_in_is_not_timed():
    # the pose drops out from mid-hold into the descent (a bar hiding the hips at the top): the
    # hold's length is not seen, so it is reported as such, never as the 0.5 s before the loss
    plan = RepPlan(reps=3, top_s=1.5)
    track = plan_track(plan, noise_px=1.0)
    second_top = [t for k, t in plan.events if k == "top_start"][1]
    result = analyze_track(with_dropout(track, second_top + 0.5, 1.2), HIP_THRUST)
    cut = [r for r in result.reps if r.top_start_s == pytest.approx(second_top, abs=0.3)]
    assert len(cut) == 1 and math.isnan(cut[0].top_pause_s) and not cut[0].complete
    assert cut[0].top_still_s is None
    assert "no_top_pause" not in {f.code for f in result.faults if f.rep == cut[0].index}
    timed = [r for r in result.reps if r is not cut[0] and r.complete]
    assert timed and all(r.top_pause_s == pytest.approx(1.5 + EDGE + 2.0 * DESCENT_EDGE, abs=0.15)
                         for r in timed)


def _hidden_drives(plan: RepPlan, secs: float):
    """The pose lost for `secs` over the end of every drive (as from the feet, where the top folds
    the trunk toward the lens): the drive's crossing of the upper level falls in the gap."""
    track = plan_track(plan, noise_px=1.0)
    for t in [t for k, t in plan.events if k == "top_start"]:
        track = with_dropout(track, t - 0.45, secs)
    return track


def test_a_dropout_over_every_drive_is_bridged_and_each_rep_counted():
    plan = RepPlan(reps=3)
    hidden = _hidden_drives(plan, 0.35)
    assert analyze_track(hidden, HIP_THRUST).rep_count == 3
    unbridged = dataclasses.replace(HIP_THRUST, reps=dataclasses.replace(HIP_THRUST.reps, bridge_gap_s=0.0))
    assert analyze_track(hidden, unbridged).rep_count == 0, "the gap really splits each rep"


def test_bridge_gaps_fills_short_gaps_only_and_never_across_a_cut():
    from formcheck.reps import bridge_gaps

    t = np.arange(30) / 10.0
    hip = np.linspace(100.0, 190.0, 30)
    usable = np.ones(30, bool)
    usable[5:8] = False  # 0.4 s from the last seen frame to the next
    usable[15:25] = False  # 1.1 s
    hip[~usable] = np.nan
    filled, ok = bridge_gaps(hip, usable, t, None, 0.4)
    assert ok[5:8].all() and not ok[15:25].any()
    assert np.allclose(filled[5:8], np.linspace(100.0, 190.0, 30)[5:8])
    cuts = np.zeros(30, bool)
    cuts[6] = True
    _, ok = bridge_gaps(hip, usable, t, cuts, 0.4)
    assert not ok[5:8].any()


def test_a_movement_with_a_far_straighter_knee_is_not_a_rep():
    # two bridges, then a dumbbell rolled off the hips: the hips rise with the legs nearly straight
    plan = RepPlan(reps=4, knee_top_degs=[95.0, 96.0, 94.0, 150.0])
    result = run(plan)
    assert result.rep_count == 3
    assert any("another movement" in why for _, why in result.rejected)
    assert run(RepPlan(reps=4, knee_top_degs=[95.0, 100.0, 90.0, 105.0])).rep_count == 4


def test_a_hold_with_a_bridged_dropout_in_it_is_counted_but_not_timed():
    # the pose lost for 0.3 s in the middle of a 1.5 s hold: the gap is bridged (the rep counts),
    # but the line drawn across it is no reading of the hold, so the hold is not timed or judged
    plan = RepPlan(reps=3, top_s=1.5)
    track = plan_track(plan, noise_px=1.0)
    second_top = [t for k, t in plan.events if k == "top_start"][1]
    track = with_dropout(track, second_top + 0.5, 0.3)
    result = analyze_track(track, HIP_THRUST)
    assert result.rep_count == 3
    hidden = [r for r in result.reps if r.top_start_s <= second_top + 0.6 <= r.top_end_s]
    assert len(hidden) == 1 and math.isnan(hidden[0].top_pause_s) and hidden[0].top_still_s is None
    assert hidden[0].complete and hidden[0].down_s is not None  # the descent after the gap was seen
    item = next(r for r in result.results if r.code == "no_top_pause" and r.rep == hidden[0].index)
    assert item.status == NOT_MEASURABLE and "lost during the top hold" in item.reason
    seen = [r for r in result.reps if r is not hidden[0]]
    assert all(r.top_still_s is not None and r.top_still_s > 1.0 for r in seen)
