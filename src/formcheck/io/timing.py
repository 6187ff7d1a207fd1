"""Real frame times of clips whose frames do not come at one rate: GIFs.

A GIF stores a delay per frame (often 60-70 ms alternating, or a long hold on one frame); OpenCV
reports one nominal rate (a 45-frame GIF of 3.0 s read as 16.67 fps, i.e. 2.7 s), so every
tempo would be off by that ratio. The delays are read from the container's packet timestamps
(PyAV demuxes, nothing is decoded).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from .container import sniff


def frame_times(path: str | Path) -> tuple[np.ndarray, float] | None:
    """(start time of each frame in seconds, the clip's end) for a GIF; None for other clips,
    or when the container holds no usable timestamps (then the nominal rate stands)."""
    if sniff(path) != "gif":
        return None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            base = float(stream.time_base or 0)
            packets = [(p.pts, p.duration or 0) for p in container.demux(stream)
                       if p.size and p.pts is not None]
    except (av.FFmpegError, IndexError):
        return None
    if not packets or base <= 0:
        return None
    pts = np.array([p for p, _ in packets], dtype=np.float64) * base
    if len(pts) > 1 and np.any(np.diff(pts) <= 0):
        return None
    end = pts[-1] + packets[-1][1] * base
    return pts - pts[0], float(end - pts[0])
