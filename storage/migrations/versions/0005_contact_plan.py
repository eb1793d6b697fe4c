"""contact plan: a survey's place in its purpose's plan (stage, since when, tries in that stage); web mode

Revision ID: 0005_contact_plan
Revises: 0004_crash_recovery
Create Date: 2026-12-01 07:20:00

``survey.channel`` is the survey's current mode (``web`` joins chat, phone and voice). ``plan_stage`` is the
index of that mode in the purpose's plan (``scripts_zh/contact_plans.yaml``); NULL means "not placed yet":
the plan places the survey at its current mode's stage the first time it looks at it (the rows this upgrade
finds). ``stage_entered_at`` is back-filled with the upgrade's time, so no survey is moved or ended by the
upgrade itself: each gets its mode's full wait from now. ``stage_attempts`` counts the tries made in the
current mode: a chat survey's invitation and reminder, a phone survey's dials.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005_contact_plan"
down_revision = "0004_crash_recovery"
branch_labels = None
depends_on = None


OLD_CHECK = "channel IN ('chat', 'phone', 'voice')"
NEW_CHECK = "channel IN ('chat', 'web', 'voice', 'phone')"


def _sqlite_check(old: str, new: str) -> None:
    """Widen (or narrow) the channel check in place. Rebuilding the survey table the usual SQLite way would
    drop it under its triggers and foreign keys (answers cascade); a CHECK constraint does not change how
    rows are stored, so the table's recorded definition is edited instead (the procedure of SQLite's ALTER
    TABLE documentation, "making other kinds of table schema changes")."""
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'survey'", (old, new)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version or 0) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.add_column("survey", sa.Column("plan_stage", sa.Integer(), nullable=True))
    op.add_column("survey", sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("survey", sa.Column("stage_attempts", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_check(OLD_CHECK, NEW_CHECK)
    else:
        op.drop_constraint(op.f("ck_survey_channel"), "survey", type_="check")
        op.create_check_constraint("channel", "survey", NEW_CHECK)
    survey = sa.table(
        "survey",
        sa.column("channel", sa.String),
        sa.column("status", sa.String),
        sa.column("reminders_sent", sa.Integer),
        sa.column("attempt_count", sa.Integer),
        sa.column("stage_entered_at", sa.DateTime(timezone=True)),
        sa.column("stage_attempts", sa.Integer),
    )
    now = datetime.now(UTC)
    op.execute(survey.update().values(stage_entered_at=now))
    # Tries made so far in the current mode: chat, the invitation (once invited) and the reminder; phone, dials.
    invited = sa.case((survey.c.status == "pending", 0), else_=1)
    op.execute(
        survey.update()
        .where(survey.c.channel == "chat")
        .values(stage_attempts=invited + sa.func.coalesce(survey.c.reminders_sent, 0))
    )
    op.execute(
        survey.update()
        .where(survey.c.channel != "chat")
        .values(stage_attempts=sa.func.coalesce(survey.c.attempt_count, 0))
    )


def downgrade() -> None:
    op.execute("UPDATE survey SET channel = 'phone' WHERE channel = 'web'")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_check(NEW_CHECK, OLD_CHECK)
    else:
        op.drop_constraint(op.f("ck_survey_channel"), "survey", type_="check")
        op.create_check_constraint("channel", "survey", OLD_CHECK)
    op.drop_column("survey", "stage_attempts")
    op.drop_column("survey", "stage_entered_at")
    op.drop_column("survey", "plan_stage")
