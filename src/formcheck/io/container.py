"""What a file is before any decoder sees it: container sniffing and ISO-BMFF (MP4/MOV) boxes.

Reads a few bytes or box headers only, never the media: batch uses it to find clips by content
among other files, the web app to accept or refuse an upload, and `open_video` to word the error
for a file OpenCV refuses (truncated or not a video).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

SNIFF_BYTES = 1024  # what sniff() reads

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".m2v", ".ts", ".mts", ".m2ts",
     ".wmv", ".asf", ".flv", ".3gp", ".3g2", ".ogv", ".mxf", ".vob", ".dv", ".gif"}
)
_ISO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
# ISO-BMFF files that are not video: audio (m4a), still images (HEIF/AVIF), camera raw
_NOT_VIDEO_BRANDS = frozenset(
    {b"M4A ", b"M4B ", b"M4P ", b"heic", b"heix", b"mif1", b"msf1", b"avif", b"crx "}
)
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def sniff(path: str | Path) -> str | None:
    """The video container a file's first bytes announce, or None. Reads 1 KiB."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return None
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> str | None:
    """The container announced by a file's first bytes (up to SNIFF_BYTES of them), or None."""
    if len(head) >= 12 and head[4:8] in _ISO_BOXES and _box_size_ok(head):
        return None if head[4:8] == b"ftyp" and head[8:12] in _NOT_VIDEO_BRANDS else "mp4/mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(_ASF_GUID):
        return "asf/wmv"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg-ps"
    if _sync_bytes(head, 188, 0) or _sync_bytes(head, 192, 4):
        return "mpeg-ts"
    if head.startswith(b"OggS") and (b"theora" in head or b"\x80video" in head):
        return "ogg"
    if head[:6] in (b"GIF87a", b"GIF89a"):  # analyze reads GIFs (FFmpeg decodes them as video)
        return "gif"
    return None


def _box_size_ok(head: bytes) -> bool:
    """A first box size a real file could have (0: to the end, 1: 64-bit size follows)."""
    size = int.from_bytes(head[:4], "big")
    return size in (0, 1) or 8 <= size < 1 << 40


def _sync_bytes(head: bytes, packet: int, offset: int) -> bool:
    """MPEG-TS: a 0x47 sync byte at the start of three consecutive packets."""
    spots = [offset + k * packet for k in range(3)]
    return spots[-1] < len(head) and all(head[s] == 0x47 for s in spots)


def boxes(fh: BinaryIO, pos: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, declared end) of the ISO-BMFF boxes from `pos` on, reading headers only.

    The walk stops before `end`, or at a size below a header's 8 bytes (a broken file); the
    declared end of the last box may lie beyond `end` when the file is cut off."""
    while pos + 8 <= end:
        fh.seek(pos)
        hdr = fh.read(16)
        size, kind, body = int.from_bytes(hdr[:4], "big"), hdr[4:8], pos + 8
        if size == 1 and len(hdr) == 16:  # 64-bit size follows
            size, body = int.from_bytes(hdr[8:16], "big"), pos + 16
        elif size == 0:  # "extends to the end of the file"
            size = end - pos
        if size < 8:
            return
        yield kind, body, pos + size
        pos += size


def top_boxes(path: str | Path) -> tuple[list[bytes], bool] | None:
    """Top-level box types of an MP4/MOV file and whether it is cut off (its last box ends past
    the file's end, or a broken size stopped the walk); None when it does not start with ftyp."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(12)
        if len(head) < 8 or head[4:8] != b"ftyp":
            return None
        kinds: list[bytes] = []
        last_end = 0
        for kind, _, box_end in boxes(fh, 0, size):
            kinds.append(kind)
            last_end = box_end
        return kinds, last_end > size or last_end + 8 <= size


def mp4_duration(path: str | Path) -> float | None:
    """Duration from an MP4/MOV's movie header (mvhd), reading box headers only; None otherwise."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            for kind, start, end in boxes(fh, 0, size):
                if kind == b"moov":
                    for child, body, _ in boxes(fh, start, min(end, size)):
                        if child == b"mvhd":
                            fh.seek(body)
                            h = fh.read(32)
                            scale, dur = (h[20:24], h[24:32]) if h[:1] == b"\x01" else (h[12:16], h[16:20])
                            ts = int.from_bytes(scale, "big")
                            return int.from_bytes(dur, "big") / ts if ts else None
                    return None
    except OSError:
        return None
    return None


def is_video_candidate(path: Path) -> bool:
    """Worth trying: the content says video, or the name does (then opening it tells what is wrong)."""
    return sniff(path) is not None or path.suffix.lower() in VIDEO_SUFFIXES
