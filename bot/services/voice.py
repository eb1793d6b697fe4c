"""Use cases of the automated voice call (智能外呼): which surveys to call, and each turn of a call.

Provider-neutral: a voice adapter (``bot/voice/twiml.py``) turns its webhooks into the calls below and the
returned ``Reply`` actions (``bot.domain.voice_dialog``) into its markup. Every function is one unit of work
and commits before it returns, so what the customer said is stored before the robot says the next thing.

Crash safety:

* A call's row (``voice_call``, with its own random ``key``) is committed before the provider is asked to
  place it, and the key is in every webhook URL: a call placed just before a crash is still found.
* Each question put to the customer is a numbered ``turn`` and the gather's action URL carries it. A request
  for an older turn (the provider retrying a webhook huifang never answered, or answered just before it died)
  changes nothing and gets the current question again; the engine also refuses an answer to a question that
  was answered already. So an answer is stored once, never twice, and never lost once acknowledged.
* A call whose end the provider never reported is ended by the dialler after ``stale_after`` (answers kept).

At most one live call per survey (a partial unique index); the dialler works under a lock of its own, so
two processes never place the same call.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.calling import RetryRules, decide
from bot.domain.lifecycle import Event, EventKind, SurveyStatus, TaskStatus
from bot.domain.voice_dialog import (
    Action,
    DialogRules,
    Hangup,
    Heard,
    Keys,
    Phrases,
    Silence,
    Speech,
    answering_machine,
    ask,
    call_disposition,
    goodbye,
    person,
    read,
)
from bot.services.calls import apply_decision
from bot.services.plan_progress import count_try, enter, may_try_now, next_mode_after_giving_up
from bot.services.survey_status import move, opt_out_everywhere
from bot.services.surveys import Accepted, SurveyKit, begin_survey, position_of, submit_answer
from storage.models import ContactAttempt, Survey, Task, VoiceCall
from storage.unit_of_work import SqlUnitOfWork

VOICE = "voice"
DIALLER_LOCK = "voice_dialler"


@dataclass(frozen=True)
class VoiceSettings:
    """The voice channel's knobs, gathered from settings by the composition root."""

    phrases: Phrases
    rules: DialogRules = field(default_factory=DialogRules)
    retry: RetryRules = field(default_factory=RetryRules)
    max_concurrent: int = 5
    stale_after: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class CallOrder:
    """A call to place: our key (in every webhook URL) and the number (E.164)."""

    key: str
    to: str


@dataclass(frozen=True)
class Reply:
    """What the robot does next; ``turn`` goes into the next gather's action URL."""

    actions: tuple[Action, ...]
    turn: int


class UnknownCall(LookupError):
    """No call with this key (a forged or mistyped URL)."""


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _utc(local: datetime, tz: ZoneInfo, like: datetime) -> datetime:
    return local.replace(tzinfo=tz).astimezone(like.tzinfo)


# ------------------------------------------------------------------------------------------------ dialler


def plan_calls(uow: SqlUnitOfWork, kit: SurveyKit, cfg: VoiceSettings, now: datetime) -> list[CallOrder]:
    """The calls to place now: inside calling hours only (holidays and closed weekends excluded), never to an
    opted-out customer, at most ``max_concurrent`` live calls in all, each survey's stage with a try left.
    Each is recorded (a live ``voice_call`` row, a try of the voice stage, the survey invited) and committed
    before the caller asks the provider to place it. Calls whose end was never reported are ended first."""
    uow.serialise(DIALLER_LOCK)
    sweep_stale(uow, kit, cfg, now)
    orders: list[CallOrder] = []
    if kit.hours.is_open(_local(now, kit.tz)):
        room = cfg.max_concurrent - uow.voice_calls.live_count()
        for survey, customer in uow.voice_calls.due_surveys(now, room):
            if kit.plans is not None and survey.questionnaire_id in kit.plans and not may_try_now(kit.plans, survey):
                continue  # the stage's tries are used up: the plan moves it on when its wait runs out
            key = secrets.token_urlsafe(16)
            uow.voice_calls.add(VoiceCall(key=key, survey_id=survey.id, created_at=now))
            survey.attempt_count += 1
            count_try(survey)
            if survey.status in (SurveyStatus.PENDING, SurveyStatus.INVITED):
                move(uow, survey, Event(EventKind.INVITE), channel=VOICE, now=now)
            orders.append(CallOrder(key, customer.phone))
    uow.commit()
    return orders


