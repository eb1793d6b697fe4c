"""Scheduler figures: one due-selection pass over 1,000,000 customers, and the invitation send rate.

    python bench/due_bench.py                  # 1,000,000 customers, SQLite and PostgreSQL; 600 invitations
    python bench/due_bench.py --customers 100000 --no-pg

The due pass is what `select_due` asks the database (survey candidates of every purpose, follow-up tasks)
before the per-customer policy; it is timed on a freshly analysed database (median of 3). The send rate is
the outbox sent through the real PTB bot and the send limiter to the fake Bot API server with Telegram's
limits enforced (30 messages/s, 1 per chat per second): messages/s, 429 answers and duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.app import build
from bot.domain.clock import FixedClock
from bot.domain.due import DueRules
from bot.sandbox.fake_telegram import FakeTelegram
from bot.settings import Settings
from bot.telegram.application import build_application
from bot.telegram.sender import TelegramSender
from scheduler import jobs
from storage.database import make_engine, normalise_url
from storage.queries.due import survey_candidates, task_candidates
from storage.schema import upgrade

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)

# Statuses by id modulo 20: 12 owners, 3 lapsed, 2 prospects, 2 defeated, 1 quasi-defeated.
GENERATE = """
INSERT INTO customer (id, store_id, name, honorific, phone, status, intent_level, owner_staff_id,
                      created_at, updated_at)
SELECT n, 1, 'C' || n, '先生', '+86139' || substr('00000000' || n, -8, 8),
       CASE WHEN n % 20 < 12 THEN 'owner' WHEN n % 20 < 15 THEN 'lapsed' WHEN n % 20 < 17 THEN 'prospect'
            WHEN n % 20 < 19 THEN 'defeated' ELSE 'quasi_defeated' END,
       CASE WHEN n % 20 IN (15, 16) THEN substr('ABC', n % 3 + 1, 1) END,
       1, :created, :created
FROM {numbers};
INSERT INTO vehicle (customer_id, series, delivery_date, last_service_date, created_at, updated_at)
SELECT n, '轻卡', {day_minus} (n % 1500), {day_minus} (n % 900), :created, :created FROM {numbers}
WHERE n % 20 < 15;
INSERT INTO lead_event (customer_id, kind, occurred_on, created_at)
SELECT n, 'defeat', {day_minus} (n % 60), :created FROM {numbers} WHERE n % 20 >= 17;
INSERT INTO lead_event (customer_id, kind, occurred_on, created_at)
SELECT n, 'test_drive', {day_minus} (n % 10), :created FROM {numbers} WHERE n % 20 IN (15, 16);
"""


def _fill(url: str, customers: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    created = NOW - timedelta(days=400)
    with engine.begin() as connection:
        store = "INSERT INTO store (id, name, timezone, created_at) VALUES (1, '店', 'Asia/Shanghai', :c)"
        connection.execute(text(store), {"c": created})
        connection.execute(text("INSERT INTO staff (id, store_id, name, role, active, created_at, updated_at) "
                                "VALUES (1, 1, '李明', 'sales_consultant', true, :c, :c)"), {"c": created})  # fmt: skip
        if engine.dialect.name == "sqlite":
            numbers = (
                "(WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
                "SELECT n FROM seq)"
            )
            sql = GENERATE.replace("{day_minus} (n % 1500)", "date('2026-11-25', '-' || (n % 1500) || ' days')")
            sql = sql.replace("{day_minus} (n % 900)", "date('2026-11-25', '-' || (n % 900) || ' days')")
            sql = sql.replace("{day_minus} (n % 60)", "date('2026-11-25', '-' || (n % 60) || ' days')")
            sql = sql.replace("{day_minus} (n % 10)", "date('2026-11-25', '-' || (n % 10) || ' days')")
        else:
            numbers = "generate_series(1, :count) AS g(n)"
            sql = GENERATE
            for m in ("1500", "900", "60", "10"):
                sql = sql.replace(f"{{day_minus}} (n % {m})", f"(DATE '2026-11-25' - (n % {m}))")
            sql = sql.replace("'+86139' || substr('00000000' || n, -8, 8)", "'+86139' || lpad(n::text, 8, '0')")
            sql = sql.replace("substr('ABC', n % 3 + 1, 1)", "substr('ABC', (n % 3 + 1)::int, 1)")
        for statement in sql.format(numbers=numbers, day_minus="").split(";"):
            if statement.strip():
                connection.execute(text(statement), {"count": customers, "created": created})
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
        else:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def _due_pass(url: str) -> tuple[float, int, int]:
    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    rules = DueRules()
    times = []
    surveys = tasks = 0
    for _ in range(3):
        with app.uow() as uow:
            started = time.perf_counter()
            surveys = len(survey_candidates(uow.session, NOW, TODAY, rules))
            tasks = len(task_candidates(uow.session, NOW, TODAY, rules))
            times.append(time.perf_counter() - started)
    app.close()
    return statistics.median(times), surveys, tasks


async def _send_rate(messages: int) -> tuple[float, int, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'send.db'}"
        upgrade(make_engine(url))
        app = build(Settings(database_url=url, link_secret="bench-secret-0123456789"), clock=FixedClock(NOW))
        with app.uow() as uow:
            for i in range(messages):
                uow.outbox.add(f"invite:{i}", "telegram", str(50_000 + i), {"text": f"邀请 {i}"}, NOW)
            uow.commit()
        async with FakeTelegram(enforce_limits=True) as telegram:
            application = build_application(app.chat_services(), telegram.token, telegram.api_url)
            async with application:
                started = time.perf_counter()
                await jobs.deliver(app.job_context(), TelegramSender(application.bot))
                seconds = time.perf_counter() - started
        delivered = sum(len(m) for m in telegram.messages.values())
        duplicates = delivered - len(telegram.messages)
        app.close()
        return messages / seconds, telegram.too_many_requests, duplicates, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{Path(tmp) / 'due.db'}", None)]
        if not args.no_pg:
            name = f"huifang_due_bench_{os.getpid()}_{uuid.uuid4().hex[:4]}"
            admin = create_engine(normalise_url(args.pg_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            targets.append(("PostgreSQL", make_url(normalise_url(args.pg_url)).set(database=name).render_as_string(
                hide_password=False), name))  # fmt: skip
        try:
            print(f"due selection over {args.customers:,} customers (goal < 1 s)")
            for backend, url, _ in targets:
                load = _fill(url, args.customers)
                seconds, surveys, tasks = _due_pass(url)
                print(f"  {backend:<10} load {load:6.1f} s   pass {seconds * 1000:7.0f} ms   "
                      f"{surveys:,} survey candidates, {tasks:,} task candidates (limit {DueRules().batch_limit:,} "
                      f"per purpose)")  # fmt: skip
        finally:
            for _, _, name in targets:
                if name:
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    rate, too_many, duplicates, delivered = asyncio.run(_send_rate(args.messages))
    print(f"invitations: {delivered} of {args.messages} delivered at {rate:.1f} messages/s (goal ≥ 27), "
          f"{too_many} × 429, {duplicates} duplicates")  # fmt: skip


if __name__ == "__main__":
    main()
