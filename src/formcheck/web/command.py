"""`formcheck serve`: the coach web app's command: its options, the checks before the server starts."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

import uvicorn
from sqlalchemy.engine import make_url

from ..errors import FormcheckError
from ..pose import find_model
from . import accounts
from .app import create_app
from .db import Database
from .security import host_name
from .settings import LOCAL_HOSTS, WebSettings, from_env


class ServeError(FormcheckError):
    """The server could not start: the data dir, the database or the port."""

    exit_code = 23


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="start the coach web app: upload clips, read reports, follow athletes over time",
        description="Start the coach web app. Coaches and athletes upload clips in the browser (or"
        " through the JSON API, see /openapi.json); each is analysed in the background and its report,"
        " annotated clip and the athlete's history are kept in the data dir (or the database you name).",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for the network)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="default 8000")
    serve.add_argument(
        "--data",
        metavar="DIR",
        help="where clips, results and the SQLite database live (default $FORMCHECK_DATA or"
        " ./formcheck-data)",
    )
    serve.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of the database, e.g. postgresql+psycopg://user:pw@host/formcheck"
        " (default $FORMCHECK_DATABASE_URL, else SQLite in DIR/formcheck.db)",
    )
    serve.add_argument(
        "--max-upload-mb", type=_count, default=500, metavar="MB", help="largest clip accepted (500)"
    )
    serve.add_argument(
        "--jobs",
        type=_count,
        default=1,
        metavar="N",
        help="clips analysed at once (default 1, which already uses every core; 0: queue only)",
    )
    serve.add_argument(
        "--pose-workers", type=_count, metavar="N", help="pose workers per clip (default: one per core)"
    )
    serve.add_argument(
        "--inbox",
        metavar="DIR",
        help="also watch DIR: a clip put in DIR/<athlete name>/ is queued for that athlete, then moved to"
        " DIR/.imported/ (or DIR/.refused/ with the reason)",
    )
    serve.add_argument(
        "--inbox-coach", metavar="NAME", help="whose athletes the inbox's clips are (default: first admin)"
    )
    serve.add_argument(
        "--inbox-per-coach",
        action="store_true",
        help="one inbox folder per coach: DIR/<coach login>/<athlete name>/ (instead of --inbox-coach)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a host name the app is reached by (repeat for more; default localhost, 127.0.0.1, ::1);"
        " requests naming any other Host are refused",
    )
    serve.add_argument("--model", metavar="F", help="pose model .task file (default: the bundled model)")
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = from_env(
        args.data,
        args.database_url,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
        job_workers=args.jobs,
        pose_workers=args.pose_workers or None,
        model=args.model,
        inbox=Path(args.inbox).expanduser().resolve() if args.inbox else None,
        inbox_coach=args.inbox_coach,
        inbox_per_coach=args.inbox_per_coach,
        allowed_hosts=_hosts(args.allowed_host, args.host),
    )
    _check(settings)
    _check_port(args.host, args.port)
    print(
        f"formcheck serve: http://{_shown_host(args.host)}:{args.port}/  data: {settings.data_dir}"
        f"  database: {_redacted(settings.db_url)}",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=15,
    )
    return 0


def _hosts(given: list[str] | None, listen: str) -> tuple[str, ...]:
    """The Host names to answer: those given, else this machine's names (and the address listened on)."""
    if given:
        return tuple(dict.fromkeys(host_name(h) for h in given))
    extra = () if listen in ("0.0.0.0", "::") else (host_name(listen),)
    return tuple(dict.fromkeys((*LOCAL_HOSTS, *extra)))


def _check(settings: WebSettings) -> None:
    """Fail with one line before the server starts: unwritable data dir, bad database URL, no model."""
    try:
        settings.prepare()
    except OSError as exc:
        raise ServeError(f"cannot use the data dir {settings.data_dir}: {exc.strerror or exc}") from exc
    if not os.access(settings.data_dir, os.W_OK):
        raise ServeError(f"cannot write to the data dir {settings.data_dir}")
    if settings.inbox_per_coach and (settings.inbox is None or settings.inbox_coach):
        raise ServeError("--inbox-per-coach needs --inbox DIR, and replaces --inbox-coach"
                         " (each coach has their own folder)")
    if settings.inbox is not None:
        try:
            settings.inbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServeError(f"cannot use the inbox folder {settings.inbox}: {exc.strerror or exc}") from exc
    find_model(settings.model)  # ModelNotFound (exit 18) now, not at the first clip
    try:
        db = Database(settings.db_url)
        try:
            if accounts.count_users(db) == 0:
                print("formcheck serve: no coach account yet: create the first with"
                      " `formcheck users add NAME` (same --data / --database-url), or on the first-run page"
                      " /setup in a browser on this machine", flush=True)  # fmt: skip
        finally:
            db.close()
    except Exception as exc:  # an unknown driver, a wrong password, a server that is down
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServeError(f"cannot open the database {_redacted(settings.db_url)}: {first}") from exc


def _check_port(host: str, port: int) -> None:
    """A port already taken is one line now, not uvicorn's log of the failed bind."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(address)
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _shown_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"