def call_placed(uow: SqlUnitOfWork, key: str, provider_sid: str, now: datetime) -> None:
    """The provider accepted the call: remember its id."""
    call = uow.voice_calls.by_key(key, for_update=True)
    if call is not None and call.provider_sid is None:
        call.provider_sid = provider_sid
        call.placed_at = now
    uow.commit()


def call_not_placed(uow: SqlUnitOfWork, kit: SurveyKit, cfg: VoiceSettings, key: str, now: datetime) -> None:
    """The provider refused to place the call (or could not be reached): the call ends as 无法接通 and the
    retry rules decide when to try again."""
    call = uow.voice_calls.by_key(key, for_update=True)
    if call is not None and call.ended_at is None:
        _end(uow, kit, cfg, call, "failed", None, None, now)
    uow.commit()


def sweep_stale(uow: SqlUnitOfWork, kit: SurveyKit, cfg: VoiceSettings, now: datetime) -> int:
    """End the calls whose end the provider never reported within ``stale_after`` (the caller commits)."""
    stale = uow.voice_calls.live_before(now - cfg.stale_after)
    for call in stale:
        _end(uow, kit, cfg, call, "completed" if call.answered_at else "failed", None, None, now)
    return len(stale)


# ------------------------------------------------------------------------------------------------ a call


def answered(
    uow: SqlUnitOfWork, kit: SurveyKit, cfg: VoiceSettings, key: str, answered_by: str | None, now: datetime
) -> Reply:
    """The call was answered: an answering machine gets a message or nothing; a person hears the opening
    (or, for a survey begun earlier, the question it waits on)."""
    call, survey = _open(uow, key)
    if call.ended_at is not None or not SurveyStatus(survey.status).active:
        return Reply((Hangup(),), call.turn)
    if call.answered_at is None:
        call.answered_at = now
        call.answered_by = answered_by
    if answered_by is not None and answered_by.startswith("machine"):
        uow.commit()
        return Reply(answering_machine(cfg.phrases, cfg.rules), call.turn)
    if call.turn > 0:  # this webhook again (the provider retried it): the current question, nothing new
        reply = Reply(ask(position_of(uow, kit, survey).step, cfg.phrases, cfg.rules), call.turn)
        uow.rollback()
        return reply
    running = survey.status == SurveyStatus.IN_PROGRESS
    resumable = bool(survey.state) and running and not position_of(uow, kit, survey).finished
    # A survey begun in another mode goes on at its question; otherwise the questionnaire starts here.
    position = position_of(uow, kit, survey) if resumable else begin_survey(uow, kit, survey, VOICE, cfg.phrases.robot)
    survey.channel = VOICE
    call.turn = 1
    call.misses = 0
    actions = ask(position.step, cfg.phrases, cfg.rules, first=True)
    uow.commit()
    return Reply(actions, call.turn)


