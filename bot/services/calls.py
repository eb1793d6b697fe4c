"""Use cases of the phone channel (电话回访): the call queue, claims, call outcomes and the script.

A specialist asks for the next call; the case is claimed in the database so two specialists never get
the same customer, and the claim lapses if left untouched. Every dial is a contact attempt with its
disposition; the retry rules of ``bot.domain.calling`` decide when (or whether) to call again. On 接通
the same questionnaire engine runs as in chat, so a survey begun in chat goes on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.callback_time import callback_time_problem
from bot.domain.calling import Decision, Next, PhoneSettings, decide
from bot.domain.dispositions import disposition as disposition_info
from bot.domain.engine import Input, Rejection, RejectReason, State
from bot.domain.lifecycle import Event, EventKind, SurveyStatus, TaskStatus
from bot.domain.people import Honorific, title
from bot.domain.phone import national
from bot.services.plan_progress import count_try, enter, next_mode_after_giving_up
from bot.services.survey_status import move, opt_out_everywhere
from bot.services.surveys import Accepted, Position, SurveyKit, begin_survey, position_of, submit_answer, survey_ref
from storage.models import ContactAttempt, Staff, Survey, Task
from storage.repositories import ClaimConflict
from storage.unit_of_work import SqlUnitOfWork

PHONE = "phone"


@dataclass(frozen=True)
class CallCard:
    """What the specialist sees before dialling."""

    survey_id: int
    ref: str
    name: str
    title: str
    phone: str
    vehicle: str
    consultant: str
    questionnaire: str
    callback_at: datetime | None
    attempts: tuple[tuple[str, datetime], ...]  # (label, when)
    answers: tuple[tuple[str, str], ...]  # (question id, what was answered), e.g. given in chat


@dataclass(frozen=True)
class OutsideHours:
    """No calls now; the next moment calls may be made (local time)."""

    opens_at: datetime


class NotYourCase(Exception):
    """The survey is not claimed by this specialist (another took it, or the claim lapsed)."""


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _utc(local: datetime, tz: ZoneInfo, like: datetime) -> datetime:
    return local.replace(tzinfo=tz).astimezone(like.tzinfo)


def next_call(uow: SqlUnitOfWork, kit: SurveyKit, phone: PhoneSettings, staff: Staff) -> CallCard | OutsideHours | None:
    """Claim the next customer to call: due callbacks first (this specialist's own before others'), then
    due surveys by purpose priority and waiting time. None when the queue is empty."""
    now = kit.clock.now()
    local = _local(now, kit.tz)
    if not phone.hours.is_open(local):
        return OutsideHours(phone.hours.next_open(local))
    cutoff = now - phone.claim_timeout
    for _ in range(5):
        try:
            for survey_id in uow.surveys.call_candidates(
                staff.store_id, staff.id, now, cutoff, phone.rules.max_attempts, phone.purpose_order
            ):
                if uow.surveys.claim(survey_id, staff.id, now, cutoff):
                    survey = uow.surveys.get(survey_id)
                    assert survey is not None
                    uow.session.refresh(survey)
                    return _card(uow, kit, survey)
            return None
        except ClaimConflict:
            uow.rollback()  # someone claimed meanwhile: look again with a fresh view
    return None


def current_call(uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int) -> CallCard:
    return _card(uow, kit, _claimed(uow, kit, staff, survey_id))


def _card(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey) -> CallCard:
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    vehicle = uow.people.vehicle(customer.id)
    consultant = uow.people.staff(customer.owner_staff_id)
    honorific = Honorific(customer.honorific) if customer.honorific else None
    attempts = tuple((disposition_info(a.disposition).label, a.attempted_at) for a in uow.surveys.attempts(survey.id))
    answers: tuple[tuple[str, str], ...] = ()
    if survey.state:
        answers = tuple((a.question_id, a.label) for a in State.from_dict(survey.state).answers)
    return CallCard(
        survey_id=survey.id,
        ref=survey_ref(survey.id),
        name=customer.name,
        title=title(customer.name, honorific),
        phone=national(customer.phone),
        vehicle=" ".join(p for p in ((vehicle.series or ""), (vehicle.model or "")) if p) if vehicle else "",
        consultant=consultant.name if consultant else "",
        questionnaire=kit.catalog.get(survey.questionnaire_id).title
        if survey.questionnaire_id in kit.catalog.by_id
        else survey.questionnaire_id,
        callback_at=survey.callback_at if survey.status == SurveyStatus.APPOINTMENT else None,
        attempts=attempts,
        answers=answers,
    )


def _claimed(uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int) -> Survey:
    survey = uow.surveys.get(survey_id, for_update=True)
    if survey is None or survey.claimed_by_staff_id != staff.id:
        raise NotYourCase
    survey.claimed_at = kit.clock.now()  # any action keeps the claim alive
    return survey


@dataclass(frozen=True)
class Dialled:
    """The outcome of a dial was recorded; ``position`` is set when the call connected."""

    decision: Decision
    title: str
    position: Position | None = None
    next_try_local: datetime | None = None


def record_dial(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    phone: PhoneSettings,
    staff: Staff,
    survey_id: int,
    disposition: str,
    note: str | None = None,
) -> Dialled:
    """Store a dial's outcome (接通, 无人接听 …) and apply the retry rules; on 接通 return the script step."""
    survey = _claimed(uow, kit, staff, survey_id)
    now = kit.clock.now()
    earlier = [
        (a.disposition, _local(a.attempted_at, kit.tz)) for a in uow.surveys.attempts(survey.id) if a.channel == PHONE
    ]
    decision = decide(disposition, _local(now, kit.tz), earlier, phone.hours, phone.rules)
    survey.attempt_count += 1
    count_try(survey)  # a dial is a try of the phone stage
    if decision.next is Next.CONNECTED:
        survey.channel = PHONE
        running = survey.status == SurveyStatus.IN_PROGRESS
        resumable = survey.state and not State.from_dict(survey.state).finished and running
        # A survey begun in chat goes on at its question; a finished one (a booked callback) starts over.
        position = position_of(uow, kit, survey) if resumable else begin_survey(uow, kit, survey, PHONE, staff.name)
        survey.assigned_staff_id = staff.id
        return Dialled(decision, _title(uow, survey), position)
    uow.surveys.add_attempt(
        ContactAttempt(
            survey_id=survey.id,
            channel=PHONE,
            staff_id=staff.id,
            attempted_at=now,
            disposition=disposition,
            note=note,
            next_try_at=_utc(decision.at, kit.tz, now) if decision.at else None,
        )
    )
    apply_decision(uow, kit, survey, decision, now, channel=PHONE, staff_id=staff.id)
    return Dialled(decision, _title(uow, survey), None, decision.at)


