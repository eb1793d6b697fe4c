"""The due selection in SQL: who is due for a survey or a follow-up task now.

Each query filters on indexed columns (lead_event kind/date, vehicle delivery and last service dates,
customer status, survey customer/created) and stops at a limit, so one pass over a million customers
takes well under a second. Policy across purposes (one survey per customer) is applied afterwards in
``bot.domain.due.one_per_customer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from bot.domain.due import Candidate, DueRules, lapsed_purpose
from bot.domain.lapse import LapseStage
from storage.models import Customer, LeadEvent, Survey, Task, Vehicle


def _no_recent_survey(since: datetime):  # type: ignore[no-untyped-def]
    return ~exists().where(Survey.customer_id == Customer.id, Survey.created_at >= since)


def _reachable():  # type: ignore[no-untyped-def]
    return Customer.opted_out_at.is_(None)


def survey_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[Candidate]:
    """Every customer due for a survey now, with the purpose and since when (before the per-customer policy)."""
    found: list[Candidate] = []
    for purpose in (_defeat_candidates, _delivery_candidates, _lapsed_candidates, _owner_care_candidates):
        found += purpose(session, now, today, rules)
    return found


def _defeat_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[Candidate]:
    gap = now - timedelta(days=rules.survey_gap_days)
    limit = rules.batch_limit
    # 战败 / 准战败: a defeat between 1 and 30 days ago, no defeat survey since. Walk the defeats from the oldest
    # and keep each customer's latest one in the window (no later one; one per day is a unique key), so the pass
    # stops after ``limit`` customers instead of grouping every defeat of the month first.
    latest_on = today - timedelta(days=rules.defeat_after_days)
    later = aliased(LeadEvent)
    rows: Sequence[Any] = session.execute(
        select(Customer.id, LeadEvent.occurred_on)
        .join(LeadEvent, and_(LeadEvent.customer_id == Customer.id, LeadEvent.kind == "defeat"))
        .where(
            LeadEvent.occurred_on >= today - timedelta(days=rules.defeat_max_age_days),
            LeadEvent.occurred_on <= latest_on,
            ~exists().where(
                later.customer_id == LeadEvent.customer_id,
                later.kind == "defeat",
                later.occurred_on <= latest_on,
                later.occurred_on > LeadEvent.occurred_on,
            ),
            Customer.status.in_(("defeated", "quasi_defeated")),
            _reachable(),
            _no_recent_survey(gap),
            ~exists().where(
                Survey.customer_id == Customer.id,
                Survey.questionnaire_id == "defeat",
                Survey.created_at >= now - timedelta(days=rules.defeat_max_age_days + 1),
            ),
        )
        .order_by(LeadEvent.occurred_on, Customer.id)
        .limit(limit)
    ).all()
    return [Candidate(cid, "defeat", "defeat", _at(day)) for cid, day in rows]


def _delivery_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[Candidate]:
    gap = now - timedelta(days=rules.survey_gap_days)
    limit = rules.batch_limit
    # 交车三日: delivered 3 days ago (or a little more, if the pass was missed), once.
    rows: Sequence[Any] = session.execute(
        select(Customer.id, func.max(Vehicle.delivery_date))
        .join(Vehicle, Vehicle.customer_id == Customer.id)
        .where(
            Vehicle.delivery_date <= today - timedelta(days=rules.delivery_after_days),
            Vehicle.delivery_date >= today - timedelta(days=rules.delivery_window_days),
            Customer.status == "owner",
            _reachable(),
            _no_recent_survey(gap),
            ~exists().where(
                Survey.customer_id == Customer.id,
                Survey.questionnaire_id == "delivery_3day",
                Survey.created_at >= now - timedelta(days=rules.delivery_window_days + 1),
            ),
        )
        .group_by(Customer.id)
        .order_by(func.max(Vehicle.delivery_date), Customer.id)
        .limit(limit)
    ).all()
    return [Candidate(cid, "delivery_3day", "delivery_3day", _at(day)) for cid, day in rows if day is not None]


def _lapsed_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[Candidate]:
    gap = now - timedelta(days=rules.survey_gap_days)
    limit = rules.batch_limit
    found: list[Candidate] = []
    # 流失: no workshop visit for 6 / 12 / 24 months (``rules.lapse``); once per stage (the stage is kept in the
    # purpose).
    pre = rules.lapse.cutoffs(today)[LapseStage.PRE]
    # Walk the last-service index from the oldest visit and keep each customer's latest car only (no newer
    # visit on another car), so the pass stops after ``limit`` rows instead of grouping every owner.
    newer = aliased(Vehicle)
    rows: Sequence[Any] = session.execute(
        select(Customer.id, Vehicle.last_service_date)
        .join(Vehicle, Vehicle.customer_id == Customer.id)
        .where(
            Vehicle.last_service_date <= pre,
            Customer.status.in_(("owner", "lapsed")),
            _reachable(),
            _no_recent_survey(gap),
            ~exists().where(newer.customer_id == Customer.id, newer.last_service_date > Vehicle.last_service_date),
        )
        .order_by(Vehicle.last_service_date, Customer.id)
        .limit(limit)
    ).all()
    rows = list({cid: (cid, day) for cid, day in rows}.values())
    if rows:
        done = set(
            session.execute(
                select(Survey.customer_id, Survey.purpose).where(
                    Survey.customer_id.in_([cid for cid, _ in rows]), Survey.questionnaire_id == "lapsed"
                )
            ).all()
        )
        for cid, day in rows:
            stage = rules.lapse.stage_of(day, today)
            if stage is None:
                continue
            purpose = lapsed_purpose(stage, rules.lapse)
            if (cid, purpose) not in done:
                found.append(Candidate(cid, "lapsed", purpose, _at(day)))
    return found


def _owner_care_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[Candidate]:
    limit = rules.batch_limit
    # 基盘关怀: owners, once a month.
    rows: Sequence[Any] = session.execute(
        select(Customer.id, Customer.created_at)
        .where(
            Customer.status == "owner",
            _reachable(),
            ~exists().where(
                Survey.customer_id == Customer.id,
                Survey.created_at >= now - timedelta(days=min(rules.survey_gap_days, rules.owner_care_every_days)),
            ),
            # A new owner's first month belongs to the delivery survey.
            ~exists().where(
                Vehicle.customer_id == Customer.id,
                Vehicle.delivery_date > today - timedelta(days=rules.owner_care_every_days),
            ),
        )
        .order_by(Customer.id)
        .limit(limit)
    ).all()
    return [Candidate(cid, "owner_care", "owner_care", created) for cid, created in rows]


def _at(day: date | datetime) -> datetime:
    """A stored day as an aware datetime (midnight UTC; used for ordering and as a due base)."""
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class DueTask:
    """A follow-up task a consultant owes now, keyed by the task of this kind it follows.

    ``key`` names the customer, the kind and the latest task of that kind when the task was found due (0:
    none), so two schedulers that find the same task due at once derive the same key, and the database's
    unique index on it lets only one of them open it; a later task follows a newer one and gets a new key.
    """

    customer_id: int
    staff_id: int
    kind: str
    due_at: datetime
    after: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.customer_id}:after:{self.after}"


def task_candidates(session: Session, now: datetime, today: date, rules: DueRules) -> list[DueTask]:
    """Follow-up tasks the consultants owe now."""
    found: list[DueTask] = []
    for kind in (_intent_a_tasks, _intent_b_c_tasks, _first_reply_tasks, _visit_and_recovery_tasks):
        found += kind(session, now, today, rules)
    return found


def _no_task(kind: str, since: datetime) -> ColumnElement[bool]:
    return ~exists().where(Task.customer_id == Customer.id, Task.kind == kind, Task.created_at >= since)


def _latest(kind: str) -> ColumnElement[int]:
    """The customer's newest task of this kind (0 if none): what a new one follows."""
    newest = select(func.max(Task.id)).where(Task.customer_id == Customer.id, Task.kind == kind)
    return func.coalesce(newest.correlate(Customer).scalar_subquery(), 0)


