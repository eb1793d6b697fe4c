"""The contact plan on a real database, with the clock moved on: a survey starts in the first mode that can
reach the customer, moves to the next when its mode's wait runs out, and ends when no mode is left; a
refusal ends it in every mode; a mode not set up here is skipped, and the jobs say so."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Container
from bot.domain.calling import PhoneSettings, RetryRules
from bot.domain.contact_plan import Mode, plan_from_mapping
from bot.domain.people import Role
from bot.services import calls, chat
from bot.services.calls import CallCard
from scheduler import jobs
from storage.models import Customer, LeadEvent, OutboundMessage, Staff, Survey

ROOT = Path(__file__).resolve().parents[2]


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class World:
    def __init__(self, app: Container) -> None:
        self.app = app
        now = app.clock.now()
        with app.uow() as uow:
            self.store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
            self.consultant = uow.staff.add(self.store, "李明", Role.SALES_CONSULTANT, None, True, now)
            uow.staff.add(self.store, "周芳", Role.CS_SPECIALIST, None, True, now)
            uow.commit()
        self.count = 0
        self.modes = frozenset({Mode.CHAT, Mode.PHONE})

    def defeated(self, chat: int | None = None, phone: str | None = None) -> int:
        """A customer lost on 2026-11-24 (due for the defeat survey the next day)."""
        self.count += 1
        now = self.app.clock.now()
        with self.app.uow() as uow:
            customer = Customer(store_id=self.store, name=f"客户{self.count}", honorific="先生",
                                phone=f"+86138002{self.count:05d}" if phone is None else phone, status="defeated",
                                owner_staff_id=self.consultant, telegram_chat_id=chat,
                                created_at=now - timedelta(days=400), updated_at=now)  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            uow.session.add(LeadEvent(customer_id=customer.id, kind="defeat", occurred_on=date(2026, 11, 24),
                                      created_at=now))  # fmt: skip
            uow.commit()
            return customer.id

    def run(self, moment: datetime, job: Any) -> Any:
        self.app.clock.set(moment)  # type: ignore[attr-defined]
        return job(replace(self.app.job_context(), modes=self.modes))

    def survey(self) -> Survey:
        with self.app.uow() as uow:
            return uow.session.scalars(select(Survey)).one()

    def next_call(self, moment: datetime) -> CallCard | None:
        self.app.clock.set(moment)  # type: ignore[attr-defined]
        with self.app.uow() as uow:
            staff = uow.session.scalars(select(Staff).where(Staff.name == "周芳")).one()
            card = calls.next_call(uow, self.app.survey_kit(), PhoneSettings(), staff)
            uow.commit()
        assert card is None or isinstance(card, CallCard)
        return card

    def dial(self, moment: datetime, survey_id: int, code: str, phone: PhoneSettings | None = None) -> None:
        self.app.clock.set(moment)  # type: ignore[attr-defined]
        with self.app.uow() as uow:
            staff = uow.session.scalars(select(Staff).where(Staff.name == "周芳")).one()
            calls.record_dial(uow, self.app.survey_kit(), phone or PhoneSettings(), staff, survey_id, code)
            uow.commit()

    def messages(self) -> list[str]:
        with self.app.uow() as uow:
            return list(uow.session.scalars(select(OutboundMessage.idempotency_key).order_by(OutboundMessage.id)))


@pytest.fixture
def world(app: Container) -> World:
    return World(app)


def test_a_chat_survey_unanswered_for_the_chat_stages_wait_is_found_by_a_specialists_next_call(world: World) -> None:
    world.defeated(chat=8101)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)

    assert world.next_call(at("2026-11-25", 10)) is None  # in chat: not the specialists' yet
    world.run(at("2026-12-01", 19), jobs.advance_plans)
    assert world.next_call(at("2026-12-01", 19, 30)) is None  # six and a half days: still chat's
    report = world.run(at("2026-12-02", 8, 30), jobs.advance_plans)
    card = world.next_call(at("2026-12-02", 9))

    assert card is not None and card.survey_id == world.survey().id
    assert (report.moved, report.ended) == ({Mode.PHONE: 1}, 0)
    assert "转入下一方式 1（人工电话 1）" in str(report)
    assert "短信网页（未配置）1" in str(report) and "智能外呼（未配置）1" in str(report)


def test_a_refusal_on_the_phone_ends_the_survey_in_every_mode(world: World) -> None:
    world.defeated(chat=8102)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    world.run(at("2026-12-02", 8, 30), jobs.advance_plans)
    card = world.next_call(at("2026-12-02", 9))
    assert card is not None
    world.dial(at("2026-12-02", 9, 5), card.survey_id, "refused")
    sent_before = world.messages()

    for day in ("2026-12-03", "2026-12-10", "2026-12-20"):  # every job, long after every mode's wait
        world.run(at(day, 10), jobs.advance_plans)
        world.run(at(day, 10, 1), jobs.send_invitations)
        world.run(at(day, 10, 2), jobs.remind_and_expire)
        assert world.next_call(at(day, 10, 3)) is None

    survey = world.survey()
    assert (survey.status, survey.outcome, survey.channel) == ("refused", "refusal", "phone")
    assert world.messages() == sent_before


def test_a_mode_not_configured_is_skipped_and_one_that_is_configured_takes_the_survey(world: World) -> None:
    world.defeated(chat=8103)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    world.modes = frozenset({Mode.CHAT, Mode.WEB, Mode.PHONE})  # the SMS/web channel is set up here

    report = world.run(at("2026-12-02", 8, 30), jobs.advance_plans)

    assert report.moved == {Mode.WEB: 1} and not report.skipped
    assert "转入下一方式 1（短信网页 1）" in str(report)
    assert (world.survey().channel, world.survey().status) == ("web", "pending")


def test_select_due_starts_an_unbound_customer_on_the_phone_and_says_why_chat_was_skipped(world: World) -> None:
    world.defeated()
    world.defeated(chat=8104)

    report = world.run(at("2026-11-25", 8), jobs.select_due)

    assert report.plan.started == {Mode.CHAT: 1, Mode.PHONE: 1}
    text = str(report)
    assert text.startswith("新建回访 2（聊天 1，人工电话 1）")
    assert "聊天（未绑定聊天）1" in text and "短信网页（未配置）1" in text and "智能外呼（未配置）1" in text


def test_a_customer_who_blocked_the_bot_leaves_the_chat_stage_at_once(world: World) -> None:
    customer = world.defeated(chat=8105)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    with world.app.uow() as uow:
        row = uow.session.get(Customer, customer)
        assert row is not None
        row.chat_unreachable_at = at("2026-11-25", 9, 1)
        uow.commit()

    report = world.run(at("2026-11-25", 9, 15), jobs.advance_plans)

    assert report.moved == {Mode.PHONE: 1}
    assert world.next_call(at("2026-11-25", 9, 20)) is not None


def test_a_chat_survey_expires_only_when_no_mode_is_left(world: World) -> None:
    world.defeated(chat=8106, phone="")  # no number: neither SMS, voice nor a specialist can reach them
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)

    assert world.run(at("2026-12-02", 8, 30), jobs.remind_and_expire) == (0, 1)

    survey = world.survey()
    assert (survey.status, survey.outcome, survey.channel) == ("expired", "no_response", "chat")
    with world.app.uow() as uow:
        assert [(a.channel, a.disposition) for a in uow.surveys.attempts(survey.id)] == [
            ("chat", "invited"),
            ("chat", "no_reply"),
        ]


def test_the_chat_stage_takes_no_more_tries_than_the_plan_allows(world: World) -> None:
    world.defeated(chat=8107)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    with world.app.uow() as uow:  # the chat stage has used its two tries (defeat: attempts 2)
        survey = uow.session.scalars(select(Survey)).one()
        survey.stage_attempts = 2
        uow.commit()

    assert world.run(at("2026-11-26", 10), jobs.remind_and_expire) == (0, 0)  # no reminder: no try left
    assert world.messages() == [f"invite:{world.survey().id}"]


def test_huifang_jobs_run_select_due_prints_the_modes_started_and_skipped(
    world: World, database_url: str, tmp_path: Path
) -> None:
    world.defeated()
    world.defeated(chat=8108)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update(PYTHONPATH=str(ROOT), HUIFANG_DATABASE_URL=database_url, HUIFANG_CONTACT_MODES='["chat", "phone"]')
    done = subprocess.run(
        [sys.executable, "-m", "bot", "jobs", "run", "select_due", "--now", "2026-11-25T08:00"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "select_due：新建回访 2（聊天 1，人工电话 1）；转入下一方式 0；无方式可用而结束 0；"
        "跳过：聊天（未绑定聊天）1，智能外呼（未配置）1，短信网页（未配置）1；新建待办 0"
    )


def test_a_contact_mode_that_does_not_exist_is_one_line_on_stderr(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update(PYTHONPATH=str(ROOT), HUIFANG_DATABASE_URL=database_url, HUIFANG_CONTACT_MODES='["chat", "fax"]')
    done = subprocess.run(
        [sys.executable, "-m", "bot", "jobs", "run", "select_due"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip

    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("错误：")
    assert "contact_modes" in done.stderr.lower() or "CONTACT_MODES" in done.stderr


def test_a_number_the_phone_rules_give_up_on_moves_to_the_next_mode_when_the_plan_has_one(
    world: World, app: Container
) -> None:
    plans = {"defeat": plan_from_mapping("defeat", [{"mode": "phone", "wait": "7d"}, {"mode": "voice", "wait": "2d"}])}
    world.modes = frozenset({Mode.CHAT, Mode.VOICE, Mode.PHONE})
    app._kit = replace(app.survey_kit(), plans=plans, modes=world.modes)  # the voice channel is set up here
    world.defeated()
    world.run(at("2026-11-25", 8), jobs.select_due)
    card = world.next_call(at("2026-11-25", 10))
    assert card is not None

    world.dial(at("2026-11-25", 10, 1), card.survey_id, "no_answer", PhoneSettings(rules=RetryRules(max_attempts=1)))

    survey = world.survey()
    assert (survey.status, survey.channel, survey.plan_stage) == ("pending", "voice", 1)
    assert world.next_call(at("2026-11-25", 11)) is None  # no longer the specialists'


def test_a_number_the_phone_rules_give_up_on_ends_as_non_contact_when_phone_is_the_last_mode(world: World) -> None:
    world.defeated()
    world.run(at("2026-11-25", 8), jobs.select_due)
    card = world.next_call(at("2026-11-25", 10))
    assert card is not None

    world.dial(at("2026-11-25", 10, 1), card.survey_id, "no_answer", PhoneSettings(rules=RetryRules(max_attempts=1)))

    assert (world.survey().status, world.survey().outcome) == ("non_contact", "non_contact")


def test_a_customer_who_starts_in_chat_after_the_plan_moved_on_is_back_in_the_chat_stage(world: World) -> None:
    world.defeated(chat=8109)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    world.run(at("2026-12-02", 8, 30), jobs.advance_plans)  # moved to the call queue
    world.app.clock.set(at("2026-12-02", 9))  # type: ignore[attr-defined]
    with world.app.uow() as uow:  # then the customer taps 开始 on the old invitation
        chat.consent(uow, world.app.survey_kit(), 8109, "周芳")
        uow.commit()

    survey = world.survey()
    assert (survey.status, survey.channel, survey.plan_stage) == ("in_progress", "chat", 0)
    assert world.next_call(at("2026-12-02", 9, 5)) is None  # not the specialists' any more
    report = world.run(at("2026-12-05", 10), jobs.advance_plans)  # the chat stage's wait runs from 开始
    assert not report.moved and report.ended == 0


def _attempts(world: World, survey_id: int) -> list[tuple[str, str]]:
    with world.app.uow() as uow:
        return [(a.channel, a.disposition) for a in uow.surveys.attempts(survey_id)]


def test_the_chat_mode_records_each_try_as_an_attempt_like_the_phone_does(world: World) -> None:
    quiet, blocker = world.defeated(chat=8201), world.defeated(chat=8202)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    world.run(at("2026-11-26", 9, 30), jobs.remind_and_expire)  # a day on: the reminders
    world.app.clock.set(at("2026-11-26", 9, 31))  # type: ignore[attr-defined]
    with world.app.uow() as uow:  # the second customer's reminder comes back 403: they blocked the bot
        chat.mark_unreachable(uow, world.app.survey_kit(), 8202)
        uow.commit()
    with world.app.uow() as uow:
        ids = {s.customer_id: s.id for s in uow.session.scalars(select(Survey))}

    assert _attempts(world, ids[quiet]) == [("chat", "invited"), ("chat", "reminded")]
    assert _attempts(world, ids[blocker]) == [("chat", "invited"), ("chat", "reminded"), ("chat", "blocked")]


def test_a_case_reached_in_two_modes_is_counted_once_with_its_best_result_and_in_each_mode_it_was_tried(
    world: World,
) -> None:
    from bot.domain.statistics import ReportSettings, parse_week
    from bot.services.reports import ReportParams, build_report

    quiet, blocker = world.defeated(chat=8203), world.defeated(chat=8204)
    world.run(at("2026-11-25", 8), jobs.select_due)
    world.run(at("2026-11-25", 9), jobs.send_invitations)
    world.app.clock.set(at("2026-11-25", 9, 1))  # type: ignore[attr-defined]
    with world.app.uow() as uow:  # the invitation comes back 403: they blocked the bot
        chat.mark_unreachable(uow, world.app.survey_kit(), 8204)
        uow.commit()
    world.run(at("2026-11-25", 9, 15), jobs.advance_plans)  # the blocker goes to the specialists now
    world.run(at("2026-11-26", 9, 30), jobs.remind_and_expire)  # the quiet one is reminded
    world.run(at("2026-12-02", 8, 30), jobs.advance_plans)  # and moves to the specialists a week on
    with world.app.uow() as uow:
        ids = {s.customer_id: s.id for s in uow.session.scalars(select(Survey))}
    outcome = {ids[blocker]: "vacant", ids[quiet]: "refused"}  # 空号: the phone gives up; reached, refuses
    for minute in (0, 10):
        card = world.next_call(at("2026-12-02", 9, minute))
        assert card is not None
        world.dial(at("2026-12-02", 9, minute + 1), card.survey_id, outcome.pop(card.survey_id))

    assert _attempts(world, ids[quiet]) == [
        ("chat", "invited"),
        ("chat", "reminded"),
        ("chat", "no_reply"),
        ("phone", "refused"),
    ]
    assert _attempts(world, ids[blocker]) == [
        ("chat", "invited"),
        ("chat", "blocked"),
        ("chat", "no_reply"),  # the chat stage left without a reply
        ("phone", "vacant"),
    ]
    world.app.clock.set(at("2026-12-03", 10))  # type: ignore[attr-defined]
    r = build_report(
        world.app.uow, ReportParams(sections=("contacts",), period=parse_week("2026-W48")), ReportSettings(),
        world.app.clock,
    )  # fmt: skip
    modes = {row["mode"]: row for row in r.table("contact_modes").rows}
    assert (modes["聊天"]["attempts"], modes["聊天"]["tried"], modes["聊天"]["reached"]) == (6, 2, 1)
    assert (modes["电话"]["attempts"], modes["电话"]["tried"], modes["电话"]["reached"]) == (2, 2, 1)
    # Each case once: the quiet one refused (phone), the blocker's best result is the block in chat (a
    # refusal, AAPOR 2.111), not the vacant number dialled after it.
    assert (modes["全部"]["attempts"], modes["全部"]["tried"], modes["全部"]["reached"]) == (8, 2, 2)
    cases = sorted((row["code"], row["count"]) for row in r.table("dispositions").rows)
    assert cases == [("blocked", 1), ("refused", 1)]
