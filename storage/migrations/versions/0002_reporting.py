"""reporting: indexes for period queries and an exact reason roll-up kept by triggers

Revision ID: 0002_reporting
Revises: 0001_initial
Create Date: 2026-11-25 12:00:00

``reason_rollup`` counts answers with a reason code per (questionnaire, UTC day, question, reason, group).
Triggers keep it exact whatever writes the answers (services, imports, deletes cascading from customers):

* answer insert / update / delete adjusts the day's count;
* survey delete first deletes its answers, so each answer is subtracted while its survey still names the
  questionnaire (a plain FK cascade would run after the survey row is gone);
* a survey's questionnaire_id cannot change (its answers were counted under it).

The SQL is written twice, once per dialect; the existing answers are folded in at the end.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_reporting"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_KEY = "questionnaire_id, answered_on, question_id, reason_code, reason_group"

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER trg_answer_rollup_insert AFTER INSERT ON answer
    WHEN NEW.reason_code IS NOT NULL
    BEGIN
        INSERT INTO reason_rollup ({_KEY}, answers)
        SELECT s.questionnaire_id, date(NEW.answered_at), NEW.question_id, NEW.reason_code,
               COALESCE(NEW.reason_group, ''), 1
        FROM survey s WHERE s.id = NEW.survey_id
        ON CONFLICT ({_KEY}) DO UPDATE SET answers = answers + 1;
    END
    """,
    """
    CREATE TRIGGER trg_answer_rollup_delete AFTER DELETE ON answer
    WHEN OLD.reason_code IS NOT NULL
    BEGIN
        UPDATE reason_rollup SET answers = answers - 1
        WHERE questionnaire_id = (SELECT questionnaire_id FROM survey WHERE id = OLD.survey_id)
          AND answered_on = date(OLD.answered_at) AND question_id = OLD.question_id
          AND reason_code = OLD.reason_code AND reason_group = COALESCE(OLD.reason_group, '');
    END
    """,
    f"""
    CREATE TRIGGER trg_answer_rollup_update
    AFTER UPDATE OF survey_id, question_id, reason_code, reason_group, answered_at ON answer
    BEGIN
        UPDATE reason_rollup SET answers = answers - 1
        WHERE OLD.reason_code IS NOT NULL
          AND questionnaire_id = (SELECT questionnaire_id FROM survey WHERE id = OLD.survey_id)
          AND answered_on = date(OLD.answered_at) AND question_id = OLD.question_id
          AND reason_code = OLD.reason_code AND reason_group = COALESCE(OLD.reason_group, '');
        INSERT INTO reason_rollup ({_KEY}, answers)
        SELECT s.questionnaire_id, date(NEW.answered_at), NEW.question_id, NEW.reason_code,
               COALESCE(NEW.reason_group, ''), 1
        FROM survey s WHERE s.id = NEW.survey_id AND NEW.reason_code IS NOT NULL
        ON CONFLICT ({_KEY}) DO UPDATE SET answers = answers + 1;
    END
    """,
    """
    CREATE TRIGGER trg_survey_rollup_delete BEFORE DELETE ON survey
    BEGIN
        DELETE FROM answer WHERE survey_id = OLD.id;
    END
    """,
    """
    CREATE TRIGGER trg_survey_questionnaire_fixed BEFORE UPDATE OF questionnaire_id ON survey
    WHEN OLD.questionnaire_id <> NEW.questionnaire_id
    BEGIN
        SELECT RAISE(ABORT, 'survey.questionnaire_id cannot change: reason_rollup counts its answers under it');
    END
    """,
]

POSTGRES_TRIGGERS = [
    f"""
    CREATE FUNCTION reason_rollup_answer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.reason_code IS NOT NULL THEN
            UPDATE reason_rollup r SET answers = r.answers - 1
            FROM survey s
            WHERE s.id = OLD.survey_id AND r.questionnaire_id = s.questionnaire_id
              AND r.answered_on = (OLD.answered_at AT TIME ZONE 'UTC')::date
              AND r.question_id = OLD.question_id AND r.reason_code = OLD.reason_code
              AND r.reason_group = COALESCE(OLD.reason_group, '');
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.reason_code IS NOT NULL THEN
            INSERT INTO reason_rollup ({_KEY}, answers)
            SELECT s.questionnaire_id, (NEW.answered_at AT TIME ZONE 'UTC')::date, NEW.question_id,
                   NEW.reason_code, COALESCE(NEW.reason_group, ''), 1
            FROM survey s WHERE s.id = NEW.survey_id
            ON CONFLICT ({_KEY}) DO UPDATE SET answers = reason_rollup.answers + 1;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER answer_reason_rollup
    AFTER INSERT OR DELETE OR UPDATE OF survey_id, question_id, reason_code, reason_group, answered_at
    ON answer FOR EACH ROW EXECUTE FUNCTION reason_rollup_answer()
    """,
    """
    CREATE FUNCTION reason_rollup_survey_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM answer WHERE survey_id = OLD.id;
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER survey_reason_rollup_delete BEFORE DELETE ON survey
    FOR EACH ROW EXECUTE FUNCTION reason_rollup_survey_delete()
    """,
    """
    CREATE FUNCTION survey_questionnaire_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'survey.questionnaire_id cannot change: reason_rollup counts its answers under it';
    END $$
    """,
    """
    CREATE TRIGGER survey_questionnaire_fixed BEFORE UPDATE OF questionnaire_id ON survey
    FOR EACH ROW WHEN (OLD.questionnaire_id IS DISTINCT FROM NEW.questionnaire_id)
    EXECUTE FUNCTION survey_questionnaire_fixed()
    """,
]

_DAY = {"sqlite": "date(a.answered_at)", "postgresql": "(a.answered_at AT TIME ZONE 'UTC')::date"}


def upgrade() -> None:
    op.create_table(
        "reason_rollup",
        sa.Column("questionnaire_id", sa.String(length=50), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("question_id", sa.String(length=50), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=False),
        sa.Column("reason_group", sa.String(length=50), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "questionnaire_id", "answered_on", "question_id", "reason_code", "reason_group",
            name=op.f("pk_reason_rollup"),
        ),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index("ix_survey_created", ["created_at"], unique=False)
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_created", ["created_at"], unique=False)
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index("ix_customer_created", ["created_at"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)
    op.execute(
        f"INSERT INTO reason_rollup ({_KEY}, answers) "
        f"SELECT s.questionnaire_id, {_DAY[dialect]}, a.question_id, a.reason_code, "
        "COALESCE(a.reason_group, ''), COUNT(*) "
        "FROM answer a JOIN survey s ON s.id = a.survey_id WHERE a.reason_code IS NOT NULL "
        f"GROUP BY s.questionnaire_id, {_DAY[dialect]}, a.question_id, a.reason_code, COALESCE(a.reason_group, '')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("trg_answer_rollup_insert", "trg_answer_rollup_delete", "trg_answer_rollup_update",
                     "trg_survey_rollup_delete", "trg_survey_questionnaire_fixed"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS answer_reason_rollup ON answer")
        op.execute("DROP TRIGGER IF EXISTS survey_reason_rollup_delete ON survey")
        op.execute("DROP TRIGGER IF EXISTS survey_questionnaire_fixed ON survey")
        op.execute("DROP FUNCTION IF EXISTS reason_rollup_answer()")
        op.execute("DROP FUNCTION IF EXISTS reason_rollup_survey_delete()")
        op.execute("DROP FUNCTION IF EXISTS survey_questionnaire_fixed()")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_created")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_created")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_created")
    op.drop_table("reason_rollup")
