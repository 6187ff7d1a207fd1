"""A cap on request bodies: every request but a clip upload (which storage.receive_upload streams to
disk under --max-upload-mb) is refused with 413 once its body passes MAX_BODY_BYTES, by its
Content-Length or, sent chunked without one, by the bytes received so far. The body is held here up
to the cap and handed on only when complete, so a route never starts on one that is too large and
no more than the cap is ever kept in memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024  # forms and JSON are a few kB; 1 MB leaves room for a long note
_MARK = "formcheck_streams_upload"
Endpoint = TypeVar("Endpoint", bound=Callable)


def streams_upload(endpoint: Endpoint) -> Endpoint:
    """Marks a POST route that streams a clip to disk (intake.accept) and enforces the upload limit
    itself, so the body cap leaves it alone. Put it under the router's decorator."""
    setattr(endpoint, _MARK, True)
    return endpoint


def upload_paths(routes: Sequence[BaseRoute]) -> list[re.Pattern[str]]:
    """The path patterns of the POST routes marked with streams_upload."""
    return [
        r.path_regex for r in routes
        if isinstance(r, Route) and "POST" in (r.methods or ()) and getattr(r.endpoint, _MARK, False)
    ]  # fmt: skip


class BodyLimit:
    """Pure ASGI middleware (not BaseHTTPMiddleware, which would hand the body on as it comes).
    `uploads`: the clip uploads' path patterns (upload_paths), left to their own limit."""

    def __init__(
        self, app: ASGIApp, uploads: Sequence[re.Pattern[str]], max_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.app, self.uploads, self.max_bytes = app, tuple(uploads), max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload = scope["type"] == "http" and scope["method"] == "POST"
        if scope["type"] != "http" or (upload and any(p.fullmatch(scope["path"]) for p in self.uploads)):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        held: list[Message] = []
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":  # the client went away: the route sees that
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return held.pop(0) if held else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the rest of the body is never read: the server closes the connection after this answer
        mb, kb = divmod(self.max_bytes, 1024 * 1024)
        limit = f"{mb} MB" if mb and not kb else f"{self.max_bytes // 1024} kB"
        detail = f"the request body is larger than {limit} (only a clip upload may be larger)"
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
