"""Errors a user can act on, each with its own process exit code.

The CLI catches `FormcheckError`, prints `str(err)` on one line and exits with
`err.exit_code`, so batch jobs can tell failure kinds apart without parsing
text. Exit codes are part of the public interface: never renumber them.
Code 1 is left for unexpected crashes and 2 for argparse usage errors.
"""

from __future__ import annotations


class FormcheckError(Exception):
    """Base class: a problem with the input or setup, not a bug."""

    exit_code = 3


class UsageError(FormcheckError):
    """A bad combination of arguments or an unknown variant: the code of argparse's usage errors."""

    exit_code = 2


class InputNotFound(FormcheckError):
    """The input path does not exist."""

    exit_code = 10


class InputIsDirectory(FormcheckError):
    """A directory was given where a video file was expected."""

    exit_code = 11


class EmptyVideo(FormcheckError):
    """The file is zero bytes, or a valid container that holds no frames."""

    exit_code = 12


class NotAVideo(FormcheckError):
    """The file is not a video OpenCV can decode (wrong format, unsupported codec)."""

    exit_code = 13


class TruncatedVideo(FormcheckError):
    """The file ends early: an incomplete download/copy or a corrupt stream."""

    exit_code = 14

    def __init__(self, message: str, decoded: int = 0, advertised: int = 0) -> None:
        super().__init__(message)
        self.decoded = decoded
        self.advertised = advertised


class BadFrameRate(FormcheckError):
    """The container's frame rate is missing or implausible; pass fps explicitly."""

    exit_code = 15


class NoPersonDetected(FormcheckError):
    """The pose model found nobody in any frame."""

    exit_code = 16


class ClipTooShort(FormcheckError):
    """Too little usable footage to analyse."""

    exit_code = 17


class ModelNotFound(FormcheckError):
    """No pose model file at the given path or in any default location."""

    exit_code = 18


class ModelLoadError(FormcheckError):
    """The pose model file exists but the runtime refused it."""

    exit_code = 19


class OutputError(FormcheckError):
    """A result file (report, CSV, track, picture) could not be written."""

    exit_code = 20


class VideoTooLarge(FormcheckError):
    """The frames are too large to decode safely (beyond 8K); scale the clip down first."""

    exit_code = 21


class NoClipsFound(FormcheckError):
    """Batch scoring found no video under the given paths."""

    exit_code = 22


class ClipTimedOut(FormcheckError):
    """Batch scoring: a clip took longer than its time limit (a decoder or model that hangs); its
    worker was stopped and replaced."""

    exit_code = 24


class CameraUnavailable(FormcheckError):
    """`formcheck live`: the camera cannot be opened or never delivers a picture."""

    exit_code = 26


class SourceLost(FormcheckError):
    """`formcheck live`: the camera (or clip) stopped delivering frames mid-session; what was
    recorded is saved first."""

    exit_code = 27


class DisplayUnavailable(FormcheckError):
    """`formcheck live`: no window can be opened (no display); --headless runs without one."""

    exit_code = 28


def describe_failure(exc: BaseException, read_path: str = "", source: str = "") -> tuple[str, int, str]:
    """A failure as (one-line text, exit code, error type): a FormcheckError keeps its own code,
    anything else is an internal error, code 1. `read_path` -> `source` in the text: a temp copy's
    path means nothing to the user."""
    if isinstance(exc, FormcheckError):
        text, code = str(exc), int(exc.exit_code)
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text, code = f"internal error: {type(exc).__name__}: {first}", 1
    if read_path and source:
        text = text.replace(read_path, source)
    return text, code, type(exc).__name__
