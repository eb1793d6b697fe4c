"""Recovery: quasi-defeated prospects (准战败) who bought later, per consultant."""

from __future__ import annotations

from typing import Any

from bot.domain.statistics import (
    share,
)
from bot.services.reports.model import TOTAL, Column, Context, Table
from storage.queries import reports as q


def section(session: Any, ctx: Context, questionnaire_id: str) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    rows = q.recovery(session, questionnaire_id, ctx.facts.recoverable, start, end)
    table = Table(
        key="recovery",
        title="准战败客户挽回",
        columns=(
            Column("consultant", "销售顾问"),
            Column("surveyed", "准战败回访数", "int"),
            Column("bought", "已成交", "int"),
            Column("rate", "挽回率", "share"),
        ),
        chart=("consultant", "bought"),
        total_row=True,
        note="本期回访中答“还没有购买”（准战败）的客户，及其中现在已是保有客户（已在本店购车）的人数。",
    )
    for r in sorted(rows, key=lambda r: (-r.surveyed, r.name)):
        table.rows.append(
            {
                "consultant": r.name or "（未分配）",
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
