"""kill -9 while customers answer: after each restart every customer gets the current question exactly once,
no answer is lost or doubled, and a tap fetched just before the kill is still answered.

The real `huifang run` process against the fake Bot API, on SQLite (or PostgreSQL with
``HUIFANG_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from pathlib import Path

import pytest

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegram, FakeTelegramThread
from bot.settings import Settings
from tests.reliability.live_bot import (
    ANSWERS_PER_SURVEY,
    SECRET,
    BotProcess,
    answer_counts,
    customers,
    deliveries,
    env,
    next_action,
    snapshot,
    step,
    wait_until,
)

KILLS = 4


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name="惠州江铃4S店", link_secret=SECRET)


def _running(bot: BotProcess) -> bool:
    return bot.output().count("is running") >= bot.starts


def test_thirty_customers_answering_through_four_kill_9s_all_finish_with_each_answer_and_message_once(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    people = customers(app, 30)
    chats = [c.user.id for c in people]
    rng = random.Random(4)
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        bot = BotProcess(env(database_url, telegram), tmp_path / "run.log")
        bot.start()
        for person in people:
            telegram.call(server.open_link, person.user, person.token)
        kills, kill_at, last_progress = 0, None, time.monotonic()
        killed: list[float] = []
        while time.monotonic() - last_progress < 15:
            now = time.monotonic()
            if kills < KILLS and kill_at is None and _running(bot):
                kill_at = now + rng.uniform(0.2, 1.5)  # a random moment while customers answer
            if kill_at is not None and now >= kill_at:
                bot.kill()
                killed.append(time.monotonic())
                kills += 1
                kill_at = None
                bot.start()
                last_progress = time.monotonic()
            messages = snapshot(telegram, chats)
            for person in people:
                if rng.random() < 0.3 and step(telegram, person, messages[person.user.id]):  # people take a moment
                    last_progress = time.monotonic()
            if kills == KILLS and all(p.done for p in people):
                break
            time.sleep(0.05)
        final = snapshot(telegram, chats)
        twice = telegram.call(lambda: _first_copies_of_repeats(server, chats))
        wait_until(lambda: _running(bot), 30)
        code = bot.stop()
        output = bot.output()

    stuck = [p.user.id for p in people if not p.done]
    counts = answer_counts(app)
    wrong = {p.survey_id: counts[p.survey_id] for p in people if counts[p.survey_id][:2] != (ANSWERS_PER_SURVEY,) * 2}
    extra = sum(n - 1 for c in chats for n in deliveries(final[c]).values())
    # how long before a kill each message sent twice had been accepted by Telegram, not yet marked sent
    window = [min((k - sent for k in killed if k >= sent), default=float("inf")) for sent in twice]
    restarts = [line for line in output.splitlines() if "before a restart and not sent" in line]
    recovered = sum(int(line.split("sending ")[1].split()[0]) for line in restarts)
    print(
        f"{len(stuck)} stuck of {len(people)}; {recovered} messages sent on restart; {extra} delivered twice,"
        f" each accepted by Telegram at most {max(window, default=0) * 1000:.0f} ms before a kill"
    )
    assert kills == KILLS and code == 0
    with app.uow() as uow:
        assert uow.inbound.waiting() == []  # a clean stop leaves nothing to replay
    assert stuck == [], f"{len(stuck)} of {len(people)} customers stuck"
    assert wrong == {}, "answers lost or doubled"
    assert {counts[p.survey_id][2] for p in people} == {"completed"}
    # Telegram's limit (docs/architecture.md): a message Telegram accepted in the moment before a kill, not
    # yet marked sent, goes out again after the restart. Only those: every other message was marked sent
    # within moments of Telegram accepting it (generous bound for a loaded machine).
    assert len(twice) == extra
    assert max(window, default=0) < 0.5, f"a message sent twice was accepted {max(window):.2f} s before a kill"


def test_a_tap_fetched_just_before_a_kill_9_is_answered_after_the_restart(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    (person,) = customers(app, 1)
    chat = person.user.id
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        bot = BotProcess(env(database_url, telegram), tmp_path / "run.log")
        bot.start()
        telegram.call(server.open_link, person.user, person.token)
        armed: list[int] = []  # the update id whose confirmation kills the bot

        def kill_on_confirm(offset: int) -> None:
            if armed and offset > armed[0] and bot.process is not None and bot.process.poll() is None:
                armed.clear()
                os.kill(bot.process.pid, signal.SIGKILL)  # Telegram now forgets the update

        server.on_get_updates = kill_on_confirm
        lost = 0
        for _ in range(4):  # 开始, 配合回访, 其他品牌, the typed brand: each one fetched, then the bot killed
            assert wait_until(lambda: bool(snapshot(telegram, [chat])[chat]), 30)
            messages = snapshot(telegram, [chat])[chat]
            action = next_action(server, person, messages)
            assert action is not None
            telegram.call(lambda action=action: armed.append(action()))  # the tap and the trap in one go
            assert wait_until(lambda: bot.process is not None and bot.process.poll() is not None, 30)
            bot.start()
            if not wait_until(lambda count=len(messages): len(snapshot(telegram, [chat])[chat]) > count, 20):
                lost += 1
                break
        final = snapshot(telegram, [chat])[chat]
        code = bot.stop()

    assert lost == 0, "a tap fetched before the kill was lost"
    assert answer_counts(app)[person.survey_id][:2] == (3, 3)  # opening, q1, q1_brand
    assert max(deliveries(final).values()) == 1
    assert code == 0


def test_in_webhook_mode_a_tap_answered_200_just_before_a_kill_9_is_handled_after_the_restart(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    (person,) = customers(app, 1)
    chat = person.user.id
    port = _free_port()
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        webhook = {
            "HUIFANG_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
            "HUIFANG_WEBHOOK_PORT": str(port),
            "HUIFANG_WEBHOOK_SECRET": "webhook-secret-0123456789",
        }
        bot = BotProcess(env(database_url, telegram, **webhook), tmp_path / "run.log")
        bot.start()
        telegram.call(server.open_link, person.user, person.token)
        armed: list[int] = []

        def kill_on_200(update_id: int) -> None:
            if armed and update_id == armed[0] and bot.process is not None:
                armed.clear()
                os.kill(bot.process.pid, signal.SIGKILL)  # Telegram now forgets the update

        server.on_webhook_answered = kill_on_200
        assert wait_until(lambda: bool(snapshot(telegram, [chat])[chat]), 30)  # the consent question
        messages = snapshot(telegram, [chat])[chat]
        action = next_action(server, person, messages)  # 开始
        assert action is not None
        telegram.call(lambda: armed.append(action()))
        assert wait_until(lambda: bot.process is not None and bot.process.poll() is not None, 30)
        bot.start()
        arrived = wait_until(lambda: len(snapshot(telegram, [chat])[chat]) > len(messages), 20)
        final = snapshot(telegram, [chat])[chat]
        wait_until(lambda: _running(bot), 30)
        code = bot.stop()

    assert arrived, "a tap answered 200 before the kill was lost"
    assert final[-1][1].startswith("【第1/") and max(deliveries(final).values()) == 1
    assert code == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _first_copies_of_repeats(server: FakeTelegram, chats: list[int]) -> list[float]:
    """When Telegram accepted the first copy of each message delivered more than once (server's clock)."""
    firsts: list[float] = []
    for chat in chats:
        seen: dict[str, int] = {}
        for message in server.chat(chat):
            key = message.text.splitlines()[0] if message.text else ""
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 2:
                firsts.append(next(m.sent_at for m in server.chat(chat) if m.text.startswith(key)))
    return firsts


@pytest.mark.skipif(bool(os.environ.get("HUIFANG_TEST_DATABASE_URL")), reason="SQLite's write lock")
def test_a_tap_confirmed_while_another_process_held_the_write_lock_survives_a_kill_9(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    import sqlite3

    from sqlalchemy.engine import make_url

    (person,) = customers(app, 1)
    chat = person.user.id
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        bot = BotProcess(env(database_url, telegram, HUIFANG_SQLITE_BUSY_TIMEOUT="1"), tmp_path / "run.log")
        bot.start()
        telegram.call(server.open_link, person.user, person.token)
        assert wait_until(lambda: bool(snapshot(telegram, [chat])[chat]), 30)
        messages = snapshot(telegram, [chat])[chat]
        confirmed: list[int] = []
        server.on_get_updates = confirmed.append
        holder = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # an import in another process, say
        try:
            action = next_action(server, person, messages)
            assert action is not None
            tapped = telegram.call(action)
            # Telegram has been told the tap arrived (the next offset is past it) while the database was locked
            assert wait_until(lambda: any(offset > tapped for offset in confirmed), 10)
            assert bot.process is not None
            os.kill(bot.process.pid, signal.SIGKILL)
            bot.process.wait()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        server.on_get_updates = None
        bot.start()
        answered = wait_until(lambda: len(snapshot(telegram, [chat])[chat]) > len(messages), 30)
        code = bot.stop()

    assert answered, "the tap confirmed to Telegram during the lock was lost in the crash"
    assert code == 0
    assert not Path(f"{make_url(database_url).database}.inbound.jsonl").exists()
