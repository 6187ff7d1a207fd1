"""The one path every door takes: clip or track + settings -> Analysis + typed Report + files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from synthetic import RepPlan, plan_track

from formcheck import pipeline
from formcheck.cache import TrackCache
from formcheck.errors import ClipTooShort, TruncatedVideo, UsageError
from formcheck.profiles import load_profile


@pytest.fixture
def fake_model(monkeypatch):
    """The model replaced by a synthetic track; counts how often the 'model' ran."""
    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    calls = []

    def extract(path, progress=None, **kw):
        calls.append(str(path))
        if progress:
            progress(track.n_frames, track.n_frames)
        return dataclasses.replace(track, source=str(path))

    monkeypatch.setattr(pipeline, "extract_track", extract)
    monkeypatch.setattr(pipeline, "check_frame_size", lambda *a, **k: None)
    return calls


def test_a_track_gives_the_analysis_and_the_report_of_the_same_reps():
    result = pipeline.run_track(
        plan_track(RepPlan(reps=4), noise_px=1.0), pipeline.Settings(variant="hip_thrust")
    )
    assert result.analysis.rep_count == result.report.summary.rep_count == len(result.report.reps) == 4
    assert result.profile.name == "hip_thrust" and result.report.variant.detected is None
    assert result.truncation is None


def test_auto_reports_the_detected_variant_and_a_profile_object_is_used_as_given():
    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    auto = pipeline.run_track(track, pipeline.Settings())
    assert auto.report.variant.detected is not None and auto.report.variant.detected.reason
    custom = dataclasses.replace(load_profile("hip_thrust"), title="my limits")
    assert pipeline.run_track(track, pipeline.Settings(variant=custom)).report.variant.title == "my limits"


def test_an_unknown_variant_is_a_usage_error_before_any_work():
    with pytest.raises(UsageError, match="unknown variant"):
        pipeline.Settings(variant="hip_trust").checked()


def test_the_model_runs_once_per_clip_bytes_and_the_cache_serves_the_rest(fake_model, tmp_path):
    clip = tmp_path / "upload-1234.mp4"
    clip.write_bytes(b"same bytes")
    cache, stages = TrackCache(tmp_path / "tracks"), []
    first = pipeline.run_clip(
        clip, pipeline.Settings(), cache=cache, source="my set.mp4", stage=stages.append
    )
    again = pipeline.run_clip(clip, pipeline.Settings(), cache=cache, source="again.mp4", stage=stages.append)
    assert fake_model == [str(clip)]  # the second run never reached the model
    assert not first.track_from_cache and again.track_from_cache
    assert first.report.source == "my set.mp4" and again.report.source == "again.mp4"
    assert first.report.summary == again.report.summary
    assert stages[0] == "pose model" and "earlier analysis" in stages[2]
    # the shares follow the clip, so another worker count finds the same track; one stream does not
    more = pipeline.run_clip(clip, pipeline.Settings(pose_workers=7), cache=cache)
    assert len(fake_model) == 1 and more.track_from_cache
    other = pipeline.run_clip(clip, pipeline.Settings(single_stream=True), cache=cache)  # another extraction
    assert len(fake_model) == 2 and not other.track_from_cache


def test_a_truncated_track_is_reported_once_with_what_decoded():
    track = plan_track(RepPlan(reps=3), noise_px=1.0)
    cut = dataclasses.replace(
        track,
        source="clip.mp4",
        meta={"truncated": True, "frames_decoded": track.n_frames, "frames_advertised": 900},
    )
    result = pipeline.run_track(cut, pipeline.Settings(variant="hip_thrust"))
    assert isinstance(result.truncation, TruncatedVideo) and result.truncation.exit_code == 14
    assert f"decoded {track.n_frames} of 900" in str(result.truncation)
    assert result.report.clip.truncated and result.report.summary.rep_count == 3


def test_files_are_written_from_the_report(tmp_path):
    result = pipeline.run_track(
        plan_track(RepPlan(reps=2), noise_px=1.0), pipeline.Settings(variant="hip_thrust")
    )
    out = pipeline.Outputs(json=tmp_path / "r.json", csv=tmp_path / "r.csv", track=tmp_path / "t.npz")
    pipeline.write_track(result.track, out)
    pipeline.write_reports(result, out)
    assert json.loads(out.json.read_text()) == result.report.as_json_dict()
    assert len(out.csv.read_text().splitlines()) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json", "t.npz"]  # no temp files left


def test_the_track_is_saved_even_when_the_analysis_then_fails(monkeypatch, tmp_path, capsys):
    from formcheck import cli

    flat = plan_track(RepPlan(reps=0, lead_s=0.5, tail_s=0.0))
    monkeypatch.setattr(pipeline, "extract_track", lambda *a, **k: flat)
    monkeypatch.setattr(pipeline, "check_frame_size", lambda *a, **k: None)
    saved = tmp_path / "t.npz"
    code = cli.main(["analyze", "clip.mp4", "--save-track", str(saved), "-q"])
    assert code == ClipTooShort.exit_code and saved.exists()
    assert "formcheck: error:" in capsys.readouterr().err


def test_an_output_that_would_overwrite_the_clip_is_refused(tmp_path):
    clip = tmp_path / "c.mp4"
    with pytest.raises(UsageError, match="overwrite"):
        pipeline.check_outputs(pipeline.Outputs(html=clip), clip)
    with pytest.raises(UsageError, match="needs the CLIP"):
        pipeline.check_outputs(pipeline.Outputs(annotate=tmp_path / "a.mp4"), None)


def test_frames_beyond_the_pixel_limit_are_refused_before_decoding(make_video):
    from formcheck.errors import VideoTooLarge

    clip = make_video(size=(320, 240))
    pipeline.check_frame_size(clip, max_pixels=320 * 240)
    with pytest.raises(VideoTooLarge, match="320x240"):
        pipeline.check_frame_size(clip, max_pixels=320 * 240 - 1)
    assert np.isfinite(pipeline.MAX_PIXELS)
