"""Turning an upload request into a queued job: the one path both the API and the upload page use."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cached_property

import anyio
from starlette.requests import Request

from ..profiles import builtin_names
from ..variants import AUTO
from .db import Database
from .models import Athlete, Job, athlete_name, note_text
from .security import CSRF_FIELD, Auth, Refused, csrf_matches
from .settings import WebSettings
from .storage import Upload, UploadError, check_decodable, receive_upload, store
from .worker import Workers


@dataclass
class AppContext:
    settings: WebSettings
    db: Database
    workers: Workers | None

    @cached_property
    def variants(self) -> list[str]:
        return [AUTO, *builtin_names()]


def form_fields(upload: Upload, variants: list[str], fixed: str | None = None) -> tuple[str, str, str]:
    """athlete, variant, note from the form; UploadError 422 when they are missing or unknown.
    `fixed`: the athlete an upload link belongs to (the form's athlete field is not asked)."""
    try:
        athlete = fixed or athlete_name(upload.fields.get("athlete", ""))
        note = note_text(upload.fields.get("note", ""))
    except ValueError as why:
        raise UploadError(422, str(why)) from None
    variant = upload.fields.get("variant", "").strip() or AUTO
    if variant not in variants:
        raise UploadError(422, f"unknown variant {variant[:64]!r}; known: {', '.join(variants)}")
    return athlete, variant, note


async def accept(request: Request, ctx: AppContext, linked: Athlete | None = None) -> Job:
    """Receive, check and store the clip, then queue its job for the logged-in coach's athlete named
    in the form, or for `linked`, the athlete of an upload link. Raises UploadError (or Refused)."""
    try:
        return await _accept(request, ctx, linked)
    except OSError as exc:  # the data dir is full or gone: the client's clip was fine
        raise UploadError(507, f"the server cannot store the clip: {exc.strerror or exc}") from exc


async def _accept(request: Request, ctx: AppContext, linked: Athlete | None) -> Job:
    auth: Auth | None = None if linked is not None else request.state.auth
    upload = await receive_upload(
        request.headers.get("content-type", ""),
        request.headers.get("content-length"),
        request.stream(),
        ctx.settings,
    )
    assert upload.clip is not None
    try:
        if auth is not None and auth.csrf_pending and not csrf_matches(auth, upload.fields.get(CSRF_FIELD)):
            raise Refused("refused: the form's CSRF token is missing or stale (reload the page)")
        athlete_name, variant, note = form_fields(upload, ctx.variants, linked.name if linked else None)
        await anyio.to_thread.run_sync(check_decodable, upload.clip.path)
        clip = await anyio.to_thread.run_sync(store, ctx.settings, upload.clip)
    except BaseException:
        with contextlib.suppress(OSError):
            upload.clip.path.unlink(missing_ok=True)
        raise

    def record() -> Job:
        ctx.db.add_clip(clip.sha256, clip.size, clip.container, clip.file_name)
        athlete = linked if linked is not None else ctx.db.athlete(athlete_name, auth.coach.id)
        job = ctx.db.create_job(athlete, clip.sha256, upload.display_name, variant, note)
        job.athlete = athlete
        return job

    job = await anyio.to_thread.run_sync(record)
    if ctx.workers is not None:
        ctx.workers.notify()
    return job
