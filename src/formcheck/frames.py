"""The frames of one clip at the annotated output's size, for the pictures drawn after the analysis.

The pose pass decodes every frame once; `SpillFrames` keeps a downscaled copy of what it read in
a temp file (one fixed-size slot per frame, written by each pose share at its own offsets, so the
shares' frames come back in clip order without any buffering in RAM), and the annotated clip and
the HTML key frames read them back from there instead of decoding the clip again. Above a size cap
(long clips) it gives up and `FileFrames`, which decodes the clip again, takes over: memory stays
flat either way and disk use stays bounded.

The slots are written and read with O_DIRECT where the file system allows it: the frames go to the
disk without passing through the page cache. On this 2-core test VM, new page-cache memory cost
~3 ms of CPU per 1.2 MB frame the first time the VM touched it (0.3 ms once warm), which made the
pictures' extra time swing between runs; direct writes cost ~0.06 ms of CPU a frame and the disk
keeps up (~2 GB/s). Elsewhere (tmpfs, macOS, Windows) the same slots are written through the cache.

The annotated clip frees the slots behind it as it reads them (`frames(release=True)`): freeing a
spill's blocks waits on the disk (~0.1 s for the 480 MB of a 13 s 720p clip on a disk mounted
with online discard), and done at the end that wait added to every annotated job's wall time.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import mmap
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no O_DIRECT either
    fcntl = None  # type: ignore[assignment]

from .io import VideoInfo, open_video, prefetch

MAX_SIDE = 768  # annotate.MAX_SIDE: the annotated clip's longer side (see there)
MIN_SIDE = 480  # small clips are enlarged toward this, as far as MAX_SIDE allows
SPILL_CAP_BYTES = 4 << 30  # ~144 s of 768x432 RGB at 30 fps; a longer clip is decoded again
SPILL_CAP_ENV = "FORMCHECK_SPILL_MAX_BYTES"
_READ_AHEAD = 8
_ALIGN = 4096  # O_DIRECT wants offsets, lengths and buffers on the device's block size
_RELEASE_SLOTS = 16  # slots freed at a time behind a reader (~20 MB: a few ms of the disk's time)


def output_size(
    width: int, height: int, max_side: int = MAX_SIDE, min_side: int = MIN_SIDE
) -> tuple[int, int, float]:
    """Even (width, height) with the short side at least min_side (small clips are enlarged, for the
    overlay's text) and the long side at most max_side (which wins), and the scale from input pixels.

    yuv420p halves chroma in both directions, so x264 needs even sizes; an odd input kept at its
    size is padded by a pixel rather than resampled (which would soften every frame)."""
    scale = max(1.0, min_side / min(width, height))
    scale = min(scale, max_side / max(width, height))
    if abs(scale - 1.0) > 1e-9:
        w, h = int(round(width * scale / 2)) * 2, int(round(height * scale / 2)) * 2
        return max(w, 2), max(h, 2), scale
    return width + width % 2, height + height % 2, 1.0


def resize(frame: np.ndarray, width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """Resize for display, cheaply: OpenCV's area filter is fast only for whole-number factors
    (4.5 ms for 720p -> 540p against 0.8 ms bilinear), so it does the whole-number part of a large
    reduction (no aliasing) and bilinear the rest."""
    h, w = frame.shape[:2]
    k = min(w // width, h // height)
    if k >= 2:
        frame = cv2.resize(frame, (w // k, h // k), interpolation=cv2.INTER_AREA)
    if frame.shape[:2] == (height, width):
        return frame if out is None else _copied(frame, out)
    return cv2.resize(frame, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)


def to_output(
    frame: np.ndarray, width: int, height: int, scale: float, out: np.ndarray | None = None
) -> np.ndarray:
    """A decoded frame at the output size: resized, or padded by a pixel to even sides; written into
    `out` (height x width x 3) when given."""
    if scale != 1.0:
        return resize(frame, width, height, out)
    pad = (height - frame.shape[0], width - frame.shape[1])
    if any(pad):
        return cv2.copyMakeBorder(frame, 0, pad[0], 0, pad[1], cv2.BORDER_REPLICATE, dst=out)
    return frame if out is None else _copied(frame, out)


def _copied(frame: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.copyto(out, frame)
    return out


class ClipFrames(Protocol):
    """Frames of a clip at the output size (width x height, `scale` times the input's pixels)."""

    width: int
    height: int
    scale: float
    fps: float

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """(clip index, RGB frame) of every frame, in clip order; each frame may be drawn on."""

    def pick(self, indices: list[int]) -> dict[int, np.ndarray]:
        """The frames at these clip indices (those the clip has)."""


class FileFrames:
    """The fallback: decode the clip again (for --track + CLIP, or a clip too long to spill)."""

    def __init__(self, clip: str | Path, fps: float | None = None, max_side: int = MAX_SIDE,
                 min_side: int = MIN_SIDE) -> None:  # fmt: skip
        self.clip, self._fps_override = str(clip), fps
        with open_video(clip, fps=fps) as reader:
            info = reader.info
        self.fps = info.fps
        self.width, self.height, self.scale = output_size(info.width, info.height, max_side, min_side)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        with open_video(self.clip, fps=self._fps_override) as reader:
            sized = (to_output(f, self.width, self.height, self.scale) for f in reader)
            stream = prefetch(sized)  # decoding overlaps the caller's drawing and encoding
            try:
                yield from enumerate(stream)
            finally:
                stream.close()

    def pick(self, indices: list[int]) -> dict[int, np.ndarray]:
        """Decodes in order up to the last one (OpenCV's seeking is not frame-exact in every codec)."""
        wanted, out = set(indices), {}
        if not wanted:
            return out
        with open_video(self.clip, fps=self._fps_override) as reader:
            for i, frame in enumerate(reader):
                if i in wanted:
                    out[i] = to_output(frame, self.width, self.height, self.scale)
                if i >= max(wanted):
                    break
        return out


def spill_cap() -> int:
    value = os.environ.get(SPILL_CAP_ENV, "")
    return int(value) if value.isdigit() else SPILL_CAP_BYTES


class SpillFrames:
    """A frame sink for the pose pass and, afterwards, a ClipFrames over what it kept.

    `every_frame` False keeps only the frames the model saw (the HTML key frames are among them):
    slot i holds clip frame i * stride. Thread-safe: each share writes its own slots (pwrite).
    Use as a context manager, or close(): the temp file is removed.
    """

    def __init__(self, every_frame: bool = True, max_side: int = MAX_SIDE, min_side: int = MIN_SIDE,
                 cap_bytes: int | None = None, folder: str | None = None) -> None:  # fmt: skip
        self.every_frame = every_frame
        self._sides = (max_side, min_side)
        self._cap = spill_cap() if cap_bytes is None else cap_bytes
        self._folder = folder
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self.direct = False  # slots written past the page cache (O_DIRECT)
        self._released: set[int] = set()  # slots freed by a reader: they can no longer be read
        self.stride = 1
        self.count = 0  # slots written up to (highest slot + 1)
        self.overflowed = False  # a frame did not fit under the cap: the pictures decode the clip again
        self.width = self.height = 0
        self.scale, self.fps = 1.0, 0.0
        self.clip = ""

    # -- the pose pass's side
    def start(self, info: VideoInfo, stride: int) -> None:
        """Called once the clip is open; refuses (overflowed) a clip whose frames would pass the cap."""
        self.clip, self.fps, self.stride = info.path, info.fps, stride
        self.width, self.height, self.scale = output_size(info.width, info.height, *self._sides)
        self._frame_bytes = self.width * self.height * 3
        self._slot_bytes = -(-self._frame_bytes // _ALIGN) * _ALIGN
        self._max_slots = self._cap // self._slot_bytes
        folder = self._folder or tempfile.gettempdir()
        free = shutil.disk_usage(folder).free
        self._max_slots = min(self._max_slots, free // 2 // self._slot_bytes)
        if info.frame_count and self._slot(info.frame_count - 1) >= self._max_slots:
            self.overflowed = True
            return
        fd, name = tempfile.mkstemp(prefix="formcheck-frames-", suffix=".raw", dir=folder)
        os.unlink(name)  # the open descriptor keeps the space; nothing is left behind on a crash
        self._fd = fd
        self.direct = _set_direct(fd, True)

    def wants(self, index: int) -> bool:
        return not self.overflowed and (self.every_frame or index % self.stride == 0)

    def put(self, index: int, frame: np.ndarray) -> None:
        slot = self._slot(index)
        if self._fd is None or self.overflowed:
            return
        if slot >= self._max_slots:  # the container understated its length
            self.overflowed = True
            return
        buffer, view = self._scratch()
        to_output(frame, self.width, self.height, self.scale, out=view)
        self._io(True, buffer, slot)
        with self._lock:
            self.count = max(self.count, slot + 1)

    def finish(self, frames: int) -> None:
        """Only clip frames [0, frames) count: what a single reader of a truncated clip would give."""
        with self._lock:
            self.count = min(self.count, self._slot(frames - 1) + 1 if frames > 0 else 0)

    def _slot(self, index: int) -> int:
        return index if self.every_frame else index // self.stride

    @property
    def usable(self) -> bool:
        return self._fd is not None and not self.overflowed and self.count > 0

    # -- both sides
    def _buffer(self) -> tuple[mmap.mmap, np.ndarray]:
        """A slot-sized buffer on a page boundary (what O_DIRECT needs) and the frame inside it."""
        buffer = mmap.mmap(-1, self._slot_bytes)
        view = np.frombuffer(buffer, np.uint8, self._frame_bytes).reshape(self.height, self.width, 3)
        return buffer, view

    def _scratch(self) -> tuple[mmap.mmap, np.ndarray]:
        """This thread's buffer, reused frame after frame (fresh memory per frame costs page faults)."""
        mine = getattr(self._local, "buffer", None)
        if mine is None:
            mine = self._local.buffer = self._buffer()
        return mine

    def _io(self, write: bool, buffer: mmap.mmap, slot: int) -> int:
        """One whole slot written from, or read into, `buffer`; the bytes moved."""
        assert self._fd is not None
        offset = slot * self._slot_bytes
        try:
            return os.pwrite(self._fd, buffer, offset) if write else os.preadv(self._fd, [buffer], offset)
        except OSError as exc:  # a file system that takes O_DIRECT at open but not at I/O
            if not self.direct or exc.errno != errno.EINVAL:
                raise
            self.direct = _set_direct(self._fd, False)
            return self._io(write, buffer, slot)

    # -- the pictures' side
    def _read_into(self, slot: int, buffer: mmap.mmap, view: np.ndarray) -> np.ndarray:
        if slot in self._released:
            raise RuntimeError(f"frame slot {slot} was released by the reader that read it")
        got = self._io(False, buffer, slot)
        if got < self._frame_bytes:  # past the end (a slot no share wrote): black, as a hole reads
            view.reshape(-1)[max(got, 0) :] = 0
        return view

    def _read(self, slot: int) -> np.ndarray:
        buffer, view = self._scratch()
        return self._read_into(slot, buffer, view).copy()

    def frame(self, index: int) -> np.ndarray:
        """Clip frame `index` (< count) of a spill that kept every frame, a fresh array."""
        if not self.every_frame:
            raise RuntimeError("this spill kept only the analysed frames")
        return self._read(index)

    def frames(self, start: int, stop: int, depth: int = 4, release: bool = False) -> Iterator[np.ndarray]:
        """Clip frames [start, stop) of a spill that kept every frame, read ahead on a thread (random
        access: the annotated clip is drawn and encoded in parts at once). Each array is a reused
        buffer: it holds its frame until the caller takes the next one. `release`: the reading
        thread frees the slots it has read (they are in its buffers), so they cannot be read again."""
        if not self.every_frame:
            raise RuntimeError("this spill kept only the analysed frames")
        ring = [self._buffer() for _ in range(depth + 3)]  # queued, being read, held, and one spare

        def read() -> Iterator[np.ndarray]:
            freed = start
            for k, i in enumerate(range(start, stop)):
                yield self._read_into(i, *ring[k % len(ring)])
                if release and (i + 1 - freed >= _RELEASE_SLOTS or i + 1 == stop):
                    self.release(freed, i + 1)
                    freed = i + 1

        stream = prefetch(read(), depth=depth)
        try:
            yield from stream
        finally:
            stream.close()

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if not self.every_frame:
            raise RuntimeError("this spill kept only the analysed frames")
        # copies: the caller may hand a frame on (the streamed encoder queues it) past the next one
        with contextlib.closing(self.frames(0, self.count, depth=_READ_AHEAD)) as stream:
            for i, frame in enumerate(stream):
                yield i, frame.copy()

    def release(self, start: int, stop: int) -> None:
        """Free slots [start, stop) on disk now (a hole reads as zeros, so reading them is refused)."""
        with self._lock:
            self._released.update(range(start, stop))
        if self._fd is not None and stop > start:
            _punch_hole(self._fd, start * self._slot_bytes, (stop - start) * self._slot_bytes)

    def pick(self, indices: list[int]) -> dict[int, np.ndarray]:
        out = {}
        for i in indices:
            kept = self.every_frame or i % self.stride == 0
            if kept and 0 <= self._slot(i) < self.count:
                out[i] = self._read(self._slot(i))
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SpillFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PickedFrames:
    """Some frames read from a ClipFrames now, to draw later (the HTML key frames, read before the
    annotated clip releases the spill's slots)."""

    def __init__(self, source: ClipFrames, indices: list[int]) -> None:
        self.width, self.height, self.scale, self.fps = source.width, source.height, source.scale, source.fps
        self._frames = source.pick(indices)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        raise TypeError("PickedFrames holds only the frames picked up front")

    def pick(self, indices: list[int]) -> dict[int, np.ndarray]:
        missing = sorted(set(indices) - set(self._frames))
        if missing:
            raise KeyError(f"frames {missing} were not picked up front")
        return {i: self._frames[i].copy() for i in indices}


def frames_for(clip: str | Path, spill: SpillFrames | None = None, max_side: int = MAX_SIDE) -> ClipFrames:
    """What the pictures read: the pose pass's spill when it holds the clip, else the clip itself."""
    if spill is not None and spill.usable and spill._sides[0] == max_side:
        return spill
    return FileFrames(clip, max_side=max_side)


def spill_bytes(width: int, height: int, frames: int) -> int:
    """Disk a spill of this clip takes (for the docs and the benchmark)."""
    w, h, _ = output_size(width, height)
    return w * h * 3 * max(0, frames)


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for `fd`; whether it is now on (False where the OS or the file
    system has no such mode: tmpfs refuses it, macOS and Windows do not define it)."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag or fcntl is None:
        return False
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | flag) if on else (flags & ~flag))
    except OSError:
        return False
    return on


def _punch_hole(fd: int, offset: int, length: int) -> bool:
    """Free a byte range of a file on disk, keeping its size (Linux fallocate PUNCH_HOLE); False
    where the OS or the file system cannot (the blocks are then freed when the file is closed)."""
    fallocate = _fallocate()
    if fallocate is None:
        return False
    return fallocate(fd, _FALLOC_FL_KEEP_SIZE | _FALLOC_FL_PUNCH_HOLE, offset, length) == 0


_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 0x01, 0x02


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).fallocate64  # 64-bit offsets on any word size
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    call.restype = ctypes.c_int
    return call
