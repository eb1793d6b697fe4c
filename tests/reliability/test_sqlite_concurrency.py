"""Concurrent use, as a dealership runs it: `huifang run` serving customers while staff use the command line
in other processes, and another process holding SQLite's write lock for longer than the busy timeout.

The SQLite-specific tests skip on PostgreSQL; the rest run on both databases.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegram, FakeUser, SentMessage
from bot.settings import Settings
from examples.make_sample import write_customers
from storage.models import Answer, Customer
from tests.conftest import PG_URL
from tests.e2e.harness import Harness

SECRET = "test-secret-0123456789abcdef"
STORE = "惠州江铃4S店"
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's single writer lock")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name=STORE, link_secret=SECRET)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update(
        HUIFANG_DATABASE_URL=database_url,
        HUIFANG_LINK_SECRET=SECRET,
        HUIFANG_STORE_NAME=STORE,
        HUIFANG_TELEGRAM_BOT_USERNAME="huifang_test_bot",
        **extra,
    )
    return env


@asynccontextmanager
async def _bot_process(telegram: FakeTelegram, env: dict[str, str], log: Path) -> AsyncIterator[None]:
    """`huifang run` as its own process against the fake Bot API server; stopped with Ctrl-C at the end."""
    env = {**env, "HUIFANG_TELEGRAM_TOKEN": telegram.token, "HUIFANG_TELEGRAM_API_URL": telegram.api_url}
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
        try:
            deadline = time.monotonic() + 30
            while not telegram.calls["getUpdates"]:
                assert process.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the bot did not start polling"
                await asyncio.sleep(0.05)
            yield
        finally:
            process.send_signal(signal.SIGINT)
            try:  # waited for off this loop: the fake server on it must answer the bot's last calls
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _huifang(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


async def _consented(telegram: FakeTelegram, user: FakeUser, token: str) -> SentMessage:
    """Open the deep link and press 开始; returns the first question."""
    telegram.open_link(user, token)
    consent = (await telegram.wait_for_count(user.id, 1, timeout=60))[0]
    telegram.press(user, consent, "开始")
    return (await telegram.wait_for_count(user.id, 2, timeout=60))[1]


async def _walk(telegram: FakeTelegram, user: FakeUser, opening: SentMessage, think: float) -> None:
    """Answer the defeat survey to its end: three taps and one typed brand, a pause before each."""
    steps = [
        lambda m: telegram.press(user, m, "配合回访"),
        lambda m: telegram.press(user, m, "其他品牌"),
        lambda m: telegram.send_text(user, "比亚迪"),
        lambda m: telegram.press(user, m, "价格/价值"),
    ]
    message, count = opening, 2
    for act in steps:
        await asyncio.sleep(think * random.uniform(0.5, 1.5))
        act(message)
        count += 1
        message = (await telegram.wait_for_count(user.id, count, timeout=60))[count - 1]


def _answers_by_survey(app: Container, survey_ids: list[int]) -> dict[int, list[str]]:
    with app.uow() as uow:
        rows = uow.session.execute(
            select(Answer.survey_id, Answer.question_id).where(Answer.survey_id.in_(survey_ids)).order_by(Answer.id)
        )
        found: dict[int, list[str]] = {survey_id: [] for survey_id in survey_ids}
        for survey_id, question_id in rows:
            found[survey_id].append(question_id)
        return found


def _sqlite_path(database_url: str) -> str:
    path = make_url(database_url).database
    assert path is not None
    return path


@contextmanager
def _write_lock_held(database_url: str) -> Iterator[None]:
    """Another connection (as another process would) holds SQLite's write lock until the block ends."""
    holder = sqlite3.connect(_sqlite_path(database_url), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


# ---------------------------------------------------------------------------------- both databases


async def test_fifty_command_line_calls_during_live_chats_all_succeed_and_no_answer_is_lost_or_doubled(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    people = [harness.customer_with_survey(store, f"客户{i}", f"+86139{i:08d}") for i in range(12)]
    files = []
    for seed in range(3):
        files.append(tmp_path / f"customers{seed}.csv")
        write_customers(files[-1], 60, seed=seed, bad_rows=False)
    with app.uow() as uow:
        customer_ids = list(uow.session.scalars(select(Customer.id)))
    commands: list[tuple[str, ...]] = [("link", str(random.choice(customer_ids))) for _ in range(32)]
    commands += [("import", "customers", str(files[i % 3]), "--store", STORE) for i in range(9)]
    commands += [("jobs", "run", "select_due") for _ in range(9)]
    random.shuffle(commands)
    env = _env(database_url, HUIFANG_TELEGRAM_RATE_LIMIT="false")

    async with FakeTelegram() as telegram, _bot_process(telegram, env, tmp_path / "run.log"):
        users = [FakeUser(7000 + i, "客户") for i in range(len(people))]
        openings = await asyncio.gather(*(_consented(telegram, u, p[2]) for u, p in zip(users, people, strict=True)))
        results: list[tuple[tuple[str, ...], int, str]] = []
        slots = asyncio.Semaphore(4)

        async def command(args: tuple[str, ...]) -> None:
            async with slots:
                code, stderr = await _huifang(env, *args)
            results.append((args, code, stderr))

        async def customer(user: FakeUser, opening: SentMessage, start: float) -> None:
            await asyncio.sleep(start)
            await _walk(telegram, user, opening, think=0.4)

        await asyncio.gather(
            *(command(args) for args in commands),
            *(customer(u, o, i * 1.0) for i, (u, o) in enumerate(zip(users, openings, strict=True))),
        )

    failed = [(args[0], code, stderr.strip()[-300:]) for args, code, stderr in results if code != 0 or stderr.strip()]
    assert len(results) == 50 and failed == []
    answers = _answers_by_survey(app, [survey_id for _, survey_id, _ in people])
    counts = Counter(tuple(questions) for questions in answers.values())
    assert len(counts) == 1, counts  # every customer's answers stored, each once, in the same order
    (questions,) = counts
    assert len(questions) == len(set(questions)) >= 3
    assert "Traceback" not in (tmp_path / "run.log").read_text()


# ------------------------------------------------------------------------------------------ SQLite


@sqlite_only
async def test_while_another_process_holds_the_write_lock_help_answers_at_once_and_the_tap_is_applied_after_it(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    _, survey_id, token = harness.customer_with_survey(store, "王建国", "+8613800138000")
    env = _env(database_url, HUIFANG_TELEGRAM_RATE_LIMIT="false", HUIFANG_SQLITE_BUSY_TIMEOUT="1")
    customer, stranger = FakeUser(901, "王"), FakeUser(902, "路人")

    async with FakeTelegram() as telegram, _bot_process(telegram, env, tmp_path / "run.log"):
        opening = await _consented(telegram, customer, token)
        with _write_lock_held(database_url):
            telegram.press(customer, opening, "配合回访")
            await asyncio.sleep(0.3)  # the tap is waiting for the lock
            asked = time.monotonic()
            telegram.send_text(stranger, "/help")
            await telegram.wait_for_count(stranger.id, 1, timeout=30)
            help_seconds = time.monotonic() - asked
            await asyncio.sleep(max(0.0, 3.5 - (time.monotonic() - asked)))  # held 3.5 s: beyond the 1 s timeout
            answered_while_held = len(telegram.chat(customer.id)) > 2
        released = time.monotonic()
        following = (await telegram.wait_for_count(customer.id, 3, timeout=30))[2]
        tap_seconds = time.monotonic() - released

    assert help_seconds < 1.0
    assert not answered_while_held and tap_seconds < 5
    assert following.buttons  # the next question, with its options
    assert _answers_by_survey(app, [survey_id])[survey_id] == ["opening"]
    log = (tmp_path / "run.log").read_text()
    assert "database busy" in log and "Traceback" not in log and "error handling update" not in log


@sqlite_only
async def test_a_command_that_cannot_get_the_write_lock_says_so_in_one_line_and_exits_2(
    app: Container, database_url: str
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    customer_id, _, _ = harness.customer_with_survey(harness.store_with_staff(), "王建国", "+8613800138000")
    env = _env(database_url, HUIFANG_SQLITE_BUSY_TIMEOUT="0.5")

    with _write_lock_held(database_url):
        code, stderr = await _huifang(env, "link", str(customer_id))

    assert code == 2
    assert stderr.strip() == (
        "错误：数据库正忙（另一个进程占用写入锁超过 0.5 秒），请稍后重试"
        "（等待秒数可用 HUIFANG_SQLITE_BUSY_TIMEOUT 调整）"
    )


@sqlite_only
def test_a_read_only_unit_of_work_reads_while_another_process_writes_and_refuses_to_write(
    app: Container, database_url: str
) -> None:
    Harness(app, telegram=None).store_with_staff()  # type: ignore[arg-type]

    with _write_lock_held(database_url):
        started = time.monotonic()
        with app.uow(read_only=True) as uow:
            names = set(uow.session.scalars(select(Customer.name)))
            stores = uow.stores.id_by_name(STORE)
        waited = time.monotonic() - started

    assert names == set() and stores is not None and waited < 0.5
    with app.uow(read_only=True) as uow, pytest.raises(Exception, match="readonly"):
        uow.stores.add("另一家店", "Asia/Shanghai", app.clock.now())
        uow.flush()


@sqlite_only
async def test_ctrl_c_stops_the_bot_promptly_while_a_tap_waits_for_the_write_lock(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    _, _, token = harness.customer_with_survey(harness.store_with_staff(), "王建国", "+8613800138000")
    env = _env(database_url, HUIFANG_TELEGRAM_RATE_LIMIT="false", HUIFANG_SQLITE_BUSY_TIMEOUT="0.5")
    customer = FakeUser(901, "王")

    async with FakeTelegram() as telegram:
        env.update(HUIFANG_TELEGRAM_TOKEN=telegram.token, HUIFANG_TELEGRAM_API_URL=telegram.api_url)
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                while not telegram.calls["getUpdates"]:
                    assert process.poll() is None
                    await asyncio.sleep(0.05)
                opening = await _consented(telegram, customer, token)
                with _write_lock_held(database_url):
                    telegram.press(customer, opening, "配合回访")
                    await asyncio.sleep(1.5)  # the tap has waited past the busy timeout and is being retried
                    stopping = time.monotonic()
                    process.send_signal(signal.SIGINT)
                    code = await asyncio.to_thread(process.wait, 20)
                    stopped_in = time.monotonic() - stopping
            finally:
                if process.poll() is None:
                    process.kill()

    assert code == 0 and stopped_in < 10  # not the 15 minutes the tap would otherwise keep trying


async def test_jobs_run_send_outbox_delivers_a_queued_message_once_from_its_worker_thread(
    app: Container, database_url: str
) -> None:
    with app.uow() as uow:
        uow.outbox.add("note:1", "telegram", "4242", {"text": "您好，这是一条测试消息"}, app.clock.now())
        uow.commit()

    async with FakeTelegram() as telegram:
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=telegram.token, HUIFANG_TELEGRAM_API_URL=telegram.api_url)
        first = await _huifang(env, "jobs", "run", "send_outbox")
        again = await _huifang(env, "jobs", "run", "send_outbox")
        sent = [m.text for m in telegram.chat(4242)]

    assert first[0] == 0 and "Traceback" not in first[1]
    assert again[0] == 0 and "Traceback" not in again[1]
    assert sent == ["您好，这是一条测试消息"]
