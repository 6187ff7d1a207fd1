"""The routes that answer without a login: the health check, and the first-run page that creates
the first coach.

The first-run page exists only while there is no coach account, and only for a browser on the
server's own machine (the peer address is loopback): anyone else who reached the port first
could otherwise make themselves the admin. Everyone else is told to use `formcheck users add`.
Behind a reverse proxy on the same machine every request looks local, so the page is also closed
as soon as one account exists (and the README says to create the coach before opening the proxy).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from . import accounts
from .accounts import AccountError, FirstCoachExists
from .pages import templates
from .security import lookup, set_session_cookie

router = APIRouter(include_in_schema=False)
health_router = APIRouter()
NOT_LOCAL = (
    "the first-run page answers only a browser on the server's own machine (localhost);"
    " elsewhere create the first coach with: formcheck users add NAME --data DIR"
)


def is_loopback(host: str | None) -> bool:
    """The peer is this machine (127.0.0.0/8, ::1, or IPv4-mapped loopback); names never count."""
    try:
        addr = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def _check(request: Request) -> None:
    """403 from anywhere but localhost; 404 once a coach exists (the page is gone for good)."""
    if not is_loopback(request.client.host if request.client else None):
        raise HTTPException(403, NOT_LOCAL)
    if accounts.count_users(request.app.state.ctx.db) > 0:
        raise HTTPException(404, "there is a coach account already: log in (/login)")


def _page(request: Request, error: str | None = None, status_code: int = 200, name: str = "") -> HTMLResponse:
    context = {"error": error, "name": name, "coach": None, "csrf": None}
    return templates.TemplateResponse(request, "setup.html", context, status_code=status_code)


@router.get("/setup", response_class=HTMLResponse)
def setup_form(request: Request) -> HTMLResponse:
    _check(request)
    return _page(request)


@router.post("/setup")
async def setup(request: Request) -> Any:
    """The first coach (an admin), logged in at once. The Origin check of every POST (app.py)
    keeps other sites' pages from posting here through the coach's browser."""
    _check(request)
    form = await request.form()
    name, email = str(form.get("name", ""))[:254], str(form.get("email", "")).strip() or None
    password, again = str(form.get("password", ""))[:1024], str(form.get("again", ""))[:1024]
    if password != again:
        return _page(request, "The two passwords differ.", 400, name)
    db = request.app.state.ctx.db
    try:
        coach = await anyio.to_thread.run_sync(
            lambda: accounts.add_user(db, name, password, email, admin=True, only_first=True)
        )
    except FirstCoachExists as exc:  # a concurrent post made the first coach meanwhile
        raise HTTPException(404, str(exc)) from exc
    except AccountError as exc:
        return _page(request, str(exc), 400, name)
    token, _ = accounts.new_session(db, coach.id)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, token)
    return response


@health_router.get("/api/health", tags=["meta"], summary="Liveness and the database in use (no login needed)")
def health(request: Request) -> dict[str, Any]:
    """What a load balancer's health check reads without an account; a logged-in coach or script
    also gets the queue (jobs by status), the workers and the upload limit."""
    ctx = request.app.state.ctx
    out: dict[str, Any] = {"status": "ok", "database": ctx.db.engine.dialect.name}
    if lookup(request) is not None:
        out |= {
            "jobs": ctx.db.counts(),
            "workers": ctx.settings.job_workers,
            "max_upload_bytes": ctx.settings.max_upload_bytes,
        }
    return out
