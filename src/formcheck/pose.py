"""Pose extraction: a clip -> PoseTrack, streaming, on parallel shares, at a frame stride.

The backends (MediaPipe, replay) and the model lookup live in backends.py; they are re-exported
here, so `from formcheck.pose import MediaPipePoseBackend, extract_track` keeps working.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Protocol

import numpy as np

from formcheck import __version__
from formcheck.backends import (
    MODEL_ENV,
    MODEL_NAME,
    ROW_WIDTH,
    MediaPipePoseBackend,
    PoseBackend,
    ReplayBackend,
    find_model,
    load_track,
    mediapipe_version,
    native_stderr_silenced,
    sha256_file,
)
from formcheck.errors import NoPersonDetected, TruncatedVideo
from formcheck.io import VideoInfo, VideoReader, frame_times, open_video, prefetch
from formcheck.procs import opencv_single_threaded, usable_cores
from formcheck.track import N_LANDMARKS, PoseTrack

__all__ = [
    "MODEL_ENV",
    "MODEL_NAME",
    "SHARE_PLAN",
    "ROW_WIDTH",
    "FrameSink",
    "MediaPipePoseBackend",
    "PoseBackend",
    "Progress",
    "ReplayBackend",
    "default_workers",
    "extract_track",
    "find_model",
    "frame_stride",
    "load_track",
    "mediapipe_version",
    "native_stderr_silenced",
    "plan_segments",
    "share_count",
    "worker_groups",
    "sha256_file",
]

Progress = Callable[[int, int], None]  # (frames done, frames advertised or 0)


# ------------------------------------------------------------------ extraction


MIN_SEGMENT_S = 4.0  # a share is at least a rep or two long
MAX_SHARES = 8
SHARE_PLAN = "by clip length: 2^k shares of >= 4 s, at most 8"  # in the track cache key
MAX_WORKERS = 8
MAX_ANALYSED_FPS = 30.0  # tempo and angles need no more (issue 14: 60 fps ran the model twice as often)
FPS_SLACK = 1.01


def frame_stride(fps: float, every_frame: bool = False, max_fps: float = MAX_ANALYSED_FPS) -> int:
    """Every k-th frame is analysed, k = ceil(fps / 30): 60 fps -> 2, 50 -> 2 (25 fps), 120 -> 4.
    A 1% slack keeps container rounding and phones' variable rates (60.08 fps, 30.2) in their
    class: 60.08 -> 2, not 3."""
    if every_frame:
        return 1
    return max(1, math.ceil(fps / (max_fps * FPS_SLACK)))


class FrameSink(Protocol):
    """Takes a copy of decoded frames during the pose pass (frames.SpillFrames), so the pictures
    drawn afterwards need no second decode. put() is called from several pose threads at once."""

    def start(self, info: VideoInfo, stride: int) -> None: ...

    def wants(self, index: int) -> bool: ...

    def put(self, index: int, frame: np.ndarray) -> None: ...

    def finish(self, frames: int) -> None:
        """The clip's frames [0, frames) are the ones the track covers (a share after a
        truncated one may have put later frames, which are to be dropped)."""


def default_workers() -> int:
    """Parallel pose workers for one clip: the model runs on one core, so one per core."""
    return max(1, min(MAX_WORKERS, usable_cores()))


def share_count(frame_count: int, fps: float) -> int:
    """How many shares a clip is tracked in: a power of two (so 2, 4 or 8 cores split them evenly)
    with each share at least MIN_SEGMENT_S long, at most MAX_SHARES; 1 when the length is unknown.

    It depends on the clip alone, never on the machine: each share starts with a fresh detection
    and MediaPipe's tracking does not fall back into step with one stream's (a share started 5-60
    frames early still differed by up to 5-20 px over the next 90 frames), so a plan that followed
    the core count gave a clip's report another top angle or fault on a machine with another
    number of cores, and in batch (one worker) against analyze (one per core)."""
    fit = int(frame_count // max(1.0, MIN_SEGMENT_S * fps))
    n = 1
    while n * 2 <= min(fit, MAX_SHARES):
        n *= 2
    return n


def plan_segments(
    frame_count: int, fps: float, stride: int = 1, shares: int | None = None
) -> list[tuple[int, int | None]]:
    """Split [0, frame_count) into contiguous (start, stop) shares, the last open-ended: `shares`
    of them, or share_count()'s (short clips, or an unknown frame count, stay in one piece).
    Shares start on multiples of `stride`, so together they analyse frames 0, k, 2k... as one would."""
    n = share_count(frame_count, fps) if shares is None else max(1, shares)
    if frame_count <= 0:
        n = 1
    bounds = [round(i * frame_count / n / stride) * stride for i in range(n + 1)]
    return [(bounds[i], bounds[i + 1] if i < n - 1 else None) for i in range(n)]


def worker_groups(shares: int, workers: int) -> list[list[int]]:
    """Consecutive shares per worker, as even as can be: a worker reads its shares in one pass and
    starts each with a fresh landmarker, so the track is the same with any number of workers."""
    w = max(1, min(workers, shares))
    edges = [round(k * shares / w) for k in range(w + 1)]
    return [list(range(edges[k], edges[k + 1])) for k in range(w)]


@dataclass
class _Segment:
    start: int
    stop: int | None  # None: to the end of the clip
    stride: int = 1
    rows: list[np.ndarray] = field(default_factory=list)
    hit: list[int] = field(default_factory=list)
    done: int = 0
    reader: VideoReader | None = None
    error: BaseException | None = None
    backend_name: str = ""
    model: str = ""
    settings: dict = field(default_factory=dict)
    model_sha256: str | None = None

    @property
    def ended_early(self) -> bool:
        return self.stop is not None and self.start + self.done < self.stop


def _run_group(
    segs: list[_Segment],
    reader: VideoReader,
    backend: PoseBackend,
    cancel: threading.Event,
    on_frame: Callable[[], None] | None = None,
    sink: FrameSink | None = None,
) -> None:
    """Track consecutive shares in one pass of `reader`, the landmarker reset where each begins."""
    for seg in segs:
        seg.reader = reader
        seg.backend_name, seg.model = backend.name, backend.model
        seg.settings = dict(getattr(backend, "settings", {}))
        seg.model_sha256 = getattr(backend, "model_sha256", None)
    first, last = segs[0], segs[-1]
    if reader.skip(first.start) < first.start:
        return
    step_ms = 1000.0 / reader.info.fps
    stride = first.stride

    def wanted(index: int) -> bool:  # frames neither analysed nor kept are only grabbed
        return index % stride == 0 or (sink is not None and sink.wants(index))

    frames: Iterable[tuple[int, np.ndarray | None]] = reader.sparse(wanted)
    if last.stop is not None:
        frames = islice(frames, last.stop - first.start)
    if sink is not None:
        frames = _kept(frames, sink)
    k, seg = -1, first
    last_ms = -1
    with closing(prefetch(frames)) as stream:  # closing() joins the decode thread first
        for index, frame in stream:
            if cancel.is_set():
                return
            while k + 1 < len(segs) and index >= segs[k + 1].start:
                k += 1
                seg = segs[k]
                backend.reset()  # each share starts afresh, as it would on its own worker
                last_ms = -1
            if index % stride == 0:
                # the frame's real time; VIDEO mode needs it to increase strictly
                ts = max(int(round(index * step_ms)), last_ms + 1)
                last_ms = ts
                row = backend.process(frame, ts)
                if row is not None:
                    seg.rows.append(row)
                    seg.hit.append(index // stride)
            seg.done += 1
            if on_frame is not None:
                on_frame()


def _kept(
    frames: Iterable[tuple[int, np.ndarray | None]], sink: FrameSink
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Hands the sink its frames on the decode thread, so the model's thread never waits on it."""
    for index, frame in frames:
        if frame is not None and sink.wants(index):
            sink.put(index, frame)
        yield index, frame


