"""The web app's database schema, as Alembic migrations (versions/): `migrate(engine)` brings any
database up to date when the app opens it, whether it is new, made by a formcheck from before the
migrations (its tables came from SQLAlchemy's create_all: the first revision only adds what is
missing), or already migrated. Two servers starting at once on one PostgreSQL take turns (an
advisory lock in env.py)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
HEAD = "head"
# Alembic's command runs through module-level proxies (alembic.context, alembic.op): one at a time
# per process; other processes wait on the database's own lock (env.py)
_one_at_a_time = threading.Lock()


def config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = HEAD) -> None:
    """Upgrade the database to `revision` (the newest by default)."""
    with _one_at_a_time:
        command.upgrade(config(engine), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
