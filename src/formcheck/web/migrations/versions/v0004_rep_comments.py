"""Coaches' comments on a session's reps (comments.py)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "rep_comments" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "rep_comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_uid", sa.String(32), nullable=False),
        sa.Column("rep", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer, nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rep_comments_job_uid", "rep_comments", ["job_uid"])


def downgrade() -> None:
    op.drop_table("rep_comments")
