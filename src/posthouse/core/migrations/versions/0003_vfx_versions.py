"""VFX: the vfx_versions table (every delivered version of a VFX shot, validated, approved or rejected).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vfx_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("shot", sa.String(64), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("first", sa.Integer()),
        sa.Column("last", sa.Integer()),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("shot", "task", "version", name="uq_vfx_versions_shot_task_version"),
    )
    op.create_index("ix_vfx_versions_shot", "vfx_versions", ["shot"])
    op.create_index("ix_vfx_versions_status", "vfx_versions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_vfx_versions_status", "vfx_versions")
    op.drop_index("ix_vfx_versions_shot", "vfx_versions")
    op.drop_table("vfx_versions")
