import dataclasses

import numpy as np
import pytest
from synthetic import RepPlan, plan_track, with_cut, with_dropout

from formcheck import signal as sig


def test_runs_finds_true_stretches():
    starts, ends = sig.runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool))
    assert starts.tolist() == [1, 4, 7]
    assert ends.tolist() == [3, 5, 8]


def test_gate_points_drops_low_visibility_only():
    pts = np.ones((3, 2, 2))
    vis = np.array([[0.9, 0.2], [0.5, 0.49], [0.0, 1.0]])
    out = sig.gate_points(pts, vis, 0.5)
    assert np.isnan(out[:, :, 0]).tolist() == [[False, True], [False, True], [True, False]]
    assert not np.isnan(pts).any(), "input must not be modified"


def test_gate_frame_drops_points_far_outside_the_picture():
    pts = np.array([[[10.0, 10.0], [-50.0, 10.0], [105.0, 50.0], [50.0, 200.0]]])
    out = sig.gate_frame(pts, width=100, height=100, margin=0.1)
    assert np.isnan(out[0, :, 0]).tolist() == [False, True, False, True]


def test_fill_short_gaps_bridges_short_interior_gaps_only():
    x = np.arange(20, dtype=float)
    x[3:5] = np.nan  # short: filled exactly (linear signal)
    x[8:15] = np.nan  # long: stays
    x[:1] = np.nan  # edge: stays
    out = sig.fill_short_gaps(x, max_gap=3)
    assert out[3:5].tolist() == [3.0, 4.0]
    assert np.isnan(out[8:15]).all()
    assert np.isnan(out[0])


def test_fill_short_gaps_never_bridges_a_cut():
    x = np.arange(10, dtype=float)
    x[4:6] = np.nan
    breaks = np.zeros(10, dtype=bool)
    breaks[6] = True  # a new shot starts right after the gap
    assert np.isnan(sig.fill_short_gaps(x, max_gap=3, breaks=breaks)[4:6]).all()
    assert not np.isnan(sig.fill_short_gaps(x, max_gap=3)[4:6]).any()


def test_lowpass_is_zero_phase_and_removes_noise():
    fps = 30.0
    t = np.arange(0, 10, 1 / fps)
    clean = 40 * np.sin(2 * np.pi * 0.4 * t)
    noisy = clean + np.random.default_rng(1).normal(0, 3, len(t))
    out = sig.lowpass(noisy, fps, cutoff_hz=3.0)
    assert np.std(out - clean) < 0.5 * np.std(noisy - clean)
    # a causal filter would delay the peaks by several frames; filtfilt does not
    smooth = sig.lowpass(clean, fps, cutoff_hz=3.0)
    mid = slice(60, 130)  # one peak, at frame ~94
    assert np.argmax(smooth[mid]) == np.argmax(clean[mid])
    lags = np.arange(-10, 11)
    xcorr = [np.dot(np.roll(out, -k)[20:-20], clean[20:-20]) for k in lags]
    assert lags[int(np.argmax(xcorr))] == 0


def test_lowpass_keeps_nan_stretches_and_filters_each_side():
    x = np.r_[np.full(50, 1.0), np.full(5, np.nan), np.full(50, 9.0)]
    out = sig.lowpass(x, 30.0, 3.0)
    assert np.isnan(out[50:55]).all()
    assert np.allclose(out[:50], 1.0) and np.allclose(out[55:], 9.0), "no smearing across the gap"


def test_detect_cuts_marks_a_jump_not_smooth_motion():
    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    assert not sig.detect_cuts(track, sig.SignalConfig()).any()
    cut = with_cut(track, at_s=5.0, shift_px=(150.0, 40.0))
    found = np.flatnonzero(sig.detect_cuts(cut, sig.SignalConfig()))
    assert found.tolist() == [150]


