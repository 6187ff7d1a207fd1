import dataclasses
import tempfile

import av
import cv2
import numpy as np
import pytest
from clips import clip_for, lossless_clip_for, strip_level
from synthetic import RepPlan, plan_track
from test_pose import StripBackend

from formcheck import annotate, pipeline, pose
from formcheck.analysis import analyze_track
from formcheck.frames import FileFrames, SpillFrames
from formcheck.io import open_video, top_boxes
from formcheck.profiles import load_profile
from formcheck.viz import overlay_data


@pytest.fixture(scope="module")
def lockout_set():
    profile = load_profile("hip_thrust")
    track = plan_track(RepPlan(reps=3, top_degs=[178.5, 160.0, 178.5]), noise_px=0.5)
    return track, analyze_track(track, profile), profile


def probe_stream(path):
    """(codec, pix_fmt, profile, width, height, average rate, frames decoded, duration s) via FFmpeg."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        frames = sum(1 for _ in container.decode(stream))
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        return cc.name, cc.pix_fmt, cc.profile, cc.width, cc.height, stream.average_rate, frames, duration


def test_annotated_clip_is_browser_playable_h264_with_the_inputs_frames(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    out = tmp_path / "annotated.mp4"
    result = annotate.write_annotated(clip, out, overlay_data(track, analysis, profile))
    codec, pix_fmt, prof, w, h, rate, frames, duration = probe_stream(out)
    # what browsers play (no CABAC: Constrained Baseline, the most widely supported)
    assert (codec, pix_fmt) == ("h264", "yuv420p") and prof in ("Constrained Baseline", "Main", "High")
    assert (w, h) == (track.width, track.height) and rate == 30
    assert frames == track.n_frames == result.frames
    assert duration == pytest.approx(track.n_frames / 30.0, abs=1e-3)
    boxes, cut = top_boxes(out)
    assert not cut and boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: index first
    assert not (tmp_path / "annotated.mp4.tmp").exists()
    # OpenCV (the project's own decoder) reads it back frame for frame, in order
    with open_video(out) as reader:
        got = np.array([np.median(f[2:14, 2:14, 1]) for f in reader])
        assert reader.info.fps == pytest.approx(30.0)
    with open_video(clip) as reader:
        expected = np.array([np.median(f[2:14, 2:14, 1]) for f in reader])
    assert len(got) == len(expected) == track.n_frames
    error = np.abs(got - expected)  # x264 may spend few bits on the frame before a jump
    assert np.median(error) <= 6 and error.max() <= 20
    wraps = np.flatnonzero(np.diff(got) < -100) + 1  # the strip falls back to 0 every 30 frames
    assert list(wraps) == list(range(30, track.n_frames, 30))


def _resized(track, width, height, frames):
    """The same body on a canvas of another size, cut to its first frames."""
    image = track.image[:frames].copy()
    image[..., :2] *= np.array([width / track.width, height / track.height], dtype=np.float32)
    return dataclasses.replace(
        track, image=image, world=track.world[:frames], visibility=track.visibility[:frames],
        timestamps=track.timestamps[:frames], width=width, height=height,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("size", "fps", "max_side", "expected_size"),
    [
        ((161, 121), 24000 / 1001, 1280, (638, 480)),
        ((641, 481), 30.0, 1280, (642, 482)),
        ((640, 360), 924 / 31, 320, (320, 180)),
    ],
)
def test_odd_sizes_are_padded_large_ones_scaled_and_odd_rates_kept(
    size, fps, max_side, expected_size, tmp_path
):
    track = _resized(plan_track(RepPlan(reps=2, fps=fps)), *size, frames=40)
    clip = lossless_clip_for(track, tmp_path / "in.mkv")
    profile = load_profile("hip_thrust")
    data = overlay_data(track, analyze_track(plan_track(RepPlan(reps=2, fps=fps)), profile), profile)
    result = annotate.write_annotated(clip, tmp_path / "out.mp4", data, max_side=max_side)
    _, pix_fmt, _, w, h, rate, frames, _ = probe_stream(tmp_path / "out.mp4")
    assert (w, h) == expected_size == (result.width, result.height) and pix_fmt == "yuv420p"
    assert frames == 40
    with open_video(clip) as reader:
        in_rate = reader.info.fps
    assert float(rate) == pytest.approx(in_rate, rel=1e-6)


def test_output_size_is_even_and_bounded():
    assert annotate.output_size(640, 656) == (640, 656, 1.0)
    assert annotate.output_size(641, 481) == (642, 482, 1.0)  # kept, padded by a pixel
    w, h, scale = annotate.output_size(1080, 1920)
    assert (w, h) == (432, 768) and scale == pytest.approx(768 / 1920)
    w, h, scale = annotate.output_size(320, 240)  # small: enlarged for readable text
    assert (w, h) == (640, 480) and scale == pytest.approx(480 / 240)
    w, h, scale = annotate.output_size(512, 288)  # enlarged until the long side's limit
    assert (w, h) == (768, 432) and scale == pytest.approx(768 / 512)
    w, h, scale = annotate.output_size(900, 150)  # the long side's limit wins
    assert (w, h) == (768, 128) and scale == pytest.approx(768 / 900)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (3840, 2160), (300, 200)])
def test_resize_gives_the_size_asked_for_and_keeps_the_picture(size):
    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, : w // 2] = (200, 40, 40)
    tw, th, _ = annotate.output_size(w, h)
    out = annotate.resize(frame, tw, th)
    assert out.shape == (th, tw, 3)
    assert (out[th // 2, tw // 4] == (200, 40, 40)).all() and (out[th // 2, 3 * tw // 4] == 0).all()


def test_an_unwritable_output_is_an_oserror_and_leaves_nothing(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    with pytest.raises(OSError):
        annotate.write_annotated(
            clip, tmp_path / "no" / "dir" / "a.mp4", overlay_data(track, analysis, profile)
        )
    assert not (tmp_path / "no").exists()


def test_a_failure_midway_keeps_the_previous_file_and_no_temp(lockout_set, tmp_path, monkeypatch):
    track, analysis, profile = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    out = tmp_path / "a.mp4"
    out.write_bytes(b"previous")
    calls = {"n": 0}
    real = annotate.draw_frame

    def failing(frame, i, *args, **kw):
        calls["n"] += 1
        if i == 50:
            raise OSError(28, "No space left on device")
        return real(frame, i, *args, **kw)

    monkeypatch.setattr(annotate, "draw_frame", failing)
    with pytest.raises(OSError):
        annotate.write_annotated(clip, out, overlay_data(track, analysis, profile))
    assert out.read_bytes() == b"previous" and not (tmp_path / "a.mp4.tmp").exists()


def test_grab_frames_returns_the_frames_asked_for(lockout_set, tmp_path):
    track, _, _ = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    frames = annotate.grab_frames(clip, [3, 40, 17])
    assert sorted(frames) == [3, 17, 40]
    for i, frame in frames.items():
        assert abs(int(np.median(frame[2:14, 2:14, 1])) - strip_level(i)) <= 6
    assert annotate.grab_frames(clip, []) == {}
    assert cv2 is not None


def test_an_encoder_failure_is_an_oserror_and_leaves_nothing(lockout_set, tmp_path):
    track, analysis, profile = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    with pytest.raises(OSError, match="FFmpeg"):
        annotate.write_annotated(
            clip, tmp_path / "a.mp4", overlay_data(track, analysis, profile), preset="bogus"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


@pytest.fixture()
def spilled(lockout_set, tmp_path):
    """The lockout set's clip with every frame kept by a pose pass (random access for parts)."""
    track, _, _ = lockout_set
    clip = clip_for(track, tmp_path / "in.mp4")
    with SpillFrames() as spill:
        pose.extract_track(clip, backend_factory=StripBackend, workers=1, sink=spill)
        yield clip, spill


