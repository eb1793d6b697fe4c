"""Two schedulers and two bots at once: nothing is created or sent twice.

Cron runs `huifang jobs run NAME` while `huifang run` runs its own scheduler (the README suggests cron), and
an operator may start a second `huifang run` on the same token by mistake. These tests start real processes
at the same moment against the real database and the fake Bot API server, and count duplicates both in the
database and among the messages the server received.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from bot.app import Container
from bot.domain.lifecycle import ACTIVE_VALUES as ACTIVE_SURVEY_STATUSES
from bot.domain.people import Role
from bot.sandbox.fake_telegram import FakeTelegramThread, FakeUser
from bot.settings import Settings
from storage.models import ContactAttempt, Customer, OutboundMessage, Staff, Survey, Task
from tests.e2e.harness import Harness

SECRET = "test-secret-0123456789abcdef"
NEWCOMER_WINDOW = 10  # seconds: a 409 Conflict this soon after a bot started polling means it is the second
NOW = "2026-11-25T10:00"  # a Wednesday, inside calling hours (Shanghai); the `clock` fixture's moment


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name="惠州江铃4S店", link_secret=SECRET)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update({"HUIFANG_DATABASE_URL": database_url, "HUIFANG_LINK_SECRET": SECRET, **extra})
    return env


def _at_once(commands: list[str], env: dict[str, str], timeout: float = 120) -> list[subprocess.CompletedProcess[str]]:
    """Start every shell command at the same moment and wait for all of them."""
    processes = [
        subprocess.Popen(["bash", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    results = []
    for process, command in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def _job(name: str) -> str:
    return f"{sys.executable} -m bot jobs run {name} --now {NOW}"


def _owners(app: Container, count: int, *, chat: bool) -> None:
    """``count`` owners due for the monthly owner-care survey (chat ids 700000+ when ``chat``)."""
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        uow.staff.add(store, "陈经理", Role.MANAGER, None, True, now)
        rows = [
            {
                "store_id": store,
                "name": f"客户{i}",
                "honorific": "先生",
                "phone": f"+86138{i:08d}",
                "status": "owner",
                "telegram_chat_id": 700000 + i if chat else None,
                "consent_at": None,
                "created_at": now - timedelta(days=400),
                "updated_at": now - timedelta(days=400),
            }
            for i in range(count)
        ]
        uow.session.execute(insert(Customer), rows)
        uow.commit()


def _pin(app: Container, questionnaire_id: str) -> None:
    questionnaire = app.survey_kit().catalog.get(questionnaire_id)
    with app.uow() as uow:
        uow.surveys.pin_version(questionnaire.ref, questionnaire.id, questionnaire.text, app.clock.now())
        uow.commit()


def _customers_with_two_active_surveys(app: Container) -> int:
    with app.uow() as uow:
        doubled = (
            select(Survey.customer_id)
            .where(Survey.status.in_(ACTIVE_SURVEY_STATUSES))
            .group_by(Survey.customer_id, Survey.purpose)
            .having(func.count() > 1)
            .subquery()
        )
        return int(uow.session.scalar(select(func.count()).select_from(doubled)) or 0)


@pytest.mark.parametrize("version", ["new", "pinned"])
def test_two_select_due_at_the_same_moment_give_no_customer_two_active_surveys(
    app: Container, database_url: str, version: str
) -> None:
    _owners(app, 3000, chat=False)
    if version == "pinned":  # a store that has been running: the questionnaire version is already stored
        _pin(app, "owner_care")

    runs = _at_once([_job("select_due"), _job("select_due")], _env(database_url))

    with app.uow() as uow:
        surveys = uow.session.scalar(select(func.count()).select_from(Survey))
    assert _customers_with_two_active_surveys(app) == 0
    assert surveys == 3000
    assert all(r.returncode == 0 and "Traceback" not in r.stderr for r in runs), [r.stderr[-2000:] for r in runs]


def test_two_schedulers_send_each_chat_customer_one_invitation(app: Container, database_url: str) -> None:
    _owners(app, 1000, chat=True)
    _pin(app, "owner_care")
    scheduler = f"{_job('select_due')} && {_job('send_invitations')} && {_job('send_outbox')}"
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=server.token, HUIFANG_TELEGRAM_API_URL=server.api_url)

        runs = _at_once([scheduler, scheduler], env)
        received = {chat: len(messages) for chat, messages in list(server.messages.items())}

    with app.uow() as uow:
        queued = Counter(uow.session.scalars(select(OutboundMessage.recipient)))
    assert _customers_with_two_active_surveys(app) == 0
    assert len([chat for chat, n in queued.items() if n > 1]) == 0
    assert len([chat for chat, n in received.items() if n > 1]) == 0
    assert len(received) == 1000
    assert all(r.returncode == 0 and "Traceback" not in r.stderr for r in runs), [r.stderr[-2000:] for r in runs]


def test_two_urgent_digest_and_weekly_runs_at_once_queue_each_staff_message_once(
    app: Container, database_url: str
) -> None:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        manager = uow.staff.add(store, "陈经理", Role.MANAGER, None, True, now)
        for member, user in ((consultant, 5001), (manager, 5002)):
            uow.session.execute(update(Staff).where(Staff.id == member).values(telegram_user_id=user))
        rows = [
            {"store_id": store, "name": f"客户{i}", "phone": f"+86139{i:08d}", "status": "prospect",
             "owner_staff_id": consultant, "intent_level": "B", "created_at": now - timedelta(days=30),
             "updated_at": now - timedelta(days=30)}
            for i in range(200)
        ]  # fmt: skip
        uow.session.execute(insert(Customer), rows)
        uow.commit()
    env = _env(database_url)

    _at_once([_job("select_due"), _job("select_due")], env)
    with app.uow() as uow:
        open_tasks = Counter(
            tuple(row) for row in uow.session.execute(select(Task.customer_id, Task.kind).where(Task.status == "open"))
        )
        # Make every task a day and a bit overdue, so `urgent` escalates each one to the manager.
        uow.session.execute(Task.__table__.update().values(due_at=datetime(2026, 11, 23, 20, tzinfo=UTC)))
        uow.commit()
    runs = _at_once([_job(name) for name in ("urgent", "staff_digest", "weekly_summary") for _ in (1, 2)], env)

    with app.uow() as uow:
        keys = list(uow.session.scalars(select(OutboundMessage.idempotency_key)))
    assert open_tasks and max(open_tasks.values()) == 1
    assert len(open_tasks) == 200
    assert sum(k.startswith("escalate:") for k in keys) == 200
    assert sum(k.startswith("digest:") for k in keys) == 1
    assert sum(k.startswith("weekly:") for k in keys) == 1
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]


def test_a_second_bot_on_the_same_token_stops_with_one_line_and_the_first_keeps_serving(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    _, _, first_token = harness.customer_with_survey(store, "王建国", "+8613800138000")
    _, _, second_token = harness.customer_with_survey(store, "李四", "+8613800138001")
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=server.token, HUIFANG_TELEGRAM_API_URL=server.api_url)
        log = tmp_path / "first.log"
        with log.open("w") as sink:
            first = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                telegram.call(server.open_link, FakeUser(901, "王"), first_token)
                telegram.call(server.wait_for, 901, None, 30.0)  # the first bot is serving
                _wait_for_line(log, "is running")
                time.sleep(NEWCOMER_WINDOW + 1)  # it has been serving for longer than a newcomer's first moments

                second = subprocess.run(
                    [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=40
                )
                time.sleep(2)  # long enough for a fight over getUpdates to show in the first one's log
                telegram.call(server.open_link, FakeUser(902, "李"), second_token)
                consent = telegram.call(server.wait_for, 902, None, 30.0)
                still_running = first.poll() is None
            finally:
                first.terminate()
                code = first.wait(30)

    assert second.returncode == 2
    assert [line for line in second.stderr.splitlines() if line.startswith("错误：")] == [
        "错误：另一个 huifang run 正在使用这个机器人令牌（Telegram 返回 409 Conflict）；"
        "同一令牌只能运行一个，请先停止它"
    ]
    assert second.stderr.strip().splitlines()[-1].startswith("错误：")
    assert "Traceback" not in second.stderr + second.stdout and "Unclosed" not in second.stderr
    assert still_running and consent.text.startswith("李先生您好！")
    assert code == 0
    output = log.read_text()
    assert "Traceback" not in output and "Unclosed" not in output
    assert "another process polls with this bot token (409 Conflict); this one keeps serving" in output


def _wait_for_line(log: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_two_reminder_runs_at_once_remind_once_and_move_each_survey_on_once(app: Container, database_url: str) -> None:
    # Issue #12: a chat survey unanswered for the chat stage's wait moves to the call queue (it expired before).
    _owners(app, 600, chat=True)
    now = app.clock.now()
    with app.uow() as uow:
        customers = list(uow.session.scalars(select(Customer.id).order_by(Customer.id)))
        rows = [
            {"customer_id": c, "questionnaire_id": "owner_care", "questionnaire_version": "owner_care@1",
             "purpose": "owner_care", "channel": "chat", "status": "invited", "attempt_count": 0, "reminders_sent": 0,
             # the first half was invited 8 days ago (the chat stage's 7 days are over), the second half 25 hours
             # ago (due a reminder)
             "expires_at": now - timedelta(days=1) if i < 300 else now + timedelta(days=6, hours=-1),
             "stage_entered_at": now - timedelta(days=8) if i < 300 else now - timedelta(hours=25),
             "plan_stage": 0, "stage_attempts": 1,
             "created_at": now - timedelta(days=8), "updated_at": now - timedelta(days=8)}
            for i, c in enumerate(customers)
        ]  # fmt: skip
        uow.session.execute(insert(Survey), rows)
        uow.commit()

    runs = _at_once([_job("remind_and_expire"), _job("remind_and_expire")], _env(database_url))

    with app.uow() as uow:
        query = select(ContactAttempt.survey_id, ContactAttempt.disposition)
        attempts = Counter((sid, code) for sid, code in uow.session.execute(query))
        reminders = [k for k in uow.session.scalars(select(OutboundMessage.idempotency_key)) if k.startswith("remind:")]
        moved = uow.session.scalar(
            select(func.count()).select_from(Survey).where(Survey.status == "pending", Survey.channel == "phone")
        )
    assert moved == 300
    # each moved survey records its chat stage's no reply once, each reminded one its reminder once
    assert Counter(code for _, code in attempts) == {"no_reply": 300, "reminded": 300}
    assert max(attempts.values()) == 1
    assert len(reminders) == 300
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]
