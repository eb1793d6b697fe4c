"""sms and consent: consent records, erasures, SMS delivery receipts on the outbox

Revision ID: 0007_sms_consent
Revises: 0006_web_links
Create Date: 2026-12-02 01:20:00

``consent_record`` keeps every consent and opt-out with its time, channel, source and wording (China's draft
rules on marketing calls and SMS ask for such records to be kept at least 5 months). ``erasure_record`` keeps
that a customer's personal data was erased (PIPL), when, and how many rows were touched, never what they
held. ``outbound_message.receipt`` / ``receipt_at``: the provider's delivery receipt, written once (a
receipt delivered twice records its disposition once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sms_consent"
down_revision = "0006_web_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('consent', 'opt_out')", name=op.f("ck_consent_record_action")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_consent_record_customer_id_customer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    op.create_index("ix_consent_record_customer_time", "consent_record", ["customer_id", "recorded_at"], unique=False)
    op.create_table(
        "erasure_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_erasure_record_customer_id_customer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_record")),
    )
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("receipt", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_column("receipt_at")
        batch.drop_column("receipt")
    op.drop_table("erasure_record")
    op.drop_index("ix_consent_record_customer_time", table_name="consent_record")
    op.drop_table("consent_record")
