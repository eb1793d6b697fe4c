"""Recovery of quasi-defeated prospects (准战败) who bought later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    and_,
    case,
    distinct,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    Customer,
    Staff,
    Survey,
)

# --------------------------------------------------------------------------------------------------------------
# Recovery of quasi-defeated prospects


@dataclass(frozen=True)
class RecoveryRow:
    staff_id: int | None
    name: str
    surveyed: int
    bought: int


def recovery(
    session: Session,
    questionnaire_id: str,
    recoverable: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> list[RecoveryRow]:
    """Per owning consultant: customers who answered a recoverable option (question, option) in [start, end),
    and how many of them are owners now (bought after all)."""
    if not recoverable:
        return []
    chosen = or_(*[and_(Answer.question_id == q, Answer.option_code == o) for q, o in recoverable])
    query = (
        select(
            Customer.owner_staff_id,
            Staff.name,
            func.count(distinct(Customer.id)),
            func.count(distinct(case((Customer.status == "owner", Customer.id)))),
        )
        .select_from(Answer)
        .join(Survey, Survey.id == Answer.survey_id)
        .join(Customer, Customer.id == Survey.customer_id)
        .outerjoin(Staff, Staff.id == Customer.owner_staff_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            chosen,
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .group_by(Customer.owner_staff_id, Staff.name)
    )
    return [RecoveryRow(sid, name or "", int(s), int(b)) for sid, name, s, b in session.execute(query)]


def recovery_total(
    session: Session,
    questionnaire_id: str,
    recoverable: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> tuple[int, int]:
    """Distinct customers over all consultants (one customer surveyed twice counts once)."""
    if not recoverable:
        return 0, 0
    chosen = or_(*[and_(Answer.question_id == q, Answer.option_code == o) for q, o in recoverable])
    query = (
        select(
            func.count(distinct(Customer.id)),
            func.count(distinct(case((Customer.status == "owner", Customer.id)))),
        )
        .select_from(Answer)
        .join(Survey, Survey.id == Answer.survey_id)
        .join(Customer, Customer.id == Survey.customer_id)
        .where(
            Survey.questionnaire_id == questionnaire_id, chosen, Answer.answered_at >= start, Answer.answered_at < end
        )
    )
    surveyed, bought = session.execute(query).one()
    return int(surveyed), int(bought)
