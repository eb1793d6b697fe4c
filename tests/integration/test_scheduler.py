"""The scheduler's jobs with an injected clock: who is due, invitations, reminders, staff messages, outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.app import Container
from bot.domain.calling import CallingHours
from bot.domain.people import Role
from bot.services.outbox import MaybeSent, Unreachable
from scheduler import jobs
from storage.models import Customer, LeadEvent, OutboundMessage, Survey, Task, Vehicle


def at(day: date | str, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class Setup:
    def __init__(self, app: Container) -> None:
        self.app = app
        now = app.clock.now()
        with app.uow() as uow:
            self.store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
            self.consultant = uow.staff.add(self.store, "李明", Role.SALES_CONSULTANT, None, True, now)
            self.manager = uow.staff.add(self.store, "陈经理", Role.MANAGER, None, True, now)
            uow.commit()
        self.count = 0

    def customer(self, status: str, chat: int | None = None, **extra: Any) -> int:
        self.count += 1
        now = self.app.clock.now()
        with self.app.uow() as uow:
            customer = Customer(
                store_id=self.store,
                name=f"客户{self.count}",
                honorific="先生",
                phone=f"+86138001{self.count:05d}",
                status=status,
                owner_staff_id=self.consultant,
                telegram_chat_id=chat,
                created_at=now - timedelta(days=400),
                updated_at=now,
                **extra,
            )
            uow.session.add(customer)
            uow.commit()
            return customer.id

    def defeat(self, customer_id: int, day: str) -> None:
        with self.app.uow() as uow:
            uow.session.add(LeadEvent(customer_id=customer_id, kind="defeat", occurred_on=date.fromisoformat(day),
                                      created_at=self.app.clock.now()))  # fmt: skip
            uow.commit()

    def vehicle(self, customer_id: int, delivered: str | None = None, serviced: str | None = None) -> None:
        with self.app.uow() as uow:
            uow.session.add(Vehicle(customer_id=customer_id, series="轻卡",
                                    delivery_date=date.fromisoformat(delivered) if delivered else None,
                                    last_service_date=date.fromisoformat(serviced) if serviced else None,
                                    created_at=self.app.clock.now(), updated_at=self.app.clock.now()))  # fmt: skip
            uow.commit()

    def run(self, now: datetime, job: Any = jobs.select_due) -> Any:
        self.app.clock.set(now)  # type: ignore[attr-defined]
        return job(self.app.job_context())

    def surveys(self) -> list[tuple[int, str, str, str]]:
        with self.app.uow() as uow:
            rows = uow.session.execute(select(Survey.customer_id, Survey.questionnaire_id, Survey.purpose,
                                              Survey.channel).order_by(Survey.id))  # fmt: skip
            return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def world(app: Container) -> Setup:
    return Setup(app)


def test_a_defeat_is_surveyed_one_day_later_and_only_once(world: Setup) -> None:
    customer = world.customer("defeated")
    world.defeat(customer, "2026-11-24")

    assert world.run(at("2026-11-24", 18)).surveys == 0  # the same day: not yet
    assert world.run(at("2026-11-25")).surveys == 1
    assert world.run(at("2026-11-25", 11)).surveys == 0  # running twice creates nothing twice
    assert world.surveys() == [(customer, "defeat", "defeat", "phone")]


def test_defeats_older_than_thirty_days_are_left_alone(world: Setup) -> None:
    world.defeat(world.customer("defeated"), "2026-10-20")

    assert world.run(at("2026-11-25")).surveys == 0


def test_a_quasi_defeated_prospect_gets_the_survey_and_a_follow_up_task_for_the_consultant(world: Setup) -> None:
    customer = world.customer("quasi_defeated")
    world.defeat(customer, "2026-11-23")

    report = world.run(at("2026-11-25"))

    assert report.surveys == 1
    with world.app.uow() as uow:
        task = uow.session.scalars(select(Task).where(Task.kind == "recover_prospect")).one()
        assert (task.customer_id, task.staff_id) == (customer, world.consultant)


def test_a_new_owner_is_surveyed_three_days_after_delivery(world: Setup) -> None:
    customer = world.customer("owner")
    world.vehicle(customer, delivered="2026-11-22")

    world.run(at("2026-11-24"))
    assert world.surveys() == []
    world.run(at("2026-11-25"))

    assert world.surveys() == [(customer, "delivery_3day", "delivery_3day", "phone")]


def test_one_survey_per_customer_in_thirty_days_and_the_most_important_wins(world: Setup) -> None:
    customer = world.customer("owner")
    world.vehicle(customer, delivered="2026-11-22", serviced="2025-01-10")  # due for delivery and lapsed

    world.run(at("2026-11-25"))
    world.run(at("2026-12-20"))  # 25 days later: still inside the 30-day cap
    assert [s[1] for s in world.surveys()] == ["delivery_3day"]

    world.run(at("2026-12-26"))  # 31 days later: the next one
    assert [s[1] for s in world.surveys()] == ["delivery_3day", "lapsed"]


def test_lapsed_customers_are_surveyed_once_per_stage(world: Setup) -> None:
    customer = world.customer("lapsed")
    world.vehicle(customer, serviced="2026-05-20")  # six months before 2026-11-20

    world.run(at("2026-11-25"))
    world.run(at("2027-01-10"))  # still the 6-month stage: nothing new
    world.run(at("2027-05-25"))  # 12 months: the next stage

    assert [s[2] for s in world.surveys()] == ["lapsed:6", "lapsed:12"]


def test_six_months_before_the_31st_of_august_is_the_end_of_february(world: Setup) -> None:
    from bot.domain.due import months_before

    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2028, 8, 31), 6) == date(2028, 2, 29)


def test_an_opted_out_customer_is_never_selected(world: Setup) -> None:
    customer = world.customer("defeated", opted_out_at=at("2026-11-01"))
    world.defeat(customer, "2026-11-24")

    assert world.run(at("2026-11-25")).surveys == 0


def test_a_customer_bound_to_chat_gets_a_chat_survey_and_an_invitation_inside_calling_hours(world: Setup) -> None:
    customer = world.customer("defeated", chat=7001)
    world.defeat(customer, "2026-11-24")
    world.run(at("2026-11-25", 8))

    assert world.surveys() == [(customer, "defeat", "defeat", "chat")]
    assert world.run(at("2026-11-25", 8, 30), jobs.send_invitations) == 0  # before 09:00
    assert world.run(at("2026-11-25", 9), jobs.send_invitations) == 1
    assert world.run(at("2026-11-25", 9, 5), jobs.send_invitations) == 0  # never a second copy


def test_no_invitations_go_out_on_a_public_holiday(world: Setup, app: Container) -> None:
    customer = world.customer("defeated", chat=7002)
    world.defeat(customer, "2026-09-29")
    world.run(at("2026-09-30", 8))

    assert world.run(at("2026-10-01", 10), jobs.send_invitations) == 0  # National Day
    assert world.run(at("2026-10-09", 10), jobs.send_invitations) == 1


def test_an_unanswered_invitation_gets_one_reminder_after_a_day_and_moves_to_the_call_queue_after_a_week(
    world: Setup,
) -> None:
    # Issue #12 changed this on purpose: an unanswered chat survey no longer expires after the chat stage's
    # wait (7 days in scripts_zh/contact_plans.yaml) but moves on to the plan's next usable mode, a
    # specialist's call (SMS and voice are not configured). It expires only when no mode is left.
    customer = world.customer("defeated", chat=7003)
    world.defeat(customer, "2026-11-24")
    world.run(at("2026-11-25", 8))
    world.run(at("2026-11-25", 10), jobs.send_invitations)

    assert world.run(at("2026-11-26", 9), jobs.remind_and_expire) == (0, 0)  # 23 h
    assert world.run(at("2026-11-26", 10, 5), jobs.remind_and_expire) == (1, 0)
    assert world.run(at("2026-11-27", 11), jobs.remind_and_expire) == (0, 0)
    assert world.run(at("2026-12-02", 7, 59), jobs.remind_and_expire) == (0, 0)  # the chat stage's wait runs
    assert world.run(at("2026-12-02", 8, 1), jobs.remind_and_expire) == (0, 0)  # moved on, not ended
    with world.app.uow() as uow:
        survey = uow.session.scalars(select(Survey)).one()
        assert (survey.status, survey.channel, survey.outcome) == ("pending", "phone", None)
        attempts = [(a.channel, a.disposition) for a in uow.surveys.attempts(survey.id)]
        keys = uow.session.scalars(select(OutboundMessage.idempotency_key).order_by(OutboundMessage.id)).all()
    assert attempts == [("chat", "invited"), ("chat", "reminded"), ("chat", "no_reply")]
    assert keys == [f"invite:{survey.id}", f"remind:{survey.id}"]


def test_a_callback_is_reminded_ten_minutes_before_and_overdue_tasks_escalate_to_the_manager(world: Setup) -> None:
    customer = world.customer("defeated")
    with world.app.uow() as uow:
        uow.session.get_one(type(uow.colleagues.get(world.consultant)), world.consultant).telegram_user_id = 801
        uow.colleagues.get(world.manager).telegram_user_id = 802  # type: ignore[union-attr]
        uow.session.add(Task(staff_id=world.consultant, customer_id=customer, kind="callback",
                             due_at=at("2026-11-25", 15), status="open", created_at=at("2026-11-24")))  # fmt: skip
        uow.session.add(Task(staff_id=world.consultant, customer_id=customer, kind="follow_up",
                             due_at=at("2026-11-24", 9), status="open", created_at=at("2026-11-23")))  # fmt: skip
        uow.commit()

    assert world.run(at("2026-11-25", 9), jobs.urgent) == 1  # the follow-up is a day overdue
    assert world.run(at("2026-11-25", 14, 49), jobs.urgent) == 0
    assert world.run(at("2026-11-25", 14, 50), jobs.urgent) == 1  # 10 minutes before the callback
    assert world.run(at("2026-11-25", 14, 51), jobs.urgent) == 0
    with world.app.uow() as uow:
        rows = uow.session.execute(select(OutboundMessage.idempotency_key, OutboundMessage.recipient)).all()
    assert sorted(rows) == [("callback:1", "801"), ("escalate:2:" + str(world.manager), "802")]


class RecordingSender:
    """A Sender that records what it was asked to send (and can fail on purpose)."""

    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail or {}

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        if recipient in self.fail:
            raise self.fail.pop(recipient)
        await asyncio.sleep(0)
        self.sent.append((recipient, message["text"]))


def _queue(app: Container, *recipients: str) -> None:
    with app.uow() as uow:
        for recipient in recipients:
            uow.outbox.add(f"test:{recipient}", "telegram", recipient, {"text": f"你好 {recipient}"}, app.clock.now())
        uow.commit()


async def test_sending_the_outbox_twice_or_from_two_senders_at_once_sends_each_message_once(app: Container) -> None:
    _queue(app, *(str(900 + i) for i in range(20)))
    first, second = RecordingSender(), RecordingSender()
    ctx = app.job_context()

    await asyncio.gather(jobs.deliver(ctx, first), jobs.deliver(ctx, second))
    await jobs.deliver(ctx, first)

    sent = first.sent + second.sent
    assert sorted(r for r, _ in sent) == sorted(str(900 + i) for i in range(20))


async def test_a_message_claimed_by_a_crashed_sender_is_sent_later_exactly_once(app: Container) -> None:
    _queue(app, "950")
    with app.uow() as uow:  # a process claims it and dies before sending
        (message_id,) = uow.outbox.claimable(app.clock.now(), app.clock.now(), 10)
        assert uow.outbox.claim(message_id, app.clock.now(), app.clock.now())
        uow.commit()
    sender = RecordingSender()

    await jobs.deliver(app.job_context(), sender)
    assert sender.sent == []  # the claim is still fresh

    app.clock.set(app.clock.now() + timedelta(minutes=6))  # type: ignore[attr-defined]
    await jobs.deliver(app.job_context(), sender)
    await jobs.deliver(app.job_context(), sender)
    assert sender.sent == [("950", "你好 950")]


async def test_a_timed_out_send_is_not_repeated_and_a_blocked_chat_is_marked_unreachable(app: Container) -> None:
    world = Setup(app)
    customer = world.customer("defeated", chat=960)
    with app.uow() as uow:
        uow.outbox.add("t1", "telegram", "960", {"text": "甲", "customer_id": customer}, app.clock.now())
        uow.outbox.add("t2", "telegram", "961", {"text": "乙"}, app.clock.now())
        uow.commit()
    sender = RecordingSender({"960": Unreachable(), "961": MaybeSent()})

    await jobs.deliver(app.job_context(), sender)
    await jobs.deliver(app.job_context(), sender)

    assert sender.sent == []
    with app.uow() as uow:
        assert uow.session.get(Customer, customer).chat_unreachable_at is not None  # type: ignore[union-attr]
        assert uow.session.scalar(select(func.count()).where(OutboundMessage.status == "failed")) == 2


async def test_an_opt_out_after_queueing_wins_over_the_queued_message(app: Container) -> None:
    world = Setup(app)
    customer = world.customer("defeated", chat=970)
    with app.uow() as uow:
        uow.outbox.add("t3", "telegram", "970", {"text": "邀请", "customer_id": customer}, app.clock.now())
        uow.session.get(Customer, customer).opted_out_at = app.clock.now()  # type: ignore[union-attr]
        uow.commit()
    sender = RecordingSender()

    report = await jobs.deliver(app.job_context(), sender)

    assert sender.sent == [] and report.cancelled == 1


def test_the_weekly_summary_goes_to_every_bound_manager_with_three_phone_sized_images(
    world: Setup, tmp_path: Any
) -> None:
    with world.app.uow() as uow:
        uow.colleagues.get(world.manager).telegram_user_id = 802  # type: ignore[union-attr]
        uow.commit()
    ctx = world.app.job_context()
    ctx = type(ctx)(**{**ctx.__dict__, "chart_dir": tmp_path})
    world.app.clock.set(at("2026-11-30", 9))  # type: ignore[attr-defined]

    assert jobs.weekly_summary(ctx, world.app.report_settings()) == 1
    assert jobs.weekly_summary(ctx, world.app.report_settings()) == 0  # never twice
    with world.app.uow() as uow:
        message = uow.session.scalars(select(OutboundMessage)).one()
    assert message.idempotency_key == f"weekly:2026-W48:{world.manager}"
    assert message.payload["text"].startswith("📊 上周回访汇总（2026-W48，11/23–11/29）")
    names = [Path(p).name for p in message.payload["photos"]]
    assert names == ["weekly-2026-W48-funnel.png", "weekly-2026-W48-reasons.png", "weekly-2026-W48-people.png"]
    for name in names:
        assert Image.open(tmp_path / name).size == (1080, 1350)


def test_calling_hours_come_from_settings_with_public_holidays(app: Container) -> None:
    hours = app.calling_hours()

    assert isinstance(hours, CallingHours)
    assert date(2026, 10, 1) in hours.holidays and date(2026, 11, 25) not in hours.holidays


def _tasks(world: Setup) -> list[tuple[int, str]]:
    with world.app.uow() as uow:
        return [tuple(r) for r in uow.session.execute(select(Task.customer_id, Task.kind).order_by(Task.id))]  # type: ignore[misc]


def test_intent_customers_get_follow_up_tasks_by_level_not_surveys(world: Setup) -> None:
    hot = world.customer("prospect", intent_level="A")
    warm = world.customer("prospect", intent_level="B")
    cool = world.customer("prospect", intent_level="C")
    with world.app.uow() as uow:
        uow.session.add(LeadEvent(customer_id=hot, kind="test_drive", occurred_on=date(2026, 11, 24),
                                  created_at=at("2026-11-24")))  # fmt: skip
        uow.commit()

    world.run(at("2026-11-25"))
    assert sorted(_tasks(world)) == [(hot, "follow_up"), (warm, "follow_up"), (cool, "follow_up")]
    assert world.surveys() == []

    world.run(at("2026-11-27"))  # two days on: nothing new yet
    assert len(_tasks(world)) == 3
    world.run(at("2026-11-29"))  # B twice a week: 84 hours later
    assert sorted(_tasks(world))[1:] == [(warm, "follow_up"), (warm, "follow_up"), (cool, "follow_up")]
    world.run(at("2026-12-26"))  # C once a month
    assert sum(1 for c, _ in _tasks(world) if c == cool) == 2


def test_a_new_intent_customer_gets_a_first_reply_task_within_a_day(world: Setup, app: Container) -> None:
    now = at("2026-11-25", 9)
    with app.uow() as uow:
        customer = Customer(store_id=world.store, name="新客", phone="+8613911112222", status="prospect",
                            owner_staff_id=world.consultant, created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.commit()
        customer_id = customer.id

    world.run(at("2026-11-25", 10))

    with app.uow() as uow:
        task = uow.session.scalars(select(Task).where(Task.customer_id == customer_id)).one()
    assert (task.kind, task.due_at) == ("first_reply", now + timedelta(hours=24))


def test_owners_get_a_home_visit_task_every_three_months(world: Setup) -> None:
    owner = world.customer("owner")
    world.vehicle(owner, delivered="2025-06-01", serviced="2026-10-01")

    world.run(at("2026-11-25"))
    world.run(at("2027-01-25"))  # two months on: not yet
    world.run(at("2027-02-24"))  # ninety-one days on: the next visit

    assert [kind for c, kind in _tasks(world) if c == owner] == ["home_visit", "home_visit"]
