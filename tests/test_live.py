"""`formcheck live` without a camera or the model: synthetic tracks replayed through the live pipeline.

A `FakeSource` yields blank frames on a track's clock and `ReplayBackend` returns the track's
landmarks for them, so the whole session (capture thread, queue, pose thread, setup check, live
analysis, cues, display composition, saving) runs as with a webcam, in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from synthetic import RepPlan, plan_track, sets_track

from formcheck import cli, pipeline
from formcheck.analysis import analyze_track
from formcheck.errors import CameraUnavailable, SourceLost
from formcheck.kinematics import ViewConfig
from formcheck.live.audio import AudioOut, AudioUnavailable, speech_synth, tone_wav
from formcheck.live.capture import CaptureThread, FrameQueue
from formcheck.live.cues import CuePolicy
from formcheck.live.display import Hud, Overlay
from formcheck.live.online import LiveAnalyzer, LiveRep, Verdict, gauge_number, match_reps, pose_unusable
from formcheck.live.recorder import CHUNK_FRAMES, TrackRecorder
from formcheck.live.session import LiveOptions, LiveSession
from formcheck.live.setup import SetupCheck
from formcheck.live.sources import Frame
from formcheck.pose import ReplayBackend
from formcheck.profiles import load_profile
from formcheck.report import build_report
from formcheck.track import PoseTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from drop_sensitivity import queue_like_drops  # noqa: E402  (live-like drops, as the tool makes them)


class FakeSource:
    """Blank frames at the track's size and rate; `fail_after` frames then a lost camera."""

    def __init__(
        self,
        track: PoseTrack,
        realtime: bool = False,
        fail_after: int | None = None,
        is_camera: bool = False,
        pace_s: float = 0.0,
    ) -> None:
        self.is_camera = is_camera
        self.pace_s = pace_s  # a pause after each frame (a camera's pace, sped up)
        self.name, self.path = "fake camera", "fake"
        self.fps, self.width, self.height = track.fps, track.width, track.height
        self.realtime = realtime
        self.n = track.n_frames if fail_after is None else fail_after
        self.fail = fail_after is not None
        self.closed = False
        self.delivered = 0

    def frames(self):
        image = np.zeros((self.height, self.width, 3), np.uint8)
        image[:, :, 1] = 120  # not "too dark"
        for i in range(self.n):
            self.delivered += 1
            yield Frame(i, i / self.fps, time.perf_counter(), image, int(round(i * 1000.0 / self.fps)))
            if self.pace_s:
                time.sleep(self.pace_s)
        if self.fail:
            raise SourceLost(f"{self.name} stopped sending pictures after {self.n / self.fps:.1f} s")

    def close(self) -> None:
        self.closed = True


def _codes(report: dict) -> list[tuple[int, list[str]]]:
    return [(r["rep"], sorted(r["faults"])) for r in report["reps"]]


def _live_codes(doc: dict) -> list[tuple[int, list[str]]]:
    return [(r["rep"], sorted(r["faults"])) for r in doc["live_reps"]]


@pytest.fixture(scope="module")
def lockout_track() -> PoseTrack:
    """4 reps, the second 28 deg short of the line: incomplete_lockout on rep 2 only."""
    plan = RepPlan(reps=4, top_degs=[178.5, 160.0, 178.5, 178.5], down_s=1.5, bottom_s=0.8, lead_s=1.5)
    return plan_track(plan, noise_px=0.5)


def _session(track: PoseTrack, tmp_path, **kw) -> tuple[LiveSession, FakeSource]:
    fail_after = kw.pop("fail_after", None)
    source = FakeSource(track, fail_after=fail_after, is_camera=fail_after is not None)
    options = LiveOptions(variant="hip_thrust", out=str(tmp_path / "s"), headless=True, quiet=True, **kw)
    return LiveSession(options, source, ReplayBackend(track), stdout=_Sink(), stderr=_Sink()), source


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


# ------------------------------------------------------------------ capture queue and recorder


def _frame(i: int) -> Frame:
    return Frame(i, i / 30.0, 0.0, np.zeros((2, 2, 3), np.uint8), i * 33)


def _runs_of(missing: set[int], n: int) -> list[int]:
    """Lengths of the runs of consecutive frame numbers in `missing` (of 0..n-1)."""
    runs, k = [], 0
    for i in range(n):
        k = k + 1 if i in missing else 0
        if k and (i + 1 not in missing):
            runs.append(k)
    return runs