def test_parts_follow_the_cores_and_never_go_below_two_seconds(spilled, lockout_set, tmp_path):
    clip, spill = spilled
    n = spill.count
    two = annotate.part_spans(spill, 2)
    assert two == [(0, round(n / 2)), (round(n / 2), n)]
    assert len(annotate.part_spans(spill, 16)) == min(annotate.MAX_PARTS, int(n // (2.0 * spill.fps)))
    assert len(annotate.part_spans(spill, 1)) == 1
    assert len(annotate.part_spans(FileFrames(clip), 4)) == 1  # decoding again reads in order only


def test_a_part_failing_midway_keeps_the_previous_file_names_the_real_error_and_leaves_no_temp(
    spilled, lockout_set, tmp_path, monkeypatch
):
    track, analysis, profile = lockout_set
    clip, spill = spilled
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "a.mp4"
    out.write_bytes(b"previous")
    real = annotate.draw_frame
    late = spill.count - 5  # in the second part: the first is stopped or done by then

    def failing(frame, i, *args, **kw):
        if i == late:
            raise OSError(28, "No space left on device")
        return real(frame, i, *args, **kw)

    monkeypatch.setattr(annotate, "draw_frame", failing)
    with pytest.raises(OSError, match="No space left"):
        annotate.write_annotated(clip, out, overlay_data(track, analysis, profile), frames=spill, parts=2)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "in.mp4", "scratch"]
    assert not list(scratch.iterdir())


def test_parts_refuse_an_unwritable_place_before_drawing(spilled, lockout_set, tmp_path, monkeypatch):
    track, analysis, profile = lockout_set
    clip, spill = spilled
    drawn = []
    monkeypatch.setattr(annotate, "draw_frame", lambda *a, **k: drawn.append(1))
    with pytest.raises(OSError):
        annotate.write_annotated(
            clip, tmp_path / "no" / "a.mp4", overlay_data(track, analysis, profile), frames=spill, parts=2
        )
    assert not drawn


def test_the_html_key_frames_are_read_before_the_parts_free_the_spill(spilled, lockout_set, tmp_path):
    track, _, _ = lockout_set
    clip, spill = spilled
    result = pipeline.run_track(track, pipeline.Settings(variant="hip_thrust"))
    assert result.analysis.faults  # key frames to draw
    page, video = tmp_path / "r.html", tmp_path / "a.mp4"
    pipeline.write_pictures(result, pipeline.Outputs(html=str(page), annotate=str(video)), clip, spill=spill)
    assert page.read_text().count("data:image/jpeg") == len(result.analysis.faults)
    assert probe_stream(video)[6] == spill.count
    if len(annotate.part_spans(spill)) > 1:  # drawn in parts: each freed the slots it read
        assert spill._released == set(range(spill.count))
        with pytest.raises(RuntimeError, match="released"):
            spill.pick([0])
