"""Use cases shared by every channel: create, begin, show and answer a survey, and carry out its actions.

Chat and phone both call these inside one unit of work; the survey's engine state is written in the same
transaction as its answers, so a restart resumes at the same question and nothing is recorded twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.callback_time import callback_time_problem
from bot.domain.calling import CallingHours
from bot.domain.clock import Clock
from bot.domain.contact_plan import ContactPlan, Mode, unconfigured
from bot.domain.engine import BookCallback, Input, Rejection, State, Step, answer, current_step, start
from bot.domain.lifecycle import Event, EventKind, SurveyStatus, TaskStatus
from bot.domain.people import Honorific, title
from bot.domain.questionnaire import ActionKind, NodeKind, Questionnaire, successors
from bot.questionnaires import Catalog, load_text
from bot.rendering import TemplateRenderer
from bot.services import survey_status
from bot.services.plan_progress import answered_in
from storage.models import Answer, Customer, Survey, Task
from storage.unit_of_work import SqlUnitOfWork

QUESTION_KINDS = {NodeKind.SINGLE, NodeKind.MULTI, NodeKind.TEXT, NodeKind.RATING, NodeKind.CALLBACK}


@dataclass(frozen=True)
class SurveyKit:
    """What every survey use case needs besides the unit of work."""

    catalog: Catalog
    renderer: TemplateRenderer
    clock: Clock
    tz: ZoneInfo
    hours: CallingHours = field(default_factory=CallingHours)  # when a callback may be booked (and is offered)
    # The contact plans and the modes set up here; None: no plan (a mode's own end is the survey's end).
    plans: Mapping[str, ContactPlan] | None = None
    modes: frozenset[Mode] = frozenset({Mode.CHAT, Mode.PHONE})

    def unconfigured_modes(self) -> tuple[Mode, ...]:
        """Modes the contact plans name that are not set up here: every survey skips them (said in the summary)."""
        return unconfigured((self.plans or {}).values(), self.modes)

    def local_now(self) -> datetime:
        """Now in the store's zone, without the zone: how typed and offered callback times are written."""
        return self.clock.now().astimezone(self.tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Position:
    """Where a survey stands: the step to show, with its question number on this path."""

    survey_id: int
    ref: str
    questionnaire: Questionnaire
    step: Step
    number: int
    total: int

    @property
    def finished(self) -> bool:
        return self.step.finished


@dataclass(frozen=True)
class Accepted:
    """An answer was taken: what was answered (to mark the old message) and where the survey is now."""

    position: Position
    answered_node_id: str
    answered_label: str
    moved: bool


def survey_ref(survey_id: int) -> str:
    """The short id that goes into callback data."""
    return _base36(survey_id)


SURVEY_ID_MAX = 2**31 - 1  # the survey id column is a 32-bit integer on both databases


def survey_id_of(ref: str) -> int | None:
    """The survey id a ref stands for; None if the ref is not one of ours (forged data never reaches SQL)."""
    if not re.fullmatch(r"[0-9a-z]{1,7}", ref):
        return None
    number = int(ref, 36)
    return number if 0 < number <= SURVEY_ID_MAX else None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def create_survey(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    customer_id: int,
    questionnaire_id: str,
    purpose: str,
    channel: str,
    due_at: datetime | None = None,
) -> Survey | None:
    """A new survey waiting to be sent, pinned to the current questionnaire version.

    None when the customer already has an active survey for this purpose (created by another process a
    moment ago, say): the database holds at most one, so the caller takes None as "already done"."""
    questionnaire = kit.catalog.get(questionnaire_id)
    now = kit.clock.now()
    uow.surveys.pin_version(questionnaire.ref, questionnaire.id, questionnaire.text, now)
    return survey_status.create(
        uow,
        {
            "customer_id": customer_id,
            "questionnaire_id": questionnaire.id,
            "questionnaire_version": questionnaire.ref,
            "purpose": purpose,
            "channel": channel,
            "due_at": due_at or now,
            "created_at": now,
            "updated_at": now,
            "attempt_count": 0,
            "reminders_sent": 0,
        },
    )


def questionnaire_of(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey) -> Questionnaire:
    """The exact questionnaire version the survey is pinned to (rebuilt from stored text if the file changed)."""
    pinned = kit.catalog.by_ref.get(survey.questionnaire_version)
    if pinned is not None:
        return pinned
    text = uow.surveys.pinned_text(survey.questionnaire_version)
    if text is None:
        raise LookupError(f"questionnaire version {survey.questionnaire_version} is not stored")
    questionnaire = load_text(text, survey.questionnaire_version)
    kit.catalog.add(questionnaire)
    return questionnaire


def piping_context(uow: SqlUnitOfWork, customer: Customer, specialist_name: str) -> dict[str, Any]:
    """What question texts may mention: the customer, their car, their consultant, the store, the caller."""
    vehicle = uow.people.vehicle(customer.id)
    consultant = uow.people.staff(customer.owner_staff_id)
    honorific = Honorific(customer.honorific) if customer.honorific else None
    delivery = vehicle.delivery_date if vehicle and vehicle.delivery_date else None
    return {
        "customer": {
            "title": title(customer.name, honorific),
            "name": customer.name,
            "model": (vehicle.model or vehicle.series or "") if vehicle else "",
            "series": (vehicle.series or "") if vehicle else "",
            "delivery_date": f"{delivery.year}年{delivery.month}月{delivery.day}日" if delivery else "",
        },
        "consultant": {"name": consultant.name if consultant else "销售顾问"},
        "store": {"name": uow.people.store_name(customer.store_id)},
        "specialist": {"name": specialist_name},
    }


def begin_survey(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey, channel: str, specialist_name: str) -> Position:
    """Start (or restart after a booked callback) the questionnaire and return its first question."""
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    questionnaire = questionnaire_of(uow, kit, survey)
    result = start(questionnaire, piping_context(uow, customer, specialist_name), kit.renderer)
    now = kit.clock.now()
    if survey.state:
        # A new round after a booked callback: the earlier round's "not now" and time are contact history
        # (kept as attempts), not answers, and the questions are asked afresh.
        uow.surveys.clear_answers(survey.id)
    survey.state = result.state.to_dict()
    survey.current_step = result.state.node_id
    again = survey.status == SurveyStatus.IN_PROGRESS  # running in another mode: begins afresh here
    survey_status.move(uow, survey, Event(EventKind.BEGIN, started=again), channel=channel, now=now)
    answered_in(kit.plans, survey, channel, now)
    survey.started_at = survey.started_at or now
    return _position(survey, questionnaire, result.state, result.step)


def position_of(uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey) -> Position:
    """The question a running survey waits on (re-rendered from the stored state)."""
    questionnaire = questionnaire_of(uow, kit, survey)
    state = State.from_dict(survey.state or {})
    return _position(survey, questionnaire, state, current_step(questionnaire, state, kit.renderer))


def submit_answer(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    survey: Survey,
    given: Input,
    channel: str,
    staff_id: int | None = None,
) -> Accepted | Rejection:
    """Give the survey one input. On success answers, state and actions are written in this unit of work."""
    questionnaire = questionnaire_of(uow, kit, survey)
    state = State.from_dict(survey.state or {})
    if isinstance(given, BookCallback) and isinstance(given.at, datetime) and given.earliest is not None:
        problem = callback_time_problem(given.at, given.earliest, kit.hours)
        if problem is not None:
            return Rejection(problem, f"callback time {given.at:%Y-%m-%d %H:%M} refused", state)
    outcome = answer(questionnaire, state, given, kit.renderer)
    if isinstance(outcome, Rejection):
        return outcome
    now = kit.clock.now()
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    points = {a.question_id: a.points for a in outcome.actions if a.kind is ActionKind.ADD_SCORE}
    score_names = {a.question_id: a.score for a in outcome.actions if a.kind is ActionKind.ADD_SCORE}
    seen_questions: set[str] = set()
    rows = []
    for record in outcome.records:
        first = record.question_id not in seen_questions
        seen_questions.add(record.question_id)
        rows.append(
            Answer(
                survey_id=survey.id,
                question_id=record.question_id,
                option_code=record.option_code or "",
                reason_code=record.reason_code,
                reason_group=record.reason_group,
                free_text=record.text,
                rating=record.rating,
                score_name=score_names.get(record.question_id) if first else None,
                score_points=points.get(record.question_id) if first else None,
                answered_at=now,
            )
        )
    uow.surveys.add_answers(rows)
    _carry_out(uow, kit, survey, customer, outcome.actions, now)
    new_state = outcome.state
    survey.state = new_state.to_dict()
    survey.current_step = new_state.node_id
    survey.updated_at = now
    if new_state.finished:
        _finish(uow, survey, customer, new_state, channel, staff_id, now)
    moved = new_state.node_id != state.node_id
    label = new_state.answers[-1].label if moved and new_state.answers else ""
    position = _position(survey, questionnaire, new_state, outcome.step)
    return Accepted(position, state.node_id, label, moved)


def _finish(
    uow: SqlUnitOfWork,
    survey: Survey,
    customer: Customer,
    state: State,
    channel: str,
    staff_id: int | None,
    now: datetime,
) -> None:
    outcome = state.outcome or "complete"
    survey_status.move(
        uow,
        survey,
        Event(EventKind.FINISH, outcome),
        channel=channel,
        now=now,
        staff_id=staff_id,
        next_try_at=survey.callback_at if outcome == "appointment" else None,
    )
    if survey.questionnaire_id == "owner_care" and outcome == "complete":
        customer.loyalty_score = state.score("loyalty")
        customer.updated_at = now


def _carry_out(
    uow: SqlUnitOfWork, kit: SurveyKit, survey: Survey, customer: Customer, actions: Any, now: datetime
) -> None:
    """Turn the engine's declared actions into tasks, alerts, status changes and callbacks."""
    for action in actions:
        if action.kind is ActionKind.SET_STATUS and action.status:
            customer.status = action.status
            customer.updated_at = now
        elif action.kind is ActionKind.CREATE_TASK and action.role:
            _task(uow, survey, customer, action.role, action.task or "follow_up", now, action.due_hours or 24)
        elif action.kind is ActionKind.ALERT_MANAGER:
            for manager in uow.colleagues.managers(customer.store_id):
                task = uow.tasks.add(
                    Task(
                        staff_id=manager.id,
                        customer_id=customer.id,
                        kind="alert",
                        due_at=now,
                        status=TaskStatus.OPEN,
                        source_survey_id=survey.id,
                        note=action.reason,
                        created_at=now,
                    )
                )
                if manager.telegram_user_id:
                    honorific = Honorific(customer.honorific) if customer.honorific else None
                    uow.outbox.add(
                        f"alert:{survey.id}:{action.question_id}:{manager.id}",
                        "telegram",
                        str(manager.telegram_user_id),
                        {
                            "template": "manager_alert",
                            "context": {
                                "customer_title": title(customer.name, honorific),
                                "reason_label": alert_label(action.reason),
                            },
                            "task_id": task.id,
                        },
                        now,
                    )
        elif action.kind is ActionKind.BOOK_CALLBACK:
            at = _callback_time(action.at, action.after_hours, now, kit.tz)
            survey.callback_at = at
            survey.next_try_at = at
            _task(uow, survey, customer, action.role or "cs_specialist", "callback", now, due_at=at)


ALERT_LABELS = {
    "sales_attitude_complaint": "销售人员态度投诉",
    "service_attitude_complaint": "服务态度投诉",
    "complaint": "客户投诉",
    "complaint_elsewhere": "曾在外投诉",
    "unresolved_complaint": "投诉未解决",
    "low_consultant_score": "销售顾问评分过低",
    "low_delivery_score": "交车评分过低",
    "low_satisfaction_score": "满意度过低",
    "new_car_problem": "新车问题",
}


def alert_label(reason: str | None) -> str:
    """Chinese wording of an alert reason code for the manager."""
    return ALERT_LABELS.get(reason or "", reason or "客户预警")


def _task(
    uow: SqlUnitOfWork,
    survey: Survey,
    customer: Customer,
    role: str,
    kind: str,
    now: datetime,
    due_hours: int = 24,
    due_at: datetime | None = None,
) -> None:
    owner = uow.people.staff(customer.owner_staff_id)
    staff = owner if owner is not None and owner.role == role and owner.active else None
    staff = staff or uow.colleagues.least_busy(customer.store_id, role)
    uow.tasks.add(
        Task(
            staff_id=staff.id if staff else None,
            customer_id=customer.id,
            kind=kind,
            due_at=due_at or now + timedelta(hours=due_hours),
            status=TaskStatus.OPEN,
            source_survey_id=survey.id,
            created_at=now,
        )
    )


def _callback_time(at: str | None, after_hours: int | None, now: datetime, tz: ZoneInfo) -> datetime:
    if at:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:  # the customer picked a wall-clock time in the store's zone
            moment = moment.replace(tzinfo=tz)
        return moment.astimezone(now.tzinfo)
    return now + timedelta(hours=after_hours or 24)


def _position(survey: Survey, questionnaire: Questionnaire, state: State, step: Step) -> Position:
    answered = len({a.question_id for a in state.answers if _is_question(questionnaire, a.question_id)})
    number = answered + (0 if step.finished else 1)
    remaining = _longest_remaining(questionnaire.ref, questionnaire, step.node_id)
    return Position(survey.id, survey_ref(survey.id), questionnaire, step, number, answered + remaining)


def _is_question(questionnaire: Questionnaire, node_id: str) -> bool:
    return questionnaire.has_node(node_id) and questionnaire.node(node_id).kind in QUESTION_KINDS


def _longest_remaining(ref: str, questionnaire: Questionnaire, node_id: str) -> int:
    return _remaining_table(ref, questionnaire)[node_id]


@lru_cache(maxsize=64)
def _remaining_table_cached(ref: str) -> dict[str, int]:  # pragma: no cover - filled by _remaining_table
    return {}


def _remaining_table(ref: str, questionnaire: Questionnaire) -> dict[str, int]:
    """Questions still ahead on the longest path from each node (the questionnaire graph has no cycles)."""
    table = _remaining_table_cached(ref)
    if table:
        return table
    memo: dict[str, int] = {}

    def depth(node_id: str) -> int:
        if node_id not in memo:
            node = questionnaire.node(node_id)
            here = 1 if node.kind in QUESTION_KINDS else 0
            memo[node_id] = here + max((depth(n) for n in successors(node)), default=0)
        return memo[node_id]

    for node in questionnaire.nodes:
        depth(node.id)
    table.update(memo)
    return table
