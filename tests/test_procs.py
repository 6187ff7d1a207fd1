"""OpenCV's thread pool while formcheck's own shares fill the cores."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from formcheck import pose
from formcheck.procs import opencv_single_threaded
from formcheck.track import N_LANDMARKS


@pytest.fixture
def opencv_pool():
    """A multi-threaded OpenCV to start from, whatever the machine, put back afterwards."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(4)
    yield 4
    cv2.setNumThreads(before)


def test_single_threaded_inside_restored_after(opencv_pool):
    with opencv_single_threaded():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == opencv_pool


def test_restored_after_an_error(opencv_pool):
    with pytest.raises(RuntimeError), opencv_single_threaded():
        raise RuntimeError("boom")
    assert cv2.getNumThreads() == opencv_pool


def test_overlapping_users_restore_only_when_the_last_leaves(opencv_pool):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def second() -> None:
        first_in.wait()
        with opencv_single_threaded():
            second_in.set()
            first_out.wait()
            seen.append(cv2.getNumThreads())  # the first user has left: still single-threaded

    t = threading.Thread(target=second)
    t.start()
    with opencv_single_threaded():
        first_in.set()
        second_in.wait()
    first_out.set()
    t.join()
    assert seen == [1]
    assert cv2.getNumThreads() == opencv_pool


class ThreadsSeen:
    """A pose backend that notes OpenCV's thread setting on every frame."""

    name, model = "threads-seen", "none"

    def __init__(self) -> None:
        self.threads: list[int] = []

    def reset(self) -> None:
        pass

    def process(self, frame_rgb: np.ndarray, timestamp_ms: int) -> np.ndarray:
        self.threads.append(cv2.getNumThreads())
        return np.ones((N_LANDMARKS, pose.ROW_WIDTH), np.float32)

    def close(self) -> None:
        pass


def test_pose_pass_runs_opencv_single_threaded(make_video, opencv_pool):
    backend = ThreadsSeen()
    pose.extract_track(make_video(n_frames=12, size=(160, 96), fps=30.0), backend=backend)
    assert backend.threads and set(backend.threads) == {1}
    assert cv2.getNumThreads() == opencv_pool
