"""Uploads in, results out: where the app's files live under the data dir, and how they get there.

An upload is parsed as it streams in (never held in memory, never spooled anywhere but the data
dir), hashed while it is written, refused as soon as it is larger than the limit or its first
bytes are not a video container, and stored as `clips/<sha256><ext>`: the name the user gave is
display text only, never part of a path. Identical bytes are stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from python_multipart.exceptions import FormParserError, ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import EmptyVideo, FormcheckError, NotAVideo
from ..files import TEMP_SUFFIX, file_mode, remove_stale_temps
from ..io import check_frame_size, probe
from ..io.container import SNIFF_BYTES, sniff
from .settings import WebSettings

MAX_FIELD_BYTES = 4096
MAX_FIELDS = 8
FILE_FIELD = "file"
# result files a job writes, and the only names the app serves from a job's folder
RESULT_FILES = {
    "report.json": "application/json",
    "reps.csv": "text/csv; charset=utf-8",
    "report.html": "text/html; charset=utf-8",
    "annotated.mp4": "video/mp4",
}
_EXTENSIONS = {
    "mp4/mov": ".mp4",
    "matroska/webm": ".mkv",
    "avi": ".avi",
    "asf/wmv": ".wmv",
    "flv": ".flv",
    "mpeg-ps": ".mpg",
    "mpeg-ts": ".ts",
    "ogg": ".ogv",
}
_JOB_UID = re.compile(r"^[0-9a-f]{32}$")


class UploadError(Exception):
    """An upload refused, with the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass
class StoredClip:
    sha256: str
    size: int
    container: str
    file_name: str  # under clips/
    path: Path


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    clip: StoredClip | None = None
    display_name: str = ""


def display_name(raw: str) -> str:
    """The uploaded file's name as text to show: its last path component, printable, at most 200
    characters. It is never used to build a path."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip()[:200] or "clip"


def result_dir(settings: WebSettings, uid: str) -> Path:
    if not _JOB_UID.match(uid):  # uids are server-made hex; anything else never reaches the disk
        raise ValueError(f"not a job id: {uid!r}")
    return settings.results_dir / uid


def clip_path(settings: WebSettings, file_name: str) -> Path:
    return settings.clips_dir / Path(file_name).name


def clean_incoming(settings: WebSettings) -> int:
    """Half-received uploads a stopped server left behind."""
    return remove_stale_temps(settings.incoming_dir)


class _FileSink:
    """The file part: written to a hidden temp file in the data dir, hashed, size-limited, sniffed."""

    def __init__(self, settings: WebSettings) -> None:
        self.limit = settings.max_upload_bytes
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=TEMP_SUFFIX, dir=settings.incoming_dir)
        os.fchmod(fd, file_mode())  # as an ordinary file would be, not mkstemp's 0600
        self.path = Path(tmp)
        self.fh = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.container: str | None = None
        self.sniffed = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise UploadError(413, f"the clip is larger than the {_mb(self.limit)} limit")
        self.fh.write(data)
        self.hash.update(data)
        if not self.sniffed and self.size >= SNIFF_BYTES:
            self.sniff()

    def sniff(self) -> None:
        """Refuse non-video content as soon as its first bytes are in (not after 500 MB of it)."""
        self.fh.flush()
        self.sniffed = True
        self.container = sniff(self.path)
        if self.container is None and self.size > 0:
            raise UploadError(
                415,
                "the file is not a video (its content is no MP4/MOV, Matroska/WebM, AVI,"
                " MPEG, WMV, FLV or Ogg video, whatever its name says)",
            )

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.flush()
            os.fsync(self.fh.fileno())  # on disk before it is renamed into clips/ and a job refers to it
            self.fh.close()

    def discard(self) -> None:
        if not self.fh.closed:
            self.fh.close()
        self.path.unlink(missing_ok=True)


def _text(raw: bytes, what: str) -> str:
    """Form text as UTF-8, strictly: bytes in another encoding would become names full of '\ufffd'."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadError(422, f"{what} is not UTF-8 text") from exc


