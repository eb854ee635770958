"""Initial catalog: media and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("xxh64", sa.String(16)),
        sa.Column("format", sa.String(64)),
        sa.Column("codec", sa.String(64)),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("rate", sa.String(32)),
        sa.Column("frames", sa.BigInteger()),
        sa.Column("channels", sa.Integer()),
        sa.Column("sample_rate", sa.Integer()),
        sa.Column("samples", sa.BigInteger()),
        sa.Column("duration", sa.String(64)),
        sa.Column("start_timecode", sa.String(16)),
        sa.Column("reel", sa.String(128)),
        sa.Column("scene", sa.String(64)),
        sa.Column("take", sa.String(32)),
        sa.Column("circled", sa.Boolean()),
        sa.Column("damaged", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("probe", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_media_path", "media", ["path"], unique=True)
    op.create_index("ix_media_xxh64", "media", ["xxh64"])
    op.create_index("ix_media_reel", "media", ["reel"])
    op.create_index("ix_media_scene", "media", ["scene"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer()),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_jobs_kind", "jobs", ["kind"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("media")
