"""Use cases of the mobile web survey page: what a link shows, consent (开始 / 稍后 / 退订), answers.

One call per request, inside one unit of work; none of them renders or sends anything. The page is driven
by the same survey row as chat and the phone: a survey begun in chat continues on the page at its
question, and the reverse.

Nothing is recorded twice and nothing moves backwards: every form carries the survey's step counter
(``State.steps``, which grows with each answer and each new round), and an answer is taken only while the
survey row is locked and still at that step. A reload, a second tap, the back button or an old tab finds
another step and gets ``Stale`` with where the survey stands now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.engine import Input, Rejection, RejectReason, State, Step, step_with_messages
from bot.domain.lifecycle import SurveyStatus
from bot.domain.people import Honorific, title
from bot.services import consent as consent_records
from bot.services.consent import ConsentAction
from bot.services.plan_progress import answered_in
from bot.services.survey_status import opt_out_everywhere
from bot.services.surveys import (
    Accepted,
    Position,
    SurveyKit,
    begin_survey,
    position_of,
    submit_answer,
)
from bot.services.web_links import WebLinkProblem, open_web_link
from storage.models import Customer, Survey
from storage.unit_of_work import SqlUnitOfWork

WEB = "web"
CONSENT_WORDING = "web/consent.html"  # what a consent record names as the text the customer answered
SPECIALIST_NAME = ""  # nobody calls on the page; questionnaire texts name the store instead

ACTIVE = (SurveyStatus.PENDING, SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS, SurveyStatus.APPOINTMENT)


class Ending(StrEnum):
    """Why a link shows no question."""

    OPTED_OUT = "opted_out"  # the customer opted out (here or in any channel)
    CLOSED = "closed"  # the survey ended without closing words here (refused on the phone, expired …)


@dataclass(frozen=True)
class Who:
    """What every page shows: the store's name and the customer's title (王先生), never the phone number."""

    store_name: str
    title: str


@dataclass(frozen=True)
class Welcome:
    """The consent screen (开始 / 稍后 / 退订). ``callback_at``: a booked callback (store-local), if any."""

    who: Who
    purpose: str
    callback_at: datetime | None = None


@dataclass(frozen=True)
class Question:
    """The question the survey waits on, with its step counter (the form's staleness guard)."""

    who: Who
    position: Position
    steps: int

    @property
    def step(self) -> Step:
        return self.position.step


@dataclass(frozen=True)
class Closing:
    """The survey finished: its closing words."""

    who: Who
    text: str
    callback_at: datetime | None = None


@dataclass(frozen=True)
class Ended:
    who: Who
    why: Ending


Page = Welcome | Question | Closing | Ended
Shown = Page | WebLinkProblem


@dataclass(frozen=True)
class Stale:
    """The form was for an earlier step (reload, double tap, back button, old tab): nothing was recorded."""

    page: Page


@dataclass(frozen=True)
class NotTaken:
    """The answer was read but refused (too long, a past time …); the survey is where it was."""

    page: Question
    reason: RejectReason


@dataclass(frozen=True)
class Later:
    """稍后: nothing recorded; the link keeps working."""

    who: Who


def show(uow: SqlUnitOfWork, kit: SurveyKit, token: str) -> Shown:
    """What the link shows now (reads only)."""
    found = _open(uow, kit, token, lock=False)
    if isinstance(found, WebLinkProblem):
        return found
    return _page(uow, kit, found)


def start(uow: SqlUnitOfWork, kit: SurveyKit, token: str) -> Shown:
    """开始: keep the consent (lifting an earlier opt-out) and begin the survey; a survey already running (here,
    in chat or on the phone) continues at its question. The survey row is locked, so two taps begin it once."""
    found = _open(uow, kit, token, lock=True)
    if isinstance(found, WebLinkProblem):
        return found
    survey, customer = found.survey, found.customer
    if survey.status not in ACTIVE:
        return _page(uow, kit, found)
    now = kit.clock.now()
    customer.consent_at = now
    customer.opted_out_at = None
    customer.updated_at = now
    consent_records.record(
        uow, customer.id, channel=WEB, action=ConsentAction.CONSENT, source="web_page",
        wording=CONSENT_WORDING, now=now,
    )  # fmt: skip
    if survey.status == SurveyStatus.IN_PROGRESS and survey.state:
        answered_in(kit.plans, survey, WEB, now)  # continues where chat or the phone left it
        return _page(uow, kit, found)
    begin_survey(uow, kit, survey, WEB, SPECIALIST_NAME)
    survey.attempt_count += 1
    return _page(uow, kit, found)


def later(uow: SqlUnitOfWork, kit: SurveyKit, token: str) -> Later | Shown:
    """稍后: nothing is recorded against the survey."""
    found = _open(uow, kit, token, lock=False)
    if isinstance(found, WebLinkProblem):
        return found
    return Later(found.who)


def opt_out(uow: SqlUnitOfWork, kit: SurveyKit, token: str) -> Shown:
    """退订: the customer is never contacted again in any channel (every active survey ends, chat messages not
    yet sent are cancelled) unless they consent anew."""
    found = _open(uow, kit, token, lock=True)
    if isinstance(found, WebLinkProblem):
        return found
    survey, customer = found.survey, found.customer
    now = kit.clock.now()
    customer.opted_out_at = now
    customer.updated_at = now
    opt_out_everywhere(uow, customer.id, channel=WEB, now=now, record_for=survey.id)
    uow.flush()
    if customer.telegram_chat_id is not None:
        uow.outbox.cancel_unsent_to(str(customer.telegram_chat_id), "opted out")
    return Ended(found.who, Ending.OPTED_OUT)


def respond(
    uow: SqlUnitOfWork, kit: SurveyKit, token: str, steps: int | None, read: Callable[[Step], Input | None]
) -> Accepted | Stale | NotTaken | WebLinkProblem:
    """An answer from the page's form for step ``steps``; ``read`` turns the form into an engine input for the
    step the survey waits on (None: unreadable). Answer, state and actions are written in this unit of work."""
    found = _open(uow, kit, token, lock=True)
    if isinstance(found, WebLinkProblem):
        return found
    survey, customer = found.survey, found.customer
    state = State.from_dict(survey.state) if survey.state else None
    waiting = survey.status == SurveyStatus.IN_PROGRESS and state is not None and not state.finished
    if not waiting or customer.opted_out_at is not None or state is None or steps != state.steps:
        return Stale(_page(uow, kit, found))
    position = position_of(uow, kit, survey)
    given = read(position.step)
    if given is None:
        return NotTaken(Question(found.who, position, state.steps), RejectReason.WRONG_INPUT)
    if survey.channel != WEB:  # taken up here after chat or the phone: the plan's web stage from now
        answered_in(kit.plans, survey, WEB, kit.clock.now())
    result = submit_answer(uow, kit, survey, given, WEB)
    if isinstance(result, Rejection):
        if result.reason is RejectReason.STALE_QUESTION:
            return Stale(_page(uow, kit, found))
        return NotTaken(Question(found.who, position, state.steps), result.reason)
    return result


# --------------------------------------------------------------------------------------------------


def _open(uow: SqlUnitOfWork, kit: SurveyKit, token: str, *, lock: bool) -> Opened | WebLinkProblem:
    found = open_web_link(uow, token, kit.clock.now(), lock=lock)
    if isinstance(found, WebLinkProblem):
        return found
    survey, customer, store_name = found
    honorific = Honorific(customer.honorific) if customer.honorific else None
    return Opened(survey, customer, Who(store_name, title(customer.name, honorific)))


@dataclass(frozen=True)
class Opened:
    """What a link opens: the survey, its customer, and what the page shows of them."""

    survey: Survey
    customer: Customer
    who: Who


def _local(kit: SurveyKit, at: datetime | None) -> datetime | None:
    return at.astimezone(kit.tz).replace(tzinfo=None) if at is not None else None


def _page(uow: SqlUnitOfWork, kit: SurveyKit, found: Opened) -> Page:
    """What the survey shows now (a question with the texts of the message nodes passed on the way to it)."""
    survey, customer, who = found.survey, found.customer, found.who
    if customer.opted_out_at is not None and survey.status not in (SurveyStatus.COMPLETED, SurveyStatus.PARTIAL):
        return Ended(who, Ending.OPTED_OUT)
    state = State.from_dict(survey.state) if survey.state else None
    if survey.status == SurveyStatus.IN_PROGRESS and state is not None and not state.finished:
        position = position_of(uow, kit, survey)
        step = step_with_messages(position.questionnaire, state, kit.renderer)
        return Question(who, replace(position, step=step), state.steps)
    if survey.status in (SurveyStatus.PENDING, SurveyStatus.INVITED):
        return Welcome(who, survey.questionnaire_id)
    if state is not None and state.finished:
        closing = position_of(uow, kit, survey).step
        callback = _local(kit, survey.callback_at) if survey.status == SurveyStatus.APPOINTMENT else None
        return Closing(who, "\n\n".join([*closing.preamble, closing.text]), callback)
    if survey.status == SurveyStatus.APPOINTMENT:  # booked by a specialist: the customer may answer now
        return Welcome(who, survey.questionnaire_id, _local(kit, survey.callback_at))
    return Ended(who, Ending.CLOSED)
