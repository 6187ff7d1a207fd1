"""Video input: what a file is (`container`: sniffing, MP4 boxes, no decoding) and its frames
(`video`: validated opening, upright RGB frames, the clip's facts, the frame-size guard)."""

from .container import (
    SNIFF_BYTES,
    VIDEO_SUFFIXES,
    is_video_candidate,
    mp4_duration,
    sniff,
    sniff_bytes,
    top_boxes,
)
from .timing import frame_times
from .video import (
    FPS_RANGE,
    MAX_PIXELS,
    VideoInfo,
    VideoReader,
    check_frame_size,
    check_path,
    frame_size,
    open_video,
    prefetch,
    probe,
)

__all__ = [
    "FPS_RANGE",
    "MAX_PIXELS",
    "SNIFF_BYTES",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "VideoReader",
    "check_frame_size",
    "check_path",
    "frame_size",
    "frame_times",
    "is_video_candidate",
    "mp4_duration",
    "open_video",
    "prefetch",
    "probe",
    "sniff",
    "sniff_bytes",
    "top_boxes",
]
