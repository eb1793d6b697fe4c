"""crash recovery: fetched Telegram updates are stored before they are confirmed

Revision ID: 0004_crash_recovery
Revises: 0003_no_duplicates
Create Date: 2026-12-01 06:30:00

``inbound_update`` holds each update from the moment it is fetched (before the next getUpdates offset or the
webhook's 200 tells Telegram it arrived) until it has been handled; `huifang run` replays what it finds there
on start-up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_crash_recovery"
down_revision = "0003_no_duplicates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbound_update")),
    )


def downgrade() -> None:
    op.drop_table("inbound_update")
