"""Follow-up discipline: tasks per staff member, overdue, time to first action."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from bot.domain.statistics import (
    share,
)
from bot.services.reports.model import TOTAL, UNASSIGNED, Context, Table, columns
from bot.texts import report_text
from storage.queries import reports as q


def _median_hours(total_seconds: int | None, terms: int) -> Fraction | None:
    if total_seconds is None or terms == 0:
        return None
    return Fraction(total_seconds, terms * 3600)


def section(session: Any, ctx: Context) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    rows = q.task_discipline(session, start, end, ctx.now, min(ctx.now, end))  # overdue as of the period's end
    table = Table(
        key="discipline",
        title=report_text("tables.discipline.title"),
        columns=columns(
            "discipline",
            "staff",
            "created:int",
            "done:int",
            "open_overdue:int",
            "done_late:int",
            "median_hours:number",
            "within_24h:share",
        ),
        chart=("staff", "open_overdue"),
        total_row=True,
        note=report_text("tables.discipline.note"),
    )
    for r in sorted(rows, key=lambda r: (-r.created, r.name, r.staff_id or 0)):
        table.rows.append(
            {
                "staff": r.name or UNASSIGNED,
                "created": r.created,
                "done": r.done,
                "open_overdue": r.open_overdue,
                "done_late": r.done_late,
                "median_hours": _median_hours(r.median_seconds_twice, r.median_terms),
                "within_24h": share(r.within_24h, r.judged_24h),
            }
        )
    if rows:
        median = q.overall_median_delay(session, start, end)
        table.rows.append(
            {
                "staff": TOTAL,
                "created": sum(r.created for r in rows),
                "done": sum(r.done for r in rows),
                "open_overdue": sum(r.open_overdue for r in rows),
                "done_late": sum(r.done_late for r in rows),
                "median_hours": _median_hours(*median) if median else None,
                "within_24h": share(sum(r.within_24h for r in rows), sum(r.judged_24h for r in rows)),
            }
        )
    return [table]
