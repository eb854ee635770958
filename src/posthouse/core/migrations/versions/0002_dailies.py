"""Dailies: camera, clip, shoot day, end timecode and metadata sources on media; the syncs table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("camera", sa.String(16)))
        batch.add_column(sa.Column("clip", sa.String(128)))
        batch.add_column(sa.Column("shoot_day", sa.String(10)))
        batch.add_column(sa.Column("end_timecode", sa.String(16)))
        batch.add_column(sa.Column("time_reference", sa.BigInteger()))
        batch.add_column(sa.Column("meta_sources", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_index("ix_media_camera", ["camera"])
        batch.create_index("ix_media_shoot_day", ["shoot_day"])
    op.create_table(
        "syncs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("picture_id", sa.Integer(), sa.ForeignKey("media.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sound_id", sa.Integer(), sa.ForeignKey("media.id", ondelete="SET NULL")),
        sa.Column("take", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offset_samples", sa.BigInteger()),
        sa.Column("offset_frames", sa.Float()),
        sa.Column("drift_ppm", sa.Float()),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("timecode_offset_samples", sa.BigInteger()),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("picture_id"),
    )
    op.create_index("ix_syncs_take", "syncs", ["take"])
    op.create_index("ix_syncs_status", "syncs", ["status"])


def downgrade() -> None:
    op.drop_table("syncs")
    with op.batch_alter_table("media") as batch:
        batch.drop_index("ix_media_shoot_day")
        batch.drop_index("ix_media_camera")
        for col in ("meta_sources", "time_reference", "end_timecode", "shoot_day", "clip", "camera"):
            batch.drop_column(col)
