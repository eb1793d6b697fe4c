"""Nothing the scheduler creates exists twice. One active survey per customer and purpose: the database refuses
a second, creating one takes that as done, and the migration that brought the rule resolves duplicates already
stored the same way every time. A due follow-up task is opened once, whoever finds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.app import Container
from bot.domain.due import DueRules
from bot.domain.people import Role
from bot.services.surveys import create_survey
from storage.models import Customer, Survey, Task
from storage.queries.due import task_candidates
from storage.schema import alembic_config, upgrade


def _customer(app: Container) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        customer = Customer(store_id=store, name="王建国", phone="+8613800138000", status="owner", created_at=now,
                            updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.commit()
        return customer.id


def _row(customer_id: int, app: Container, status: str, purpose: str = "owner_care", **extra: object) -> dict:
    now = app.clock.now()
    return {"customer_id": customer_id, "questionnaire_id": "owner_care", "questionnaire_version": "owner_care@1",
            "purpose": purpose, "channel": "chat", "status": status, "created_at": now, "updated_at": now,
            "attempt_count": 0, "reminders_sent": 0, **extra}  # fmt: skip


def test_the_database_refuses_a_second_active_survey_for_the_same_customer_and_purpose(app: Container) -> None:
    customer = _customer(app)
    with app.uow() as uow:
        uow.session.execute(insert(Survey), [_row(customer, app, "invited")])
        uow.commit()

    with app.uow() as uow, pytest.raises(IntegrityError):
        uow.session.execute(insert(Survey), [_row(customer, app, "pending")])


def test_a_finished_survey_or_another_purpose_leaves_room_for_a_new_one(app: Container) -> None:
    customer = _customer(app)
    with app.uow() as uow:
        uow.session.execute(
            insert(Survey),
            [
                _row(customer, app, "completed"),
                _row(customer, app, "expired"),
                _row(customer, app, "pending"),
                _row(customer, app, "pending", purpose="lapsed:6"),
            ],
        )
        uow.commit()
        statuses = sorted(uow.session.scalars(select(Survey.status)))

    assert statuses == ["completed", "expired", "pending", "pending"]


def test_creating_a_survey_the_customer_already_has_active_is_taken_as_already_done(app: Container) -> None:
    customer = _customer(app)
    kit = app.survey_kit()
    with app.uow() as uow:
        first = create_survey(uow, kit, customer, "owner_care", "owner_care", "chat")
        uow.commit()
    with app.uow() as uow:
        second = create_survey(uow, kit, customer, "owner_care", "owner_care", "phone")
        uow.commit()
        surveys = list(uow.session.scalars(select(Survey.id)))

    assert first is not None and second is None
    assert surveys == [first.id]


def test_the_migration_keeps_the_survey_furthest_along_and_closes_the_other_duplicates(app: Container) -> None:
    customer = _customer(app)
    config = alembic_config(app.engine)
    command.downgrade(config, "0002_reporting")
    try:
        earlier = app.clock.now() - timedelta(days=2)
        with app.uow() as uow:
            uow.session.execute(
                insert(Survey),
                [
                    _row(customer, app, "pending", created_at=earlier),  # oldest, but not started
                    _row(customer, app, "in_progress"),  # the customer is answering this one
                    _row(customer, app, "invited"),
                    _row(customer, app, "pending", purpose="lapsed:6", created_at=earlier),  # oldest of its purpose
                    _row(customer, app, "pending", purpose="lapsed:6"),
                    _row(customer, app, "completed"),  # finished: not a duplicate
                ],
            )
            uow.commit()
    finally:
        upgrade(app.engine)

    with app.uow() as uow:
        rows = uow.session.execute(select(Survey.id, Survey.status, Survey.outcome).order_by(Survey.id)).all()
    assert [tuple(r) for r in rows] == [
        (1, "cancelled", "duplicate"),
        (2, "in_progress", None),
        (3, "cancelled", "duplicate"),
        (4, "pending", None),
        (5, "cancelled", "duplicate"),
        (6, "completed", None),
    ]


def test_a_due_task_two_schedulers_found_at_the_same_moment_is_opened_once(app: Container) -> None:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        uow.session.add(Customer(store_id=store, name="张三", phone="+8613800138001", status="prospect",
                                 intent_level="B", owner_staff_id=consultant, created_at=now - timedelta(days=9),
                                 updated_at=now))  # fmt: skip
        uow.commit()
    rules = DueRules()
    with app.uow() as uow:  # both schedulers look before either has written
        found = task_candidates(uow.session, now, app.clock.now().date(), rules)

    opened = []
    for _scheduler in (1, 2):
        with app.uow() as uow:
            opened += [uow.tasks.add_scheduled(t.staff_id, t.customer_id, t.kind, t.due_at, t.key, now) for t in found]
            uow.commit()
    with app.uow() as uow:
        tasks = list(uow.session.scalars(select(Task.kind)))

    assert [t.kind for t in found] == ["follow_up"]
    assert opened == [True, False]
    assert tasks == ["follow_up"]
