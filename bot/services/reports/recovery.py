"""Recovery: quasi-defeated prospects (准战败) who bought later, per consultant."""

from __future__ import annotations

from typing import Any

from bot.domain.statistics import (
    share,
)
from bot.services.reports.model import TOTAL, UNASSIGNED, Context, Table, columns
from bot.texts import report_text
from storage.queries import reports as q


def section(session: Any, ctx: Context, questionnaire_id: str) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    rows = q.recovery(session, questionnaire_id, ctx.facts.recoverable, start, end)
    table = Table(
        key="recovery",
        title=report_text("tables.recovery.title"),
        columns=columns("recovery", "consultant", "surveyed:int", "bought:int", "rate:share"),
        chart=("consultant", "bought"),
        total_row=True,
        note=report_text("tables.recovery.note"),
    )
    for r in sorted(rows, key=lambda r: (-r.surveyed, r.name)):
        table.rows.append(
            {
                "consultant": r.name or UNASSIGNED,
                "surveyed": r.surveyed,
                "bought": r.bought,
                "rate": share(r.bought, r.surveyed),
            }
        )
    if rows:
        surveyed, bought = q.recovery_total(session, questionnaire_id, ctx.facts.recoverable, start, end)
        table.rows.append(
            {"consultant": TOTAL, "surveyed": surveyed, "bought": bought, "rate": share(bought, surveyed)}
        )
    return [table]
