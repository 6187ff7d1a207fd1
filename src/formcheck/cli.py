"""Command line: `formcheck analyze CLIP` and friends.

Errors the user can act on are FormcheckError subclasses: they print one line,
`formcheck: error: ...`, and exit with the class's own code, never a traceback.
Every output is written as soon as it exists (the pose track first, since it is the
expensive part) and atomically, so a later failure never loses an earlier result.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence

from . import __version__, batch, pipeline
from .errors import FormcheckError, OutputError, UsageError
from .live import command as live_command
from .pose import load_track
from .profiles import ProfileError, builtin_names
from .report import render_text
from .speed import HEIGHT_CM
from .web import command as web_command
from .web import users_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="formcheck",
        description="Rep-by-rep hip thrust and glute bridge form analysis from video.",
    )
    parser.add_argument("--version", action="version", version=f"formcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    an = sub.add_parser("analyze", help="count reps, time them, check lockout and tempo in one clip")
    an.add_argument("clip", nargs="?", help="video file (not needed with --track)")
    an.add_argument(
        "--variant",
        default="auto",
        help="exercise variant or a profile .json (default auto: bench or floor, one leg or two, from the"
        f" clip; known: {', '.join(builtin_names())})",
    )
    an.add_argument("--json", metavar="F", help="write the report as JSON (schema formcheck.report/1)")
    an.add_argument("--csv", metavar="F", help="write one CSV row per rep")
    an.add_argument(
        "--html", metavar="F", help="write a self-contained HTML report (plots, key frames, checklist)"
    )
    an.add_argument(
        "--annotate",
        metavar="F",
        help="write the clip with skeleton, hip angle, reps and faults drawn on (H.264 MP4)",
    )
    an.add_argument("--save-track", metavar="F", help="save the pose track (.npz) for fast re-analysis")
    an.add_argument(
        "--track", metavar="F", help="re-analyse a saved pose track instead of a video (no model)"
    )
    an.add_argument("--model", metavar="F", help="pose model .task file (default: the bundled model)")
    an.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="pose workers tracking the clip's shares (default: one per core; the report is the same"
        " with any number)",
    )
    an.add_argument(
        "--single-stream",
        action="store_true",
        help="track the whole clip with one landmarker, as live mode does (the report live would give;"
        " uses one core)",
    )
    _add_every_frame(an)
    _add_height(an)
    an.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    an.set_defaults(func=cmd_analyze)
    _add_batch_parser(sub)
    # subcommands of their own packages: add_parser registers the command, its options and a
    # func(args) -> exit code; each imports anything heavy only when it runs
    live_command.add_parser(sub)
    web_command.add_parser(sub)
    users_command.add_parser(sub)
    return parser


def _add_batch_parser(sub: argparse._SubParsersAction) -> None:
    bt = sub.add_parser(
        "batch",
        help="score every clip under folders: one JSON per clip and summary.csv; parallel, resumable",
        description="Score every video under PATH... (recursive, found by content) into DIR: one JSON"
        " per clip and summary.csv. A rerun skips clips already scored with the same bytes and"
        " settings; pose tracks are cached, so new thresholds or another variant skip the model."
        " Exit 0 when every clip scored, 4 when any failed or was truncated (see summary.csv).",
    )
    bt.add_argument("paths", nargs="+", metavar="PATH", help="video files and/or folders")
    bt.add_argument("--out", required=True, metavar="DIR", help="results folder (on this machine)")
    bt.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="clips scored at once, one core each (default: one per core; with --executor ray and no"
        " --address, the CPUs of the local Ray instance)",
    )
    bt.add_argument(
        "--variant",
        default="auto",
        help="exercise variant or a profile .json (default auto: detected for each clip)",
    )
    bt.add_argument("--model", metavar="F", help="pose model .task file (default: the bundled model)")
    bt.add_argument("--cache", metavar="DIR", help="pose-track cache folder (default: DIR/.tracks)")
    bt.add_argument("--executor", choices=("local", "ray"), default="local", help="default: local")
    bt.add_argument(
        "--address",
        metavar="A",
        help="Ray cluster to use: auto, HOST:6379 or ray://HOST:10001 (default: a local Ray)",
    )
    bt.add_argument(
        "--retry-failed",
        action="store_true",
        help="retry clips an earlier run could not score or found truncated",
    )
    bt.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="seconds a clip may take before its worker is stopped and it is recorded as failed (code 24);"
        " default 300 + 20 per second of video, 0 for no limit",
    )
    _add_every_frame(bt)
    _add_height(bt)
    bt.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    bt.set_defaults(func=cmd_batch)


def _add_every_frame(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--every-frame",
        action="store_true",
        help="run the pose model on every frame (default: clips above 30 fps are analysed at every"
        " k-th frame, k = ceil(fps / 30), e.g. every 2nd of a 60 fps clip)",
    )


def _add_height(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--height-cm",
        metavar="N",
        help="the athlete's height in cm (100-250): scales rep speed in m/s (default: the pose model's"
        " 3D landmarks, an average body's metres)",
    )


def height_cm(text: str | None) -> float | None:
    """--height-cm: a stature in cm, 100-250; anything else is one error line and exit 2."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not HEIGHT_CM[0] <= value <= HEIGHT_CM[1]:
        low, high = HEIGHT_CM
        raise UsageError(f"--height-cm: expected a height in cm from {low:g} to {high:g}, got {text!r}")
    return value


