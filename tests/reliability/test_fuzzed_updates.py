"""Thousands of generated updates, hostile and odd, sent to the real ``huifang run`` process.

Texts with control characters, emoji, superscript and full-width digits, 5,000-character texts, random
commands with random arguments, forged callback data on real and non-existent messages, stickers, group
messages and edits, from bound customers, staff and strangers. Every update must either do its job, get a
short Chinese reply, or be ignored as noise: the bot's log holds no traceback and no ERROR line, and a
normal customer can still complete a survey afterwards.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegram, FakeTelegramThread, FakeUser, SentMessage
from bot.settings import Settings
from tests.e2e.harness import Harness

SECRET = "test-secret-0123456789abcdef"
SEED = int(os.environ.get("HUIFANG_FUZZ_SEED", "20261201"))
ROUNDS, PER_ROUND = 4, 1000

_ODD_CHARS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\u200b\u200d\u202e\u2066\ufeff\ufffd"  # control, zero-width, bidi
    "²³¹⁰₁①⑩٣۴१１２９０：－／　"  # digits that are not ASCII digits
    "😀👍🏻👨‍👩‍👧🇨🇳🚗\U0001f9d1\u0301\u0336"  # emoji, joiners, combining marks
    "开始稍后退订明天下午三点半一二十点号月日周"  # words the bot reads
)
_SPECIMENS = (
    "1 ²", "²", "1,２", "３", "٣", "1 2 3", "1，2、3", "0", "-1", "99999999999999999999", "1e9", "NaN", " ",
    "9999-12-31 23:59", "0001-01-01 00:00", "12-01 13:00", "02-30 10:00", "明天下午三点", "周五下午2点", "今晚8点",
    "下午3点", "后天上午10点半", "12月3日 15:00", "13-45 25:61", "明天晚上12点",
    "好的", "配合回访", "=HYPERLINK(\"http://evil.example\",\"x\")", "<b>x</b>", "{{ 7*7 }}", "%s%n", "\\x00",
)  # fmt: skip
_OPT_OUT = ("退订", "/stop", "STOP", "/stop now")  # rare: a customer who opted out takes no more survey input
_COMMANDS = ("start", "help", "tasks", "today", "stats", "call", "start@huifang_test_bot", "x", "开始", "")
_PREFIXES = ("a", "t", "c", "r", "b", "pa", "pt", "pc", "pr", "pb", "d", "e", "cb", "cs", "k", "task", "call", "")
_ODD_FIELDS = (
    "zzzzzzzzzzzzzzzzzzzzzzzz", "999999999999999999999999", "0", "-1", "²", "１", "99999999999", "", " ", "1.5",
    "999912312359", "202612011300", "000000000000", "202602301000", "go", "later", "stop", "done", "next",
    "connected", "refused", "partial", "do_not_call", "no_answer", "😀", "\x00", "1e3", "0x1f",
)  # fmt: skip


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name="惠州江铃4S店", link_secret=SECRET)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update({"HUIFANG_DATABASE_URL": database_url, "HUIFANG_LINK_SECRET": SECRET, **extra})
    return env


class Fuzzer:
    """A seeded generator of Telegram updates aimed at the bot's handlers."""

    def __init__(self, seed: int, people: list[FakeUser], strangers: list[FakeUser], tokens: list[str]) -> None:
        self.rng = random.Random(seed)
        self.people = people
        self.strangers = strangers
        self.tokens = tokens
        self.message_ids = iter(range(5_000_000, 6_000_000))

    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.003:
            return rng.choice(_OPT_OUT)
        if roll < 0.25:
            return rng.choice(_SPECIMENS)
        if roll < 0.30:
            return "".join(rng.choice(_ODD_CHARS + string.ascii_letters) for _ in range(5000))
        if roll < 0.55:
            command = rng.choice(_COMMANDS)
            args = " ".join(self.token() for _ in range(rng.randint(0, 3)))
            if rng.random() < 0.05:
                args = "".join(rng.choice(_ODD_CHARS + string.ascii_letters) for _ in range(5000))
            return f"/{command} {args}".rstrip()
        alphabet = _ODD_CHARS + string.printable
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) or "?"

    def token(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2 and self.tokens:
            return rng.choice(self.tokens)  # a real link, opened by someone else
        if roll < 0.4 and self.tokens:
            real = list(rng.choice(self.tokens))
            real[rng.randrange(len(real))] = rng.choice(string.ascii_letters)
            return "".join(real)  # tampered
        return "".join(rng.choice(_ODD_CHARS + string.ascii_letters + "-_") for _ in range(rng.randint(0, 80)))

    def callback_data(self, known: list[SentMessage]) -> str:
        rng = self.rng
        real = [data for message in known for _label, data in message.buttons if data]
        roll = rng.random()
        if roll < 0.25 and real:
            return rng.choice(real)
        if roll < 0.6 and real:
            parts = rng.choice(real).split(":")
            parts[rng.randrange(len(parts))] = rng.choice(_ODD_FIELDS)
            if rng.random() < 0.2:
                parts.append(rng.choice(_ODD_FIELDS))
            return ":".join(parts)[:64]
        if roll < 0.9:
            fields = [rng.choice(_ODD_FIELDS) for _ in range(rng.randint(0, 4))]
            return ":".join([rng.choice(_PREFIXES), *fields])[:64]
        return "".join(rng.choice(_ODD_CHARS + string.printable) for _ in range(rng.randint(1, 64)))

    def update(self, telegram: FakeTelegram) -> dict[str, Any]:
        rng = self.rng
        user = rng.choice(self.people) if rng.random() < 0.7 else rng.choice(self.strangers)
        chat = {"id": user.id, "type": "private", "first_name": user.first_name}
        roll = rng.random()
        if roll < 0.45:
            return {"callback_query": self._tap(telegram, user)}
        text = self.text()
        message: dict[str, Any] = {
            "message_id": next(self.message_ids), "from": user.as_dict(), "chat": chat, "date": int(time.time()),
            "text": text,
        }  # fmt: skip
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if roll < 0.85:
            return {"message": message}
        if roll < 0.9:
            message.pop("text")
            message.pop("entities", None)
            message["sticker"] = {
                "file_id": "x", "file_unique_id": "x", "type": "regular", "width": 1, "height": 1,
                "is_animated": False, "is_video": False,
            }  # fmt: skip
            return {"message": message}
        if roll < 0.95:
            message["chat"] = {"id": -100123, "type": "supergroup", "title": "群"}
            return {"message": message}
        message["edit_date"] = int(time.time())
        return {"edited_message": message}

    def _tap(self, telegram: FakeTelegram, user: FakeUser) -> dict[str, Any]:
        rng = self.rng
        mine = list(telegram.chat(user.id))
        known = mine or [m for chat in list(telegram.messages.values()) for m in chat]
        query: dict[str, Any] = {
            "id": str(rng.randrange(10**12)),
            "from": user.as_dict(),
            "chat_instance": str(user.id),
            "data": self.callback_data(known),
        }
        roll = rng.random()
        chat = {"id": user.id, "type": "private"}
        bot = {"id": telegram.bot_id, "is_bot": True, "first_name": "huifang"}
        if roll < 0.6 and mine:
            message = rng.choice(mine)
            query["message"] = {"message_id": message.message_id, "chat": chat, "date": int(time.time()),
                                "text": message.text, "from": bot}  # fmt: skip
            if message.reply_markup:
                query["message"]["reply_markup"] = message.reply_markup
        elif roll < 0.9:  # a message that does not exist (deleted, or never sent)
            query["message"] = {"message_id": rng.randrange(1, 10**9), "chat": chat, "date": int(time.time()),
                                "text": "旧消息", "from": bot}  # fmt: skip
        else:  # a message too old for the bot to see (Telegram sends date 0)
            query["message"] = {"message_id": rng.randrange(1, 10**6), "chat": chat, "date": 0}
        return query


def _wait_until_quiet(telegram: FakeTelegramThread, limit: float = 45.0) -> None:
    """Until every update is confirmed and the bot has sent nothing for a second."""
    server = telegram.server
    assert server is not None

    def activity() -> tuple[int, int]:
        return server.undelivered, sum(server.calls.values())

    deadline = time.monotonic() + limit
    last, since = telegram.call(activity), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = telegram.call(activity)
        if now != last:
            last, since = now, time.monotonic()
        elif now[0] == 0 and time.monotonic() - since >= 1.0:
            return
    raise AssertionError(f"the bot did not settle within {limit}s: {last[0]} updates unconfirmed")


def _wait_for(telegram: FakeTelegramThread, user: FakeUser, prefix: str, after: int = 0) -> SentMessage:
    server = telegram.server
    assert server is not None
    return telegram.call(
        server.wait_for,
        user.id,
        lambda m: server.chat(user.id).index(m) >= after and m.text.startswith(prefix),
        25.0,
    )


def _press(telegram: FakeTelegramThread, user: FakeUser, message: SentMessage, label: str, prefix: str) -> SentMessage:
    server = telegram.server
    assert server is not None
    before = len(server.chat(user.id))
    telegram.call(server.press, user, message, label)
    return _wait_for(telegram, user, prefix, before)


def _say(telegram: FakeTelegramThread, user: FakeUser, text: str, prefix: str = "") -> SentMessage:
    server = telegram.server
    assert server is not None
    before = len(server.chat(user.id))
    telegram.call(server.send_text, user, text)
    return _wait_for(telegram, user, prefix, before)


@contextlib.contextmanager
def _bot_process(database_url: str, telegram: FakeTelegramThread, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    server = telegram.server
    assert server is not None
    env = _env(
        database_url,
        HUIFANG_TELEGRAM_TOKEN=server.token,
        HUIFANG_TELEGRAM_API_URL=server.api_url,
        HUIFANG_TELEGRAM_RATE_LIMIT="false",  # simulated people answer at once; the limits are tested elsewhere
    )
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


_QUESTIONNAIRES = ("defeat", "delivery_3day", "lapsed", "owner_care")


def _bring_in(harness: Harness, telegram: FakeTelegramThread, store: int, first: int, count: int) -> list[str]:
    """``count`` new customers with a waiting survey open their links (every other one taps 开始), and a
    phone customer is called by 周芳 (user 7101) and connected: fresh buttons and surveys for the fuzzer.
    Returns the links (for reuse by others)."""
    tokens = []
    for n in range(first, first + count):
        user = FakeUser(7001 + n, f"客{n}")
        _, _, token = harness.customer_with_survey(
            store, f"客户{n}", f"+86138001{n:05d}", questionnaire=_QUESTIONNAIRES[n % len(_QUESTIONNAIRES)]
        )
        consent = _say(telegram, user, f"/start {token}")
        if n % 2 and consent.buttons:
            _press(telegram, user, consent, "开始", "【第1/")
        tokens.append(token)
    harness.customer_with_survey(store, f"电话{first}", f"+86139001{first:05d}", channel="phone")
    specialist = FakeUser(7101, "周芳")
    card = _say(telegram, specialist, "/call")
    if card.text.startswith("📞"):  # inside calling hours: a call screen with the script's buttons
        _press(telegram, specialist, card, "接通", "")
    return tokens


def test_thousands_of_fuzzed_updates_log_no_error_and_a_customer_still_completes_a_survey(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    staff = [FakeUser(7101 + i, name) for i, name in enumerate(("周芳", "陈经理", "李明"))]
    staff_tokens = [harness.staff_link(store, member.first_name) for member in staff]
    last = FakeUser(7900, "终")
    _, last_survey, last_token = harness.customer_with_survey(store, "孙终", "+8613600136000")
    strangers = [FakeUser(n, "陌") for n in (7500, 7501, 7502, 2**40 + 5, 2**52 - 1, 1)]
    log = tmp_path / "run.log"

    with FakeTelegramThread() as telegram, _bot_process(database_url, telegram, log) as process:
        server = telegram.server
        assert server is not None
        for member, token in zip(staff, staff_tokens, strict=True):
            _say(telegram, member, f"/start {token}")
        fuzzer = Fuzzer(SEED, list(staff), strangers, [])
        for round_ in range(ROUNDS):
            fuzzer.tokens += _bring_in(harness, telegram, store, round_ * 4, 4)
            fuzzer.people += [FakeUser(7001 + n, f"客{n}") for n in range(round_ * 4, round_ * 4 + 4)]
            batch = [fuzzer.update(server) for _ in range(PER_ROUND)]
            telegram.call(lambda batch=batch: [server.push_update(update) for update in batch])
            _wait_until_quiet(telegram)
        assert process.poll() is None, "the bot died"

        consent = _say(telegram, last, f"/start {last_token}")
        opening = _press(telegram, last, consent, "开始", "【第1/")
        q1 = _press(telegram, last, opening, "配合回访", "【第2/")
        q2 = _press(telegram, last, q1, "还没有购买", "【第3/")
        before = len(server.chat(last.id))
        telegram.call(server.press, last, q2, "价格/价值")
        telegram.call(server.wait_for_count, last.id, before + 1, 25.0)

    output = log.read_text()
    tracebacks = output.count("Traceback (most recent call last)")
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert (tracebacks, errors[:5]) == (0, [])
    assert "138001" not in output and "136001" not in output and "139001" not in output  # no phone numbers
    assert server.token.split(":")[1] not in output
    assert harness.survey(last_survey).status == "completed"
