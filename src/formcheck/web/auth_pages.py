"""Logging in and out, the coach's account (password, API tokens), and the admin's list of coaches."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from . import accounts
from .accounts import AccountError, LoginLimiter
from .pages import page_context, templates
from .schemas import RowId
from .security import (
    SESSION_COOKIE,
    Auth,
    Refused,
    clear_session_cookie,
    current,
    safe_next,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
CurrentAuth = Annotated[Auth, Depends(current)]


def _db(request: Request) -> Any:
    return request.app.state.ctx.db


def _login_page(request: Request, error: str | None = None, status_code: int = 200,
                next_path: str = "/") -> HTMLResponse:  # fmt: skip
    no_accounts = accounts.count_users(_db(request)) == 0
    return templates.TemplateResponse(
        request, "login.html",
        {"error": error, "next": safe_next(next_path), "no_accounts": no_accounts, "coach": None,
         "csrf": None},
        status_code=status_code,
    )  # fmt: skip


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_path=next)


@router.post("/login")
async def login(request: Request) -> Any:
    form = await request.form()
    name, password = str(form.get("login", ""))[:254], str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    limiter: LoginLimiter = request.app.state.login_limiter
    keys = (f"ip:{request.client.host if request.client else '?'}", f"name:{name.strip().lower()}")
    wait = limiter.retry_after(*keys)
    if wait > 0:
        page = _login_page(request, f"Too many failed logins: try again in {int(wait) + 1} s.", 429, target)
        page.headers["Retry-After"] = str(int(wait) + 1)
        return page
    coach = await anyio.to_thread.run_sync(accounts.authenticate, _db(request), name, password)
    if coach is None:
        limiter.failed(*keys)
        return _login_page(request, "Wrong name or password.", 401, target)
    limiter.succeeded(*keys)
    token, _ = accounts.new_session(_db(request), coach.id)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request, auth: CurrentAuth) -> RedirectResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_session(_db(request), cookie)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


def _account_page(request: Request, auth: Auth, status_code: int = 200, **extra: Any) -> HTMLResponse:
    coaches = accounts.users(_db(request)) if auth.coach.is_admin else []
    context = page_context(request) | {"coaches": coaches, "message": None, "error": None,
                                       "new_token": None} | extra  # fmt: skip
    return templates.TemplateResponse(request, "account.html", context, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, auth: CurrentAuth) -> HTMLResponse:
    return _account_page(request, auth)


@router.post("/account/password")
async def change_password(request: Request, auth: CurrentAuth) -> Any:
    form = await request.form()
    old, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    db = _db(request)
    if await anyio.to_thread.run_sync(accounts.authenticate, db, auth.coach.name, old) is None:
        return _account_page(request, auth, 400, error="The current password is wrong.")
    if new != again:
        return _account_page(request, auth, 400, error="The two new passwords differ.")
    try:
        await anyio.to_thread.run_sync(accounts.set_password, db, auth.coach.id, new)
    except AccountError as exc:
        return _account_page(request, auth, 400, error=str(exc))
    # every session of the coach ended (another device left logged in); this one starts afresh
    token, csrf = accounts.new_session(db, auth.coach.id)
    auth.csrf = csrf
    response = _account_page(request, auth, message="Password changed; other devices are logged out.")
    set_session_cookie(request, response, token)
    return response


@router.post("/account/tokens")
async def new_token(request: Request, auth: CurrentAuth) -> HTMLResponse:
    form = await request.form()
    token = accounts.new_api_token(_db(request), auth.coach.id, str(form.get("label", "")))
    return _account_page(request, auth, new_token=token)


@router.post("/account/coaches")
async def add_coach(request: Request, auth: CurrentAuth) -> HTMLResponse:
    """An admin adds a coach (who changes the password on first login)."""
    if not auth.coach.is_admin:
        raise Refused("only an admin adds coaches")
    form = await request.form()
    try:
        added = await anyio.to_thread.run_sync(
            lambda: accounts.add_user(_db(request), str(form.get("name", "")), str(form.get("password", "")),
                                      str(form.get("email", "")) or None, admin=form.get("admin") == "on")
        )  # fmt: skip
    except AccountError as exc:
        return _account_page(request, auth, 400, error=str(exc))
    return _account_page(request, auth, message=f"Coach {added.name} added.")


@router.post("/account/coaches/{user_id}/remove")
def remove_coach(request: Request, user_id: RowId, auth: CurrentAuth) -> HTMLResponse:
    if not auth.coach.is_admin:
        raise Refused("only an admin removes coaches")
    if user_id == auth.coach.id:
        return _account_page(request, auth, 400, error="You cannot remove your own account.")
    accounts.deactivate(_db(request), user_id)
    done = "The coach can no longer log in and their athletes' upload links stopped; their data is kept."
    return _account_page(request, auth, message=done)
