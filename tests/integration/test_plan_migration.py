"""Migration 0005_contact_plan on a database holding surveys: their place in the plan is back-filled, nothing
is lost or moved by the upgrade, and the web mode is allowed afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from bot.app import Container
from storage.models import Customer
from storage.schema import alembic_config, upgrade

SURVEY = sa.table(
    "survey",
    *(sa.column(c) for c in ("id", "customer_id", "questionnaire_id", "questionnaire_version", "purpose", "channel",
                             "status", "attempt_count", "reminders_sent", "created_at", "updated_at")),
)  # fmt: skip


def _customer(app: Container) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        customer = Customer(store_id=store, name="王建国", phone="+8613800138000", status="owner", created_at=now,
                            updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.commit()
        return customer.id


def _survey(customer: int, app: Container, number: int, channel: str, status: str, **extra: object) -> dict:
    then = app.clock.now() - timedelta(days=30)
    return {"id": number, "customer_id": customer, "questionnaire_id": "owner_care",
            "questionnaire_version": "owner_care@1", "purpose": f"owner_care:{number}", "channel": channel,
            "status": status, "attempt_count": 0, "reminders_sent": 0, "created_at": then, "updated_at": then,
            **extra}  # fmt: skip


def test_the_upgrade_places_every_survey_in_its_mode_and_keeps_its_answers(app: Container) -> None:
    customer = _customer(app)
    config = alembic_config(app.engine)
    command.downgrade(config, "0004_crash_recovery")
    try:
        with app.engine.begin() as connection:
            connection.execute(
                sa.insert(SURVEY),
                [
                    _survey(customer, app, 1, "chat", "pending"),
                    _survey(customer, app, 2, "chat", "invited", reminders_sent=1),
                    _survey(customer, app, 3, "phone", "pending", attempt_count=3),
                    _survey(customer, app, 4, "chat", "completed"),
                ],
            )
            connection.execute(
                sa.text("INSERT INTO answer (survey_id, question_id, option_code, answered_at) "
                        "VALUES (4, 'q1', 'yes', :at)"),
                {"at": app.clock.now()},
            )  # fmt: skip
    finally:
        upgrade(app.engine)

    with app.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, plan_stage, stage_attempts, stage_entered_at IS NOT NULL FROM survey ORDER BY id")
        ).all()
        answers = connection.execute(sa.text("SELECT count(*) FROM answer")).scalar()
    # Not placed yet (the plan places each at its mode's stage), tries so far counted, a full wait from now.
    assert [(r[0], r[1], r[2], bool(r[3])) for r in rows] == [
        (1, None, 0, True),  # chat, not invited yet
        (2, None, 2, True),  # chat: the invitation and the reminder
        (3, None, 3, True),  # phone: three dials
        (4, None, 1, True),  # chat, finished: it had been invited
    ]
    assert answers == 1


def test_after_the_upgrade_a_survey_may_be_in_the_web_mode_but_not_in_an_unknown_one(app: Container) -> None:
    customer = _customer(app)
    with app.engine.begin() as connection:
        connection.execute(sa.insert(SURVEY), [_survey(customer, app, 1, "web", "pending")])
    with pytest.raises(IntegrityError), app.engine.begin() as connection:
        connection.execute(sa.insert(SURVEY), [_survey(customer, app, 2, "fax", "pending")])


def test_the_upgrade_can_be_undone_and_redone(app: Container) -> None:
    config = alembic_config(app.engine)
    command.downgrade(config, "0004_crash_recovery")
    upgrade(app.engine)

    with app.engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("survey")}
    assert {"plan_stage", "stage_entered_at", "stage_attempts"} <= columns
