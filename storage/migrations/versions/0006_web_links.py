"""web links: a survey's links to the mobile web page (stored as hashes, expiring)

Revision ID: 0006_web_links
Revises: 0005_contact_plan
Create Date: 2026-12-01 11:20:00

A web link is a random token handed to the customer (in an SMS, a QR code, `huifang link --web`); only its
SHA-256 is stored, so a copy of the database does not open anyone's survey. One survey may have several
links (a new SMS, a reprinted QR code); each expires on its own and can be revoked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_web_links"
down_revision = "0005_contact_plan"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_web_link_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_link_token_hash")),
    )
    op.create_index(op.f("ix_web_link_survey_id"), "web_link", ["survey_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_link_survey_id"), table_name="web_link")
    op.drop_table("web_link")
