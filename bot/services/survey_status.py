"""The one place a survey's status is written: the lifecycle's transitions applied to a survey row.

Every channel and job reports what happened as an event (``bot.domain.lifecycle.Event``); ``move`` asks the
lifecycle where the survey goes and writes its status, outcome and completion time, and the contact attempt
with the disposition the move records, in the caller's unit of work (it never commits). A test
(``tests/unit/test_status_writes.py``) fails if any other module writes a survey's status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.lifecycle import INITIAL, Event, EventKind, Transition, transition
from storage.models import ContactAttempt, Survey
from storage.unit_of_work import SqlUnitOfWork


def create(uow: SqlUnitOfWork, values: dict[str, Any]) -> Survey | None:
    """Insert a new survey in the lifecycle's first state; None if the customer has an active one for the
    purpose already (the database's partial unique index decides)."""
    return uow.surveys.add_unless_active({**values, "status": INITIAL.value})


def move(
    uow: SqlUnitOfWork,
    survey: Survey,
    event: Event,
    *,
    channel: str,
    now: datetime,
    staff_id: int | None = None,
    note: str | None = None,
    next_try_at: datetime | None = None,
    record: bool = True,
) -> Transition:
    """Apply ``event`` to ``survey``: write the next status, the outcome and completion time when it ends, and
    (unless ``record`` is False) the contact attempt with the disposition the move records, in ``channel``.

    Raises ``IllegalTransition`` (nothing written) if the event does not apply to the survey's status."""
    result = transition(survey.status, event)
    survey.status = result.status.value
    survey.updated_at = now
    if result.outcome is not None or result.ends:
        survey.outcome = result.outcome
    if result.ends:
        survey.completed_at = now
    if result.disposition is not None and record:
        uow.surveys.add_attempt(
            ContactAttempt(
                survey_id=survey.id,
                channel=channel,
                staff_id=staff_id,
                attempted_at=now,
                disposition=result.disposition,
                note=note,
                next_try_at=next_try_at,
            )
        )
    return result


def opt_out_everywhere(
    uow: SqlUnitOfWork,
    customer_id: int,
    *,
    channel: str,
    now: datetime,
    record_for: int | None = None,
    source: str | None = None,
    wording: str | None = None,
) -> int:
    """End every active survey of a customer who opted out (any mode); the attempt (disposition opted_out) is
    recorded on the survey ``record_for`` only (the one the customer was being asked in). The opt-out itself
    is kept as a consent record (``source``: how, default the channel; ``wording``: the customer's words or
    the text they answered). Returns how many surveys ended."""
    from bot.services.consent import ConsentAction, record

    record(
        uow, customer_id, channel=channel, action=ConsentAction.OPT_OUT, source=source or channel, wording=wording,
        now=now,
    )  # fmt: skip
    surveys = uow.surveys.all_active_for_customer(customer_id, for_update=True)
    for survey in surveys:
        move(uow, survey, Event(EventKind.OPT_OUT), channel=channel, now=now, record=survey.id == record_for)
    return len(surveys)