def _title(uow: SqlUnitOfWork, survey: Survey) -> str:
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    return title(customer.name, Honorific(customer.honorific) if customer.honorific else None)


def apply_decision(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    survey: Survey,
    decision: Decision,
    now: datetime,
    *,
    channel: str,
    staff_id: int | None = None,
) -> None:
    """What a call that did not reach the customer leads to (the retry rules' ``decision``), in ``channel``
    (a specialist's call or the robot's): try again later, move to the plan's next usable mode when the
    number never answers, or end the survey (with a task to correct a bad number, or an opt-out)."""
    survey.claimed_by_staff_id = None
    survey.claimed_at = None
    if decision.next is Next.RETRY and decision.at is not None:
        survey.next_try_at = _utc(decision.at, kit.tz, now)
        move(uow, survey, Event(EventKind.CALL_RETRY, started=bool(survey.state)), channel=channel, now=now)
        return
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    if decision.outcome == "non_contact" and kit.plans is not None:
        # The phone's retry rules gave up without reaching the customer: the plan's next usable mode, if any.
        step = next_mode_after_giving_up(kit.plans, survey, customer, kit.modes, now)
        if step is not None:
            next_mode = Event(EventKind.NEXT_MODE, started=bool(survey.state))
            move(uow, survey, next_mode, channel=channel, now=now, record=False)  # the dial is recorded already
            enter(survey, step)
            survey.next_try_at = None
            return
    move(uow, survey, Event(EventKind.CALL_FINAL, decision.outcome), channel=channel, now=now, staff_id=staff_id)
    if decision.opt_out:
        customer.opted_out_at = now
        opt_out_everywhere(uow, customer.id, channel=channel, now=now, source="call_result", wording=decision.outcome)
    if decision.task:
        owner = uow.people.staff(customer.owner_staff_id)
        assignee = (
            owner
            if owner is not None and owner.active
            else uow.colleagues.least_busy(customer.store_id, "service_advisor")
        )
        uow.tasks.add(
            Task(
                staff_id=assignee.id if assignee else None,
                customer_id=customer.id,
                kind=decision.task,
                due_at=now,
                status=TaskStatus.OPEN,
                source_survey_id=survey.id,
                created_at=now,
            )
        )


