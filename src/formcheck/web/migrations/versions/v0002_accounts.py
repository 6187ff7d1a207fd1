"""Coach accounts: users, login sessions, API tokens, and athletes owned by a coach.

Athletes of an existing database get no coach here (there is no account yet): the first admin
created (`formcheck users add`) takes them over (accounts.add_user). An athlete's slug becomes
unique per coach instead of across the server."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = set(inspector.get_table_names())
    if "users" not in have:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(100), nullable=False, unique=True),
            sa.Column("email", sa.String(254), nullable=True, unique=True),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("is_admin", sa.Boolean, nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
    if "login_sessions" not in have:
        op.create_table(
            "login_sessions",
            sa.Column("token_sha256", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])
    if "api_tokens" not in have:
        op.create_table(
            "api_tokens",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
            sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
            sa.Column("label", sa.String(100), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    # athletes.coach_id: a plain column (no foreign key), so SQLite adds it in place instead of
    # copying the table that jobs refer to
    if "coach_id" not in {c["name"] for c in inspector.get_columns("athletes")}:
        op.add_column("athletes", sa.Column("coach_id", sa.Integer, nullable=True))
    indexes = {ix["name"]: ix for ix in inspector.get_indexes("athletes")}
    if "ix_athletes_coach_id" not in indexes:
        op.create_index("ix_athletes_coach_id", "athletes", ["coach_id"])
    if indexes.get("ix_athletes_slug", {}).get("unique"):
        op.drop_index("ix_athletes_slug", "athletes")
        op.create_index("ix_athletes_slug", "athletes", ["slug"])
    elif "ix_athletes_slug" not in indexes:
        op.create_index("ix_athletes_slug", "athletes", ["slug"])
    if "uq_athletes_coach_slug" not in indexes and not any(
        u["name"] == "uq_athletes_coach_slug" for u in inspector.get_unique_constraints("athletes")
    ):
        op.create_index("uq_athletes_coach_slug", "athletes", ["coach_id", "slug"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_athletes_coach_slug", "athletes")
    op.drop_index("ix_athletes_coach_id", "athletes")
    with op.batch_alter_table("athletes") as batch:
        batch.drop_column("coach_id")
    for table in ("api_tokens", "login_sessions", "users"):
        op.drop_table(table)