def heard(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    cfg: VoiceSettings,
    key: str,
    turn: int,
    event: Keys | Speech | Silence,
    now: datetime,
) -> Reply:
    """The customer's keys, speech or silence for question ``turn``: store the answer and ask the next
    question, re-prompt, or end the call (closing words, opt-out, a person, too many misses)."""
    call, survey = _open(uow, key)
    if call.ended_at is not None or survey.status != SurveyStatus.IN_PROGRESS or survey.channel != VOICE:
        uow.rollback()
        return Reply((Hangup(),), call.turn)
    position = position_of(uow, kit, survey)
    if turn != call.turn or position.finished:  # a replayed request: say the current question again
        actions = ask(position.step, cfg.phrases, cfg.rules)
        uow.rollback()
        return Reply(actions, call.turn)
    reading = read(position.step, event, call.misses, cfg.rules, kit.local_now())
    if reading.heard is Heard.ANSWER and reading.given is not None:
        result = submit_answer(uow, kit, survey, reading.given, VOICE)
        if isinstance(result, Accepted):
            call.turn += 1
            call.misses = 0
            if result.position.finished:
                call.disposition = survey.outcome
            return _reply(uow, ask(result.position.step, cfg.phrases, cfg.rules), call)
        # Understood but refused by the questionnaire (a time outside calling hours, a rating out of range).
        reading = read(position.step, Silence(), call.misses, cfg.rules, None)
    match reading.heard:
        case Heard.REPEAT:
            call.turn += 1
            return _reply(uow, ask(position.step, cfg.phrases, cfg.rules), call)
        case Heard.MISS:
            call.turn += 1
            call.misses += 1
            return _reply(uow, ask(position.step, cfg.phrases, cfg.rules, sorry=True), call)
        case Heard.OPT_OUT:
            customer = uow.people.get(survey.customer_id)
            assert customer is not None
            customer.opted_out_at = now
            opt_out_everywhere(uow, customer.id, channel=VOICE, now=now, record_for=survey.id)
            call.disposition = "opted_out"
            return _reply(uow, goodbye(cfg.phrases.opted_out), call)
        case Heard.PERSON:
            _to_a_person(uow, kit, survey, now)
            call.disposition = "appointment"
            return _reply(uow, person(cfg.phrases, cfg.rules), call)
        case _:  # GIVE_UP
            _give_up(uow, kit, survey, now)
            call.disposition = "partial"
            return _reply(uow, goodbye(cfg.phrases.give_up), call)


def ended(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    cfg: VoiceSettings,
    key: str,
    status: str,
    sip_code: int | None,
    answered_by: str | None,
    now: datetime,
) -> None:
    """The provider's final call status. A call that never reached a person is a contact attempt with its
    disposition (无人接听, 占线, 空号, 答录机 …) and the retry rules decide what follows; a person who hung up
    before the end leaves the survey partial (客户先挂; the answers so far are kept). Reported twice, it
    counts once."""
    call, _ = _open(uow, key)
    if call.ended_at is None:
        _end(uow, kit, cfg, call, status, sip_code, answered_by, now)
    uow.commit()


def _open(uow: SqlUnitOfWork, key: str) -> tuple[VoiceCall, Survey]:
    call = uow.voice_calls.by_key(key, for_update=True)
    if call is None:
        raise UnknownCall(key)
    survey = uow.surveys.get(call.survey_id, for_update=True)
    assert survey is not None  # the call's row goes with its survey (ON DELETE CASCADE)
    return call, survey


def _reply(uow: SqlUnitOfWork, actions: tuple[Action, ...], call: VoiceCall) -> Reply:
    turn = call.turn
    uow.commit()
    return Reply(actions, turn)


def _end(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    cfg: VoiceSettings,
    call: VoiceCall,
    status: str,
    sip_code: int | None,
    answered_by: str | None,
    now: datetime,
) -> None:
    call.ended_at = now
    survey = uow.surveys.get(call.survey_id, for_update=True)
    assert survey is not None
    by = answered_by or call.answered_by
    human = call.answered_at is not None and not (by or "").startswith("machine")
    disposition = call_disposition(status, sip_code, by, human)
    if disposition is None:
        if survey.status == SurveyStatus.IN_PROGRESS and survey.channel == VOICE:
            # The customer hung up before the end (客户先挂): the answers so far are kept, the case is partial.
            move(uow, survey, Event(EventKind.END_CALL, "partial"), channel=VOICE, now=now)
            call.disposition = "partial"
        return
    call.disposition = disposition
    if not SurveyStatus(survey.status).active or survey.channel != VOICE:
        return
    earlier = [
        (a.disposition, _local(a.attempted_at, kit.tz)) for a in uow.surveys.attempts(survey.id) if a.channel == VOICE
    ]
    decision = decide(disposition, _local(now, kit.tz), earlier, kit.hours, cfg.retry)
    uow.surveys.add_attempt(
        ContactAttempt(
            survey_id=survey.id,
            channel=VOICE,
            attempted_at=now,
            disposition=disposition,
            next_try_at=_utc(decision.at, kit.tz, now) if decision.at else None,
        )
    )
    apply_decision(uow, kit, survey, decision, now, channel=VOICE)