def _owned() -> ColumnElement[bool]:
    return and_(Customer.owner_staff_id.is_not(None), _reachable())


def _intent_a_tasks(session: Session, now: datetime, today: date, rules: DueRules) -> list[DueTask]:
    # Intent A: within 72 h of a test drive.
    rows: Sequence[Any] = session.execute(
        select(Customer.id, Customer.owner_staff_id, func.max(LeadEvent.occurred_on), _latest("follow_up"))
        .join(LeadEvent, and_(LeadEvent.customer_id == Customer.id, LeadEvent.kind == "test_drive"))
        .where(
            _owned(),
            Customer.status == "prospect",
            Customer.intent_level.in_(("H", "A")),
            LeadEvent.occurred_on >= today - timedelta(days=-(-rules.intent_a_hours // 24)),
            _no_task("follow_up", now - timedelta(hours=rules.intent_a_hours)),
        )
        .group_by(Customer.id, Customer.owner_staff_id)
        .limit(rules.batch_limit)
    ).all()
    return [
        DueTask(cid, sid, "follow_up", _at(day) + timedelta(hours=rules.intent_a_hours), after)
        for cid, sid, day, after in rows
    ]


def _intent_b_c_tasks(session: Session, now: datetime, today: date, rules: DueRules) -> list[DueTask]:
    found: list[DueTask] = []
    # Intent B twice a week, C once a month.
    for level, every in (
        ("B", timedelta(hours=rules.intent_b_every_hours)),
        ("C", timedelta(days=rules.intent_c_every_days)),
    ):
        rows: Sequence[Any] = session.execute(
            select(Customer.id, Customer.owner_staff_id, _latest("follow_up"))
            .where(
                _owned(),
                Customer.status == "prospect",
                Customer.intent_level == level,
                _no_task("follow_up", now - every),
            )
            .order_by(Customer.id)
            .limit(rules.batch_limit)
        ).all()
        found += [DueTask(cid, sid, "follow_up", now + timedelta(hours=24), after) for cid, sid, after in rows]
    return found


def _first_reply_tasks(session: Session, now: datetime, today: date, rules: DueRules) -> list[DueTask]:
    # A first reply to a new intent customer within 24 h (only before any task: it follows none).
    rows: Sequence[Any] = session.execute(
        select(Customer.id, Customer.owner_staff_id, Customer.created_at)
        .where(
            _owned(),
            Customer.status == "prospect",
            Customer.created_at >= now - timedelta(hours=rules.first_reply_hours),
            ~exists().where(Task.customer_id == Customer.id),
        )
        .limit(rules.batch_limit)
    ).all()
    return [
        DueTask(cid, sid, "first_reply", created + timedelta(hours=rules.first_reply_hours), 0)
        for cid, sid, created in rows
        if sid is not None  # ``owned`` asks for an owner; this says so to the type checker
    ]


def _visit_and_recovery_tasks(session: Session, now: datetime, today: date, rules: DueRules) -> list[DueTask]:
    found: list[DueTask] = []
    # Owners: a home visit every three months; quasi-defeated prospects: a recovery follow-up.
    for status, kind, every in (
        ("owner", "home_visit", timedelta(days=rules.home_visit_every_days)),
        ("quasi_defeated", "recover_prospect", timedelta(days=rules.survey_gap_days)),
    ):
        rows: Sequence[Any] = session.execute(
            select(Customer.id, Customer.owner_staff_id, _latest(kind))
            .where(_owned(), Customer.status == status, _no_task(kind, now - every))
            .order_by(Customer.id)
            .limit(rules.batch_limit)
        ).all()
        found += [
            DueTask(cid, sid, kind, now + timedelta(days=7 if kind == "home_visit" else 1), after)
            for cid, sid, after in rows
        ]
    return found
