"""One path from a clip (or a saved pose track) and settings to the Analysis and the typed Report.

    clip --(frame-size guard, pose model or track cache)--> PoseTrack --(variant, profile)-->
    Analysis --> Report --> files (JSON, CSV, track, HTML, annotated clip)

`formcheck analyze`, batch's task, the web app's job runner and live mode's end-of-set summary all
go through here, so a clip gets the same report whichever door it came in by. Presentation (a
progress bar, JSON lines to the web worker, the terminal table) stays with each door: it passes
callbacks. A clip that ends early is analysed as far as it decodes; `Result.truncation` is then
the one error that says so, for the door to raise or record once its files are written.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .analysis import Analysis, analyze_track
from .annotate import write_annotated
from .cache import TrackCache, file_sha256, track_key
from .errors import OutputError, TruncatedVideo, UsageError
from .frames import PickedFrames, SpillFrames, frames_for
from .html_report import key_frame_clip_indices, write_html
from .io import MAX_PIXELS, check_frame_size, probe
from .pose import (
    SHARE_PLAN,
    FrameSink,
    default_workers,
    extract_track,
    find_model,
    mediapipe_version,
    sha256_file,
)
from .profiles import Profile, ProfileError, load_profile
from .report import Report, build_report, write_csv, write_json
from .report.speed import with_speed
from .speed import SpeedConfig, Speeds, measure_speeds
from .track import PoseTrack
from .variants import AUTO, analyze_variant
from .viz import overlay_data

Progress = Callable[[int, int], None]  # frames done, frames advertised (0: unknown)
Stage = Callable[[str], None]  # what the job is doing now, in a few words


@dataclass(frozen=True)
class Settings:
    """Everything besides the clip's bytes that its report depends on."""

    variant: str | Profile = AUTO  # "auto" (detected), a built-in name, a profile .json, or a Profile
    model: str | None = None  # pose model file; None: the bundled one
    pose_workers: int | None = None  # threads tracking a clip's shares (None: one per core); speed only
    fps: float | None = None  # frame-rate override for clips whose container lies
    max_pixels: int = MAX_PIXELS
    every_frame: bool = False  # False: a clip above 30 fps is analysed at every k-th frame (frame_stride)
    height_cm: float | None = None  # the athlete's stature: scales rep speed (else the model's 3D)
    single_stream: bool = False  # one landmarker over the whole clip, as live mode runs the model

    def checked(self) -> Settings:
        """Fail fast, before the model runs: an unknown variant or unreadable profile is a usage error."""
        if isinstance(self.variant, str) and self.variant != AUTO:
            try:
                load_profile(self.variant)
            except ProfileError as exc:
                raise UsageError(str(exc)) from exc
        return self

    def workers(self) -> int:
        return self.pose_workers or default_workers()

    def extraction(self) -> dict[str, Any]:
        """How the model runs, for the track cache key (where shares start changes the track; they
        follow the clip, pose.share_count, so the worker count does not)."""
        return {
            "formcheck": __version__,
            "backend": "mediapipe-pose-landmarker",
            "mediapipe": mediapipe_version(),
            "shares": "single stream" if self.single_stream else SHARE_PLAN,
            "fps": self.fps,
            "every_frame": self.every_frame,
        }

    def track_key(self, content_sha256: str) -> str:
        return track_key(content_sha256, sha256_file(find_model(self.model)), self.extraction())


@dataclass(frozen=True)
class Result:
    track: PoseTrack
    analysis: Analysis
    profile: Profile
    report: Report
    track_from_cache: bool = False

    @property
    def truncation(self) -> TruncatedVideo | None:
        return truncation_error(self.track)


@dataclass(frozen=True)
class Outputs:
    """Files to write; None: not wanted."""

    json: str | Path | None = None
    csv: str | Path | None = None
    track: str | Path | None = None
    html: str | Path | None = None
    annotate: str | Path | None = None

    @property
    def pictures(self) -> bool:
        return bool(self.html or self.annotate)


