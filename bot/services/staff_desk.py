"""Use cases of the staff side of chat: invitations, my tasks, done / postpone, today at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.lifecycle import TaskStatus
from bot.domain.links import LinkSubject
from bot.domain.people import Honorific, Role, title
from bot.domain.phone import mask, national
from bot.services.importing import UnitOfWorkFactory, resolve_store
from bot.services.links import LinkIssuer, issue_link
from storage.models import Staff, Task
from storage.unit_of_work import SqlUnitOfWork

# Tasks whose assignee phones the customer see the whole number; everyone else sees it masked.
CALLING_TASKS = frozenset({"callback", "recover_prospect", "follow_up", "home_visit"})


@dataclass(frozen=True)
class StoreChoice:
    """Which store a command means: ``name``; a missing store is created only with ``create`` (or when it is
    the ``default`` store and there is no store yet), in ``timezone``."""

    name: str
    timezone: str
    create: bool = False
    default: str | None = None


def invite_staff(
    uow_factory: UnitOfWorkFactory, issuer: LinkIssuer, store: StoreChoice, name: str, role: Role, clock: Clock
) -> tuple[str, bool]:
    """A one-time link binding a Telegram account to this staff member (created if new), committed; whether
    the staff member is new. UnknownStore (nothing written) if the store does not exist and may not be made."""
    with uow_factory() as uow:
        store_id = resolve_store(uow, store.name, store.timezone, store.create, clock, store.default)
        existing = uow.staff.by_names(store_id, [name]).get(name)
        created = existing is None
        if existing is None:
            staff_id = uow.staff.add(store_id, name, role, None, True, clock.now())
        else:
            staff_id = existing.id
            if existing.role != role:
                uow.staff.update(existing.id, role, existing.phone, existing.active, clock.now())
        url = issue_link(uow, issuer, LinkSubject.STAFF, staff_id, clock)
        uow.commit()
    return url, created


def staff_member(uow: SqlUnitOfWork, telegram_user_id: int) -> Staff | None:
    """The bound, active staff member behind a Telegram account (None: not staff)."""
    return uow.colleagues.by_telegram(telegram_user_id)


@dataclass(frozen=True)
class TaskCard:
    """A task as a staff member sees it."""

    task_id: int
    kind: str
    due_at: datetime
    overdue: bool
    customer_name: str
    customer_title: str
    phone: str
    vehicle: str
    note: str
    history: str


def open_tasks(uow: SqlUnitOfWork, staff: Staff, clock: Clock, limit: int = 20) -> list[TaskCard]:
    """The staff member's open tasks, soonest first, each with the customer card."""
    now = clock.now()
    cards = []
    for task in uow.tasks.open_for(staff.id)[:limit]:
        cards.append(_card(uow, task, staff, now))
    return cards


def _card(uow: SqlUnitOfWork, task: Task, viewer: Staff, now: datetime) -> TaskCard:
    customer = uow.people.get(task.customer_id)
    assert customer is not None
    honorific = Honorific(customer.honorific) if customer.honorific else None
    vehicle = uow.people.vehicle(customer.id)
    sees_number = task.staff_id == viewer.id and task.kind in CALLING_TASKS
    attempts = []
    if task.source_survey_id:
        attempts = uow.surveys.attempts(task.source_survey_id)
    history = "、".join(a.disposition for a in attempts[-3:])
    return TaskCard(
        task_id=task.id,
        kind=task.kind,
        due_at=task.due_at,
        overdue=task.due_at < now,
        customer_name=customer.name,
        customer_title=title(customer.name, honorific),
        phone=national(customer.phone) if sees_number else mask(customer.phone),
        vehicle=" ".join(p for p in (vehicle.series, vehicle.model) if p) if vehicle else "",
        note=task.note or "",
        history=history,
    )


def finish_task(uow: SqlUnitOfWork, staff: Staff, task_id: int, clock: Clock) -> TaskCard | None:
    """完成: mark the staff member's own task done (None if it is not theirs or not open)."""
    task = uow.tasks.get(task_id)
    if task is None or task.staff_id != staff.id or task.status != TaskStatus.OPEN:
        return None
    now = clock.now()
    task.status = TaskStatus.DONE.value
    task.done_at = now
    task.first_action_at = task.first_action_at or now
    return _card(uow, task, staff, now)


def postpone_task(uow: SqlUnitOfWork, staff: Staff, task_id: int, clock: Clock, hours: int = 24) -> TaskCard | None:
    """推迟: move the task a day on (counts as a first action)."""
    task = uow.tasks.get(task_id)
    if task is None or task.staff_id != staff.id or task.status != TaskStatus.OPEN:
        return None
    now = clock.now()
    task.due_at = max(task.due_at, now) + timedelta(hours=hours)
    task.first_action_at = task.first_action_at or now
    return _card(uow, task, staff, now)


@dataclass(frozen=True)
class Today:
    tasks: int
    overdue: int


def today(uow: SqlUnitOfWork, staff: Staff, clock: Clock, end_of_day: datetime) -> Today:
    """Open tasks due by the end of the local day, and how many of them are overdue."""
    now = clock.now()
    due = uow.tasks.open_for(staff.id, due_before=end_of_day)
    return Today(len(due), sum(1 for t in due if t.due_at < now))


def is_manager(staff: Staff) -> bool:
    return staff.role == Role.MANAGER.value