def cmd_batch(args: argparse.Namespace) -> int:
    if args.address and args.executor != "ray":
        raise UsageError("--address needs --executor ray")
    try:
        settings = batch.BatchSettings.create(
            args.variant, model=args.model, every_frame=args.every_frame, height_cm=height_cm(args.height_cm)
        )
    except ProfileError as exc:
        raise UsageError(str(exc)) from exc
    try:
        result = batch.run_batch(
            args.paths,
            args.out,
            settings,
            jobs=args.jobs,
            executor=args.executor,
            address=args.address,
            cache_dir=args.cache,
            retry_failed=args.retry_failed,
            progress="off" if args.quiet else "auto",
            timeout=None if args.timeout is None else args.timeout or math.inf,
        )
    except OSError as exc:
        raise OutputError(f"cannot write to {args.out}: {exc.strerror or exc}") from exc
    sys.stdout.write(batch.render_outcome(result, args.out))
    for row in result.rows:
        if row["status"] != "ok":
            print(f"formcheck: {row['status']}: {row['error']}", file=sys.stderr)
    return result.exit_code


def _progress_printer(quiet: bool) -> Callable[[int, int], None]:
    """stderr progress for pose extraction: a live line on a terminal, a few lines otherwise."""
    state = {"last": -1.0, "start": time.monotonic()}
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        if quiet:
            return
        frac = done / total if total else 0.0
        step = 0.01 if tty else 0.25
        if frac - state["last"] < step and done != total:
            return
        state["last"] = frac
        rate = done / max(time.monotonic() - state["start"], 1e-6)
        text = f"pose: {done}/{total or '?'} frames ({frac:.0%}, {rate:.0f} fps)"
        print(("\r" + text) if tty else text, end="" if tty and done != total else "\n", file=sys.stderr)
        sys.stderr.flush()

    return show


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 for no limit), got {text!r}")
    return value


def cmd_analyze(args: argparse.Namespace) -> int:
    settings = pipeline.Settings(
        variant=args.variant, model=args.model, pose_workers=args.workers, every_frame=args.every_frame,
        height_cm=height_cm(args.height_cm), single_stream=args.single_stream,
    ).checked()
    outputs = pipeline.Outputs(
        json=args.json, csv=args.csv, track=args.save_track, html=args.html, annotate=args.annotate
    )
    pipeline.check_outputs(outputs, args.clip)
    # one decode per job: the pose pass keeps the frames the pictures need (None with --track)
    with pipeline.picture_frames(outputs, None if args.track else args.clip) as spill:
        if args.track:
            track = load_track(args.track)
            if args.clip and outputs.pictures:
                pipeline.check_track_matches(args.clip, track)
        elif args.clip:
            progress = _progress_printer(args.quiet)
            track, _ = pipeline.pose_track(args.clip, settings, progress=progress, sink=spill)
        else:
            raise UsageError("analyze needs a CLIP or --track FILE")
        pipeline.write_track(track, outputs)
        result = pipeline.run_track(track, settings)
        pipeline.write_reports(result, outputs)
        sys.stdout.write(render_text(result.report))
        sys.stdout.flush()  # the table is on screen while the pictures render
        pipeline.write_pictures(result, outputs, args.clip, spill=spill)
    if result.truncation:  # everything above is written; the exit code still says the input was damaged
        raise result.truncation
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except FormcheckError as exc:
        print(f"formcheck: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        print("formcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
