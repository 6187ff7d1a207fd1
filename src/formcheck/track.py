"""The pose track: the one data model that flows through the pipeline.

A track is frames x 33 MediaPipe landmarks x coordinates, with timestamps and
per-landmark visibility. Undetected frames hold NaN coordinates and zero
visibility, so downstream stages never need a separate "missing" structure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path
from typing import IO

import numpy as np

from .files import atomic_write

TRACK_SCHEMA_VERSION = 1
N_LANDMARKS = 33


class Landmark(IntEnum):
    """MediaPipe BlazePose landmark indices."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


@dataclass(frozen=True)
class Truncation:
    """A clip that ended early: frames decoded against those its container advertised."""

    decoded: int
    advertised: int | None


@dataclass(frozen=True)
class PoseTrack:
    """Pose landmarks of one person over a clip.

    image: (T, 33, 3) float32, x and y in pixels of the upright frame, z in the
        same pixel scale (MediaPipe's relative depth times the frame width).
    world: (T, 33, 3) float32, metres, MediaPipe world landmarks (hip-centred).
    visibility: (T, 33) float32 in [0, 1]; 0 where nothing was detected.
    timestamps: (T,) float64 seconds from the start of the clip.
    """

    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    timestamps: np.ndarray
    fps: float
    width: int
    height: int
    source: str = ""
    model: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        expected = {
            "image": (n, N_LANDMARKS, 3),
            "world": (n, N_LANDMARKS, 3),
            "visibility": (n, N_LANDMARKS),
        }
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if actual != shape:
                raise ValueError(f"PoseTrack.{name} has shape {actual}, expected {shape}")
        if n > 1 and np.any(np.diff(self.timestamps) <= 0):
            raise ValueError("PoseTrack.timestamps must increase strictly")
        if self.fps <= 0:
            raise ValueError(f"PoseTrack.fps must be positive, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return len(self.timestamps)

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a pose was detected in the frame."""
        return ~np.isnan(self.image[:, 0, 0])

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def truncation(self) -> Truncation | None:
        """How much of the clip decoded, when it ended before its advertised length."""
        if not self.meta.get("truncated"):
            return None
        return Truncation(
            decoded=int(self.meta.get("frames_decoded", self.n_frames)),
            advertised=self.meta.get("frames_advertised"),
        )

    def renamed(self, source: str) -> PoseTrack:
        """The track as if read from `source` (a cached or shipped copy names another path)."""
        meta = dict(self.meta)
        if isinstance(meta.get("video"), dict):
            meta["video"] = {**meta["video"], "path": source}
        return replace(self, source=source, meta=meta)

    def save(self, path: str | Path) -> None:
        """Write the track as a compressed .npz (atomic: temp file then rename)."""
        def write(fh: IO[bytes]) -> None:
            np.savez_compressed(
                fh,
                schema_version=np.int64(TRACK_SCHEMA_VERSION),
                image=self.image.astype(np.float32),
                world=self.world.astype(np.float32),
                visibility=self.visibility.astype(np.float32),
                timestamps=self.timestamps.astype(np.float64),
                fps=np.float64(self.fps),
                size=np.array([self.width, self.height], dtype=np.int64),
                source=np.str_(self.source),
                model=np.str_(self.model),
                meta=np.str_(json.dumps(self.meta)),
            )

        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> PoseTrack:
        with np.load(Path(path), allow_pickle=False) as data:
            version = int(data["schema_version"])
            if version != TRACK_SCHEMA_VERSION:
                raise ValueError(
                    f"{path}: track schema {version}, this formcheck reads {TRACK_SCHEMA_VERSION}"
                )
            width, height = (int(v) for v in data["size"])
            return cls(
                image=data["image"],
                world=data["world"],
                visibility=data["visibility"],
                timestamps=data["timestamps"],
                fps=float(data["fps"]),
                width=width,
                height=height,
                source=str(data["source"]),
                model=str(data["model"]),
                meta=json.loads(str(data["meta"])),
            )