def test_queue_drops_spread_out_and_hands_their_times_over_before_the_next_frame():
    q = FrameQueue(3)
    for i in range(7):
        q.put(_frame(i))
    assert q.dropped_count == 4 and len(q) == 3
    seen = []
    while (batch := q.take(0)) is not None and (batch.frame or batch.dropped):
        seen += [("dropped", i) for i, _ in batch.dropped]
        if batch.frame is None:
            break
        seen.append(("frame", batch.frame.index))
    assert [i for _, i in seen] == list(range(7))  # every frame once, in capture order
    assert max(_runs_of({i for k, i in seen if k == "dropped"}, 7)) <= 2  # not one hole of 4
    q.close()
    assert q.take(0) is None


def test_a_sustained_overload_drops_every_other_frame_not_a_stretch_and_lags_at_most_twice_the_budget():
    q = FrameQueue(30)
    order, lag = [], []
    for i in range(600):  # the consumer takes one frame for every two the camera sends
        q.put(_frame(i))
        if i % 2:
            batch = q.take(0)
            order += [(j, False) for j, _ in batch.dropped] + [(batch.frame.index, True)]
            lag.append(i - batch.frame.index)
    assert [i for i, _ in order] == list(range(order[-1][0] + 1))
    dropped = {i for i, taken in order if not taken}
    assert 0.4 < q.dropped_count / 600 < 0.6
    assert max(_runs_of(dropped, 600)) <= 2, "the analysis bridges gaps of a frame or two, not more"
    assert max(lag) <= 2 * 30


def test_capture_queues_every_kth_frame_of_a_fast_camera_and_counts_them_all():
    track = plan_track(RepPlan(reps=1, fps=60.0))
    source = FakeSource(track)
    q = FrameQueue(10**6, lossless=True)
    capture = CaptureThread(source, q, stride=2)
    capture.start()
    capture.join(5.0)
    queued = []
    while (batch := q.take(0)) is not None and batch.frame is not None:
        queued.append(batch.frame.index)
    assert capture.stats.captured == track.n_frames and q.dropped_count == 0
    assert queued == list(range(0, track.n_frames, 2))


