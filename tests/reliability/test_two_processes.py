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
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from bot.app import Container
from bot.domain.people import Role
from bot.sandbox.fake_telegram import FakeTelegramThread
from storage.models import Customer, OutboundMessage, Staff, Survey, Task
from storage.repositories import ACTIVE_SURVEY_STATUSES

SECRET = "test-secret-0123456789abcdef"
NOW = "2026-11-25T10:00"  # a Wednesday, inside calling hours (Shanghai); the `clock` fixture's moment


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
    assert all("Traceback" not in r.stderr for r in runs), [r.stderr[-2000:] for r in runs]
    assert any(r.returncode == 0 for r in runs)


def test_two_schedulers_send_each_chat_customer_one_invitation(app: Container, database_url: str) -> None:
    _owners(app, 1000, chat=True)
    _pin(app, "owner_care")
    scheduler = f"{_job('select_due')}; {_job('send_invitations')}; {_job('send_outbox')}"
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=server.token, HUIFANG_TELEGRAM_API_URL=server.api_url)

        runs = _at_once([scheduler, scheduler], env)
        # Whatever one scheduler left for the other (or a failed run left behind) goes out on a later run.
        follow_up = _at_once([_job("send_outbox")], env)
        received = {chat: len(messages) for chat, messages in list(server.messages.items())}

    with app.uow() as uow:
        queued = Counter(uow.session.scalars(select(OutboundMessage.recipient)))
    assert _customers_with_two_active_surveys(app) == 0
    assert len([chat for chat, n in queued.items() if n > 1]) == 0
    assert len([chat for chat, n in received.items() if n > 1]) == 0
    assert len(received) == 1000
    assert all("Traceback" not in r.stderr for r in runs + follow_up), [r.stderr[-2000:] for r in runs]


def test_two_urgent_and_digest_runs_at_once_queue_each_staff_message_once(app: Container, database_url: str) -> None:
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
    _at_once([_job("urgent"), _job("urgent"), _job("staff_digest"), _job("staff_digest")], env)

    with app.uow() as uow:
        keys = list(uow.session.scalars(select(OutboundMessage.idempotency_key)))
    assert open_tasks and max(open_tasks.values()) == 1
    assert len(open_tasks) == 200
    assert sum(k.startswith("escalate:") for k in keys) == 200
    assert sum(k.startswith("digest:") for k in keys) == 1
