"""Helpers of the batch tests (test_batch, test_batch_scale).

Where the pose model is not the point, `fake_score` stands in for it (a synthetic 3-rep track);
the real model runs on a few 4-second cuts of the rendered sample clips.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import time
from pathlib import Path

import cv2
from synthetic import RepPlan, plan_track

from formcheck import batch
from formcheck.batch import BatchSettings, ClipOutcome, ClipTask

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_videos"
SHORT_FRAMES = 96  # 4 s at 24 fps: a rep or so, seconds of model time


def cut(src: Path, dst: Path, frames: int, size: tuple[int, int] | None = None) -> Path:
    """The first `frames` frames of a clip, re-encoded (mp4v) by OpenCV."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(frames):
        ok, frame = cap.read()
        if not ok:
            break
        if size:
            frame = cv2.resize(frame, size)
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
    cap.release()
    writer.release()
    return dst


def short_clips_in(folder: Path) -> list[Path]:
    """4-second cuts of four rendered sample clips (the `short_clips` fixture)."""
    names = ["hip_thrust_side_clean", "glute_bridge_side_clean", "hip_thrust_side_short_lockout",
             "hip_thrust_oblique_overextension"]
    return [cut(SAMPLES / f"{n}.mp4", folder / f"{n}_4s.mp4", SHORT_FRAMES) for n in names]


def settings(variant: str = "hip_thrust") -> BatchSettings:
    return BatchSettings.create(variant)


def fake_score(task: ClipTask) -> ClipOutcome:
    """A stand-in for score_clip without the model: every clip is a synthetic 3-rep set;
    a clip named crash* kills its worker process, as a decoder crash would."""
    if Path(task.source).name.startswith("crash"):
        os._exit(3)
    track = plan_track(RepPlan(reps=3), noise_px=1.0).renamed(task.source)
    out = batch.analyse(track, task.settings)
    out.track = track
    return out


def never_called(task: ClipTask) -> ClipOutcome:
    raise AssertionError(f"the pose model was asked for {task.source}")


def fake_clips(folder: Path, names: list[str]) -> list[Path]:
    """Files that sniff as MP4 (distinct bytes each); only fake_score can 'score' them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + name.encode())
        paths.append(p)
    return paths


def read_summary(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", newline="") as fh:
        return {row["clip"]: row for row in csv.DictReader(fh)}


def alive_in_group(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return pids


def alive_after(pgids: list[int], grace_s: float, kill: bool = False) -> list[int]:
    """Live processes of these groups once they are gone or `grace_s` has passed (a process is
    gone only when its exit finishes). `kill`: SIGKILL the groups again on each look, in case one
    forked just as it was stopped."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = [pid for pgid in pgids for pid in alive_in_group(pgid)]
        if not alive or time.monotonic() > deadline:
            return alive
        for pgid in pgids if kill else ():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.1)


def comparable(doc: dict) -> dict:
    """A clip's JSON without what differs between runs of the same work (timing, who ran it)."""
    doc = json.loads(json.dumps(doc))
    for key in ("seconds", "worker", "finished_at", "executor", "track_from_cache"):
        doc["batch"].pop(key, None)
    return doc