def truncation_error(track: PoseTrack) -> TruncatedVideo | None:
    """The one message for a clip that ended early (None when it did not)."""
    cut = track.truncation
    if cut is None:
        return None
    advertised = cut.advertised if cut.advertised else "?"
    return TruncatedVideo(
        f"{track.source}: decoded {cut.decoded} of {advertised} advertised frames, the file ends early or is"
        f" corrupt; the report covers the first {track.duration:.1f} s",
        decoded=cut.decoded,
        advertised=cut.advertised or 0,
    )


def extract(
    clip: str | Path,
    settings: Settings,
    progress: Progress | None = None,
    sink: FrameSink | None = None,
    **backend: Any,
) -> PoseTrack:
    """The clip's pose track (the model runs here). A truncated clip gives what decoded, flagged in
    the track; `backend`: a PoseBackend instance (`backend=`) or factory (`backend_factory=`);
    `sink`: takes a copy of the decoded frames for the pictures (see picture_frames)."""
    check_frame_size(clip, settings.max_pixels)
    kwargs: dict[str, Any] = {"progress": progress, "fps": settings.fps, **backend}
    kwargs |= {"every_frame": settings.every_frame, "sink": sink, "single_stream": settings.single_stream}
    if not backend:
        kwargs |= {"model_path": settings.model, "workers": settings.workers()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation is reported through Result.truncation
        return extract_track(clip, **kwargs)


def pose_track(
    clip: str | Path,
    settings: Settings,
    *,
    progress: Progress | None = None,
    stage: Stage | None = None,
    cache: TrackCache | None = None,
    content_sha256: str | None = None,
    sink: FrameSink | None = None,
) -> tuple[PoseTrack, bool]:
    """From the cache (keyed by the clip's bytes and how the model runs) or by running the model,
    then cached. Returns the track and whether it came from the cache (then `sink` gets nothing
    and the pictures decode the clip themselves)."""
    key = None
    if cache is not None:
        key = settings.track_key(content_sha256 or file_sha256(clip))
        track = cache.get(key)
        if track is not None:
            if stage:
                stage("pose track from an earlier analysis of this clip")
            if progress:
                progress(track.n_frames, track.n_frames)
            return track, True
    if stage:
        stage("pose model")
    track = extract(clip, settings, progress, sink)
    if cache is not None and key is not None:
        cache.put(key, track)
    return track, False


def analyse(track: PoseTrack, variant: str | Profile = AUTO) -> tuple[Analysis, Profile]:
    """The analysis under a named variant, a profile, or the variant detected from the track."""
    if isinstance(variant, Profile):
        return analyze_track(track, variant), variant
    try:
        result, profile, _ = analyze_variant(track, variant)
    except ProfileError as exc:
        raise UsageError(str(exc)) from exc
    return result, profile


def run_track(track: PoseTrack, settings: Settings, *, from_cache: bool = False) -> Result:
    """Analysis and report of a track already in hand (a saved one, live mode's, a cached one)."""
    analysis, profile = analyse(track, settings.variant)
    speeds = rep_speeds(track, analysis, profile, settings.height_cm)
    report = with_speed(build_report(analysis, profile), speeds)
    return Result(track, analysis, profile, report, from_cache)


def rep_speeds(track: PoseTrack, analysis: Analysis, profile: Profile, height_cm: float | None) -> Speeds:
    """The speed stage on an analysed track (height in cm or None: the model's 3D scales it)."""
    height_m = height_cm / 100.0 if height_cm else None
    side = analysis.side
    hips = side.side if side.single_leg and side.side in ("left", "right") else "both"
    cfg = SpeedConfig(high_camera_deg=profile.view.looking_down_deg)  # one line for "looking down"
    return measure_speeds(
        track, analysis.reps, analysis.sets, analysis.view.view, height_m, hips, profile.signal, cfg
    )


def run_clip(
    clip: str | Path,
    settings: Settings,
    *,
    source: str | None = None,
    progress: Progress | None = None,
    stage: Stage | None = None,
    cache: TrackCache | None = None,
    content_sha256: str | None = None,
) -> Result:
    """The whole job on a clip. `source`: the name the report gives the clip (an upload's file name,
    the driver's path of a shipped copy); default the path it is read from."""
    track, cached = pose_track(
        clip, settings, progress=progress, stage=stage, cache=cache, content_sha256=content_sha256
    )
    if source is not None or cached:
        track = track.renamed(str(source if source is not None else clip))
    if stage:
        stage("analysing the reps")
    return run_track(track, settings, from_cache=cached)


def _write(kind: str, path: str | Path, writer: Callable[[Path], None]) -> None:
    try:
        writer(Path(path))
    except OSError as exc:
        raise OutputError(f"cannot write {kind} {path}: {exc.strerror or exc}") from exc


def write_track(track: PoseTrack, outputs: Outputs) -> None:
    """The expensive part, saved before anything else can fail."""
    if outputs.track:
        _write("track", outputs.track, track.save)


def write_reports(result: Result, outputs: Outputs) -> None:
    """The quick files, each atomically: JSON and CSV."""
    if outputs.json:
        _write("JSON report", outputs.json, lambda p: write_json(p, result.report))
    if outputs.csv:
        _write("CSV report", outputs.csv, lambda p: write_csv(p, result.report))


def check_outputs(outputs: Outputs, clip: str | Path | None) -> None:
    """Before any work: the annotated clip needs the video, and no output may overwrite it."""
    if outputs.annotate and not clip:
        raise UsageError("--annotate needs the CLIP: a pose track holds no pictures (give CLIP and --track)")
    for out in (outputs.annotate, outputs.html):
        if out and clip and Path(out).resolve() == Path(clip).resolve():
            raise UsageError(f"{out}: would overwrite the input clip")


def check_track_matches(clip: str | Path, track: PoseTrack) -> None:
    """A saved track drawn over another clip would put the skeleton beside the body."""
    info = probe(clip)
    stride = int(track.meta.get("frame_stride", 1))
    frames = track.n_frames * stride  # a strided track analysed every stride-th frame of its clip
    tolerance = max(2, round(0.01 * frames)) + stride
    same_length = not info.frame_count or abs(info.frame_count - frames) <= tolerance
    if (info.width, info.height) != (track.width, track.height) or not same_length:
        raise UsageError(
            f"{clip} ({info.width}x{info.height}, {info.frame_count} frames) is not the clip the track"
            f" was made from ({track.width}x{track.height}, {track.n_frames} frames)"
        )


def picture_frames(outputs: Outputs, clip: str | Path | None) -> AbstractContextManager[SpillFrames | None]:
    """One decode per job: when pictures will be drawn from a clip the pose pass reads, a sink for
    its frames (all of them for the annotated clip, the analysed ones for the HTML key frames),
    to pass to pose_track and then write_pictures. Use with `with`: the temp file goes at the end."""
    if clip is None or not outputs.pictures:
        return nullcontext(None)
    return SpillFrames(every_frame=bool(outputs.annotate))


def write_pictures(
    result: Result,
    outputs: Outputs,
    clip: str | Path | None,
    stage: Stage | None = None,
    spill: SpillFrames | None = None,
) -> None:
    """The HTML page (key frames need the clip) and the annotated clip: the slowest outputs, last.
    Their frames come from `spill` when the pose pass filled it, else from decoding the clip."""
    if not outputs.pictures:
        return
    frames = frames_for(clip, spill) if clip else None
    html = None
    if outputs.html:  # drawn on a thread: its plots (matplotlib) overlap the x264 encoding below
        if stage:
            stage("drawing the report")
        r = result
        keys = frames
        if isinstance(frames, SpillFrames) and outputs.annotate:  # read now: the annotated clip frees
            keys = PickedFrames(frames, key_frame_clip_indices(r.analysis))  # slots as it reads
        page = lambda p: write_html(p, r.report, r.analysis, r.profile, r.track, clip, keys)  # noqa: E731
        html = _Background(lambda: _write("HTML report", outputs.html, page))
    try:
        if outputs.annotate and clip:
            if stage:
                stage("annotating the clip")
            data = overlay_data(result.track, result.analysis, result.profile)
            video = lambda p: write_annotated(clip, p, data, frames=frames, release=True)  # noqa: E731
            _write("annotated video", outputs.annotate, video)
    finally:
        if html is not None:
            html.result()


class _Background(threading.Thread):
    """Runs work on a thread; result() joins it and re-raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="formcheck-html", daemon=True)
        self._work, self._error = work, None
        self.start()

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self) -> None:
        self.join()
        if self._error is not None:
            raise self._error
