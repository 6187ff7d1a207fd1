"""A coach's data management: delete a session or an athlete (their files go from the disk too),
rename or merge athletes, edit a session's note. Every function acts on one coach's rows only and
raises ManageError with the HTTP status that says why it cannot."""

from __future__ import annotations

import contextlib
import shutil

from sqlalchemy import delete, select, update

from ..cache import TrackCache
from . import comments, links, speed_store
from .db import Database
from .models import RUNNING, Athlete, Clip, Job, athlete_name, note_text, slugify
from .runner import cache_key
from .settings import WebSettings
from .storage import clip_path, result_dir


class ManageError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _owned_job(s, uid: str, coach_id: int) -> Job:
    job = s.scalar(select(Job).join(Athlete, Athlete.id == Job.athlete_id)
                   .where(Job.uid == uid, Athlete.coach_id == coach_id))  # fmt: skip
    if job is None:
        raise ManageError(404, f"no job {uid[:40]!r}")
    return job


def _owned_athlete(s, slug: str, coach_id: int) -> Athlete:
    athlete = s.scalar(select(Athlete).where(Athlete.slug == slug, Athlete.coach_id == coach_id))
    if athlete is None:
        raise ManageError(404, f"no athlete {slug[:60]!r}")
    return athlete


def _remove_files(settings: WebSettings, uids: list[str], clips: list[Clip]) -> None:
    """Results of the jobs, and the clips (with their cached pose tracks) no job refers to any more."""
    for uid in uids:
        shutil.rmtree(result_dir(settings, uid), ignore_errors=True)
    cache = TrackCache(settings.tracks_dir)
    for clip in clips:
        with contextlib.suppress(OSError):
            clip_path(settings, clip.file_name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            cache.path(cache_key(clip.sha256, settings.model, settings.pose_workers)).unlink(missing_ok=True)


def _delete_jobs(s, jobs: list[Job]) -> list[Clip]:
    """Delete the rows; returns the clips left without a job (their rows deleted too)."""
    if any(j.status == RUNNING for j in jobs):
        raise ManageError(409, "a session is being analysed right now: delete it once it is done")
    uids = [j.uid for j in jobs]
    shas = {j.clip_sha256 for j in jobs}
    s.execute(delete(speed_store.JobSpeed).where(speed_store.JobSpeed.job_uid.in_(uids)))
    comments.remove_for_jobs(s, uids)
    s.execute(delete(Job).where(Job.uid.in_(uids)))
    s.flush()
    still = set(s.scalars(select(Job.clip_sha256).where(Job.clip_sha256.in_(shas))))
    orphans = [c for c in s.scalars(select(Clip).where(Clip.sha256.in_(shas - still)))]
    s.execute(delete(Clip).where(Clip.sha256.in_([c.sha256 for c in orphans])))
    return orphans


def delete_job(db: Database, settings: WebSettings, uid: str, coach_id: int) -> None:
    with db.session() as s:
        orphans = _delete_jobs(s, [_owned_job(s, uid, coach_id)])
    _remove_files(settings, [uid], orphans)


def delete_athlete(db: Database, settings: WebSettings, slug: str, coach_id: int) -> int:
    """The athlete and everything of theirs; returns how many sessions went."""
    with db.session() as s:
        athlete = _owned_athlete(s, slug, coach_id)
        jobs = list(s.scalars(select(Job).where(Job.athlete_id == athlete.id)))
        orphans = _delete_jobs(s, jobs)
        s.execute(delete(speed_store.AthleteHeight).where(speed_store.AthleteHeight.athlete_id == athlete.id))
        s.execute(delete(links.AthleteLink).where(links.AthleteLink.athlete_id == athlete.id))
        s.delete(athlete)
    _remove_files(settings, [j.uid for j in jobs], orphans)
    return len(jobs)


def clean_name(name: object) -> str:
    """The name as an upload would file it (NFC, single spaces), or 422: names must be text."""
    if not isinstance(name, str):  # a JSON number or list is not a name, whatever str() makes of it
        raise ManageError(422, "an athlete's name must be a string")
    try:
        return athlete_name(name)
    except ValueError as why:
        raise ManageError(422, str(why)) from None


def rename_athlete(db: Database, slug: str, name: object, coach_id: int) -> Athlete:
    new = clean_name(name)
    with db.session() as s:
        athlete = _owned_athlete(s, slug, coach_id)
        new_slug = slugify(new)
        clash = s.scalar(select(Athlete).where(Athlete.slug == new_slug, Athlete.coach_id == coach_id,
                                               Athlete.id != athlete.id))  # fmt: skip
        if clash is not None:
            raise ManageError(409, f"there is already an athlete {clash.name!r}: merge into them instead")
        athlete.name, athlete.slug = new, new_slug
        return athlete


def merge_athletes(db: Database, slug: str, into: str, coach_id: int) -> Athlete:
    """Every session and link of `slug` moved to `into`, then `slug` removed (its height kept when
    `into` has none)."""
    with db.session() as s:
        source, target = _owned_athlete(s, slug, coach_id), _owned_athlete(s, into, coach_id)
        if source.id == target.id:
            raise ManageError(422, "an athlete cannot be merged into themselves")
        s.execute(update(Job).where(Job.athlete_id == source.id).values(athlete_id=target.id))
        s.execute(update(links.AthleteLink).where(links.AthleteLink.athlete_id == source.id)
                  .values(athlete_id=target.id))  # fmt: skip
        height = s.get(speed_store.AthleteHeight, source.id)
        if height is not None:
            if s.get(speed_store.AthleteHeight, target.id) is None:
                s.add(speed_store.AthleteHeight(athlete_id=target.id, height_cm=height.height_cm))
            s.delete(height)
        s.flush()
        s.delete(source)
        return target


def edit_note(db: Database, uid: str, note: object, coach_id: int) -> None:
    if note is not None and not isinstance(note, str):  # null clears it; a number or object is refused
        raise ManageError(422, "the note must be a string (or null to clear it)")
    try:
        text = note_text(note or "")
    except ValueError as why:
        raise ManageError(422, str(why)) from None
    with db.session() as s:
        _owned_job(s, uid, coach_id).note = text

