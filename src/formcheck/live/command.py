"""`formcheck live`: argument parsing only; the session itself is imported when the command runs."""

from __future__ import annotations

import argparse

from formcheck.errors import UsageError

from .session import LiveOptions, start_session


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    return w, h


def add_parser(sub: argparse._SubParsersAction) -> None:
    live = sub.add_parser(
        "live",
        help="coach a set live from a webcam (or a clip fed as one)",
        description="Coach a set live: the mirrored camera picture with the skeleton, rep counter, phase,"
        " hip-angle gauge with the lockout line and cues. A setup check says what to fix and starts"
        " counting once the start position is held. n or Space ends a set (its summary, then a rest timer"
        " until the next one); q or Esc (or Ctrl-C) ends the session, f toggles full screen. At the end"
        " the set summary is printed and the session saved (track.npz, report.json, session.json).",
    )
    live.add_argument("--camera", type=int, default=0, metavar="N", help="webcam index (default 0)")
    live.add_argument(
        "--source", metavar="CLIP", help="feed a video file instead of a camera (tests, replaying a set)"
    )
    live.add_argument(
        "--realtime",
        action="store_true",
        help="with --source: deliver frames at the clip's own frame rate, as a camera would (frames"
        " the pose model cannot keep up with are dropped and counted); without it the clip is read"
        " as fast as it is processed",
    )
    live.add_argument(
        "--variant",
        default="auto",
        help="exercise variant or a profile .json (default auto: detected from the set, as analyze does)",
    )
    live.add_argument("--headless", action="store_true", help="no window (for tests and benchmarks)")
    live.add_argument(
        "--out",
        metavar="DIR",
        help="session folder (default: formcheck-live/<date>_<time> under the current folder)",
    )
    live.add_argument(
        "--audio",
        nargs="?",
        const="speech",
        choices=("speech", "tone"),
        help="say cues aloud (speech, the default with --audio: needs espeak-ng) or as tones; offline",
    )
    live.add_argument("--model", metavar="F", help="pose model .task file (default: the bundled model)")
    live.add_argument(
        "--no-mirror", action="store_true", help="show the camera picture as it is, not mirrored"
    )
    live.add_argument(
        "--resolution",
        type=_size,
        default=(640, 480),
        metavar="WxH",
        help="camera picture size (default 640x480)",
    )
    live.add_argument(
        "--screen",
        type=_size,
        metavar="WxH",
        help="the window's size (default: the screen's, read from the display; 1280x800 headless)",
    )
    live.add_argument(
        "--hold",
        type=_positive_float,
        default=1.0,
        metavar="S",
        help="seconds in the start position before counting starts (default 1)",
    )
    live.add_argument(
        "--max-lag",
        type=_positive_float,
        default=2.0,
        metavar="S",
        help="how far the pose may fall behind the camera before frames are dropped (default 2 s;"
        " every frame is analysed while the machine keeps up on average, late ones are not drawn)",
    )
    live.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.realtime and not args.source:
        raise UsageError("--realtime needs --source CLIP (a camera is always real time)")
    options = LiveOptions(
        variant=args.variant,
        out=args.out,
        headless=args.headless,
        audio=args.audio,
        mirror=not args.no_mirror,
        hold_s=args.hold,
        max_lag_s=args.max_lag,
        screen=args.screen,
    )
    result = start_session(
        options, camera=args.camera, clip=args.source, realtime=args.realtime, model=args.model,
        resolution=args.resolution,
    )  # fmt: skip
    if result.error is not None:
        raise result.error  # after everything is saved: one error line and its exit code
    return 0
