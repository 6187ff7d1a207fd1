"""Who may ask what: the Host check, the cross-site check, and the login every route but /login needs.

- Host: a request naming a host the server was not configured for is refused (400), so a page on
  another domain that rebinds its DNS to this server cannot read it.
- Other sites: a state-changing request whose Origin is another site (or "null", a file:// page
  or a sandbox), or that the browser marks cross-site (Sec-Fetch-Site), is refused (403) before
  its body is read. Requests logged in with the session cookie also carry the session's CSRF
  token: the X-CSRF-Token header (the pages' scripts) or a `csrf` form field (plain forms).
  Scripts log in with an API token (`Authorization: Bearer fc_...`) instead: a browser never adds
  that header by itself, so those need no CSRF token. CORS stays closed (no Access-Control-* ever).
- Login: a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) or an API token; without
  one the API answers 401 and the pages send the browser to /login.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from starlette.requests import Request
from starlette.responses import Response

from . import accounts
from .accounts import Coach

SESSION_COOKIE = "formcheck_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# multipart uploads are streamed to disk by intake.accept, which checks their csrf field itself
STREAMED = frozenset({"/api/jobs", "/upload"})


class LoginRequired(Exception):
    """No valid session or token: 401 for the API, the login page for a person."""


class Refused(Exception):
    """A request refused for where it came from (403), with the reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class Auth:
    coach: Coach
    via: str  # "session" or "token"
    csrf: str | None = None  # the session's CSRF token (for the pages' forms)
    csrf_pending: bool = False  # a streamed upload whose csrf field intake.accept checks


def host_name(header: str) -> str:
    """The host part of a Host header, lower case, without the port ("[::1]:8000" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str | None, allowed: tuple[str, ...]) -> bool:
    if not header:
        return False
    name = host_name(header)
    return "*" in allowed or name in allowed


def cross_site(request: Request) -> str | None:
    """Why a state-changing request looks like it came from another site, or None."""
    if request.method not in UNSAFE:
        return None
    if request.headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return "refused: the request came from another site"
    origin = request.headers.get("origin")
    if origin is None:
        return None  # not a browser (browsers send Origin with every POST), or a very old one
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[::1": not an origin any browser sends
        return "refused: the request's Origin header is malformed"
    if origin == "null" or not parts.netloc:
        return "refused: the request came from a page with no origin (a file or a sandbox)"
    if parts.netloc.lower() != request.headers.get("host", "").lower():
        return f"refused: the request came from another site ({origin[:80]})"
    return None


def lookup(request: Request) -> Auth | None:
    db = request.app.state.ctx.db
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        coach = accounts.token_user(db, header[7:].strip())
        return Auth(coach, "token") if coach is not None else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = accounts.session_user(db, cookie)
        if found is not None:
            return Auth(found[0], "session", found[1])
    return None


def csrf_matches(auth: Auth, supplied: object) -> bool:
    return auth.csrf is not None and isinstance(supplied, str) and hmac.compare_digest(auth.csrf, supplied)


async def current(request: Request) -> Auth:
    """The dependency every protected route has: who is asking, with the CSRF token checked."""
    auth = await anyio.to_thread.run_sync(lookup, request)
    if auth is None:
        raise LoginRequired()
    request.state.auth = auth
    if request.method in UNSAFE and auth.via == "session":
        supplied = request.headers.get(CSRF_HEADER)
        ctype = request.headers.get("content-type", "")
        if supplied is None and request.url.path in STREAMED and ctype.startswith("multipart/"):
            auth.csrf_pending = True
            return auth
        if supplied is None and ctype.startswith(("application/x-www-form-urlencoded", "multipart/")):
            supplied = (await request.form()).get(CSRF_FIELD)  # cached: the route reads the same form
        if not csrf_matches(auth, supplied):
            raise Refused("refused: the form's CSRF token is missing or stale (reload the page)")
    return auth


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=accounts.SESSION_DAYS * 86400,
        path="/",
        httponly=True,  # no script reads it
        samesite="lax",  # not sent with other sites' POSTs
        secure=request.url.scheme == "https",  # behind an HTTPS proxy: uvicorn's proxy headers set it
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this server only (never //elsewhere or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
