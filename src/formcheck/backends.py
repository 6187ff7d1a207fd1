"""Pose backends and the model they run: the bundled model's lookup, MediaPipe, replay.

A backend turns one upright RGB frame into a (33, 7) float32 array
[x_px, y_px, z_px, x_m, y_m, z_m, visibility], or None when nobody is found.
`MediaPipePoseBackend` runs the bundled BlazePose model; `ReplayBackend` plays
back a saved track so tests and analysis work need no model at all.
pose.py (the extraction loop) re-exports all of this.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from formcheck.errors import (
    FormcheckError,
    InputIsDirectory,
    InputNotFound,
    ModelLoadError,
    ModelNotFound,
)
from formcheck.track import N_LANDMARKS, PoseTrack

MODEL_NAME = "pose_landmarker_full.task"
MODEL_ENV = "FORMCHECK_MODEL"
ROW_WIDTH = 7  # x, y, z (pixels), world x, y, z (metres), visibility

@runtime_checkable
class PoseBackend(Protocol):
    """What extract_track needs from a pose estimator."""

    name: str
    model: str  # identity recorded in the track, e.g. "file.task sha256:..."

    def reset(self) -> None:
        """Forget temporal state before a new clip (timestamps restart at 0)."""

    def process(self, frame_rgb: np.ndarray, timestamp_ms: int) -> np.ndarray | None:
        """(33, 7) float32 landmarks of the most prominent person, or None."""

    def close(self) -> None: ...


# ------------------------------------------------------------------ model lookup


def _repo_model() -> Path:
    # src/formcheck/pose.py -> repository root; only exists for source checkouts
    return Path(__file__).resolve().parents[2] / "models" / MODEL_NAME


def _packaged_model() -> Path | None:
    res = importlib.resources.files("formcheck").joinpath("models", MODEL_NAME)
    return Path(str(res)) if res.is_file() else None


def find_model(explicit: str | Path | None = None) -> Path:
    """Resolve the model: explicit path > $FORMCHECK_MODEL > packaged copy > repo models/."""
    for given, origin in ((explicit, "--model"), (os.environ.get(MODEL_ENV) or None, MODEL_ENV)):
        if given is not None:
            p = Path(given).expanduser()
            if not p.is_file():
                raise ModelNotFound(f"{p}: pose model not found (from {origin})")
            return p
    for candidate in (_packaged_model(), _repo_model()):
        if candidate is not None and candidate.is_file():
            return candidate
    raise ModelNotFound(
        f"no pose model: pass --model, set {MODEL_ENV}, or reinstall formcheck"
        f" (looked in the package and {_repo_model().parent})"
    )


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def mediapipe_version() -> str:
    """The installed MediaPipe's version, from its metadata (no import): part of the track cache
    key, since another release may place the landmarks differently."""
    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------ backends


class _SharedSilence:
    """fd 2 is process-wide, so landmarkers starting on several threads share one redirection:
    the first to enter points fd 2 at /dev/null, the last to leave restores it. None waits for
    another (an exclusive lock serialised the shares' start-up: ~0.1 s per job)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: int | None = None

    def enter(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._saved = _redirect_fd2()

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._saved is not None:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                self._saved = None


def _redirect_fd2() -> int | None:
    """Points fd 2 at /dev/null; returns a duplicate of the old fd 2 (None if there was none)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
        return None
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
    return saved


_SILENCE = _SharedSilence()


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Drop what C++ code writes to fd 2 meanwhile (MediaPipe's glog/TFLite start-up notes).

    Python-level errors are unaffected: MediaPipe reports failures as exceptions.
    Set FORMCHECK_MEDIAPIPE_LOGS=1 to see the native messages.
    """
    if os.environ.get("FORMCHECK_MEDIAPIPE_LOGS"):
        yield
        return
    _SILENCE.enter()
    try:
        yield
    finally:
        _SILENCE.leave()


class MediaPipePoseBackend:
    """MediaPipe Tasks PoseLandmarker in VIDEO mode (tracks between frames), one person."""

    name = "mediapipe-pose-landmarker"

    def __init__(
        self,
        model_path: str | Path | None = None,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        import mediapipe as mp  # imported here so replay-only use never loads it

        path = find_model(model_path)
        # load from the bytes we hashed, so the recorded checksum is what actually ran
        self._model_bytes = path.read_bytes()
        self.model_sha256 = hashlib.sha256(self._model_bytes).hexdigest()
        self.model = f"{path.name} sha256:{self.model_sha256}"
        self.model_path = str(path)
        self._mp = mp
        self._options = mp.tasks.vision.PoseLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(model_asset_buffer=self._model_bytes),
            running_mode=mp.tasks.vision.RunningMode.VIDEO,
            num_poses=1,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.settings = {
            "min_detection_confidence": min_detection_confidence,
            "min_presence_confidence": min_presence_confidence,
            "min_tracking_confidence": min_tracking_confidence,
            "mediapipe": getattr(mp, "__version__", "unknown"),
        }
        # close() it (or use `with`): mediapipe 1.2.2 cannot close a landmarker
        # left for interpreter shutdown and prints a traceback
        self._landmarker = self._create()
        self._used = False

    def _create(self):  # -> mediapipe PoseLandmarker
        try:
            with native_stderr_silenced():
                return self._mp.tasks.vision.PoseLandmarker.create_from_options(self._options)
        except Exception as exc:  # mediapipe maps C++ statuses to assorted Python types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"{self.model_path}: MediaPipe could not load the pose model: {first}"
            raise ModelLoadError(message) from exc

    def reset(self) -> None:
        # VIDEO mode needs increasing timestamps and carries tracking state, so a
        # new clip gets a fresh landmarker (only if this one has seen frames)
        if self._used:
            self._landmarker.close()
            self._landmarker = self._create()
            self._used = False

    def process(self, frame_rgb: np.ndarray, timestamp_ms: int) -> np.ndarray | None:
        height, width = frame_rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=frame_rgb)
        if self._used:
            result = self._landmarker.detect_for_video(image, timestamp_ms)
        else:  # the graph logs its start-up warnings on the first frame
            self._used = True
            with native_stderr_silenced():
                result = self._landmarker.detect_for_video(image, timestamp_ms)
        if not result.pose_landmarks:
            return None
        # The Tasks API hands back Python objects; one flat comprehension per
        # frame (~33 tuples) costs microseconds next to the ~20 ms model call.
        norm = np.array(
            [(p.x, p.y, p.z, p.visibility or 0.0) for p in result.pose_landmarks[0]], dtype=np.float32
        )
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]], dtype=np.float32)
        row = np.empty((N_LANDMARKS, ROW_WIDTH), dtype=np.float32)
        row[:, :3] = norm[:, :3] * np.array([width, height, width], dtype=np.float32)  # z uses x's scale
        row[:, 3:6] = world
        row[:, 6] = norm[:, 3]
        return row

    def close(self) -> None:
        self._landmarker.close()  # idempotent

    def __enter__(self) -> MediaPipePoseBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReplayBackend:
    """Plays back a saved PoseTrack: frame at time t gets the track's row nearest t.

    A frame more than half a frame interval from every track sample gets None.
    """

    name = "replay"

    def __init__(self, track: PoseTrack) -> None:
        self.track = track
        self.model = track.model
        self.model_sha256 = track.meta.get("model_sha256")
        self.settings = {"replayed_from": track.source}
        self._detected = track.detected
        self._ms = track.timestamps * 1000.0
        self._half_ms = 500.0 / track.fps
        rows = np.concatenate([track.image, track.world, track.visibility[..., None]], axis=2)
        self._rows = rows.astype(np.float32)

    def reset(self) -> None:
        pass

    def process(self, frame_rgb: np.ndarray, timestamp_ms: int) -> np.ndarray | None:
        if frame_rgb.shape[:2] != (self.track.height, self.track.width):
            raise ValueError(
                f"replayed track is {self.track.width}x{self.track.height},"
                f" frame is {frame_rgb.shape[1]}x{frame_rgb.shape[0]}"
            )
        if len(self._ms) == 0:
            return None
        j = int(np.searchsorted(self._ms, timestamp_ms))
        near = [k for k in (j - 1, j) if 0 <= k < len(self._ms)]
        i = min(near, key=lambda k: abs(self._ms[k] - timestamp_ms))
        if abs(self._ms[i] - timestamp_ms) > self._half_ms or not self._detected[i]:
            return None
        return self._rows[i].copy()

    def close(self) -> None:
        pass


def load_track(path: str | Path) -> PoseTrack:
    """Read a track saved with PoseTrack.save, with user-facing errors."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"{p}: no such track file")
    if p.is_dir():
        raise InputIsDirectory(f"{p}: is a directory, expected a .npz track")
    try:
        return PoseTrack.load(p)
    except (ValueError, KeyError, OSError) as exc:
        raise FormcheckError(f"{p}: not a formcheck pose track ({exc})") from exc
