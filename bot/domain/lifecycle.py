"""A survey's life, in one table: its states, the events that move it, and what each move records.

Every channel (chat, a specialist's phone call, and the channels still to come) and every job reports what
happened as an *event*; ``transition`` says which state the survey goes to and which disposition
(``bot.domain.dispositions``) and outcome the move records. Nothing else decides a survey's status.

States (stored as their ASCII value in ``survey.status``)::

    pending ──invite──► invited ──begin──► in_progress ──answer(finished)──► completed / partial / refused
       │                   │                    │                       └──► appointment ──begin──► in_progress
       │                   └──(no reply by the deadline, or no mode left in the plan)──► expired
       ├──(the plan's next mode)──► pending / in_progress (offered afresh in the next mode)
       ├──(no mode left, never offered)──► non_contact
       └── any active state ──opt-out──► cancelled;  ──call ended / call outcome (final)──► refused / partial /
                                                        non_contact / not_eligible / ended

Active states are ``pending``, ``invited``, ``in_progress`` and ``appointment``; a customer has at most one
active survey per purpose (the database enforces it). Final states absorb every event but ``recover`` (a
no-op): a stale tap or a late job on a finished survey changes nothing, and says so (``IllegalTransition``).

Plain Python: no database, no Telegram.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class SurveyStatus(StrEnum):
    """Where a survey stands."""

    PENDING = "pending"  # created, not yet offered to the customer in any mode
    INVITED = "invited"  # offered (chat invitation, SMS link, a call placed), waiting for the customer's 开始
    IN_PROGRESS = "in_progress"  # the customer is answering
    APPOINTMENT = "appointment"  # the customer chose a time to be contacted again
    COMPLETED = "completed"
    PARTIAL = "partial"  # broke off; the answers so far are kept
    REFUSED = "refused"
    NON_CONTACT = "non_contact"  # every try failed to reach the customer
    NOT_ELIGIBLE = "not_eligible"  # the number does not reach the customer (vacant, wrong number)
    EXPIRED = "expired"  # no reply by the deadline
    CANCELLED = "cancelled"  # ended from outside: opted out, superseded
    ENDED = "ended"  # ended with an outcome of no other kind

    @property
    def label(self) -> str:
        """What staff read."""
        return _STATUS_LABELS[self]

    @property
    def active(self) -> bool:
        return self in ACTIVE

    @property
    def final(self) -> bool:
        return self not in ACTIVE


_STATUS_LABELS = {
    SurveyStatus.PENDING: "待联系",
    SurveyStatus.INVITED: "已邀请",
    SurveyStatus.IN_PROGRESS: "进行中",
    SurveyStatus.APPOINTMENT: "预约回访",
    SurveyStatus.COMPLETED: "已完成",
    SurveyStatus.PARTIAL: "部分完成",
    SurveyStatus.REFUSED: "拒访",
    SurveyStatus.NON_CONTACT: "未联系上",
    SurveyStatus.NOT_ELIGIBLE: "号码无效",
    SurveyStatus.EXPIRED: "过期未回复",
    SurveyStatus.CANCELLED: "已取消（退订等）",
    SurveyStatus.ENDED: "已结束",
}

ACTIVE: frozenset[SurveyStatus] = frozenset(
    {SurveyStatus.PENDING, SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS, SurveyStatus.APPOINTMENT}
)
# In the enum's order (pending, invited, in_progress, appointment): the partial unique index's predicate is
# written from this tuple, and its text must not change.
ACTIVE_VALUES: tuple[str, ...] = tuple(s.value for s in SurveyStatus if s in ACTIVE)
INITIAL: SurveyStatus = SurveyStatus.PENDING  # every survey is created waiting to be offered
WAITING: frozenset[SurveyStatus] = frozenset({SurveyStatus.PENDING, SurveyStatus.INVITED})

# The questionnaire engine's outcome at an end node → the final state (``appointment`` stays active).
STATUS_BY_OUTCOME: dict[str, SurveyStatus] = {
    "complete": SurveyStatus.COMPLETED,
    "partial": SurveyStatus.PARTIAL,
    "refusal": SurveyStatus.REFUSED,
    "appointment": SurveyStatus.APPOINTMENT,
    "non_contact": SurveyStatus.NON_CONTACT,
    "not_eligible": SurveyStatus.NOT_ELIGIBLE,
    "no_response": SurveyStatus.EXPIRED,
    "opted_out": SurveyStatus.CANCELLED,
}


class EventKind(StrEnum):
    """What can happen to a survey."""

    INVITE = "invite"  # an invitation went out (or a call was placed) in some mode
    BEGIN = "begin"  # the customer said 开始 / picked up and agreed: the first question is asked
    # (``started=True``: begin afresh in another mode, e.g. 开始 in chat on a survey a call had begun)
    ANSWER = "answer"  # an answer was taken and the questionnaire moved on (not finished)
    FINISH = "finish"  # an answer reached an end node; ``outcome`` is the engine's outcome
    BOOK_CALLBACK = "book_callback"  # a time to call back was chosen outside the questionnaire (预约回访)
    CALL_RETRY = "call_retry"  # a try failed to reach the customer; the plan tries again later
    CALL_FINAL = "call_final"  # a try ended the survey; ``outcome``: refusal / non_contact / not_eligible / …
    END_CALL = "end_call"  # the specialist ended a running call: ``outcome`` refusal or partial
    NO_REPLY = "no_reply"  # the deadline passed without an answer
    OPT_OUT = "opt_out"  # the customer opted out (any channel): every active survey ends
    NEXT_MODE = "next_mode"  # the contact plan moved the survey to its next mode: offer it afresh
    PLAN_ENDED = "plan_ended"  # the contact plan has no usable mode left for the survey
    RECOVER = "recover"  # after a crash or a lapsed claim: stay, and re-send what the customer waits on


@dataclass(frozen=True)
class Event:
    kind: EventKind
    outcome: str | None = None  # FINISH, CALL_FINAL, END_CALL
    started: bool = False  # CALL_RETRY, NEXT_MODE: has the questionnaire been started (answers kept)?
    # BEGIN: the questionnaire runs already (in another mode) and begins afresh


@dataclass(frozen=True)
class Transition:
    """The result of one event: the next state, and what the move records."""

    status: SurveyStatus
    disposition: str | None = None  # a contact attempt to record with this disposition code
    outcome: str | None = None  # the survey's outcome, when it ends (or books a callback)
    resend: bool = False  # re-send what the customer waits on (the current question or the invitation)

    @property
    def ends(self) -> bool:
        return self.status.final


class IllegalTransition(ValueError):
    """The event does not apply to a survey in this state (e.g. an answer to a finished survey)."""

    def __init__(self, status: SurveyStatus, event: Event) -> None:
        super().__init__(f"{event.kind.value} does not apply to a {status.value} survey")
        self.status = status
        self.event = event


# The engine's outcomes → the disposition recorded for the case.
DISPOSITION_BY_OUTCOME: dict[str, str] = {
    "complete": "completed",
    "partial": "partial",
    "refusal": "refused",
    "appointment": "appointment",
}


def transition(status: SurveyStatus | str, event: Event) -> Transition:
    """The state a survey in ``status`` goes to on ``event``; raises ``IllegalTransition`` if it does not apply."""
    status = SurveyStatus(status)
    if event.kind is EventKind.RECOVER:
        return Transition(status, resend=status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS))
    if status.final:
        raise IllegalTransition(status, event)
    return _RULES[event.kind](status, event)


def _require(allowed: bool, status: SurveyStatus, event: Event) -> None:
    if not allowed:
        raise IllegalTransition(status, event)


def _opt_out(status: SurveyStatus, event: Event) -> Transition:
    return Transition(SurveyStatus.CANCELLED, disposition="opted_out", outcome="opted_out")


def _invite(status: SurveyStatus, event: Event) -> Transition:
    _require(status in WAITING, status, event)
    return Transition(SurveyStatus.INVITED)


def _begin(status: SurveyStatus, event: Event) -> Transition:
    # 开始 twice: the first question is already out
    _require(status is not SurveyStatus.IN_PROGRESS or event.started, status, event)
    return Transition(SurveyStatus.IN_PROGRESS)


def _answer(status: SurveyStatus, event: Event) -> Transition:
    _require(status is SurveyStatus.IN_PROGRESS, status, event)
    return Transition(SurveyStatus.IN_PROGRESS)


def _finish(status: SurveyStatus, event: Event) -> Transition:
    _require(status is SurveyStatus.IN_PROGRESS, status, event)
    outcome = event.outcome or "complete"
    return Transition(
        STATUS_BY_OUTCOME.get(outcome, SurveyStatus.COMPLETED),
        disposition=DISPOSITION_BY_OUTCOME.get(outcome, outcome),
        outcome=outcome,
    )


def _book_callback(status: SurveyStatus, event: Event) -> Transition:
    return Transition(SurveyStatus.APPOINTMENT, disposition="appointment", outcome="appointment")


def _call_retry(status: SurveyStatus, event: Event) -> Transition:
    if status is SurveyStatus.APPOINTMENT:  # the booked call did not reach them: back in the queue
        return Transition(SurveyStatus.IN_PROGRESS if event.started else SurveyStatus.PENDING)
    return Transition(status)


def _call_final(status: SurveyStatus, event: Event) -> Transition:
    return Transition(STATUS_BY_OUTCOME.get(event.outcome or "", SurveyStatus.ENDED), outcome=event.outcome)


def _end_call(status: SurveyStatus, event: Event) -> Transition:
    if event.outcome not in ("refusal", "partial"):
        raise IllegalTransition(status, event)
    return Transition(
        STATUS_BY_OUTCOME[event.outcome], disposition=DISPOSITION_BY_OUTCOME[event.outcome], outcome=event.outcome
    )


def _no_reply(status: SurveyStatus, event: Event) -> Transition:
    _require(status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS), status, event)
    return Transition(SurveyStatus.EXPIRED, disposition="no_reply", outcome="no_response")


def _next_mode(status: SurveyStatus, event: Event) -> Transition:
    # A booked time is a result: the plan waits for it.
    _require(status is not SurveyStatus.APPOINTMENT, status, event)
    # The mode the survey leaves recorded no reply if it had been offered there.
    offered = status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS)
    return Transition(
        SurveyStatus.IN_PROGRESS if event.started else SurveyStatus.PENDING,
        disposition="no_reply" if offered else None,
    )


def _plan_ended(status: SurveyStatus, event: Event) -> Transition:
    if status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS):
        return Transition(SurveyStatus.EXPIRED, disposition="no_reply", outcome="no_response")
    _require(status is SurveyStatus.PENDING, status, event)  # pending: never offered in any mode
    return Transition(SurveyStatus.NON_CONTACT, outcome="non_contact")


# One rule per event (RECOVER, which applies to every state, is handled in ``transition`` itself).
_RULES: dict[EventKind, Callable[[SurveyStatus, Event], Transition]] = {
    EventKind.OPT_OUT: _opt_out,
    EventKind.INVITE: _invite,
    EventKind.BEGIN: _begin,
    EventKind.ANSWER: _answer,
    EventKind.FINISH: _finish,
    EventKind.BOOK_CALLBACK: _book_callback,
    EventKind.CALL_RETRY: _call_retry,
    EventKind.CALL_FINAL: _call_final,
    EventKind.END_CALL: _end_call,
    EventKind.NO_REPLY: _no_reply,
    EventKind.NEXT_MODE: _next_mode,
    EventKind.PLAN_ENDED: _plan_ended,
}


class TaskStatus(StrEnum):
    """Where a staff task stands (stored as its value in ``task.status``)."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """Where an outbound message stands (stored as its value in ``outbound_message.status``)."""

    PENDING = "pending"  # waiting for a sender
    CLAIMED = "claimed"  # a sender took it (or the handler that recorded it sends it right after commit)
    SENT = "sent"
    FAILED = "failed"  # given up on (permanent error, or too many tries)
    CANCELLED = "cancelled"  # not to be sent any more (the customer opted out)
