"""voice calls: one row per automated call (智能外呼), at most one live call per survey

Revision ID: 0008_voice
Revises: 0006_web_links
Create Date: 2026-12-02 01:10:00

A call's own random ``key`` is in every webhook URL the provider is given, so a call placed just before a
crash (its provider id not yet stored) is still found when the provider calls back. ``turn`` and ``misses``
are the dialog's place, written in the same transaction as the answers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_voice"
down_revision = "0007_sms_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("turn", sa.Integer(), server_default="0", nullable=False),
        sa.Column("misses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answered_by", sa.String(length=30), nullable=True),
        sa.Column("disposition", sa.String(length=30), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_voice_call_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_call")),
        sa.UniqueConstraint("key", name=op.f("uq_voice_call_key")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_voice_call_provider_sid")),
    )
    op.create_index("ix_voice_call_ended", "voice_call", ["ended_at"], unique=False)
    op.create_index(
        "uq_voice_call_live_survey",
        "voice_call",
        ["survey_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_voice_call_live_survey", table_name="voice_call")
    op.drop_index("ix_voice_call_ended", table_name="voice_call")
    op.drop_table("voice_call")
