"""Command line: `formcheck analyze CLIP` and friends.

Errors the user can act on are FormcheckError subclasses: they print one line,
`formcheck: error: ...`, and exit with the class's own code, never a traceback.
Every output is written as soon as it exists (the pose track first, since it is the
expensive part) and atomically, so a later failure never loses an earlier result.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import FormcheckError, TruncatedVideo
from .profiles import ProfileError, builtin_names, load_profile
from .track import PoseTrack

if TYPE_CHECKING:
    from .analysis import Analysis
    from .frames import SpillFrames
    from .pose import FrameSink
    from .profiles import Profile


class UsageError(FormcheckError):
    """Bad combination of arguments or an unknown variant: same code as argparse's usage errors."""

    exit_code = 2


class OutputError(FormcheckError):
    """A result file (report, CSV, track) could not be written."""

    exit_code = 20


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
        help="pose workers, each on its own share of the clip (default: one per core)",
    )
    _add_every_frame(an)
    an.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    an.set_defaults(func=cmd_analyze)
    _add_batch_parser(sub)
    for module in _COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


# Subcommands that live in their own package; each module's add_parser(sub) registers the
# command, its options and a func(args) -> exit code, importing anything heavy only when run.
_COMMAND_MODULES: tuple[str, ...] = ("formcheck.live.command", "formcheck.web.command")


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
        "--address", metavar="A", help="Ray cluster to use: auto, or ray://HOST:10001 (default: a local Ray)"
    )
    bt.add_argument("--retry-failed", action="store_true", help="retry clips an earlier run could not score")
    _add_every_frame(bt)
    bt.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    bt.set_defaults(func=cmd_batch)


def _add_every_frame(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--every-frame",
        action="store_true",
        help="run the pose model on every frame (default: clips above 30 fps are analysed at every"
        " k-th frame, k = ceil(fps / 30), e.g. every 2nd of a 60 fps clip)",
    )


def cmd_batch(args: argparse.Namespace) -> int:
    from . import batch

    if args.address and args.executor != "ray":
        raise UsageError("--address needs --executor ray")
    try:
        settings = batch.BatchSettings.create(args.variant, model=args.model, every_frame=args.every_frame)
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


def _extract(
    clip: str,
    model: str | None,
    quiet: bool,
    workers: int | None = None,
    every_frame: bool = False,
    sink: FrameSink | None = None,
) -> PoseTrack:
    from .pose import extract_track  # imported late: --track needs no model or OpenCV

    kwargs = {"progress": _progress_printer(quiet), "workers": workers, "every_frame": every_frame}
    kwargs["sink"] = sink
    if model:
        kwargs["model_path"] = model
    with warnings.catch_warnings():
        # a truncated clip is analysed as far as it decodes, then reported as one error line
        warnings.simplefilter("ignore")
        return extract_track(clip, **kwargs)


def _truncation(track: PoseTrack) -> TruncatedVideo | None:
    meta = track.meta
    if not meta.get("truncated"):
        return None
    decoded, advertised = meta.get("frames_decoded", track.n_frames), meta.get("frames_advertised", "?")
    return TruncatedVideo(
        f"{track.source}: decoded {decoded} of {advertised} advertised frames, the file ends early or is"
        f" corrupt; the report covers the first {track.duration:.1f} s",
        decoded=decoded,
        advertised=advertised,
    )


def _write(kind: str, path: str, writer: Callable[[str], None]) -> None:
    try:
        writer(path)
    except OSError as exc:
        raise OutputError(f"cannot write {kind} {path}: {exc.strerror or exc}") from exc


def _check_picture_outputs(args: argparse.Namespace) -> None:
    """Before any work: --annotate needs the video, and no output may overwrite it."""
    if args.annotate and not args.clip:
        raise UsageError("--annotate needs the CLIP: a pose track holds no pictures (give CLIP and --track)")
    for out in (args.annotate, args.html):
        if out and args.clip and Path(out).resolve() == Path(args.clip).resolve():
            raise UsageError(f"{out}: would overwrite the input clip")


