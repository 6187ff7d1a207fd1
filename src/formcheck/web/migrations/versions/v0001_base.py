"""The tables of formcheck before accounts: athletes, clips, jobs, and rep speed's two.

A database made earlier by create_all already has some or all of them: only missing ones are made,
so every existing database arrives at this revision with its rows as they were."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "athletes" not in have:
        op.create_table(
            "athletes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("slug", sa.String(112), nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_athletes_slug", "athletes", ["slug"], unique=True)
    if "clips" not in have:
        op.create_table(
            "clips",
            sa.Column("sha256", sa.String(64), primary_key=True),
            sa.Column("size_bytes", sa.Integer, nullable=False),
            sa.Column("container", sa.String(32), nullable=False),
            sa.Column("file_name", sa.String(80), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
    if "jobs" not in have:
        op.create_table(
            "jobs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("uid", sa.String(32), nullable=False),
            sa.Column("athlete_id", sa.Integer, sa.ForeignKey("athletes.id"), nullable=False),
            sa.Column("clip_sha256", sa.String(64), sa.ForeignKey("clips.sha256"), nullable=False),
            sa.Column("display_name", sa.String(255), nullable=False),
            sa.Column("variant", sa.String(64), nullable=False),
            sa.Column("note", sa.String(500), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("stage", sa.String(80), nullable=False),
            sa.Column("progress_done", sa.Integer, nullable=False),
            sa.Column("progress_total", sa.Integer, nullable=False),
            sa.Column("error", sa.Text, nullable=True),
            sa.Column("error_code", sa.Integer, nullable=True),
            sa.Column("warning", sa.Text, nullable=True),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("worker", sa.String(200), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("variant_used", sa.String(64), nullable=True),
            sa.Column("view", sa.String(32), nullable=True),
            sa.Column("rep_count", sa.Integer, nullable=True),
            sa.Column("mean_top_hip_deg", sa.Float, nullable=True),
            sa.Column("mean_up_s", sa.Float, nullable=True),
            sa.Column("mean_down_s", sa.Float, nullable=True),
            sa.Column("mean_top_pause_s", sa.Float, nullable=True),
            sa.Column("score", sa.Float, nullable=True),
            sa.Column("duration_s", sa.Float, nullable=True),
            sa.Column("faults", sa.String(500), nullable=True),
            sa.Column("job_seconds", sa.Float, nullable=True),
        )
        op.create_index("ix_jobs_uid", "jobs", ["uid"], unique=True)
        op.create_index("ix_jobs_athlete_id", "jobs", ["athlete_id"])
        op.create_index("ix_jobs_status", "jobs", ["status"])
    if "athlete_heights" not in have:
        op.create_table(
            "athlete_heights",
            sa.Column("athlete_id", sa.Integer, sa.ForeignKey("athletes.id"), primary_key=True),
            sa.Column("height_cm", sa.Float, nullable=False),
        )
    if "job_speeds" not in have:
        op.create_table(
            "job_speeds",
            sa.Column("job_uid", sa.String(32), primary_key=True),
            sa.Column("mean_velocity_mps", sa.Float, nullable=True),
            sa.Column("velocity_loss_pct", sa.Float, nullable=True),
        )


def downgrade() -> None:
    for table in ("job_speeds", "athlete_heights", "jobs", "clips", "athletes"):
        op.drop_table(table)
