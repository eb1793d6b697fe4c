"""Use cases of the chat channel, customer side: bind, consent, opt out, answer. One call per update.

Each function takes a unit of work and returns a small result the Telegram adapter renders; none of
them sends anything itself. ``update_id`` makes redelivered updates harmless: the first handling is
recorded in the same transaction as its effects, a repeat returns ``Duplicate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.domain.engine import BookCallback, Input, Rejection, RejectReason, State
from bot.domain.lifecycle import OutboxStatus, SurveyStatus
from bot.domain.links import InvalidLink, LinkProblem, LinkSubject
from bot.domain.presentation import callback_input, parse_callback, text_input
from bot.services import consent as consent_records
from bot.services.consent import ConsentAction
from bot.services.links import check_link, mark_used
from bot.services.survey_status import opt_out_everywhere
from bot.services.surveys import (
    Accepted,
    Position,
    SurveyKit,
    begin_survey,
    position_of,
    questionnaire_of,
    submit_answer,
    survey_id_of,
)
from storage.models import ContactAttempt, Customer, Survey
from storage.unit_of_work import SqlUnitOfWork

CHAT = "chat"
# A survey running in these modes goes on at its question in chat (the web page reads the same state); one a
# specialist's call had begun starts afresh (see the lifecycle's ``started``).
_CONTINUES_HERE = (CHAT, "web")
CONSENT_WORDING = "messages/consent.j2"  # what a consent record names as the text the customer answered
NEXT_MESSAGE = "chat-next:"
"""Idempotency-key prefix of the message that shows where a chat survey stands after an answer."""


class Duplicate(Exception):
    """This update was handled already."""


def claim_update(uow: SqlUnitOfWork, update_id: int | None, kit: SurveyKit) -> None:
    """Record the update as handled (same transaction as its effects); Duplicate if it was."""
    if update_id is None:
        return
    if not uow.updates.claim(update_id, kit.clock.now()):
        raise Duplicate


class LinkResult(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True)
class Bound:
    kind: LinkResult
    name: str
    store_name: str
    purpose: str | None = None  # the waiting survey's questionnaire id, for the consent text
    title: str = ""
    survey_id: int | None = None  # the waiting survey


@dataclass(frozen=True)
class Refused:
    problem: LinkProblem


def open_link(
    uow: SqlUnitOfWork, kit: SurveyKit, secret: bytes, token: str, user_id: int, chat_id: int
) -> Bound | Refused | Position:
    """Redeem a /start token: bind the customer's chat or the staff member's account.

    A customer who opens their link again while their chat survey runs gets the question it waits on."""
    try:
        claim, link = check_link(uow, secret, token, user_id, kit.clock)
    except InvalidLink as exc:
        return Refused(exc.problem)
    # Every refusal below returns before anything is written: a refused account is never the link's user.
    if claim.subject is LinkSubject.STAFF:
        staff = uow.colleagues.get(claim.subject_id)
        if staff is None or not staff.active:
            return Refused(LinkProblem.FORGED)
        mark_used(link, user_id, kit.clock)
        other = uow.colleagues.by_telegram(user_id)
        if other is not None and other.id != staff.id:
            other.telegram_user_id = None
            uow.flush()
        staff.telegram_user_id = user_id
        return Bound(LinkResult.STAFF, staff.name, uow.people.store_name(staff.store_id))
    customer = uow.people.get(claim.subject_id)
    if customer is None:
        return Refused(LinkProblem.FORGED)
    if customer.telegram_chat_id not in (None, chat_id):
        return Refused(LinkProblem.USED)
    mark_used(link, user_id, kit.clock)
    previous = uow.people.by_chat(chat_id)
    if previous is not None and previous.id != customer.id:
        previous.telegram_chat_id = None  # one Telegram account, one customer record
        uow.flush()
    customer.telegram_chat_id = chat_id
    customer.chat_unreachable_at = None
    return _welcome(uow, kit, customer)


def _bound_customer(uow: SqlUnitOfWork, customer: Customer, survey: Survey | None = None) -> Bound:
    from bot.domain.people import Honorific, title

    survey = survey or uow.surveys.active_for_customer(customer.id)
    honorific = Honorific(customer.honorific) if customer.honorific else None
    return Bound(
        LinkResult.CUSTOMER,
        customer.name,
        uow.people.store_name(customer.store_id),
        survey.questionnaire_id if survey else None,
        title(customer.name, honorific),
        survey.id if survey else None,
    )


def greet_again(uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int) -> Bound | Position | None:
    """/start without a token from a bound customer: the question their chat survey waits on, if one runs,
    else the consent screen again (None if unknown)."""
    customer = uow.people.by_chat(chat_id)
    return _welcome(uow, kit, customer) if customer else None


def _welcome(uow: SqlUnitOfWork, kit: SurveyKit, customer: Customer) -> Bound | Position:
    """A customer back in the chat: the question their chat survey waits on, or else the consent screen."""
    survey = uow.surveys.active_for_customer(customer.id)
    if (
        survey is not None
        and survey.status == SurveyStatus.IN_PROGRESS
        and survey.state
        and survey.channel in _CONTINUES_HERE
    ):
        return position_of(uow, kit, survey)
    return _bound_customer(uow, customer, survey)


@dataclass(frozen=True)
class NothingToAnswer:
    """The customer consented but no survey is waiting."""


@dataclass(frozen=True)
class AlreadyStarted:
    """开始 again (a second tap, an old consent message): the survey runs in chat already; nothing is sent."""

    position: Position


def consent(
    uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int, specialist_name: str
) -> Position | AlreadyStarted | NothingToAnswer:
    """开始: store consent (lifting an earlier opt-out) and begin the waiting survey.

    The survey row is locked first, so of two 开始 taps at once one begins the survey and the other
    finds it ``AlreadyStarted``: question 1 is sent once.
    """
    customer = uow.people.by_chat(chat_id)
    if customer is None:
        return NothingToAnswer()
    now = kit.clock.now()
    customer.consent_at = now
    customer.opted_out_at = None
    customer.updated_at = now
    consent_records.record(
        uow, customer.id, channel=CHAT, action=ConsentAction.CONSENT, source="chat_button",
        wording=CONSENT_WORDING + " k:go", now=now,
    )  # fmt: skip
    survey = uow.surveys.active_for_customer(customer.id, for_update=True)
    if survey is None:
        return NothingToAnswer()
    if survey.status == SurveyStatus.IN_PROGRESS and survey.state and survey.channel in _CONTINUES_HERE:
        return AlreadyStarted(position_of(uow, kit, survey))
    position = begin_survey(uow, kit, survey, CHAT, specialist_name)
    survey.attempt_count += 1
    return position


def postpone(uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int) -> bool:
    """稍后: nothing is recorded against the survey; the reminder job may ask once more."""
    return uow.people.by_chat(chat_id) is not None


def opt_out(uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int) -> bool:
    """退订: the customer is never messaged again (every channel) unless they consent anew."""
    customer = uow.people.by_chat(chat_id)
    if customer is None:
        return False
    now = kit.clock.now()
    customer.opted_out_at = now
    customer.updated_at = now
    survey = uow.surveys.active_for_customer(customer.id)
    opt_out_everywhere(
        uow, customer.id, channel=CHAT, now=now, record_for=survey.id if survey else None,
        source="chat_button", wording=CONSENT_WORDING + " k:stop",
    )  # fmt: skip
    uow.session.flush()
    uow.outbox.cancel_unsent_to(str(chat_id), "opted out")
    return True


@dataclass(frozen=True)
class NoSurvey:
    """The tap or text does not belong to a running survey of this chat."""


@dataclass(frozen=True)
class NotTaken:
    """Typed text the waiting question cannot take; the survey stays where it was."""

    position: Position
    reason: RejectReason
    understood: bool  # False: the text is no answer to this question at all (e.g. letters for a rating)


def answer_typed(uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int, text: str) -> Accepted | NotTaken | Bound | NoSurvey:
    """Typed text as the answer to the question the chat's running survey waits on.

    ``Bound``: a survey waits for the customer's 开始 (they wrote instead of tapping), so ask again.
    """
    customer = uow.people.by_chat(chat_id)
    if customer is None or customer.opted_out_at is not None:
        return NoSurvey()
    survey = uow.surveys.active_for_customer(customer.id, for_update=True)
    if survey is not None and survey.status in (SurveyStatus.PENDING, SurveyStatus.INVITED):
        return _bound_customer(uow, customer, survey)
    if survey is None or survey.status != SurveyStatus.IN_PROGRESS or not survey.state:
        return NoSurvey()
    position = position_of(uow, kit, survey)
    given = text_input(position.step, text, kit.local_now())
    if given is None:
        return NotTaken(position, RejectReason.WRONG_INPUT, understood=False)
    result = _submit(uow, kit, survey, given)
    if isinstance(result, Rejection):
        return NotTaken(position, result.reason, understood=True)
    return result


@dataclass(frozen=True)
class Behind:
    """A button of a question answered already: the survey waits on ``position``.

    ``resend``: the customer may not have that question (it was never recorded as delivered), so show it
    again; ``message_id`` is its outbox row, if it has one, to mark sent once shown.
    """

    position: Position
    resend: bool
    message_id: int | None


def next_message_key(survey: Survey) -> str:
    """The outbox key of the message showing where ``survey`` stands: survey, round and step."""
    steps = int((survey.state or {}).get("steps", 0))
    return f"{NEXT_MESSAGE}{survey.id}:{survey.attempt_count}:{steps}"


def record_next(
    uow: SqlUnitOfWork, kit: SurveyKit, survey_id: int, chat_id: int, payload: dict[str, Any], *, consent: bool = False
) -> int | None:
    """Record the message showing where the survey stands (the consent question after binding, the next
    question, the closing words) in the outbox, in the unit of work that moved it there, claimed for the
    caller to send right after commit. Its id; None if this message was recorded before (the caller shows
    it again without a record)."""
    survey = uow.surveys.get(survey_id)
    if survey is None:
        return None
    key = f"{NEXT_MESSAGE}{survey.id}:{survey.attempt_count}:consent" if consent else next_message_key(survey)
    payload = {**payload, "customer_id": survey.customer_id}
    return uow.outbox.add_claimed(key, "telegram", str(chat_id), payload, kit.clock.now())


def tap(
    uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int, data: str
) -> Accepted | Rejection | NotTaken | NoSurvey | Behind:
    """A button under a question: decode it against the survey's own questionnaire version and apply it."""
    decoded = parse_callback(data)
    survey_id = survey_id_of(decoded.survey_ref) if decoded else None
    found = uow.surveys.with_customer(survey_id, for_update=True) if survey_id is not None else None
    if found is None or decoded is None:
        return NoSurvey()
    survey, customer = found
    if customer.telegram_chat_id != chat_id or customer.opted_out_at is not None:
        return NoSurvey()
    given = callback_input(questionnaire_of(uow, kit, survey), decoded)
    if given is None:
        return NoSurvey()
    if isinstance(given, BookCallback):  # a slot offered days ago may have passed since
        given = replace(given, earliest=kit.local_now())
    result = _submit(uow, kit, survey, given)
    if isinstance(result, Rejection) and result.reason is RejectReason.PAST_TIME:
        return NotTaken(position_of(uow, kit, survey), result.reason, understood=True)  # offer fresh times
    if isinstance(result, Rejection) and result.reason is RejectReason.STALE_QUESTION:
        return _behind(uow, kit, survey)
    return result


