"""Follow-up discipline: task counts and time to first action per staff member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Staff,
    Task,
)
from storage.queries.reports.common import epoch_seconds

# --------------------------------------------------------------------------------------------------------------
# Follow-up discipline


@dataclass(frozen=True)
class DisciplineRow:
    """Task figures for one staff member (staff_id None: unassigned; name '合计' row built by the service)."""

    staff_id: int | None
    name: str
    created: int
    done: int
    open_overdue: int
    done_late: int
    acted: int
    within_24h: int
    judged_24h: int
    median_seconds_twice: int | None  # sum of the one or two middle delays; None if no action yet
    median_terms: int
    open_at_end: int = 0  # not done as of ``as_of`` (open now, or done later)


def task_discipline(
    session: Session, start: datetime, end: datetime, now: datetime, as_of: datetime | None = None
) -> list[DisciplineRow]:
    """Per staff member: tasks created in [start, end), done, overdue (open past due, done late), and time to
    first action (first_action_at, else done_at): count within 24 h among tasks old enough to judge, median.

    ``open_overdue`` is counted as of ``as_of`` (default ``now``): past due then and not done by then (open now,
    or done later), so a past week's figure does not change with the day the report is run."""
    moment = as_of or now
    first_action = func.coalesce(Task.first_action_at, Task.done_at)
    delay = epoch_seconds(first_action) - epoch_seconds(Task.created_at)
    in_period = and_(Task.created_at >= start, Task.created_at < end)
    day_ago = now - timedelta(hours=24)

    def as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    totals = (
        select(
            Task.staff_id,
            func.count(),
            as_int(Task.status == "done"),
            as_int(
                and_(
                    Task.due_at < moment,
                    or_(Task.status == "open", and_(Task.status == "done", Task.done_at > moment)),
                )
            ),
            as_int(and_(Task.status == "done", Task.done_at > Task.due_at)),
            as_int(first_action.is_not(None)),
            as_int(and_(first_action.is_not(None), delay <= 86400)),
            as_int(or_(first_action.is_not(None), Task.created_at <= day_ago)),
            as_int(
                and_(
                    Task.created_at < moment,
                    or_(Task.status == "open", and_(Task.status == "done", Task.done_at > moment)),
                )
            ),
        )
        .where(in_period)
        .group_by(Task.staff_id)
    )
    medians = _median_terms(session, delay, in_period, first_action)
    names = dict(session.execute(select(Staff.id, Staff.name)).all())
    return [_discipline_row(row, names, medians) for row in session.execute(totals)]


def _discipline_row(row: Any, names: dict[int, str], medians: dict[int | None, tuple[int, int]]) -> DisciplineRow:
    """One staff member's row from the totals query's columns."""
    sid, created, done, overdue, late, acted, within, judged, still_open = row
    med = medians.get(sid)
    return DisciplineRow(
        staff_id=sid,
        name=names.get(sid, "") if sid is not None else "",
        created=int(created),
        done=int(done or 0),
        open_overdue=int(overdue or 0),
        done_late=int(late or 0),
        acted=int(acted or 0),
        within_24h=int(within or 0),
        judged_24h=int(judged or 0),
        median_seconds_twice=med[0] if med else None,
        median_terms=med[1] if med else 0,
        open_at_end=int(still_open or 0),
    )


def _median_terms(
    session: Session, delay: Any, in_period: ColumnElement[bool], first_action: Any
) -> dict[int | None, tuple[int, int]]:
    """Per staff member, the middle delay(s) of their tasks acted on: (sum of the one or two middle values, how
    many), so the median is the sum over the count."""
    ranked = (
        select(
            Task.staff_id.label("staff_id"),
            delay.label("d"),
            func.row_number().over(partition_by=Task.staff_id, order_by=delay).label("rn"),
            func.count().over(partition_by=Task.staff_id).label("cnt"),
        )
        .where(in_period, first_action.is_not(None))
        .subquery()
    )
    middle = (
        select(ranked.c.staff_id, func.sum(ranked.c.d), func.count())
        .where(or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2))
        .group_by(ranked.c.staff_id)
    )
    return {sid: (int(total), int(n)) for sid, total, n in session.execute(middle)}


def overall_median_delay(session: Session, start: datetime, end: datetime) -> tuple[int, int] | None:
    """(sum of the middle one or two delays, how many) over all tasks created in [start, end) with an action."""
    first_action = func.coalesce(Task.first_action_at, Task.done_at)
    delay = epoch_seconds(first_action) - epoch_seconds(Task.created_at)
    ranked = (
        select(
            delay.label("d"),
            func.row_number().over(order_by=delay).label("rn"),
            func.count().over().label("cnt"),
        )
        .where(Task.created_at >= start, Task.created_at < end, first_action.is_not(None))
        .subquery()
    )
    query = select(func.sum(ranked.c.d), func.count()).where(
        or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2)
    )
    total, n = session.execute(query).one()
    return (int(total), int(n)) if n else None