def _picture_frames(args: argparse.Namespace) -> SpillFrames | None:
    """One decode per job: when pictures will be drawn from a clip the pose pass reads, it keeps a
    downscaled copy of the frames (all of them for --annotate, the analysed ones for --html)."""
    if not args.clip or args.track or not (args.html or args.annotate):
        return None
    from .frames import SpillFrames

    return SpillFrames(every_frame=bool(args.annotate))


def _write_pictures(
    args: argparse.Namespace,
    track: PoseTrack,
    result: Analysis,
    profile: Profile,
    spill: SpillFrames | None = None,
) -> None:
    """--html and --annotate, after the reports (the slowest output last)."""
    if not (args.html or args.annotate):
        return
    from .annotate import write_annotated
    from .frames import frames_for
    from .html_report import write_html
    from .viz import overlay_data

    clip = args.clip
    if clip and args.track:
        _check_track_matches(clip, track)
    frames = frames_for(clip, spill) if clip else None
    html = None
    if args.html:  # its plots (matplotlib) overlap the annotated clip's encoding (x264 frees the GIL)
        page = lambda p: write_html(p, result, profile, track, clip, frames)  # noqa: E731
        html = _Background(lambda: _write("HTML report", args.html, page))
    try:
        if args.annotate:
            data = overlay_data(track, result, profile)
            _write("annotated video", args.annotate, lambda p: write_annotated(clip, p, data, frames=frames))
    finally:
        if html is not None:
            html.result()


class _Background(threading.Thread):
    """Runs work on a thread; result() joins it and re-raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="formcheck-html", daemon=True)
        self._work, self._error = work, None
        self.start()

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self) -> None:
        self.join()
        if self._error is not None:
            raise self._error


def _check_track_matches(clip: str, track: PoseTrack) -> None:
    """A saved track drawn over another clip would put the skeleton beside the body."""
    from .io import probe

    info = probe(clip)
    stride = int(track.meta.get("frame_stride", 1))
    frames = track.n_frames * stride  # a strided track analysed every stride-th frame of its clip
    tolerance = max(2, round(0.01 * frames)) + stride
    same_length = not info.frame_count or abs(info.frame_count - frames) <= tolerance
    if (info.width, info.height) != (track.width, track.height) or not same_length:
        raise UsageError(
            f"{clip} ({info.width}x{info.height}, {info.frame_count} frames) is not the clip the track"
            f" was made from ({track.width}x{track.height}, {track.n_frames} frames)"
        )


def cmd_analyze(args: argparse.Namespace) -> int:
    from .variants import AUTO

    if args.variant != AUTO:  # a bad name fails before the model runs
        try:
            load_profile(args.variant)
        except ProfileError as exc:
            raise UsageError(str(exc)) from exc
    _check_picture_outputs(args)
    if args.track:
        from .pose import load_track

        track = load_track(args.track)
    elif not args.clip:
        raise UsageError("analyze needs a CLIP or --track FILE")
    spill = _picture_frames(args)
    try:
        if not args.track:
            track = _extract(args.clip, args.model, args.quiet, args.workers, args.every_frame, spill)
        return _analyze(args, track, spill)
    finally:
        if spill is not None:
            spill.close()


def _analyze(args: argparse.Namespace, track: PoseTrack, spill: SpillFrames | None) -> int:
    from . import report
    from .variants import analyze_variant

    if args.save_track:
        _write("track", args.save_track, track.save)
    result, profile, _ = analyze_variant(track, args.variant)
    if args.json:
        _write("JSON report", args.json, lambda p: report.write_json(p, result, profile))
    if args.csv:
        _write("CSV report", args.csv, lambda p: report.write_csv(p, result, profile))
    sys.stdout.write(report.render_text(result, profile))
    sys.stdout.flush()  # the table is on screen while the pictures render
    _write_pictures(args, track, result, profile, spill)
    truncated = _truncation(track)
    if truncated:  # everything above is written; the exit code still says the input was damaged
        raise truncated
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