def _behind(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey) -> Behind:
    """Where the survey stands, and whether its message may be missing: none recorded, or its send failed
    (pending and claimed ones are on their way: showing them again would send them twice)."""
    recorded = uow.outbox.status_of(next_message_key(survey))
    if recorded is None:
        return Behind(position_of(uow, kit, survey), True, None)
    message_id, status = recorded
    return Behind(position_of(uow, kit, survey), status == OutboxStatus.FAILED, message_id)


_ENDED_FOR_CHAT = (
    SurveyStatus.COMPLETED,
    SurveyStatus.REFUSED,
    SurveyStatus.APPOINTMENT,
    SurveyStatus.CANCELLED,
    SurveyStatus.EXPIRED,
)


def _submit(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey, given: Input) -> Accepted | Rejection | NoSurvey:
    if survey.status != SurveyStatus.IN_PROGRESS or not survey.state:
        if survey.status in _ENDED_FOR_CHAT:
            return Rejection(RejectReason.FINISHED, "survey ended", State.from_dict(survey.state or {}))
        return NoSurvey()
    return submit_answer(uow, kit, survey, given, CHAT)


def mark_unreachable(uow: SqlUnitOfWork, kit: SurveyKit, chat_id: int) -> None:
    """The customer blocked the bot (403): nothing more goes to this chat."""
    customer = uow.people.by_chat(chat_id)
    if customer is not None and customer.chat_unreachable_at is None:
        customer.chat_unreachable_at = kit.clock.now()
        survey = uow.surveys.active_for_customer(customer.id)
        if survey is not None:
            uow.surveys.add_attempt(
                ContactAttempt(survey_id=survey.id, channel=CHAT, attempted_at=kit.clock.now(), disposition="blocked")
            )
