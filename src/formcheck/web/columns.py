"""Column types the web app's tables need beyond SQLAlchemy's own, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, String, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class FaultCounts(TypeDecorator):
    """Fault code -> count, stored as JSON text in the same column the app has always had; rows
    written before as "code:n;code:n" still read back (no migration needed)."""

    impl = String(500)
    cache_ok = True

    def process_bind_param(self, value: dict[str, int] | None, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Any) -> dict[str, int] | None:
        if value is None:
            return None
        if value.startswith("{"):
            return {str(k): int(v) for k, v in json.loads(value).items()}
        out: dict[str, int] = {}
        for item in value.split(";"):  # the older "code:n;code:n"
            code, _, n = item.partition(":")
            if code and n.isdigit():
                out[code] = int(n)
        return out
