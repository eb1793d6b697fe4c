"""Due selection stays cheap whatever the planner knows: its cost does not grow with the recent surveys.

Counted in SQLite virtual-machine steps (``set_progress_handler``), not seconds, so the test is exact on a
busy machine: a pass over customers due for the lost-prospect survey, on a database that was migrated and
filled but never analysed (as ``huifang db upgrade`` followed by a bulk load leaves it), must do about the same
work beside 2,000 recent surveys of that questionnaire as beside 100. The plan that read every recent survey
for each customer due cost minutes a pass at 100,000 of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bot.app import Container
from bot.domain.due import DueRules
from bot.domain.people import Honorific
from storage.database import make_engine
from storage.queries.due import survey_candidates
from storage.schema import upgrade
from tests.conftest import PG_URL

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
DUE = 200


def _database(path: Path, recent_surveys: int) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    stamp = (NOW - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S.%f")
    recent = (NOW - timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S.%f")
    customers = DUE + recent_surveys
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO store (id, name, timezone, created_at) VALUES (1, 's', 'UTC', :t)"), {"t": stamp}
        )
        connection.execute(
            text(
                "INSERT INTO customer (id, store_id, name, honorific, phone, status, created_at, updated_at) "
                "VALUES (:id, 1, 'c', :honorific, :phone, 'defeated', :t, :t)"
            ),
            [
                {"id": n, "honorific": Honorific.MR.value, "phone": f"+8613900{n:06d}", "t": stamp}
                for n in range(1, customers + 1)
            ],
        )
        connection.execute(
            text("INSERT INTO lead_event (customer_id, kind, occurred_on, created_at) VALUES (:id, 'defeat', :d, :t)"),
            [{"id": n, "d": TODAY - timedelta(days=3), "t": stamp} for n in range(1, customers + 1)],
        )
        connection.execute(
            text(
                "INSERT INTO survey (customer_id, questionnaire_id, questionnaire_version, purpose, channel, "
                "status, attempt_count, reminders_sent, stage_attempts, created_at, updated_at) "
                "VALUES (:id, 'defeat', 'defeat@1', 'defeat', 'phone', 'completed', 1, 0, 0, :t, :t)"
            ),
            [{"id": n, "t": recent} for n in range(DUE + 1, customers + 1)],
        )
    return engine


def _steps(engine: Engine) -> tuple[int, int]:
    """SQLite VM steps (in thousands) of the survey candidates query, and the customers it found due."""
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.set_progress_handler(tick, 1000)  # type: ignore[union-attr]
        with Session(bind=connection) as session:
            found = survey_candidates(session, NOW, TODAY, DueRules())
        raw.set_progress_handler(None, 0)  # type: ignore[union-attr]
    return counted[0], sum(1 for c in found if c.purpose == "defeat")


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    few, many = _database(tmp_path / "few.db", 100), _database(tmp_path / "many.db", 2000)
    yield few, many
    few.dispose()
    many.dispose()


@pytest.mark.skipif(bool(PG_URL), reason="counts SQLite's own steps")
def test_a_due_pass_does_the_same_work_beside_many_recent_surveys_as_beside_few(engines: tuple[Engine, Engine]) -> None:
    few, many = engines
    few_steps, few_due = _steps(few)
    many_steps, many_due = _steps(many)
    assert few_due == many_due == DUE  # the same customers are due; the surveyed ones are not
    # Each customer is read once either way (1,900 more in the second database); what must not happen is a
    # check of one customer reading other customers' surveys: fewer steps in all than 200 x 2,000 rows.
    assert many_steps * 1000 < DUE * 2000, (few_steps, many_steps)


def _grouped_defeats(session: Session, rules: DueRules, limit: int) -> list[tuple[int, date]]:
    """The reference: every customer's latest defeat in the window, grouped first (the shape before #16)."""
    from sqlalchemy import and_, exists, func, select

    from storage.models import Customer, LeadEvent, Survey

    day = func.max(LeadEvent.occurred_on)
    return [
        (cid, d)
        for cid, d in session.execute(
            select(Customer.id, day)
            .join(LeadEvent, and_(LeadEvent.customer_id == Customer.id, LeadEvent.kind == "defeat"))
            .where(
                LeadEvent.occurred_on >= TODAY - timedelta(days=rules.defeat_max_age_days),
                LeadEvent.occurred_on <= TODAY - timedelta(days=rules.defeat_after_days),
                Customer.status.in_(("defeated", "quasi_defeated")),
                Customer.opted_out_at.is_(None),
                ~exists().where(
                    Survey.customer_id == Customer.id,
                    Survey.created_at >= NOW - timedelta(days=rules.survey_gap_days),
                ),
                ~exists().where(
                    Survey.customer_id == Customer.id,
                    Survey.questionnaire_id == "defeat",
                    Survey.created_at >= NOW - timedelta(days=rules.defeat_max_age_days + 1),
                ),
            )
            .group_by(Customer.id)
            .order_by(day, Customer.id)
            .limit(limit)
        ).all()
    ]


def test_the_defeat_walk_finds_the_same_customers_and_days_as_grouping_every_defeat(app: Container) -> None:
    """Several defeats per customer, some outside the window or today, opted out, surveyed: the walk
    that stops at the limit gives exactly the rows (and order) of the grouped query."""
    from storage.models import Customer, LeadEvent, Survey

    rules = DueRules()
    with app.uow() as uow:
        store = uow.stores.add("店", "Asia/Shanghai", NOW)
        for n in range(1, 61):
            status = ("defeated", "quasi_defeated", "prospect")[n % 3]
            customer = Customer(store_id=store, name=f"c{n}", honorific=Honorific.MR.value, phone=f"+86139000{n:05d}",
                                status=status, opted_out_at=NOW if n % 17 == 0 else None, created_at=NOW,
                                updated_at=NOW)  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            for ago in {n % 40, (n * 7) % 35, 99 if n % 5 else 0}:  # in and out of the window, today
                on = TODAY - timedelta(days=ago)
                uow.session.add(LeadEvent(customer_id=customer.id, kind="defeat", occurred_on=on, created_at=NOW))
            if n % 7 == 0:
                uow.session.add(Survey(customer_id=customer.id, questionnaire_id="defeat", questionnaire_version="v",
                                       purpose="defeat", channel="phone", status="completed", attempt_count=1,
                                       reminders_sent=0, created_at=NOW - timedelta(days=n % 45),
                                       updated_at=NOW))  # fmt: skip
        uow.commit()
    with app.uow() as uow:
        for limit in (1000, 7):
            walked = [
                (c.customer_id, c.since.date())
                for c in survey_candidates(uow.session, NOW, TODAY, replace(rules, batch_limit=limit))
                if c.purpose == "defeat"
            ]
            assert walked == [(cid, _day(d)) for cid, d in _grouped_defeats(uow.session, rules, limit)]
        assert len(walked) == 7


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