def test_a_60fps_camera_is_analysed_at_every_2nd_frame_as_analyze_does(tmp_path):
    """The model's work halved where a 2-core machine would otherwise drop frames, and the track
    is analyze's strided one (frames 0, 2, 4... on their own times)."""
    track = plan_track(RepPlan(reps=3, fps=60.0, top_degs=[178.5, 160.0, 178.5]), noise_px=0.5)
    session, _ = _session(track, tmp_path)
    result = session.run()
    frames = result.doc["frames"]
    assert frames["captured"] == track.n_frames and frames["analysed_every"] == 2
    assert frames["processed"] == frames["recorded"] == -(-track.n_frames // 2) and frames["dropped"] == 0
    saved = PoseTrack.load(result.folder / "track.npz")
    start = result.doc["set"]["start_frame"]
    assert np.allclose(saved.timestamps, track.timestamps[::2][start:]) and saved.fps == pytest.approx(30.0)
    strided = dataclasses.replace(
        track, image=track.image[::2], world=track.world[::2], visibility=track.visibility[::2],
        timestamps=track.timestamps[::2], fps=30.0,
    )  # fmt: skip
    profile = load_profile("hip_thrust")
    offline = build_report(analyze_track(strided, profile), profile).as_json_dict()
    assert _live_codes(result.doc) == _codes(offline) == [(1, []), (2, ["incomplete_lockout"]), (3, [])]


def test_lossless_queue_waits_for_the_consumer_instead_of_dropping():
    q = FrameQueue(2, lossless=True)
    taken = []

    def consume():
        while (batch := q.take(1.0)) is not None:
            if batch.frame is not None:
                taken.append(batch.frame.index)
                time.sleep(0.002)

    worker = threading.Thread(target=consume)
    worker.start()
    for i in range(50):
        q.put(_frame(i))
    q.close()
    worker.join()
    assert taken == list(range(50)) and q.dropped_count == 0


def test_recorder_spills_chunks_keeps_memory_bounded_and_reassembles_exactly(tmp_path):
    rec = TrackRecorder(tmp_path / "spool", 64, 48, 30.0, keep_frames=CHUNK_FRAMES)
    rng = np.random.default_rng(1)
    n = CHUNK_FRAMES * 4 + 17
    rows = rng.random((n, 33, 7)).astype(np.float32)
    for i in range(n):
        rec.append(i / 30.0, None if i % 50 == 0 else rows[i])
    assert len(list((tmp_path / "spool").glob("chunk-*.npz"))) == 4
    assert rec.in_memory_bytes() <= 3 * rows[:CHUNK_FRAMES].nbytes  # not the 5 chunks recorded
    track = rec.track()
    assert track.n_frames == n and rec.n_detected == n - len(range(0, n, 50))
    expect = rows.copy()
    expect[::50] = np.nan
    np.testing.assert_array_equal(track.image, expect[..., 0:3])
    np.testing.assert_array_equal(track.visibility, np.nan_to_num(expect[..., 6]))
    np.testing.assert_array_equal(track.timestamps, np.arange(n) / 30.0)
    part = rec.track(100, 2000)  # a window spanning spilled chunks
    np.testing.assert_array_equal(part.world, expect[100:2000, :, 3:6])


def test_recorder_bridges_short_runs_of_dropped_frames_and_nothing_else(tmp_path):
    """A run of at most MAX_BRIDGED dropped frames between two poses is interpolated in time, also
    once its chunk has been written out; a longer run, one next to a frame with nobody in it, and a
    frame with nobody in it stay empty."""
    rec = TrackRecorder(tmp_path / "spool", 64, 48, 30.0, keep_frames=CHUNK_FRAMES)
    n = CHUNK_FRAMES + 60
    rows = np.zeros((n, 33, 7), np.float32)
    rows[..., 0:6] = np.arange(n, dtype=np.float32)[:, None, None]  # every coordinate = the frame index
    rows[..., 6] = 0.9
    rows[12, :, 6] = 0.6  # the lower visibility of a bridged run's two ends is kept
    dropped = {10, 11, 20, 21, 22, 30, 40, CHUNK_FRAMES + 5}  # runs of 2, 3, 1 (beside nobody), 1, 1
    nobody = {31, 50}
    for i in range(n):
        rec.append(i / 30.0, None if i in nobody else rows[i], dropped=i in dropped)
    assert list((tmp_path / "spool").glob("chunk-*.npz"))  # the first chunk was read back from disk
    track = rec.track()
    bridged = {10, 11, 40, CHUNK_FRAMES + 5}
    for i in range(n):
        if i in bridged:
            np.testing.assert_allclose(track.image[i], rows[i, :, 0:3], atol=1e-4)
            np.testing.assert_allclose(track.world[i], rows[i, :, 3:6], atol=1e-4)
        elif i in dropped or i in nobody:
            assert np.isnan(track.image[i]).all() and (track.visibility[i] == 0).all(), i
    assert (track.visibility[[10, 11]] == np.float32(0.6)).all()  # min of frames 9 (0.9) and 12 (0.6)
    assert track.meta["frames_bridged"] == len(bridged)
    assert rec.n_detected == n - len(dropped) - len(nobody)


@pytest.mark.parametrize("clip", ["hip_thrust_barbell_box_oblique_portrait.gif"])
def test_dropped_frames_bridged_leave_the_report_as_analyze_has_it(tmp_path, shared_track, clip):
    """A real track (one pose stream, as live runs the model) through the recorder with a fifth of
    its frames dropped, five patterns: bridged, every rep keeps analyze's faults; left empty (the
    recorder before bridging), the top read off the missing frames flagged incomplete_lockout.
    Not every clip holds so (tools/drop_sensitivity.py): a top phase of 0.33 s, the captioned
    bridge's rep 1, reads 0.21 s in 2 of 5 bridged patterns and turns no_top_pause."""
    full = shared_track(clip)
    variant = "hip_thrust" if clip.startswith("hip_thrust") else "glute_bridge"

    def faults(track: PoseTrack) -> list[list[str]]:
        return [r.faults for r in pipeline.run_track(track, pipeline.Settings(variant=variant)).report.reps]

    expected = faults(full)
    rows = np.concatenate([full.image, full.world, full.visibility[..., None]], axis=-1)
    changed = {False: 0, True: 0}
    for seed in range(5):
        drops = queue_like_drops(full.n_frames, 0.2, seed)
        for bridged in (False, True):
            rec = TrackRecorder(tmp_path / f"spool-{seed}-{bridged}", full.width, full.height, full.fps)
            for i, t in enumerate(full.timestamps):
                if drops[i]:
                    rec.append(t, None, dropped=bridged)  # dropped=False: the old recorder's empty row
                else:
                    rec.append(t, rows[i])
            changed[bridged] += faults(rec.track()) != expected
    assert changed[True] == 0 and changed[False] >= 2, changed


# ------------------------------------------------------------------ setup check


def _row(track: PoseTrack, i: int) -> np.ndarray:
    return np.concatenate([track.image[i], track.world[i], track.visibility[i][:, None]], axis=1)


def _setup(track: PoseTrack, variant: str = "hip_thrust", hold_s: float = 1.0) -> SetupCheck:
    return SetupCheck(track.width, track.height, track.fps, variant, ViewConfig(), hold_s)


def test_setup_arms_after_the_hold_and_counts_from_the_start_of_it(lockout_track):
    check = _setup(lockout_track)
    for i in range(10):  # nobody yet
        status = check.update(i, i / 30, None, 120.0)
    assert [a.code for a in status.advice] == ["no_person"] and not status.armed
    for i in range(10, 39):  # in position for 29 frames: not yet a second
        status = check.update(i, i / 30, _row(lockout_track, i), 120.0)
    assert status.in_position and not status.armed and 0.9 < status.hold_progress < 1.0
    status = check.update(39, 39 / 30, _row(lockout_track, 39), 120.0)
    assert status.armed and status.arm_index == 10 and status.arm_t == pytest.approx(10 / 30)


def test_setup_a_short_dropout_does_not_restart_the_hold_but_a_long_one_does(lockout_track):
    check = _setup(lockout_track)
    for i in range(20):
        check.update(i, i / 30, _row(lockout_track, i), 120.0)
    for i in range(20, 24):  # 0.13 s without a pose
        check.update(i, i / 30, None, 120.0)
    for i in range(24, 31):
        status = check.update(i, i / 30, _row(lockout_track, i), 120.0)
    assert status.armed and status.arm_index == 0
    check = _setup(lockout_track)
    for i in range(20):
        check.update(i, i / 30, _row(lockout_track, i), 120.0)
    for i in range(20, 35):  # 0.5 s without a pose: the hold starts again
        check.update(i, i / 30, None, 120.0)
    for i in range(35, 50):
        status = check.update(i, i / 30, _row(lockout_track, i), 120.0)
    assert not status.armed and status.hold_progress == pytest.approx(15 / 30)


def test_setup_frames_dropped_before_the_model_do_not_break_the_hold(lockout_track):
    check = _setup(lockout_track)
    for i in range(0, 40, 10):  # a pose every 10th frame (a third of a second apart), all in position
        status = check.update(i, i / 30, _row(lockout_track, i), 120.0)
        if i == 20:  # and one frame the model missed between them is one frame, not a third of a second
            check.update(25, 25 / 30, None, 120.0)
    assert status.armed and status.arm_index == 0


def test_setup_names_what_is_out_of_the_picture_and_where_on_the_mirrored_screen(lockout_track):
    check = _setup(lockout_track)
    row = _row(lockout_track, 0)
    row[[27, 28, 29, 30, 31, 32], 0] += lockout_track.width  # feet past the camera's right edge
    status = check.update(0, 0.0, row, 120.0)
    advice = {a.code: a for a in status.advice}
    assert advice["out_of_frame"].blocking
    assert "feet" in advice["out_of_frame"].text and "left edge" in advice["out_of_frame"].text
    status = check.update(1, 1 / 30, row, 20.0)
    assert any(a.code == "too_dark" and not a.blocking for a in status.advice)


HEAD = [0, *range(1, 11)]  # nose, eyes, ears, mouth
FEET = [27, 28, 29, 30, 31, 32]


@pytest.mark.parametrize(
    ("moved", "words"),
    [
        ({"x": FEET}, "Your feet are out of the picture (past the left edge)"),
        ({"y": HEAD}, "Your head is out of the picture (past the top edge)"),
        ({"x": FEET, "y": HEAD}, "Your head and feet are out of the picture (past the left and top edges)"),
    ],
    ids=["feet", "head", "head-and-feet"],
)
def test_setup_advice_agrees_in_number(lockout_track, moved, words):
    row = _row(lockout_track, 0)
    row[moved.get("x", []), 0] += lockout_track.width  # past the camera's right: the mirror's left
    row[moved.get("y", []), 1] -= lockout_track.height
    status = _setup(lockout_track).update(0, 0.0, row, 120.0)
    (text,) = [a.text for a in status.advice if a.code == "out_of_frame"]
    assert text.startswith(words + ":"), text


def test_setup_straight_legs_block_and_the_wrong_view_is_advice_only(lockout_track):
    check = _setup(lockout_track)
    row = _row(lockout_track, 0)
    hip, knee = row[24, :2], row[26, :2]
    for side in ((23, 25, 27), (24, 26, 28)):  # put the ankles on the thigh's line: straight knees
        row[side[2], :2] = row[side[1], :2] + (knee - hip)
    assert any(a.code == "straight_legs" and a.blocking for a in check.update(0, 0, row, 120.0).advice)
    front = _setup(lockout_track, variant="banded_hip_thrust")
    for i in range(40):
        status = front.update(i, i / 30, _row(lockout_track, i), 120.0)
    assert status.view == "side" and status.armed
    assert [a.code for a in status.advice] == ["face_camera"] and not status.advice[0].blocking


# ------------------------------------------------------------------ cues


def _verdict(number: int, codes: tuple[str, ...], first: bool = True) -> Verdict:
    profile = load_profile("hip_thrust")
    faults = tuple(
        dataclasses.replace(
            _any_fault(), code=c, rep=number, reps=(number,), cue=profile.fault(c).guide.cue
        )
        for c in codes
    )
    rep = LiveRep(number, 0.0, 1.0, True, codes, faults)
    return Verdict(rep, codes, first)


def _any_fault():
    from formcheck.findings import Fault

    return Fault("x", "moderate", 1, 0.0, 1.0, 0.0, 0.0, "s", "<", "", "", "", "")


def test_cues_do_not_repeat_a_fault_on_every_rep_and_praise_good_reps():
    policy = CuePolicy(quiet_reps=3)
    kinds = []
    for n in range(1, 9):
        (cue,) = policy.on_verdict(_verdict(n, ("no_top_pause",)), float(n))
        kinds.append((cue.kind, cue.speak))
    assert kinds == [("fault", True), *[("repeat", False)] * 3, ("fault", True), *[("repeat", False)] * 3]
    (cue,) = policy.on_verdict(_verdict(9, ()), 9.0)
    assert cue.kind == "better" and cue.speak
    (cue,) = policy.on_verdict(_verdict(10, ()), 10.0)
    assert cue.kind == "good" and not cue.speak and cue.sound == "chime"


def test_cues_say_the_worst_fault_first_then_the_next_one_not_said_lately():
    policy = CuePolicy()
    major = dataclasses.replace(_verdict(1, ("no_top_pause", "incomplete_lockout")))
    faults = tuple(
        dataclasses.replace(f, severity="major" if f.code == "no_top_pause" else "minor")
        for f in major.rep.faults
    )
    rep = dataclasses.replace(major.rep, faults=faults)
    (cue,) = policy.on_verdict(Verdict(rep, rep.codes, True), 1.0)
    assert cue.code == "no_top_pause"
    rep2 = dataclasses.replace(rep, number=2)
    (cue,) = policy.on_verdict(Verdict(rep2, rep2.codes, True), 2.0)
    assert cue.code == "incomplete_lockout" and cue.kind == "fault"


# ------------------------------------------------------------------ audio


def test_audio_plays_cues_through_the_player_and_a_failure_only_turns_it_off():
    played, problems = [], []
    out = AudioOut("speech", problems.append, player=played.append, synth=lambda text: tone_wav("go") + b"")
    policy = CuePolicy()
    for n in range(1, 3):
        for cue in policy.on_verdict(_verdict(n, ("incomplete_lockout",) if n == 1 else ()), float(n)):
            out.say(cue)
            time.sleep(0.05)
    out.close()
    assert len(played) == 2 and played[0][:4] == b"RIFF" and not problems

    def broken(_: bytes) -> None:
        raise AudioUnavailable("aplay failed: audio open error: No such device")

    out = AudioOut("tone", problems.append, player=broken)
    for cue in policy.on_verdict(_verdict(3, ()), 3.0):
        out.say(cue)
    out.close()
    assert not out.enabled and len(problems) == 1 and "audio open error" in problems[0]


def test_audio_without_espeak_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AudioUnavailable, match="espeak-ng"):
        speech_synth()
    problems = []
    out = AudioOut("speech", problems.append, player=lambda data: None)
    assert not out.enabled and "apt-get install espeak-ng" in problems[0]


