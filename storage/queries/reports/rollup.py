"""Roll-up maintenance: ``reason_rollup`` recomputed from ``answer`` (bulk loads, repair)."""

from __future__ import annotations

from sqlalchemy import (
    text,
)
from sqlalchemy.engine import Connection

# --------------------------------------------------------------------------------------------------------------
# Roll-up maintenance


_ROLLUP_DAY = {"sqlite": "date(a.answered_at)", "postgresql": "(a.answered_at AT TIME ZONE 'UTC')::date"}


def rebuild_reason_rollup(connection: Connection) -> None:
    """Recompute ``reason_rollup`` from ``answer`` (after a bulk load with the triggers off, or as a repair)."""
    day = _ROLLUP_DAY[connection.dialect.name]
    key = "questionnaire_id, answered_on, question_id, reason_code, reason_group"
    connection.execute(text("DELETE FROM reason_rollup"))
    connection.execute(
        text(
            f"INSERT INTO reason_rollup ({key}, answers) "
            f"SELECT s.questionnaire_id, {day}, a.question_id, a.reason_code, COALESCE(a.reason_group, ''), "
            "COUNT(*) FROM answer a JOIN survey s ON s.id = a.survey_id WHERE a.reason_code IS NOT NULL "
            f"GROUP BY s.questionnaire_id, {day}, a.question_id, a.reason_code, COALESCE(a.reason_group, '')"
        )
    )