def phone_answer(
    uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, given: Input
) -> Accepted | Rejection:
    """The specialist taps what the customer said (or types it)."""
    survey = _claimed(uow, kit, staff, survey_id)
    result = submit_answer(uow, kit, survey, given, PHONE, staff.id)
    if isinstance(result, Accepted) and result.position.finished:
        survey.claimed_by_staff_id = None
        survey.claimed_at = None
        if survey.status == SurveyStatus.APPOINTMENT and survey.callback_at is not None:
            survey.assigned_staff_id = staff.id
    return result


def end_call(uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, how: str) -> str:
    """拒访 (refused), 中途挂断 (partial: answers so far are kept) or 勿再致电 (do_not_call: opted out everywhere)."""
    survey = _claimed(uow, kit, staff, survey_id)
    now = kit.clock.now()
    outcome = {"refused": "refusal", "partial": "partial", "do_not_call": "refusal"}[how]
    survey.claimed_by_staff_id = None
    survey.claimed_at = None
    move(uow, survey, Event(EventKind.END_CALL, outcome), channel=PHONE, now=now, staff_id=staff.id)
    if how == "do_not_call":
        customer = uow.people.get(survey.customer_id)
        assert customer is not None
        customer.opted_out_at = now
        opt_out_everywhere(uow, customer.id, channel=PHONE, now=now, source="call_do_not_call", wording=how)
    return _title(uow, survey)


def book_chosen_callback(
    uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, at_local: datetime
) -> tuple[datetime, str] | RejectReason:
    """预约回访 during a call: as ``book_callback``, for a time that can still be booked (not past, within
    ``callback_time.HORIZON``, inside calling hours: not on a holiday or a closed weekend); otherwise why not,
    and nothing is booked."""
    problem = callback_time_problem(at_local, kit.local_now(), kit.hours)
    if problem is not None:
        _claimed(uow, kit, staff, survey_id)  # NotYourCase still comes first
        return problem
    return book_callback(uow, kit, staff, survey_id, at_local)


def book_callback(
    uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, at_local: datetime
) -> tuple[datetime, str]:
    """预约回访: call back at the customer's chosen local time; it comes first in this specialist's queue."""
    survey = _claimed(uow, kit, staff, survey_id)
    now = kit.clock.now()
    at = _utc(at_local, kit.tz, now)
    move(uow, survey, Event(EventKind.BOOK_CALLBACK), channel=PHONE, now=now, staff_id=staff.id, next_try_at=at)
    survey.callback_at = at
    survey.next_try_at = at
    survey.assigned_staff_id = staff.id
    survey.claimed_by_staff_id = None
    survey.claimed_at = None
    uow.tasks.add(
        Task(
            staff_id=staff.id,
            customer_id=survey.customer_id,
            kind="callback",
            due_at=at,
            status=TaskStatus.OPEN,
            source_survey_id=survey.id,
            created_at=now,
        )
    )
    return at, _title(uow, survey)
