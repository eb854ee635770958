"""Lineage: stage_runs (which inputs, by content hash, and settings made which outputs) and stage_chunks
(the finished chunks of a chunked job, so a killed job resumes from them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("target", sa.String(4096), nullable=False),
        sa.Column("target_key", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("settings_hash", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("stage", "target_key", name="uq_stage_runs_stage_target"),
    )
    op.create_index("ix_stage_runs_stage", "stage_runs", ["stage"])
    op.create_table(
        "stage_chunks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("target_key", sa.String(32), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stage", "target_key", "chunk", name="uq_stage_chunks_stage_target_chunk"),
    )
    op.create_index("ix_stage_chunks_target", "stage_chunks", ["stage", "target_key"])


def downgrade() -> None:
    op.drop_index("ix_stage_chunks_target", "stage_chunks")
    op.drop_table("stage_chunks")
    op.drop_index("ix_stage_runs_stage", "stage_runs")
    op.drop_table("stage_runs")
