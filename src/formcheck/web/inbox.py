"""A watched folder (`formcheck serve --inbox DIR`): clips that land in DIR/<athlete>/ are queued.

Per coach (`--inbox-per-coach`): DIR/<coach login>/<athlete>/, each coach's clips filed under their
own athletes; a folder that names no coach is left alone (until that coach exists). Otherwise every
clip goes to one coach (`--inbox-coach`, default the first admin).

For athletes who share a synced folder with their coach instead of using the page. A file is taken
once it has stopped changing between two scans (a sync or copy in progress is left alone), then
checked and stored exactly as an upload is. It is moved out of the way afterwards, to
DIR/.imported/<athlete>/ or, with a `.why.txt` beside it, to DIR/.refused/<athlete>/, so nothing is
imported twice and nothing is deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..files import TEMP_SUFFIX, file_mode
from ..io.container import sniff
from . import accounts
from .db import Database
from .models import MAX_NAME
from .settings import WebSettings
from .storage import StoredClip, UploadError, check_decodable, display_name, store

IMPORTED, REFUSED = ".imported", ".refused"
_PARTIAL = (".part", ".partial", ".crdownload", ".download", ".tmp", "~")


@dataclass
class Outcome:
    path: Path
    job: str | None = None  # the queued job's id
    refused: str | None = None  # why the file was not queued


class Inbox:
    def __init__(self, root: Path, db: Database, settings: WebSettings, on_job=None) -> None:
        self.root, self.db, self.settings, self.on_job = root, db, settings, on_job
        self._seen: dict[Path, tuple[int, int]] = {}  # size and mtime at the previous scan

    def candidates(self) -> list[tuple[str, Path]]:
        """(athlete, file) for every visible file in an athlete's folder (one level down, or two
        per coach); hidden and partial files are skipped."""
        tops = _folders(self.root)
        folders = [f for top in tops for f in _folders(top)] if self.settings.inbox_per_coach else tops
        found = []
        for folder in folders:
            athlete = " ".join(folder.name.split())[:MAX_NAME]
            for f in sorted(folder.iterdir()):
                if f.is_file() and not f.name.startswith(".") and not f.name.lower().endswith(_PARTIAL):
                    found.append((athlete, f))
        return found

    def scan(self) -> list[Outcome]:
        """One pass: import every file that has not changed since the previous pass."""
        self.root.mkdir(parents=True, exist_ok=True)
        outcomes, current = [], {}
        for athlete, path in self.candidates():
            try:
                st = path.stat()
            except OSError:
                continue
            current[path] = (st.st_size, st.st_mtime_ns)
            if self._seen.get(path) == current[path]:  # settled: not being written any more
                outcomes.append(self.take(athlete, path))
                current.pop(path)
        self._seen = current
        return outcomes

    def coach(self, path: Path) -> int | None:
        """Whose athlete the clip is: per coach, the active coach its folder names (by login or
        email); else the coach named with --inbox-coach, or the first admin. None while there is no
        such account: the file waits."""
        if self.settings.inbox_per_coach:
            found = accounts.find_user(self.db, path.parent.parent.name)
            return found.id if found else None
        if self.settings.inbox_coach:
            found = accounts.find_user(self.db, self.settings.inbox_coach)
            return found.id if found else None
        admins = [u for u in accounts.users(self.db) if u.is_admin]
        return admins[0].id if admins else None

    def take(self, athlete: str, path: Path) -> Outcome:
        coach = self.coach(path)
        if coach is None:
            per_coach = self.settings.inbox_per_coach
            who = f"no coach {path.parent.parent.name!r}" if per_coach else "no coach account"
            return Outcome(path, refused=f"{who} to file it under yet (formcheck users add)")
        try:
            clip = self._copy_in(path)
            try:
                uid = self._uid(path, clip)
                check_decodable(clip.path)
                clip = store(self.settings, clip)
            except BaseException:
                clip.path.unlink(missing_ok=True)
                raise
        except UploadError as exc:
            self._move(path, REFUSED, athlete, exc.detail)
            return Outcome(path, refused=exc.detail)
        except OSError as exc:  # unreadable now (permissions, a sync that removed it): try next scan
            return Outcome(path, refused=f"cannot read it: {exc.strerror or exc}")
        self.db.add_clip(clip.sha256, clip.size, clip.container, clip.file_name)
        job = self.db.create_job(self.db.athlete(athlete, coach), clip.sha256, display_name(path.name),
                                 "auto", note="from the inbox folder", uid=uid)  # fmt: skip
        self._move(path, IMPORTED, athlete)
        if self.on_job is not None:
            self.on_job()
        return Outcome(path, job=job.uid)

    def _uid(self, path: Path, clip: StoredClip) -> str:
        """The job's id, from the file (where, when written, its bytes): a server killed after the
        job was made but before the file was moved reads the file again, and gets the same job."""
        st = path.stat()
        key = f"{path.relative_to(self.root).as_posix()}\0{st.st_mtime_ns}\0{clip.sha256}"
        return uuid.uuid5(uuid.NAMESPACE_URL, "formcheck-inbox:" + key).hex

    def _copy_in(self, path: Path) -> StoredClip:
        """Copy into the data dir's incoming folder, hashing on the way; refuse what an upload would."""
        size = path.stat().st_size
        if size == 0:
            raise UploadError(400, "the clip is empty (0 bytes)")
        if size > self.settings.max_upload_bytes:
            raise UploadError(
                413, f"the clip is larger than the {self.settings.max_upload_bytes >> 20} MB limit"
            )
        container = sniff(path)
        if container is None:
            raise UploadError(415, "the file is not a video (by its content, whatever its name says)")
        fd, tmp = tempfile.mkstemp(prefix=".inbox-", suffix=TEMP_SUFFIX, dir=self.settings.incoming_dir)
        os.fchmod(fd, file_mode())  # as an ordinary file would be, not mkstemp's 0600
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return StoredClip(h.hexdigest(), size, container, "", Path(tmp))

    def _move(self, path: Path, where: str, athlete: str, why: str | None = None) -> None:
        folder = self.root / where / path.parent.relative_to(self.root)  # [coach/]athlete
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{path.name}"
        shutil.move(str(path), target)
        if why:
            target.with_name(target.name + ".why.txt").write_text(f"{athlete}: {path.name}: {why}\n")


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


class InboxWatcher(threading.Thread):
    def __init__(self, inbox: Inbox, stop: threading.Event, every_s: float = 3.0) -> None:
        super().__init__(name="formcheck-inbox", daemon=True)
        self.inbox, self.stopping, self.every_s = inbox, stop, every_s

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            try:
                self.inbox.scan()
            except OSError:  # the folder is on a drive that went away: look again later
                continue
