"""Contact outcomes: every case (survey) of a period with its attempts in every mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    ContactAttempt,
    Survey,
)

# --------------------------------------------------------------------------------------------------------------
# Contact outcomes


@dataclass(frozen=True)
class DispositionCount:
    """Cases (surveys) on ``channel`` whose final disposition is ``code``."""

    channel: str
    code: str
    count: int


@dataclass(frozen=True)
class CaseAttempts:
    """One case (survey): the channel it is on now, its outcome, and every contact attempt as (mode,
    disposition), oldest first."""

    survey_id: int
    channel: str
    outcome: str | None
    attempts: tuple[tuple[str, str], ...]


def case_attempts(session: Session, start: datetime, end: datetime) -> list[CaseAttempts]:
    """Every survey created in [start, end) with its attempts in every mode (the service picks each case's
    result with ``dispositions.case_result``); one query, ordered by survey then attempt time."""
    query = (
        select(Survey.id, Survey.channel, Survey.outcome, ContactAttempt.channel, ContactAttempt.disposition)
        .outerjoin(ContactAttempt, ContactAttempt.survey_id == Survey.id)
        .where(Survey.created_at >= start, Survey.created_at < end)
        .order_by(Survey.id, ContactAttempt.attempted_at, ContactAttempt.id)
    )
    cases: dict[int, tuple[str, str | None, list[tuple[str, str]]]] = {}
    for survey_id, channel, outcome, mode, code in session.execute(query):
        attempts = cases.setdefault(survey_id, (channel, outcome, []))[2]
        if code is not None:
            attempts.append((mode, code))
    return [CaseAttempts(sid, ch, outcome, tuple(a)) for sid, (ch, outcome, a) in cases.items()]