def _group_thread(
    segs: list[_Segment],
    path: str,
    fps: float | None,
    make_backend: Callable[[], PoseBackend],
    cancel: threading.Event,
    sink: FrameSink | None = None,
) -> None:
    try:
        with open_video(path, fps=fps) as reader:
            backend = make_backend()
            try:
                _run_group(segs, reader, backend, cancel, sink=sink)
            finally:
                backend.close()
    except BaseException as exc:  # re-raised by the caller's thread
        segs[0].error = exc


def extract_track(
    video_path: str | Path,
    backend: PoseBackend | None = None,
    model_path: str | Path | None = None,
    progress: Progress | None = None,
    fps: float | None = None,
    allow_truncated: bool = True,
    workers: int | None = None,
    backend_factory: Callable[[], PoseBackend] | None = None,
    every_frame: bool = False,
    sink: FrameSink | None = None,
    single_stream: bool = False,
) -> PoseTrack:
    """Run pose estimation over a clip, streaming frames (memory stays flat).

    The clip is cut into contiguous shares by its length alone (share_count), each starting with a
    fresh detection, as a clip does; the shares are tracked by `workers` threads (default: one per
    core, one when a `backend` instance is given), each reading its consecutive shares with its
    own decoder and landmarker. The model releases the GIL, so throughput scales with cores, and
    the track is the same with any number of workers. `single_stream`: one landmarker over the
    whole clip, as live mode runs the model.

    A clip above 30 fps is analysed at every k-th frame (frame_stride; every_frame=True analyses
    all): the track's fps is the analysed rate, its timestamps the real times of the frames used,
    and meta records the stride and the source rate. Skipped frames are grabbed, never converted.
    A `sink` gets a copy of the frames it wants as they are decoded (see frames.SpillFrames).

    Frames without a detection get NaN coordinates and zero visibility. A truncated file
    yields a track of what decoded (meta['truncated'] is set and a warning issued) unless
    allow_truncated is False, which raises TruncatedVideo. Raises NoPersonDetected if no
    frame had a person.
    """
    if backend is not None and backend_factory is not None:
        raise ValueError("pass a backend or a backend_factory, not both")
    if backend_factory is None and backend is None:

        def backend_factory() -> PoseBackend:
            return MediaPipePoseBackend(model_path)

    if workers is None:
        workers = 1 if backend is not None else default_workers()
    if backend is not None and workers != 1:
        raise ValueError("one backend instance cannot serve several workers; pass backend_factory")

    cancel = threading.Event()
    with opencv_single_threaded(), open_video(video_path, fps=fps) as first_reader:  # shares fill the cores
        info = first_reader.info
        stride = frame_stride(info.fps, every_frame)
        plan = plan_segments(info.frame_count, info.fps, stride, 1 if single_stream else None)
        segments = [_Segment(a, b, stride) for a, b in plan]
        groups = [[segments[i] for i in g] for g in worker_groups(len(segments), workers)]
        if sink is not None:
            sink.start(info, stride)
        threads = [
            threading.Thread(
                target=_group_thread,
                args=(group, info.path, fps, backend_factory, cancel, sink),
                name=f"formcheck-pose-{i}",
                daemon=True,
            )
            for i, group in enumerate(groups[1:], start=1)
        ]

        def report_progress() -> None:
            if progress is not None:
                progress(sum(s.done for s in segments), info.frame_count)

        try:
            for t in threads:
                t.start()
            own = backend if backend is not None else backend_factory()
            try:
                _run_group(groups[0], first_reader, own, cancel, report_progress, sink)
            finally:
                if backend is None:
                    own.close()
            while any(t.is_alive() for t in threads):
                report_progress()
                for t in threads:
                    t.join(timeout=0.1)
        finally:
            cancel.set()  # on an exception here (Ctrl-C included) the other shares stop early
            for t in threads:
                t.join()
        for seg in segments:
            if seg.error is not None:
                raise seg.error
        used: list[_Segment] = []
        for seg in segments:  # as a single reader would: nothing after the first share that ended early
            used.append(seg)
            if seg.ended_early:
                break
        ending = used[-1].reader
        assert ending is not None
        truncated, message = ending.truncated, ending.truncation_message()
    n = sum(seg.done for seg in used)
    if sink is not None:
        sink.finish(n)
    if progress is not None and len(segments) > 1:
        progress(n, info.frame_count)
    if truncated:
        if not allow_truncated:
            raise TruncatedVideo(message, decoded=n, advertised=info.frame_count)
        warnings.warn(message, stacklevel=2)
    return _assemble(info, used, n, truncated, stride, frame_times(info.path), len(groups))


