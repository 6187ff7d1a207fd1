"""Video clips that go with synthetic pose tracks, for the tests of what is drawn over a clip.

`clip_for(track, path)` writes an MPEG-4 Part 2 mp4 (OpenCV, no ffmpeg needed) with the track's
size, frame rate and frame count: a stick figure where the track's body is, on a dark background,
and frame i's number in the corner strip's brightness (8 * (i % 30)), so frame order survives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formcheck.track import PoseTrack

BACKGROUND = 40


def strip_level(i: int) -> int:
    return 8 * (i % 30)


def frames_for(track: PoseTrack):
    import cv2

    for i in range(track.n_frames):
        frame = np.full((track.height, track.width, 3), BACKGROUND, np.uint8)
        frame[:16, :16] = strip_level(i)
        pts = track.image[i, :, :2]
        for x, y in pts[np.isfinite(pts).all(axis=1)]:
            cv2.circle(frame, (int(x), int(y)), 6, (200, 170, 140), -1)
        yield frame


def clip_for(track: PoseTrack, path: Path) -> Path:
    import cv2

    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"mp4v"), track.fps, (track.width, track.height)
    )
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for frame in frames_for(track):
        writer.write(frame)
    writer.release()
    return path


def lossless_clip_for(track: PoseTrack, path: Path) -> Path:
    """FFV1 in Matroska: any size, odd ones too (MPEG-4 Part 2 rounds them down to even)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=Fraction(track.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = track.width, track.height, "bgr0"
        for i, frame in enumerate(frames_for(track)):
            vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
            vf.pts = i
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
    return path