class _FormReader:
    """python-multipart's streaming parser, collecting small text fields and one file part."""

    def __init__(self, boundary: bytes, settings: WebSettings) -> None:
        self.settings = settings
        self.upload = Upload()
        self.sink: _FileSink | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = b"", b""
        self._name = ""
        self._text: bytearray | None = None
        self.ended = False  # the closing boundary was read: the body is complete
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)  # the callbacks' UploadError comes out of here
        except ParseError as exc:  # a wrong boundary, random bytes: the client's fault, said as such
            raise UploadError(400, f"the body is not well-formed multipart/form-data ({exc})") from exc

    def _end(self) -> None:
        self.ended = True

    def _part_begin(self) -> None:
        self._headers = {}
        self._field, self._value = b"", b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = _text(params.get(b"name", b""), "a form field's name")
        filename = params.get(b"filename")
        if filename is not None and self._name != FILE_FIELD:
            raise UploadError(
                422, f"a file was sent as the form field {self._name[:40]!r}: send the clip as {FILE_FIELD!r}"
            )
        if self._name == FILE_FIELD:
            if self.sink is not None:
                raise UploadError(422, "send one clip per upload")
            self.upload.display_name = display_name(_text(filename or b"", "the clip's file name"))
            self.sink = _FileSink(self.settings)
            self._text = None
        else:
            if len(self.upload.fields) >= MAX_FIELDS:
                raise UploadError(422, "too many form fields")
            self._text = bytearray()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._text is None:
            assert self.sink is not None
            self.sink.write(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > MAX_FIELD_BYTES:
            raise UploadError(422, f"form field {self._name!r} is too long")

    def _part_end(self) -> None:
        if self._text is not None:
            value = _text(bytes(self._text), f"the form field {self._name!r}")
            self.upload.fields[self._name] = value.strip()
            self._text = None


async def receive_upload(
    content_type: str, content_length: str | None, body: AsyncIterator[bytes], settings: WebSettings
) -> Upload:
    """Stream a multipart/form-data body into the data dir. Raises UploadError (413 too large,
    415 not a video or not a form, 400 empty or malformed, 422 form problems); nothing is left behind then."""
    ctype, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data":  # JSON, a bare video, ...: a type this route does not take
        raise UploadError(415, "send the clip as multipart/form-data (a form with a 'file' field)")
    if not boundary:
        raise UploadError(400, "a multipart/form-data body needs its boundary in the Content-Type")
    if (
        content_length
        and content_length.isdigit()
        and int(content_length) > settings.max_upload_bytes + 65536
    ):
        raise UploadError(413, f"the upload is larger than the {_mb(settings.max_upload_bytes)} limit")
    try:
        reader = _FormReader(boundary, settings)
    except FormParserError as exc:  # a boundary past the parser's limit (RFC 2046 allows 70 characters)
        raise UploadError(400, f"the body is not well-formed multipart/form-data ({exc})") from exc
    try:
        async for chunk in body:
            if chunk:
                # parsing, hashing and writing happen off the event loop: other requests go on meanwhile
                await anyio.to_thread.run_sync(reader.feed, chunk)
        if not reader.ended:
            raise UploadError(400, "the body ends before multipart/form-data's closing boundary")
        sink = reader.sink
        if sink is None:
            raise UploadError(422, f"no clip in the upload: send the video as the form field {FILE_FIELD!r}")
        if sink.size == 0:
            raise UploadError(400, "the clip is empty (0 bytes)")
        if not sink.sniffed:
            sink.sniff()
        await anyio.to_thread.run_sync(sink.close)
        reader.upload.clip = StoredClip(sink.hash.hexdigest(), sink.size, sink.container or "", "", sink.path)
        return reader.upload
    except BaseException:  # refused, a client that disconnects mid-upload, a full disk: no temp file stays
        if reader.sink is not None:
            reader.sink.discard()
        raise


def check_decodable(path: Path) -> None:
    """Open the clip the way the job will, so a file that only looks like a video is refused at
    upload with the reason, not queued to fail later. Raises UploadError."""
    try:
        probe(path)
        check_frame_size(path)
    except EmptyVideo as exc:
        raise UploadError(400, _without_path(str(exc), path)) from exc
    except NotAVideo as exc:
        raise UploadError(415, _without_path(str(exc), path)) from exc
    except FormcheckError as exc:
        raise UploadError(422, _without_path(str(exc), path)) from exc


def _without_path(text: str, path: Path) -> str:
    """An error about the temp file, worded about "the clip" (its server path means nothing to a coach)."""
    return text.replace(f"{path}: ", "").replace(str(path), "the clip")


def store(settings: WebSettings, clip: StoredClip) -> StoredClip:
    """Move a received upload into clips/ under its content hash (identical bytes: kept once)."""
    name = clip.sha256 + _EXTENSIONS.get(clip.container, ".video")
    final = settings.clips_dir / name
    if final.is_file() and final.stat().st_size == clip.size:
        clip.path.unlink(missing_ok=True)
    else:
        os.replace(clip.path, final)
    clip.file_name, clip.path = name, final
    return clip


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