def _clock(
    info: VideoInfo, rows: int, stride: int, times: tuple[np.ndarray, float] | None
) -> tuple[np.ndarray, float, str]:
    """Timestamps of the analysed frames, their mean rate, and where the times came from: the
    clip's own frame times where it stores them per frame (GIF delays), else the nominal rate."""
    if times is not None and len(times[0]) >= (rows - 1) * stride + 1 and times[1] > 0:
        stamps = times[0][::stride][:rows]
        return stamps, len(times[0]) / times[1] / stride, "frame_times"  # the clip's mean rate
    return np.arange(rows, dtype=np.float64) * stride / info.fps, info.fps / stride, "container"


def _assemble(
    info: VideoInfo,
    used: list[_Segment],
    n: int,
    truncated: bool,
    stride: int = 1,
    times: tuple[np.ndarray, float] | None = None,
    workers_used: int = 1,
) -> PoseTrack:
    hit = [i for seg in used for i in seg.hit]
    rows = -(-n // stride)  # frames analysed: 0, k, 2k... below n (shares start on multiples of k)
    if not hit:
        raise NoPersonDetected(f"{info.path}: no person detected in any of {rows} frames")
    data = np.full((rows, N_LANDMARKS, ROW_WIDTH), np.nan, dtype=np.float32)
    data[np.asarray(hit)] = np.stack([row for seg in used for row in seg.rows])
    visibility = np.nan_to_num(data[..., 6], nan=0.0)
    first = used[0]
    timestamps, fps, clock = _clock(info, rows, stride, times)
    meta = {
        "video": info.as_dict(),
        "rotation": info.rotation,
        "codec": info.codec,
        "fps_source": info.fps_source,
        "frames_advertised": info.frame_count,
        "frames_decoded": n,  # of the clip, skipped frames included
        "frames_analysed": rows,
        "frame_stride": stride,
        "source_fps": info.fps,
        "timestamps_from": clock,  # "frame_times": the clip's own per-frame times (a GIF's delays)
        "truncated": truncated,
        "detection_rate": len(hit) / rows,
        "backend": first.backend_name,
        "backend_settings": first.settings,
        "pose_shares": len(used),  # of the clip's plan, up to where it ended
        "pose_workers": workers_used,
        "formcheck": __version__,
    }
    if first.model_sha256:
        meta["model_sha256"] = first.model_sha256
    return PoseTrack(
        image=np.ascontiguousarray(data[..., 0:3]),
        world=np.ascontiguousarray(data[..., 3:6]),
        visibility=visibility,
        timestamps=timestamps,
        fps=fps,
        width=info.width,
        height=info.height,
        source=info.path,
        model=first.model,
        meta=meta,
    )
