"""Shared fixtures. Keep this small: helpers used by one test module live in that module."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# ../shared/videos next to the repository: third-party clips, read-only, never copied in
# FORMCHECK_SHARED_VIDEOS: the real clips elsewhere (e.g. from a git worktree, where ../shared is absent)
_BESIDE = Path(__file__).resolve().parents[1].parent / "shared" / "videos"
SHARED_VIDEOS = Path(os.environ.get("FORMCHECK_SHARED_VIDEOS", _BESIDE))
# the second labelled set (real uploads: portrait, GIF, from the feet, cuts), beside the first by default
SHARED_VIDEOS_NEW = Path(os.environ.get("FORMCHECK_SHARED_VIDEOS_NEW", SHARED_VIDEOS.parent / "videos_new"))
SHARED_FOLDERS = (SHARED_VIDEOS, SHARED_VIDEOS_NEW)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing_data(message: str) -> None:
    """Reference data not found: skip on a laptop, but FAIL under CI=true, so CI can never go
    green by silently skipping the real-data tests."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: the integration data must be present)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    """The real clips folder (missing_data when absent)."""
    if not any(SHARED_VIDEOS.glob("*.mp4")):
        missing_data(f"real clips not found at {SHARED_VIDEOS}")
    return SHARED_VIDEOS


@pytest.fixture(scope="session")
def shared_videos_new(shared_videos: Path) -> Path:
    """The second real clips folder (videos_new), required like the first under CI=true."""
    if not (SHARED_VIDEOS_NEW / "labels.csv").exists():
        missing_data(f"real clips (videos_new) not found at {SHARED_VIDEOS_NEW}")
    return SHARED_VIDEOS_NEW


def shared_clip(name: str) -> Path:
    """A labelled real clip by name, from whichever shared folder holds it."""
    for folder in SHARED_FOLDERS:
        if (folder / name).exists():
            return folder / name
    return SHARED_VIDEOS / name


@pytest.fixture(scope="session")
def shared_track(shared_videos: Path) -> Callable[[str], object]:
    """shared_track("clip.mp4") -> PoseTrack from the real model, extracted once per session
    (from either shared folder)."""
    from formcheck.pose import MediaPipePoseBackend, extract_track

    cache: dict[str, object] = {}
    backend = MediaPipePoseBackend()

    def get(name: str):
        if name not in cache:
            cache[name] = extract_track(shared_clip(name), backend=backend)
        return cache[name]

    yield get
    backend.close()


@pytest.fixture(scope="session")
def short_clips(tmp_path_factory) -> list[Path]:
    """4-second cuts of four rendered sample clips, for the batch tests that run the model."""
    from batchkit import short_clips_in

    return short_clips_in(tmp_path_factory.mktemp("short"))


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """make_video(name="clip.mp4", n_frames=20, size=(160, 120), fps=30.0) -> Path.

    An MPEG-4 Part 2 mp4 written by OpenCV (no ffmpeg binary needed). Stored
    frames are dark grey with a pure red block in the top-left quarter, and
    frame i's bottom strip has brightness 8 * (i % 30), so orientation, colour
    order and frame order can all be checked after decoding.
    """
    import cv2

    def make(name: str = "clip.mp4", n_frames: int = 20, size: tuple[int, int] = (160, 120),
             fps: float = 30.0) -> Path:
        width, height = size
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        assert writer.isOpened(), "OpenCV cannot write mp4v here"
        base = np.full((height, width, 3), 40, np.uint8)
        base[: height // 4, : width // 4] = (0, 0, 255)  # BGR: pure red
        for i in range(n_frames):
            frame = base.copy()
            frame[-height // 8 :, :] = 8 * (i % 30)
            writer.write(frame)
        writer.release()
        return path

    return make
