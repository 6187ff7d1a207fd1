"""Frame stride for clips above 30 fps, and the pose pass's frame copy for the pictures (no model)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from clips import clip_for
from synthetic import RepPlan, plan_track
from test_pose import StripBackend

from formcheck import annotate, html_report, pose, report
from formcheck.analysis import analyze_track
from formcheck.batch import BatchSettings
from formcheck.cli import build_parser
from formcheck.frames import FileFrames, SpillFrames, frames_for
from formcheck.io import VideoReader
from formcheck.profiles import load_profile
from formcheck.viz import overlay_data


@pytest.mark.parametrize(
    ("fps", "stride"),
    [(24.0, 1), (29.97, 1), (30.0, 1), (30.2, 1), (50.0, 2), (59.94, 2), (60.0, 2), (60.076, 2),
     (90.0, 3), (120.0, 4), (240.0, 8)],
)  # fmt: skip
def test_frame_stride_keeps_the_analysed_rate_at_30_or_less(fps, stride):
    assert pose.frame_stride(fps) == stride
    assert pose.frame_stride(fps, every_frame=True) == 1
    assert fps / stride <= 30.0 * pose.FPS_SLACK


def test_plan_segments_start_on_stride_boundaries():
    assert pose.plan_segments(1000, 60.0, stride=2, shares=3) == [(0, 334), (334, 666), (666, None)]
    assert pose.plan_segments(1001, 120.0, stride=4, shares=2) == [(0, 500), (500, None)]
    for a, _ in pose.plan_segments(997, 50.0, stride=2, shares=4):
        assert a % 2 == 0


@pytest.mark.parametrize("workers", [1, 3])
def test_60fps_clip_is_analysed_at_every_2nd_frame(make_video, workers):
    path = make_video(n_frames=777, size=(96, 64), fps=60.0)
    made: list[StripBackend] = []

    def factory() -> StripBackend:
        made.append(StripBackend())
        return made[-1]

    track = pose.extract_track(path, backend_factory=factory, workers=workers)
    # 13 s: two shares, whatever the worker count
    assert len(made) == min(workers, 2) and track.meta["pose_workers"] == min(workers, 2)
    assert track.meta["pose_shares"] == 2
    assert track.n_frames == 389 and track.fps == 30.0 and track.meta["frame_stride"] == 2
    assert track.meta["source_fps"] == 60.0 and track.meta["frames_decoded"] == 777
    assert track.meta["frames_analysed"] == 389
    # timestamps are the real times of clip frames 0, 2, 4...; the model got the same, in ms
    np.testing.assert_allclose(track.timestamps, np.arange(389) * 2 / 60.0)
    np.testing.assert_array_equal(track.image[:, 0, 1], np.round(np.arange(389) * 2000 / 60))
    stamps = [c[3] for b in made for c in b.calls]
    assert len(stamps) == 389 and all(np.diff([c[3] for c in b.calls]).min() > 0 for b in made)
    # the frames the model saw are clip frames 0, 2, 4... (strip brightness 8 * (i % 30))
    expected = 8.0 * ((2 * np.arange(389)) % 30)
    assert np.abs(track.image[:, 0, 0] - expected).max() <= 6
    assert track.duration == pytest.approx(777 / 60.0, abs=1 / 30)


def test_every_frame_analyses_all_frames(make_video):
    path = make_video(n_frames=120, size=(96, 64), fps=60.0)
    track = pose.extract_track(path, backend=StripBackend(), every_frame=True)
    assert track.n_frames == 120 and track.fps == 60.0 and track.meta["frame_stride"] == 1
    np.testing.assert_allclose(track.timestamps, np.arange(120) / 60.0)


def test_skipped_frames_are_grabbed_not_converted(make_video, monkeypatch):
    path = make_video(n_frames=120, size=(96, 64), fps=60.0)
    reads, grabs = [], []
    real_read, real_grab = VideoReader._read, VideoReader._grab
    monkeypatch.setattr(VideoReader, "_read", lambda self: reads.append(1) or real_read(self))
    monkeypatch.setattr(VideoReader, "_grab", lambda self: grabs.append(1) or real_grab(self))
    backend = StripBackend()
    pose.extract_track(path, backend=backend)
    assert len(backend.calls) == 60
    # frames 0, 2 ... 118 converted (0 on open), plus the read that finds the end; 1, 3 ... 119 grabbed
    assert len(reads) == 61 and len(grabs) == 60


def test_strided_track_in_the_report(make_video):
    plan = plan_track(RepPlan(reps=3))
    profile = load_profile("hip_thrust")
    meta = {**plan.meta, "frame_stride": 2}
    track = type(plan)(plan.image, plan.world, plan.visibility, plan.timestamps, plan.fps, plan.width,
                       plan.height, meta=meta)  # fmt: skip
    clip = report.build_report(analyze_track(track, profile), profile).as_json_dict()["clip"]
    assert clip["frame_stride"] == 2 and clip["analysed_fps"] == clip["fps"] == pytest.approx(plan.fps)
    assert clip["source_fps"] == pytest.approx(2 * plan.fps) and clip["frames"] == plan.n_frames


def test_every_frame_flag_and_cache_key():
    parser = build_parser()
    assert parser.parse_args(["analyze", "x.mp4", "--every-frame"]).every_frame
    assert not parser.parse_args(["analyze", "x.mp4"]).every_frame
    assert parser.parse_args(["batch", "d", "--out", "o", "--every-frame"]).every_frame
    strided, every = BatchSettings.create(), BatchSettings.create(every_frame=True)
    assert strided.extraction()["every_frame"] is False and every.extraction()["every_frame"] is True
    assert strided.track_key("ab" * 32) != every.track_key("ab" * 32)


# ------------------------------------------------------------------ one decode per job


@pytest.fixture(scope="module")
def lockout_set():
    profile = load_profile("hip_thrust")
    track = plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=0.5)
    return track, analyze_track(track, profile), profile


def _decoded(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("workers", [1, 3])
def test_spill_holds_every_frame_in_order_as_a_second_decode_would(lockout_set, tmp_path, workers):
    track, _, _ = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    with SpillFrames(folder=str(tmp_path)) as spill:
        pose.extract_track(clip, backend_factory=StripBackend, workers=workers, sink=spill)
        assert spill.usable and spill.count == track.n_frames
        assert frames_for(clip, spill) is spill
        again = FileFrames(clip)
        assert (spill.width, spill.height, spill.scale) == (again.width, again.height, again.scale)
        for (i, a), (j, b) in zip(spill, again, strict=True):
            assert i == j and np.array_equal(a, b)  # the same decoded frame, resized the same way
        picked = spill.pick([5, 40, 10_000])
        assert sorted(picked) == [5, 40] and np.array_equal(picked[40], again.pick([40])[40])
    assert not list(tmp_path.glob("formcheck-frames-*"))  # the temp file never had a name left behind


def test_spill_over_its_cap_falls_back_to_decoding_again(lockout_set, tmp_path):
    track, _, _ = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    with SpillFrames(cap_bytes=10 * 640 * 480 * 3) as spill:  # room for 10 frames
        pose.extract_track(clip, backend=StripBackend(), sink=spill)
        assert spill.overflowed and not spill.usable
        assert isinstance(frames_for(clip, spill), FileFrames)


def test_annotated_clip_from_the_spill_matches_the_decode_again_path(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    data = overlay_data(track, analysis, profile)
    again = annotate.write_annotated(clip, tmp_path / "again.mp4", data)
    with SpillFrames() as spill:
        pose.extract_track(clip, backend_factory=StripBackend, workers=2, sink=spill)
        reused = annotate.write_annotated(clip, tmp_path / "reused.mp4", data, frames=spill, parts=1)
        split = annotate.write_annotated(clip, tmp_path / "split.mp4", data, frames=spill, parts=2)
    assert reused.frames == again.frames == split.frames == track.n_frames
    a, b = _decoded(tmp_path / "again.mp4"), _decoded(tmp_path / "reused.mp4")
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # two parts encoded at once and joined: the same pictures in the same order (only the
    # encoder's choices differ), one frame every 1/fps from 0
    c = _decoded(tmp_path / "split.mp4")
    diffs = [np.abs(x.astype(int) - y).mean() for x, y in zip(b, c, strict=True)]
    assert max(diffs) < 1.5
    with av.open(str(tmp_path / "split.mp4")) as joined:
        stream = joined.streams.video[0]
        times = [float(f.pts * stream.time_base) for f in joined.decode(stream)]
    assert np.allclose(np.diff(times), 1 / track.fps, atol=1e-3) and times[0] == 0.0


def test_html_key_frames_from_the_spill(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    assert analysis.faults
    clip = clip_for(track, tmp_path / "in.mp4")
    with SpillFrames(every_frame=False) as spill:  # --html alone keeps only the analysed frames
        pose.extract_track(clip, backend=StripBackend(), sink=spill)
        reused = html_report.key_frames(None, track, analysis, profile, frames=spill)
    again = html_report.key_frames(clip, track, analysis, profile)
    assert len(reused) == len(analysis.faults)
    assert all(u.startswith("data:image/jpeg;base64,") for u in reused)
    assert reused == again


def test_strided_annotation_draws_every_frame_with_the_nearest_pose(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    data = overlay_data(track, analysis, profile)
    strided = type(data)(**{**data.__dict__, "stride": 2})
    n = data.n_frames
    assert [strided.row_of(i) for i in range(6)] == [0, 1, 1, 2, 2, 3]
    assert strided.row_of(2 * n - 1) == n - 1 and strided.row_of(2 * n) == n  # past the track: nothing
    assert [data.row_of(i) for i in (0, 7, n)] == [0, 7, n]


@pytest.mark.parametrize(
    ("argv", "every_frame", "spill"),
    [([], False, None), (["--every-frame"], True, None), (["--annotate", "A"], False, True),
     (["--html", "H"], False, False)],
)  # fmt: skip
def test_analyze_passes_every_frame_and_a_spill_to_the_pose_pass(monkeypatch, tmp_path, argv, every_frame,
                                                                 spill):
    from formcheck import pipeline
    from formcheck.cli import main

    seen = {}

    def fake_extract(path, **kw):
        seen.update(kw)
        raise SystemExit(0)  # stop after the pose pass: only what it was given matters here

    monkeypatch.setattr(pipeline, "extract_track", fake_extract)
    monkeypatch.setattr(pipeline, "check_frame_size", lambda *a, **k: None)
    argv = [str(tmp_path / a) if a in ("A", "H") else a for a in argv]
    with pytest.raises(SystemExit):
        main(["analyze", "clip.mp4", *argv])
    assert seen["every_frame"] is every_frame
    if spill is None:
        assert seen["sink"] is None
    else:  # --annotate keeps every frame, --html only the analysed ones (its key frames)
        assert isinstance(seen["sink"], SpillFrames) and seen["sink"].every_frame is spill


def test_spill_of_a_truncated_clip_stops_where_a_single_reader_stops(make_video):
    from test_io import move_index_first

    path = make_video(n_frames=400, size=(96, 64), fps=30.0)
    move_index_first(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.5)])
    with SpillFrames() as spill, pytest.warns(UserWarning, match="of 400 advertised frames"):
        track = pose.extract_track(path, backend_factory=StripBackend, workers=3, sink=spill)
    assert track.meta["truncated"] and 0 < spill.count == track.meta["frames_decoded"] < 400
    assert spill.count == sum(1 for _ in FileFrames(path))


def test_annotated_60fps_clip_keeps_every_frame_drawn_from_the_strided_track(lockout_set, tmp_path):
    import cv2
    from clips import frames_for as stick_frames

    track, analysis, profile = lockout_set
    clip = tmp_path / "in60.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 2 * track.fps,
                             (track.width, track.height))  # fmt: skip
    for frame in stick_frames(track):  # each analysed frame shown twice: a 60 fps clip of the same motion
        writer.write(frame)
        writer.write(frame)
    writer.release()
    strided = type(track)(**{**track.__dict__, "meta": {**track.meta, "frame_stride": 2}})
    data = overlay_data(strided, analysis, profile)
    assert data.stride == 2
    with SpillFrames() as spill:
        pose.extract_track(clip, backend=StripBackend(), sink=spill)
        out = annotate.write_annotated(clip, tmp_path / "out.mp4", data, frames=spill)
    assert out.frames == 2 * track.n_frames and float(out.fps) == 2 * track.fps
    drawn = _decoded(tmp_path / "out.mp4")
    plain = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in stick_frames(track)]
    # the overlay is on the skipped frames too: the rep counter's box in the top-left corner is there
    # on frame 2j+1 as on frame 2j (without it that corner differs from the input by x264's noise)
    for j in range(0, track.n_frames, 17):
        for i in (2 * j, 2 * j + 1):
            assert np.abs(drawn[i][:40, :120].astype(int) - plain[j][:40, :120]).mean() > 15, i