def _give_up(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey, now: datetime) -> None:
    """Too many misses: the answers so far are kept (partial) and the plan's next usable mode (a specialist,
    say) takes the survey up where it stopped; with no mode left the survey ends partial."""
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    step = None
    if kit.plans is not None and survey.questionnaire_id in kit.plans:
        step = next_mode_after_giving_up(kit.plans, survey, customer, kit.modes, now)
    if step is None:
        move(uow, survey, Event(EventKind.END_CALL, "partial"), channel=VOICE, now=now)
        return
    move(uow, survey, Event(EventKind.NEXT_MODE, started=True), channel=VOICE, now=now, record=False)
    uow.surveys.add_attempt(ContactAttempt(survey_id=survey.id, channel=VOICE, attempted_at=now, disposition="partial"))
    enter(survey, step)
    survey.next_try_at = None


def _to_a_person(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey, now: datetime) -> None:
    """转人工: the survey waits for a specialist's call from now on (a callback due now, first in the queue),
    with the answers so far; a task tells the specialists. A transfer, if set up, connects the call too."""
    move(uow, survey, Event(EventKind.BOOK_CALLBACK), channel=VOICE, now=now, next_try_at=now)
    survey.callback_at = now
    survey.next_try_at = now
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    specialist = uow.colleagues.least_busy(customer.store_id, "cs_specialist")
    uow.tasks.add(
        Task(
            staff_id=specialist.id if specialist else None,
            customer_id=customer.id,
            kind="callback",
            due_at=now,
            status=TaskStatus.OPEN,
            source_survey_id=survey.id,
            created_at=now,
        )
    )


# ------------------------------------------------------------------------------------- one unit of work each


@dataclass(frozen=True)
class VoiceDesk:
    """The voice use cases bound to a unit-of-work factory: what a provider adapter calls (from a worker
    thread: each call is one blocking transaction)."""

    uow: Callable[[], SqlUnitOfWork]
    kit: SurveyKit
    cfg: VoiceSettings
    serial_writes: bool = False  # the database takes one writer at a time (SQLite): run these on one thread

    def plan_calls(self) -> list[CallOrder]:
        with self.uow() as uow:
            return plan_calls(uow, self.kit, self.cfg, self.kit.clock.now())

    def call_placed(self, key: str, provider_sid: str) -> None:
        with self.uow() as uow:
            call_placed(uow, key, provider_sid, self.kit.clock.now())

    def call_not_placed(self, key: str) -> None:
        with self.uow() as uow:
            call_not_placed(uow, self.kit, self.cfg, key, self.kit.clock.now())

    def answered(self, key: str, answered_by: str | None) -> Reply:
        with self.uow() as uow:
            return answered(uow, self.kit, self.cfg, key, answered_by, self.kit.clock.now())

    def heard(self, key: str, turn: int, event: Keys | Speech | Silence) -> Reply:
        with self.uow() as uow:
            return heard(uow, self.kit, self.cfg, key, turn, event, self.kit.clock.now())

    def ended(self, key: str, status: str, sip_code: int | None, answered_by: str | None) -> None:
        with self.uow() as uow:
            ended(uow, self.kit, self.cfg, key, status, sip_code, answered_by, self.kit.clock.now())
