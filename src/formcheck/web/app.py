"""The ASGI app: `create_app(settings)` wires the database, the job workers, the API and the pages."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .. import __version__
from . import api, athlete_pages, auth_pages, first_run, pages, review
from .accounts import LoginLimiter
from .db import Database
from .inbox import Inbox, InboxWatcher
from .intake import AppContext
from .limits import BodyLimit, upload_paths
from .security import LoginRequired, Refused, cross_site, current, host_allowed
from .settings import WebSettings
from .storage import clean_incoming
from .worker import Workers

STATIC = Path(__file__).resolve().parent / "static"
# everything the pages use is served from here: a page that tried to load anything else would be blocked
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline';"
    " script-src 'self'; frame-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'"
)


# the app's routes, in the order their paths are matched
ROUTERS = (
    first_run.health_router,  # no login: a health check must not need one
    first_run.router,  # /setup: the first coach, from localhost only
    auth_pages.router,
    athlete_pages.router,  # /a/<token>: an athlete's link, no account
    api.router,
    review.router,  # comments on reps, the comparison of two sets
    pages.router,
)


def create_app(settings: WebSettings, start_workers: bool = True) -> FastAPI:
    """The app; its workers start with it (lifespan) unless start_workers is False or job_workers is 0."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.prepare()
        clean_incoming(settings)
        db = Database(settings.db_url)
        workers = Workers(db, settings) if start_workers else None
        app.state.ctx = AppContext(settings, db, workers)
        stop_inbox = threading.Event()
        if workers is not None:
            workers.start()
            if settings.inbox is not None:
                InboxWatcher(Inbox(settings.inbox, db, settings, workers.notify), stop_inbox).start()
        try:
            yield
        finally:
            stop_inbox.set()
            if workers is not None:
                workers.stop()
            db.close()

    app = FastAPI(
        title="formcheck coach app",
        version=__version__,
        description="Upload athletes' hip thrust and glute bridge clips, follow the analysis, read the"
        " reports and each athlete's history. Uploads are multipart/form-data (`file`, `athlete`,"
        " `variant`, `note`); jobs run in the background, poll GET /api/jobs/{id} for progress.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs page loads its script from a CDN: not offered offline
        redoc_url=None,
        openapi_url=None,  # served below behind the login, as every route with something to read
    )
    # added first, so it runs after the Host and cross-site checks
    app.add_middleware(BodyLimit, uploads=upload_paths([r for router in ROUTERS for r in router.routes]))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(current)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.middleware("http")  # added last, so it runs first: nothing else sees a refused request
    async def where_from(request: Request, call_next) -> Response:
        if not host_allowed(request.headers.get("host"), settings.allowed_hosts):
            return JSONResponse(
                {"detail": "unknown Host: this server answers to the names given with --allowed-host"},
                status_code=400,
            )
        why = cross_site(request)
        if why is not None:
            return JSONResponse({"detail": why}, status_code=403)
        return await call_next(request)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse(
            {"detail": "log in first: a session cookie (/login) or Authorization: Bearer <API token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if _wants_page(request):
            return pages.error_page(request, 403, exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        """FastAPI's own 422, without echoing what was sent: its default handler put the body in the
        answer (a 500 when that body is not UTF-8 text, and a large body sent straight back)."""
        detail = [{"type": e.get("type"), "loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """JSON for the API and files, a page for a person's browser."""
        if _wants_page(request):
            return pages.error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.state.login_limiter = LoginLimiter()  # failed logins, per server process
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not the API, not a result file)."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not path.startswith("/api/") and "/files/" not in path
