"""`huifang run` as a real process against the fake Bot API, and simulated customers who walk the defeat survey.

The customers act the way people do: they read the newest message in their chat and answer it (a tap, or a
typed answer to a free-text question); a message that never arrives leaves them waiting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegram, FakeTelegramThread, FakeUser
from storage.models import Answer, Survey
from tests.e2e.harness import Harness

SECRET = "test-secret-0123456789abcdef"

# The path every simulated customer takes: 开始, 配合回访, 其他品牌, a typed brand, 价格/价值, closing words.
PATH = ("开始", "配合回访", "其他品牌", "价格/价值")
TYPED = "比亚迪"
ANSWERS_PER_SURVEY = 4  # opening, q1, q1_brand, q2


def env(database_url: str, telegram: FakeTelegramThread, **extra: str) -> dict[str, str]:
    assert telegram.server is not None
    values = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    values.update(
        {
            "HUIFANG_DATABASE_URL": database_url,
            "HUIFANG_LINK_SECRET": SECRET,
            "HUIFANG_TELEGRAM_TOKEN": telegram.server.token,
            "HUIFANG_TELEGRAM_API_URL": telegram.server.api_url,
            **extra,
        }
    )
    return values


class BotProcess:
    """`python -m bot run`, started, killed with SIGKILL and started again; its output kept in one log."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self._env = environment
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self._log.open("a") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=self._env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def kill(self) -> None:
        """kill -9: no clean-up, no final getUpdates, nothing flushed."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)

    def output(self) -> str:
        return self._log.read_text()


@dataclass
class Customer:
    user: FakeUser
    survey_id: int
    token: str
    acted: set[int] = field(default_factory=set)
    done: bool = False


def customers(app: Container, count: int, first_user_id: int = 7000) -> list[Customer]:
    """``count`` customers with a waiting defeat survey and a deep link each."""
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    made = []
    for i in range(count):
        _, survey_id, token = harness.customer_with_survey(store, f"客户{i:03d}", f"+86139{first_user_id + i:08d}")
        made.append(Customer(FakeUser(first_user_id + i, "客"), survey_id, token))
    return made


def snapshot(telegram: FakeTelegramThread, chat_ids: list[int]) -> dict[int, list[tuple[int, str, list[str]]]]:
    """(message id, text, button labels) of every message in these chats, read on the server's loop."""
    server = telegram.server
    assert server is not None

    def read() -> dict[int, list[tuple[int, str, list[str]]]]:
        return {c: [(m.message_id, m.text, m.button_labels) for m in server.chat(c)] for c in chat_ids}

    return telegram.call(read)  # type: ignore[no-any-return]


def next_action(
    server: FakeTelegram, customer: Customer, messages: list[tuple[int, str, list[str]]]
) -> Callable[[], int] | None:
    """What the customer does about the newest message, if it is new: a tap or a typed answer (to run on the
    server's loop; it returns the update id). None when there is nothing to do; the closing words end it."""
    if customer.done or not messages:
        return None
    message_id, text, labels = messages[-1]
    if message_id in customer.acted:
        return None
    customer.acted.add(message_id)
    target = next((label for label in PATH if label in labels), None)
    if target is not None:

        def tap() -> int:
            found = next(m for m in server.chat(customer.user.id) if m.message_id == message_id)
            return server.press(customer.user, found, target)

        return tap
    if text.startswith("【第"):
        return lambda: server.send_text(customer.user, TYPED)
    customer.done = True  # the closing words
    return None


def step(telegram: FakeTelegramThread, customer: Customer, messages: list[tuple[int, str, list[str]]]) -> bool:
    """Answer the newest message if it is new and asks something; True if the customer acted."""
    assert telegram.server is not None
    action = next_action(telegram.server, customer, messages)
    if action is not None:
        telegram.call(action)
    return action is not None


def answer_counts(app: Container) -> dict[int, tuple[int, int, str]]:
    """Per survey: (answers stored, distinct questions answered, status)."""
    with app.uow() as uow:
        rows = uow.session.execute(
            select(Survey.id, func.count(Answer.id), func.count(func.distinct(Answer.question_id)), Survey.status)
            .outerjoin(Answer, Answer.survey_id == Survey.id)
            .group_by(Survey.id, Survey.status)
        ).all()
    return {int(r[0]): (int(r[1]), int(r[2]), str(r[3])) for r in rows}


def deliveries(messages: list[tuple[int, str, list[str]]]) -> dict[str, int]:
    """How many times each distinct message was delivered to one chat (by its first line)."""
    counts: dict[str, int] = {}
    for _, text, _ in messages:
        key = text.splitlines()[0] if text else ""
        counts[key] = counts.get(key, 0) + 1
    return counts


def wait_until(condition: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
