"""SpillFrames: what the pose pass keeps comes back pixel for pixel, however it was stored."""

import errno
import os

import numpy as np
import pytest

from formcheck import frames as frames_module
from formcheck.frames import SpillFrames, to_output
from formcheck.io import VideoInfo

W, H = 640, 480  # already the output size: kept as they are, so the pixels can be compared exactly


def info(n: int) -> VideoInfo:
    return VideoInfo(path="clip.mp4", fps=30.0, frame_count=n, width=W, height=H, rotation=0, codec="h264")


def frame(i: int) -> np.ndarray:
    """Every frame different everywhere (a frame read from the wrong slot or a stale buffer shows)."""
    rng = np.random.default_rng(i)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def fill(spill: SpillFrames, n: int, skip: tuple[int, ...] = ()) -> None:
    spill.start(info(n), 1)
    for i in range(n):
        if i not in skip:
            spill.put(i, frame(i))


def test_the_slots_are_written_past_the_page_cache_where_the_disk_takes_it(tmp_path):
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, 3)
        # /tmp-like file systems (ext4, xfs) take O_DIRECT on Linux; tmpfs or other systems may not
        assert spill.direct == frames_module._set_direct(spill._fd, True)
        for i in range(3):
            assert np.array_equal(spill.frame(i), frame(i))


def test_frames_read_ahead_through_reused_buffers_and_each_holds_its_frame(tmp_path):
    n, depth = 23, 3
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, n)
        held = []
        for k, got in enumerate(spill.frames(4, n, depth=depth)):
            assert np.array_equal(got, frame(4 + k))
            held.append(got)
            # the promise: a frame stays intact until the caller takes the next one
            assert k == 0 or np.array_equal(held[-2], frame(4 + k - 1))
        assert len(held) == n - 4
        assert len({id(a.base) for a in held}) <= depth + 3  # buffers reused, not a fresh one per frame


def test_a_slot_no_share_wrote_reads_black_even_through_a_reused_buffer(tmp_path):
    n = 6
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, n, skip=(2, 5))  # 5: past the end of the file; 2: a hole inside it
        spill.count = n
        got = list(spill.frames(0, n, depth=1))
        assert not got[2].any() and not got[5].any()
        assert np.array_equal(got[4], frame(4)) and np.array_equal(spill.frame(1), frame(1))


def test_a_file_system_refusing_direct_io_at_write_falls_back_to_the_cache(tmp_path, monkeypatch):
    real = os.pwrite
    refused = []

    def pwrite(fd, data, offset):
        if frames_module.fcntl and frames_module.fcntl.fcntl(fd, frames_module.fcntl.F_GETFL) & getattr(
            os, "O_DIRECT", 0
        ):
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(frames_module.os, "pwrite", pwrite)
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, 4)
        assert not spill.direct
        assert [np.array_equal(spill.frame(i), frame(i)) for i in range(4)] == [True] * 4
    if not getattr(os, "O_DIRECT", 0):
        pytest.skip("no O_DIRECT on this system: nothing to fall back from")
    assert len(refused) == 1  # refused once, then written through the cache


def test_to_output_writes_into_the_buffer_it_is_given():
    big = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    out = np.zeros((480, 854, 3), np.uint8)
    got = to_output(big, 854, 480, 854 / 1280, out=out)
    assert got is out and np.array_equal(out, to_output(big, 854, 480, 854 / 1280))
    odd = big[:479, :853]
    padded = to_output(odd, 854, 480, 1.0, out=out)
    assert padded is out and np.array_equal(out, to_output(odd, 854, 480, 1.0))


def blocks(spill: SpillFrames) -> int:
    return os.fstat(spill._fd).st_blocks


def test_a_reader_that_releases_frees_the_slots_behind_it_and_refuses_them_after(tmp_path):
    n = 40
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, n)
        full = blocks(spill)
        got = [f.copy() for f in spill.frames(0, 20, depth=2, release=True)]
        assert [np.array_equal(g, frame(i)) for i, g in enumerate(got)] == [True] * 20
        if frames_module._fallocate() is not None:  # Linux: the blocks go back to the disk now
            assert blocks(spill) < 0.6 * full
        with pytest.raises(RuntimeError, match="released"):
            spill.frame(3)
        with pytest.raises(RuntimeError, match="released"):
            spill.pick([19])
        # the other part's slots are untouched
        assert [np.array_equal(f, frame(20 + k)) for k, f in enumerate(spill.frames(20, n))] == [True] * 20


def test_picked_frames_hold_what_was_picked_after_the_spill_is_released(tmp_path):
    with SpillFrames(folder=str(tmp_path)) as spill:
        fill(spill, 8)
        picked = frames_module.PickedFrames(spill, [2, 5])
        spill.release(0, 8)
        assert (picked.width, picked.height, picked.scale, picked.fps) == (W, H, 1.0, 30.0)
        got = picked.pick([5, 2])
        assert np.array_equal(got[2], frame(2)) and np.array_equal(got[5], frame(5))
        got[2][:] = 0  # a caller draws on its copy
        assert np.array_equal(picked.pick([2])[2], frame(2))
        with pytest.raises(KeyError, match=r"\[3\]"):
            picked.pick([3])
