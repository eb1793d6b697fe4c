"""no duplicates: one active survey per customer and purpose, each scheduled task opened once

Revision ID: 0003_no_duplicates
Revises: 0002_reporting
Create Date: 2026-12-01 06:30:00

Two schedulers at once (cron's `huifang jobs run` beside `huifang run`) could each create the same survey.
The partial unique index ``uq_survey_active_purpose`` over (customer_id, purpose), while the survey is
pending, invited, in progress or has a booked callback, makes that impossible on SQLite and PostgreSQL alike.

Duplicates already in the database are resolved first, the same way every time: of a customer's active
surveys for one purpose the one furthest along stays (in progress, then callback booked, then invited, then
waiting; among equals the oldest) and the others are closed as ``cancelled`` with outcome ``duplicate``
(their answers and attempts are kept).

Follow-up tasks the scheduler opens get a ``schedule_key`` (kind, customer and the task of that kind they
follow; unique), so the same due task is opened once however many schedulers find it at the same moment.
Tasks opened before this revision have none. ``ix_task_customer_kind`` finds the task a new one follows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003_no_duplicates"
down_revision = "0002_reporting"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'invited', 'in_progress', 'appointment')"

CLOSE_DUPLICATE_SURVEYS = f"""
UPDATE survey SET status = 'cancelled', outcome = 'duplicate', completed_at = :now, updated_at = :now
WHERE id IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY customer_id, purpose
            ORDER BY CASE status WHEN 'in_progress' THEN 0 WHEN 'appointment' THEN 1 WHEN 'invited' THEN 2
                     ELSE 3 END, created_at, id
        ) AS place
        FROM survey WHERE {ACTIVE}
    ) ranked
    WHERE place > 1
)
"""


def upgrade() -> None:
    now = sa.bindparam("now", datetime.now(UTC), type_=sa.DateTime(timezone=True))
    op.execute(sa.text(CLOSE_DUPLICATE_SURVEYS).bindparams(now))
    op.create_index(
        "uq_survey_active_purpose",
        "survey",
        ["customer_id", "purpose"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_key", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_task_customer_kind", ["customer_id", "kind"], unique=False)
        batch_op.create_index("uq_task_schedule_key", ["schedule_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("uq_task_schedule_key")
        batch_op.drop_index("ix_task_customer_kind")
        batch_op.drop_column("schedule_key")
    op.drop_index("uq_survey_active_purpose", table_name="survey")
