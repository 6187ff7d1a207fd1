"""`formcheck users`: the web app's coach accounts from the server's shell (the first coach, who is
the admin, is made here; later ones from the admin's account page or here)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ..errors import FormcheckError, UsageError
from . import accounts
from .accounts import AccountError
from .db import Database
from .settings import DB_NAME, from_env

PASSWORD_ENV = "FORMCHECK_PASSWORD"


class UsersError(FormcheckError):
    """A coach account that cannot be made or changed (the message says why)."""

    exit_code = 25


def add_parser(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser(
        "users",
        help="coach accounts of the web app: add, list, new password, API token, remove",
        description="Coach accounts of `formcheck serve`. The first account is the admin and takes over"
        " the athletes of a data dir from before accounts. Passwords are asked for on the terminal, or"
        f" read from standard input with --password-stdin, or from ${PASSWORD_ENV}.",
    )
    _where(users, None)
    # the same options after the action too ("users add NAME --data DIR", as `serve --data DIR` reads);
    # SUPPRESS: given only before the action, that value stands
    where = argparse.ArgumentParser(add_help=False)
    _where(where, argparse.SUPPRESS)
    act = users.add_subparsers(dest="action", required=True)
    add = act.add_parser("add", help="add a coach", parents=[where])
    add.add_argument("name", help="login name")
    add.add_argument("--email", help="they may log in with it too")
    add.add_argument("--admin", action="store_true", help="may add and remove coaches")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    act.add_parser("list", help="list the coaches", parents=[where])
    pw = act.add_parser("passwd", help="set a coach's password (ends their sessions)", parents=[where])
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    tok = act.add_parser("token", help="print a new API token for a coach's scripts", parents=[where])
    tok.add_argument("name")
    tok.add_argument("--label", default="", help="what it is for")
    rm = act.add_parser("remove", help="a coach and their athletes' links stop (data kept)", parents=[where])
    rm.add_argument("name")
    users.set_defaults(func=run)


def _where(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--data", metavar="DIR", default=default,
                        help="the server's data dir (default $FORMCHECK_DATA or ./formcheck-data)")
    parser.add_argument("--database-url", metavar="URL", default=default,
                        help="the server's database (as for serve)")  # fmt: skip


def _password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise UsersError(f"no password: give it with --password-stdin or ${PASSWORD_ENV}")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UsersError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    settings = from_env(args.data, args.database_url)
    if args.action != "add" and not settings.database_url and not (settings.data_dir / DB_NAME).is_file():
        # a mistyped --data must not leave an empty data dir behind (only `add` starts a new one)
        raise UsageError(f"no formcheck database in {settings.data_dir}: check --data (or $FORMCHECK_DATA)")
    try:
        settings.prepare()
        db = Database(settings.db_url)
    except Exception as exc:  # an unwritable dir, an unknown driver, a server that is down
        raise UsersError(f"cannot open the database: {str(exc).strip().splitlines()[0][:200]}") from exc
    try:
        return _act(args, db)
    except AccountError as exc:
        raise UsersError(str(exc)) from exc
    finally:
        db.close()


def _act(args: argparse.Namespace, db: Database) -> int:
    if args.action == "list":
        for u in accounts.users(db):
            print(f"{u.name}\t{u.email or ''}\t{'admin' if u.is_admin else 'coach'}")
        return 0
    if args.action == "add":
        coach = accounts.add_user(db, args.name, _password(args), args.email, admin=args.admin)
        print(f"added {coach.name} ({'admin' if coach.is_admin else 'coach'})")
        return 0
    coach = accounts.find_user(db, args.name)
    if coach is None:
        raise UsersError(f"no coach {args.name!r}")
    if args.action == "passwd":
        accounts.set_password(db, coach.id, _password(args))
        print(f"new password for {coach.name}; their sessions ended")
    elif args.action == "token":
        print(accounts.new_api_token(db, coach.id, args.label))
    elif args.action == "remove":
        accounts.deactivate(db, coach.id)
        print(f"{coach.name} can no longer log in; their athletes' upload links stopped")
    return 0