# ------------------------------------------------------------------ display


def test_hud_mirrors_the_picture_and_the_skeleton_together(lockout_track):
    w, h = lockout_track.width, lockout_track.height
    hud = Hud(w, h, mirror=True, screen=(1280, 800))
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :40] = 200  # a bright band on the camera's left
    row = _row(lockout_track, 60)
    overlay = Overlay(2, "up", 150.0, 170.0, 203.0, "right", None, None, (), "30 fps")
    out = hud.compose(image, row, overlay)
    assert out.shape == (800, 1280, 3) and image[:, :40].min() == 200  # the screen's size; input untouched
    pic, k = hud.place.picture, hud.place.scale
    assert out[pic.y0 + pic.h // 2, pic.x1 - int(20 * k)].min() > 150  # the band is now on the right
    assert out[pic.y0 + pic.h // 2, pic.x0 + int(20 * k)].max() < 50
    knee = row[26, :2]
    mx, my = int(pic.x0 + (w - 1 - knee[0]) * k), int(pic.y0 + knee[1] * k)
    assert out[my - 3 : my + 4, mx - 3 : mx + 4].max() > 200  # a joint dot where the mirrored knee is


def test_the_gauge_has_a_number_only_where_the_report_shows_the_angle(lockout_track):
    analysis = analyze_track(lockout_track, load_profile("hip_thrust"))
    assert gauge_number(analysis, 171.5) == 171.5
    assert math.isnan(gauge_number(None, 171.5))  # before the first analysis
    # a load hiding the hip (or a body or view the calibration does not cover): report and gauge agree
    hidden = dataclasses.replace(analysis, not_measurable={"incomplete_lockout": "a load hides the hip"})
    assert math.isnan(gauge_number(hidden, 171.5))


# ------------------------------------------------------------------ the live analysis


def test_windowed_live_analysis_counts_a_long_session_as_the_offline_analysis_does(tmp_path):
    """Three sets of 6 reps with rests, analysed live in a 25 s window (so it slides many times)."""
    plans = [
        RepPlan(reps=6, lead_s=1.0, tail_s=0.5, top_degs=[178.5, 178.5, 160, 178.5, 178.5, 178.5])
        for _ in range(3)
    ]
    track = sets_track(plans, rest_s=22.0, noise_px=0.4)
    rec = TrackRecorder(tmp_path / "spool", track.width, track.height, track.fps, keep_frames=900)
    live = LiveAnalyzer(rec, "hip_thrust", window_s=25.0)
    live.arm(0)
    verdicts = []
    for i in range(track.n_frames):
        rec.append(track.timestamps[i], _row(track, i) if track.detected[i] else None)
        if i % 9 == 8:
            verdicts += live.update()
    verdicts += live.update(final=True)
    profile = load_profile("hip_thrust")
    offline = build_report(analyze_track(track, profile), profile).as_json_dict()
    assert live.set_start == 0 and live.start > 0  # the window did slide
    assert [(r.number, sorted(r.codes)) for r in live.state.reps] == _codes(offline)
    assert len(live.state.reps) == 18
    firsts = [v.rep.number for v in verdicts if v.first]
    assert firsts == sorted(set(firsts)) and len(firsts) >= 17  # each rep judged once, as it ended


def _live_over(track: PoseTrack, tmp_path, every: int = 9) -> tuple[LiveAnalyzer, list[Verdict]]:
    rec = TrackRecorder(tmp_path / "spool", track.width, track.height, track.fps)
    live = LiveAnalyzer(rec, "hip_thrust")
    live.arm(0)
    verdicts = []
    for i in range(track.n_frames):
        rec.append(track.timestamps[i], _row(track, i) if track.detected[i] else None)
        if i % every == every - 1:
            verdicts += live.update()
    return live, verdicts + live.update(final=True)


def test_a_told_verdict_changes_only_by_a_spoken_correction_and_the_report_has_the_last_word(
    lockout_track, tmp_path
):
    live, verdicts = _live_over(lockout_track, tmp_path)
    assert [v.rep.number for v in verdicts if v.first] == [1, 2, 3, 4]  # each rep judged once
    assert not [v for v in verdicts if not v.first]  # nothing to correct: the analyses agreed
    assert [r.told[-1][1] for r in live.state.reps] == [(), ("incomplete_lockout",), (), ()]
    # the set's report saw rep 2 locked out (the same timing, every top on the line)
    plan = RepPlan(reps=4, top_degs=[178.5] * 4, down_s=1.5, bottom_s=0.8, lead_s=1.5)
    profile = load_profile("hip_thrust")
    (fix,) = live.settle(analyze_track(plan_track(plan, noise_px=0.5), profile), profile)
    assert not fix.first and fix.rep.number == 2 and fix.removed == ("incomplete_lockout",)
    assert [len(r.told) for r in live.state.reps] == [1, 2, 1, 1] and live.state.reps[1].told[-1][1] == ()
    (cue,) = CuePolicy().on_verdict(fix, 9.0)
    assert cue.kind == "correction" and cue.speak and "rep 2" in cue.text and "clean" in cue.text
    # a report with one rep fewer: the rep told and no longer counted is withdrawn aloud
    short = RepPlan(reps=3, top_degs=[178.5] * 3, down_s=1.5, bottom_s=0.8, lead_s=1.5)
    out = live.settle(analyze_track(plan_track(short, noise_px=0.5), profile), profile)
    (gone,) = [v for v in out if v.withdrawn]
    assert gone.rep.start_s > 10 and live.withdrawn == [gone.rep] and len(live.state.reps) == 3
    assert "did not count" in CuePolicy().on_verdict(gone, 9.0)[0].text


def test_reps_keep_their_verdicts_by_time_when_a_rep_is_found_before_them():
    assert match_reps([(0.0, 1.0), (2.0, 3.0), (4.0, 5.0)], [(2.1, 3.0), (4.0, 5.2)]) == [None, 0, 1]
    assert match_reps([(2.0, 3.0)], [(0.0, 1.0), (2.2, 2.9)]) == [1]
    assert match_reps([(0.0, 1.0)], [(1.5, 2.0)]) == [None]


def test_a_body_drawn_where_the_analysis_finds_no_usable_pose_counts_as_out_of_the_picture():
    """A close-up or a cut: the model may draw a body, the analysis marks the pose not usable."""
    from types import SimpleNamespace

    from formcheck.signal import Stretch

    analysis = SimpleNamespace(
        fps=30.0, unusable=[Stretch(4.6, 10.7, "pose_not_usable"), Stretch(20.0, 20.0, "hard_cut")]
    )
    assert pose_unusable(analysis, 5.0, analysed_to=30.0)  # inside the stretch
    assert not pose_unusable(analysis, 11.0, analysed_to=30.0)  # after it, usable again
    assert not pose_unusable(analysis, 20.0, analysed_to=30.0)  # a cut alone is not a lost body
    assert pose_unusable(analysis, 10.9, analysed_to=10.7)  # still going on where the analysis ended
    assert not pose_unusable(None, 5.0, analysed_to=30.0)


# ------------------------------------------------------------------ whole sessions


def test_a_clip_that_ends_before_the_coach_looks_still_logs_the_go(lockout_track, tmp_path):
    """A fast machine (or a starved coach thread) can finish the clip between two coach rounds:
    the start-position "Go" is still said and logged, ahead of the reps' verdicts."""
    session, _ = _session(lockout_track, tmp_path)
    session.coach.interval_s = 3600.0  # the coach thread never gets a round in
    result = session.run()
    doc = json.loads((result.folder / "session.json").read_text())
    said = [(c["kind"], c["rep"]) for c in doc["cues"]]
    assert said[0] == ("armed", None) and ("fault", 2) in said and ("good", 1) in said


def test_session_counts_cues_and_saves_what_analyze_reproduces(lockout_track, tmp_path, capsys):
    session, source = _session(lockout_track, tmp_path)
    result = session.run()
    folder = result.folder
    assert result.ended_by == "end_of_clip" and result.exit_code == 0 and source.closed
    assert sorted(p.name for p in folder.iterdir()) == ["report.json", "session.json", "track.npz"]
    report = json.loads((folder / "report.json").read_text())
    doc = json.loads((folder / "session.json").read_text())
    assert doc["frames"]["processed"] == lockout_track.n_frames and doc["frames"]["dropped"] == 0
    assert doc["set"]["counting_started"] and doc["set"]["start_frame"] == 0
    assert _live_codes(doc) == _codes(report) == [(1, []), (2, ["incomplete_lockout"]), (3, []), (4, [])]
    assert [(r["rep"], r["told"][-1]["faults"]) for r in doc["live_reps"]] == _codes(report)
    assert result.analysed is session._last_set  # one set: its report is the session's, made once
    said = [(c["kind"], c["rep"]) for c in doc["cues"]]
    assert ("armed", None) in said and ("fault", 2) in said and ("good", 1) in said
    assert "set: 4 reps" in session.stdout.text and str(folder) in session.stdout.text
    again = tmp_path / "again.json"
    argv = ["analyze", "--track", str(folder / "track.npz"), "--variant", "hip_thrust", "--json", str(again)]
    assert cli.main(argv) == 0
    assert json.loads(again.read_text())["reps"] == report["reps"]


def test_the_setup_before_the_set_is_left_out_of_it(tmp_path):
    """Lying flat with straight legs for 2 s (no start position), then the set."""
    track = plan_track(RepPlan(reps=3, setup_flat_s=2.0, lead_s=1.0))
    session, _ = _session(track, tmp_path)
    result = session.run()
    start = result.doc["set"]["start_frame"]
    assert 1.9 * track.fps <= start <= 2.6 * track.fps
    saved = PoseTrack.load(result.folder / "track.npz")
    assert saved.n_frames == track.n_frames - start and saved.timestamps[0] == pytest.approx(
        start / track.fps
    )
    assert result.analysed.analysis.rep_count == 3


def test_a_camera_lost_mid_set_keeps_what_was_recorded(lockout_track, tmp_path):
    cut = int(lockout_track.n_frames * 0.6)
    session, _ = _session(lockout_track, tmp_path, fail_after=cut)
    result = session.run()
    assert result.ended_by == "camera_lost" and result.exit_code == SourceLost.exit_code
    saved = PoseTrack.load(result.folder / "track.npz")
    assert saved.n_frames == cut
    report = json.loads((result.folder / "report.json").read_text())
    doc = json.loads((result.folder / "session.json").read_text())
    assert report["summary"]["rep_count"] >= 2 and "stopped sending pictures" in doc["error"]
    assert _live_codes(doc) == _codes(report)


def test_no_start_position_means_no_set_but_the_recording_is_kept(tmp_path):
    track = plan_track(RepPlan(reps=0, setup_flat_s=3.0, lead_s=0.0, tail_s=0.0))
    session, _ = _session(track, tmp_path)
    result = session.run()
    assert result.exit_code == 0 and result.analysed is None
    assert not (result.folder / "report.json").exists() and (result.folder / "track.npz").exists()
    assert "counting never started" in session.stdout.text
    assert "start position" in session.stdout.text


def test_live_cli_bad_inputs_give_one_line_and_their_codes(tmp_path, capsys):
    assert cli.main(["live", "--camera", "7", "--headless"]) == CameraUnavailable.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("formcheck: error: cannot open camera 7")
    assert cli.main(["live", "--source", str(tmp_path / "none.mp4"), "--headless"]) == 10
    assert cli.main(["live", "--variant", "nope", "--headless"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["live", "--audio", "loud"])
    assert exc.value.code == 2
    assert cli.main(["live", "--realtime", "--headless"]) == 2


class FakeWindow:
    """The window's part in a session without a display: presses n once the shown frames are
    `rest_s` into the rest after `reps` counted reps, and answers every held screen with `answer`."""

    def __init__(self, reps: int, rest_s: float, answer: int = ord(" ")) -> None:
        self.screen = (1280, 800)
        self.reps, self.rest_s, self.answer = reps, rest_s, answer
        self.session: LiveSession | None = None
        self.last_key = -1
        self.pressed = 0
        self.held: list[np.ndarray] = []
        self.texts: list[str] = []  # each shown frame's panel text

    def show(self, frame: np.ndarray) -> bool:
        assert self.session is not None and frame.shape == (800, 1280, 3)
        self.texts.append(" ".join(text for _, text, _ in self.session.hud.flow.lines))
        state, t = self.session.analyzer.state, self.session.display.hips[-1][0]
        due = state.rep_count == self.reps and t - state.reps[-1].end_s > self.rest_s
        self.last_key = ord("n") if due and not self.pressed else -1
        self.pressed += self.last_key != -1
        return True

    def poll(self, wait_ms: int = 1) -> bool:
        return True

    def hold(self, frame: np.ndarray, timeout_s: float | None = None) -> int:
        self.held.append(frame)
        return self.answer

    def paint(self, frame: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


def test_next_set_flow_ends_a_set_rests_and_counts_the_next_one_as_analyze_does(tmp_path):
    """Two sets of 3 reps with a 25 s rest; n pressed 4 s into the rest."""
    plans = [
        RepPlan(reps=3, lead_s=1.5, tail_s=0.5, top_degs=tops)
        for tops in ([178.5, 160, 178.5], [178.5, 178.5, 160])
    ]
    track = sets_track(plans, rest_s=25.0, noise_px=0.4)
    source = FakeSource(track, pace_s=1.0 / track.fps / 6)
    options = LiveOptions(variant="hip_thrust", out=str(tmp_path / "s"), quiet=True, screen=(1280, 800))
    session = LiveSession(options, source, ReplayBackend(track), stdout=_Sink(), stderr=_Sink())
    window = FakeWindow(reps=3, rest_s=4.0)
    window.session = session
    result = session.run(window)
    assert window.pressed == 1 and result.ended_by == "end_of_clip"
    report = json.loads((result.folder / "report.json").read_text())
    doc = result.doc
    assert report["summary"]["set_count"] == 2 and report["summary"]["rep_count"] == 6
    assert _live_codes(doc) == _codes(report)  # numbered through the session, as the report does
    ended = doc["sets_ended_live"]
    assert len(ended) == 1 and ended[0]["set"] == 1 and ended[0]["reps"] == 3
    assert ended[0]["top_fault"] == "Finish the lockout"
    assert [c["kind"] for c in doc["cues"]].count("armed") == 2  # "Go" again for the second set
    assert len(window.held) == 2  # set 1's summary (answered: rest), then set 2's at the end
    assert session.set_number == 2 and len(session.sets) == 1
    # between the sets the rest panel with its timer, then set 2 counted under its number
    rest = [k for k, t in enumerate(window.texts) if "REST 0:" in t and "NEXT: SET 2" in t]
    # set 2's reps shown under its number (not "REP 3" exactly: on a busy machine the display can
    # miss the last rep's few frames before the clip ends, as it did 1 run in 4 beside other work)
    second = [k for k, t in enumerate(window.texts) if re.search(r"REP [1-3] SET 2", t)]
    assert _codes(report) == [
        (1, []),
        (2, ["incomplete_lockout"]),
        (3, []),
        (4, []),
        (5, []),
        (6, ["incomplete_lockout"]),
    ]
    assert rest and second and rest[-1] < second[0]
    assert any("REST 0:2" in window.texts[k] for k in rest)  # on the bench, still resting 20 s on
    assert all(r["verdict_at_s"] is not None for r in doc["live_reps"])
