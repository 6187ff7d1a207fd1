"""Alembic's entry point: run the migrations on the engine migrate() passed in. Imported on its
own (outside Alembic) it does nothing."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

if hasattr(context, "config"):  # only while Alembic runs a command
    engine = context.config.attributes["engine"]
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one server at a time migrates a shared database
            conn.execute(text("SELECT pg_advisory_lock(4207731)"))
            conn.commit()
        try:
            context.configure(connection=conn, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(4207731)"))
                conn.commit()