def test_detect_cuts_sees_a_zoom_and_a_cut_behind_a_short_dropout():
    track = plan_track(RepPlan(reps=3))
    zoom = with_cut(track, at_s=4.0, shift_px=(0.0, 0.0), scale=2.0)
    assert np.flatnonzero(sig.detect_cuts(zoom, sig.SignalConfig())).tolist() == [120]
    hidden = with_dropout(with_cut(track, at_s=4.1, shift_px=(200.0, 0.0)), 4.0, 0.1)
    assert np.flatnonzero(sig.detect_cuts(hidden, sig.SignalConfig())).tolist() == [123]


def test_implausible_flags_spikes_and_out_of_range_angles():
    cfg = sig.SignalConfig(spike_pad_s=0.0)
    angle = np.full(60, 150.0)
    angle[20] = 60.0  # one-frame flip: 90 deg in 1/30 s
    angle[40] = 300.0  # impossible reading
    bad = sig.implausible(angle, 30.0, cfg)
    assert bad[[19, 20, 21, 39, 40, 41]].all()
    assert bad.sum() == 6


def test_unusable_stretches_reports_dropouts_cuts_and_short_shots():
    fps = 10.0
    t = np.arange(100) / fps
    usable = np.ones(100, dtype=bool)
    usable[30:45] = False
    cuts = np.zeros(100, dtype=bool)
    cuts[[60, 65]] = True  # a half-second shot between two cuts
    keep, stretches = sig.unusable_stretches(usable, cuts, t, fps, sig.SignalConfig(min_segment_s=1.0))
    reasons = [(s.reason, s.start_s, s.end_s) for s in stretches]
    assert ("pose_not_usable", 3.0, 4.5) in reasons
    assert ("short_shot", 6.0, 6.5) in reasons
    assert [r for r in reasons if r[0] == "hard_cut"] == [("hard_cut", 6.0, 6.0), ("hard_cut", 6.5, 6.5)]
    assert not keep[30:45].any() and not keep[60:65].any() and keep[70:].all()


@pytest.mark.parametrize("gap_s", [0.1, 0.2])
def test_short_dropouts_are_bridged_end_to_end(gap_s):
    from formcheck.analysis import prepared_points

    track = with_dropout(plan_track(RepPlan(reps=2)), 3.0, gap_s)
    cfg = sig.SignalConfig()
    pts = prepared_points(track, "left", cfg, np.zeros(track.n_frames, dtype=bool))
    assert np.isfinite(pts).all()


def test_lowpass_never_averages_across_a_cut():
    x = np.r_[np.full(40, 100.0), np.full(40, 180.0)]
    breaks = np.zeros(80, dtype=bool)
    breaks[40] = True
    out = sig.lowpass(x, 30.0, 3.0, breaks=breaks)
    assert np.allclose(out[:40], 100.0) and np.allclose(out[40:], 180.0)
    assert not np.allclose(sig.lowpass(x, 30.0, 3.0)[38:42], x[38:42])


def test_gaussian_kernel_is_3db_down_at_the_cutoff():
    fps, fc = 30.0, 3.0
    sigma_s = sig.gaussian_sigma_frames(fps, fc) / fps
    gain = np.exp(-2 * (np.pi * sigma_s * fc) ** 2)
    assert gain == pytest.approx(1 / np.sqrt(2), rel=1e-6)


def test_a_trunk_foreshortened_end_on_is_no_cut_while_the_body_stays_put():
    # from the feet, the top of a bridge points the trunk at the lens: the shoulders jump onto
    # the hips in the picture while the head, knees and feet stay where they were
    from formcheck.track import Landmark

    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    image = track.image.copy()
    shoulders = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]
    hips = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]
    image[60:70, shoulders, :2] = image[60:70, hips, :2] + np.array([8.0, -4.0])
    folded = dataclasses.replace(track, image=image)
    trunk_only = sig.SignalConfig(cut_confirm_jump=0.0, cut_confirm_ratio=1.0)
    assert sig.detect_cuts(folded, trunk_only).any(), "the trunk alone reads a cut here"
    assert not sig.detect_cuts(folded, sig.SignalConfig()).any()
