"""Live coaching under load (issue 18): every labelled real clip fed as a camera, at real time,
while a busy loop spins on each core, must tell the lifter what `formcheck analyze` reports.

For each clip of both shared folders (labels.csv):
- every counted rep got a verdict, and every verdict was final or corrected aloud: the faults
  last told for each rep are the report's, and each change was a spoken correction cue;
- the rep count and each rep's faults equal `analyze`'s on the clip (one pose stream, as live
  runs the model, on the same frames: every 2nd of a 60 fps clip; the tracks are cached between
  runs in pytest's cache or FORMCHECK_TEST_TRACK_CACHE). One difference is allowed, and only
  where the labels side with live: a rep count analyze gets wrong and live gets right;
- the frames dropped are counted and printed (`pytest -s`): no verdict may depend on them (above).

The camera is an honest stand-in: a webcam hands over decoded frames, so the clip is decoded
before the clock starts (into a memory-mapped file: the 1080x1920 clip is 4.4 GB raw) and only
released at real time. Decoding H.264 at 1080p costs 6-7 ms of CPU a frame here, a fifth of the
session's own ~31 ms: a stand-in that decodes on the clock (the old one) takes that from the
product's cores, which no webcam does. The model, the display (composed headless), the live
analysis and the busy loops all still run on the clock.

Preparation (the expected report, the decoding) runs before the busy loops start, so a fresh
machine's model runs for analyze are not slowed by them. Opt-in (FORMCHECK_LIVE_LOAD=1): it needs a
machine where only its busy loops compete, ~4 min of real time plus the 16 tracks' model runs on a
fresh machine, so it stays out of the plain suite (all 16 passed on 4 December, idle machine,
autogroup off, 0 frames dropped). Earlier, on the shared development machine, with other work
beside it (load average 1-13), three runs took 4.7-7.5 min with the tracks cached; the verdict
checks held on all 16 in all three, the comparison with analyze failed on 4 (run 1, besides 3
failures of this test's since-fixed frame count at 60 fps), 2 and 3 clips, each with frames dropped
(README.md, "Live agrees with analyze"). FORMCHECK_LIVE_LOAD_CLIPS=word,word runs the clips whose
names contain one of the words.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import missing_data
from test_real_clips import _label_rows, _variant

from formcheck import pipeline
from formcheck.cache import TrackCache
from formcheck.io.video import open_video
from formcheck.live.session import LiveOptions, LiveSession
from formcheck.live.sources import Frame
from formcheck.pose import MediaPipePoseBackend
from formcheck.track import PoseTrack

pytestmark = pytest.mark.skipif(
    os.environ.get("FORMCHECK_LIVE_LOAD", "") != "1",
    reason="the live load test runs with FORMCHECK_LIVE_LOAD=1 (~8 min, two cores busy; see the docstring)",
)


def _rows() -> list:
    wanted = [w for w in os.environ.get("FORMCHECK_LIVE_LOAD_CLIPS", "").split(",") if w]
    rows = _label_rows()
    return [p for p in rows if not wanted or any(w in p.values[0].get("clip", "") for w in wanted)]


class DecodedCamera:
    """A clip as a webcam delivers it: decoded frames, released at start + i / fps (the clip's own
    timeline, so live sees the frames and times `analyze` does)."""

    is_camera = False  # the clip's frame rate and timeline, not a webcam's estimated clock
    realtime = True
    truncated = False

    def __init__(self, clip: Path, scratch: Path) -> None:
        reader = open_video(clip)
        info = reader.info
        self.path, self.name = str(clip), f"camera stand-in {clip.name}"
        self.fps, self.width, self.height = info.fps, info.width, info.height
        n = 0
        with reader, open(scratch, "wb") as fh:
            for image in reader:
                fh.write(np.ascontiguousarray(image).tobytes())
                n += 1
        self._scratch = scratch
        self._frames = np.memmap(scratch, np.uint8, "r", shape=(n, info.height, info.width, 3))

    def frames(self) -> Iterator[Frame]:
        start = time.perf_counter()
        step_ms = 1000.0 / self.fps
        for i in range(len(self._frames)):
            t = i / self.fps
            delay = start + t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            # a driver's fresh buffer: copied out of the page cache like a camera's read
            yield Frame(i, t, time.perf_counter(), np.array(self._frames[i]), int(round(i * step_ms)))

    def close(self) -> None:
        """Free the decoded frames (gigabytes for a long 1080p clip; pytest keeps tmp folders)."""
        self._frames = np.zeros((0, self.height, self.width, 3), np.uint8)
        self._scratch.unlink(missing_ok=True)


@contextlib.contextmanager
def busy_cores() -> Iterator[int]:
    """A busy loop per core (same niceness as the test: a fair fight)."""
    spin = [sys.executable, "-c", "while True: pass"]
    procs = [subprocess.Popen(spin) for _ in range(os.cpu_count() or 1)]
    try:
        yield len(procs)
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def track_cache(request) -> TrackCache:
    where = os.environ.get("FORMCHECK_TEST_TRACK_CACHE")
    return TrackCache(where or request.config.cache.mkdir("formcheck-live-tracks"))


def _analyze(clip: Path, variant: str, cache: TrackCache) -> tuple[PoseTrack, dict]:
    """`analyze --single-stream` of the clip: what live's one pose stream sees (every frame, or every
    k-th of a clip above 30 fps, as live takes them)."""
    settings = pipeline.Settings(variant=variant, single_stream=True)
    track, _ = pipeline.pose_track(clip, settings, cache=cache)
    return track, pipeline.run_track(track, settings).report.as_json_dict()


def _faults(reps: list[dict]) -> list[tuple[int, list[str]]]:
    return [(r["rep"], sorted(r["faults"])) for r in reps]


@pytest.mark.parametrize("row", _rows())
def test_live_in_real_time_under_load_tells_what_analyze_reports(
    row, shared_videos, track_cache, tmp_path, request
):
    if "clip" not in row:
        missing_data(f"{row['_folder'] / 'labels.csv'} not found")
    clip, variant = row["_folder"] / row["clip"], _variant(row)
    if not clip.exists():
        missing_data(f"{clip} not found")
    analysed, expected = _analyze(clip, variant, track_cache)  # before the load and the clock
    camera = DecodedCamera(clip, tmp_path / "frames.raw")

    backend = MediaPipePoseBackend()
    try:
        options = LiveOptions(variant=variant, out=str(tmp_path / "s"), headless=True, quiet=True)
        session = LiveSession(options, camera, backend, io.StringIO(), io.StringIO())
        with busy_cores() as spinning:
            result = session.run()
    finally:
        backend.close()
        camera.close()
    doc = result.doc
    frames = doc["frames"]
    assert result.ended_by == "end_of_clip" and frames["analysed_every"] == expected["clip"]["frame_stride"]
    assert frames["recorded"] == expected["clip"]["frames"] == frames["processed"] + frames["dropped"]
    note = f"{frames['dropped']} of {frames['captured']} frames dropped under {spinning} busy loops"
    print(f"{clip.name}: {note}; pose {doc['latency_ms']['capture_to_pose']}")
    # which: replaying these drops without load reproduces the run (the model is deterministic)
    saved, start = PoseTrack.load(tmp_path / "s" / "track.npz"), doc["set"]["start_frame"] or 0
    lost = np.flatnonzero(analysed.detected[start : start + saved.n_frames] & ~saved.detected) + start
    note += f" (no pose in live only at frames {lost.tolist()})"
    report = result.analysed.report.as_json_dict() if result.analysed is not None else {"reps": []}

    # every rep judged; what was told last is the report; every change was a correction said aloud
    live = doc["live_reps"]
    assert all(r["told"] for r in live), f"reps without a verdict: {[r for r in live if not r['told']]}"
    told = [(r["rep"], sorted(r["told"][-1]["faults"])) for r in live]
    assert told == _faults(report["reps"]), f"what was told is not the report; {note}"
    corrections = [c for c in doc["cues"] if c["kind"] == "correction"]
    assert len(corrections) == sum(r["corrections"] for r in live) + len(doc["withdrawn_reps"])
    assert all(c["rep"] is not None for c in corrections)

    # the count and the faults are analyze's (unless the labels say analyze is the one that is off)
    lo, hi = (int(row["reps_ok_min"]), int(row["reps_ok_max"])) if row["reps"] else (0, 10**6)
    if len(live) != len(expected["reps"]):
        assert lo <= len(live) <= hi and not lo <= len(expected["reps"]) <= hi, (
            f"live counted {len(live)}, analyze {len(expected['reps'])} (labels {lo}-{hi}); {note}"
        )
        return
    assert _faults(report["reps"]) == _faults(expected["reps"]), f"the faults are not analyze's; {note}"
