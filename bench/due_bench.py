"""Scheduler figures: due selection over 1,000,000 customers, and the invitation send rate.

    python bench/due_bench.py                  # 1,000,000 customers, SQLite and PostgreSQL; 600 invitations
    python bench/due_bench.py --customers 100000 --no-pg

The data: 1,000,000 customers (owners, lapsed, prospects, defeated) with vehicles and lead events, 150,000 of
them defeated in the last 30 days and not yet surveyed (due for the lost-prospect survey), and 100,000 recent
lost-prospect surveys of other defeated customers (``--recent-surveys``): the shape where a bad plan costs
(customers due) x (recent surveys). It is loaded by bulk SQL right after ``upgrade`` (what ``huifang db
upgrade`` runs), so the planner statistics are those a user's database has after ``db upgrade`` and a bulk
load, before anything analyses it again.

Timed (goal < 1 s each):
- ``never analysed`` (SQLite only): the queries of ``select_due`` (survey candidates of every purpose,
  follow-up tasks, before the per-customer policy) on that database before anything analysed it, median of
  3: the index shapes alone must keep the plan; PostgreSQL without statistics is not a state a user reaches
  (the import analyses) and takes minutes on the lapsed query, so it is not run;
- ``after import``: the same queries after ``refresh_statistics`` (what a large ``huifang import`` runs at
  its end, ``huifang db upgrade`` after migrating, and ``huifang run`` every 6 hours), median of 3;
- ``job pass 1..N`` (``--passes``, default 1): the real ``select_due`` job, each creating up to 5,000
  surveys and the follow-up tasks due (the passes ``huifang run`` makes every 10 minutes), then the
  queries once more on the statistics the passes left behind.
The send rate is the outbox sent through the real PTB bot and the send limiter to the fake Bot API server
with Telegram's limits enforced (30 messages/s, 1 per chat per second): messages/s, 429 answers and
duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
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

# Statuses by id modulo 20: 10 owners, 3 lapsed, 2 prospects, 4 defeated, 1 quasi-defeated. Every defeated and
# quasi-defeated customer lost the sale 1 to 30 days ago; the first ``:surveyed`` of them (ids with n % 20 in 15,
# 16) already had their lost-prospect survey within those 30 days, the rest are due.
GENERATE = """
INSERT INTO customer (id, store_id, name, honorific, phone, status, intent_level, owner_staff_id,
                      created_at, updated_at)
SELECT n, 1, 'C' || n, '先生', '+86139' || substr('00000000' || n, -8, 8),
       CASE WHEN n % 20 < 10 THEN 'owner' WHEN n % 20 < 13 THEN 'lapsed' WHEN n % 20 < 15 THEN 'prospect'
            WHEN n % 20 < 19 THEN 'defeated' ELSE 'quasi_defeated' END,
       CASE WHEN n % 20 IN (13, 14) THEN substr('ABC', n % 3 + 1, 1) END,
       1, :created, :created
FROM {numbers};
INSERT INTO vehicle (customer_id, series, delivery_date, last_service_date, created_at, updated_at)
SELECT n, '轻卡', {day_minus} (n % 1500), {day_minus} (n % 900), :created, :created FROM {numbers}
WHERE n % 20 < 13;
INSERT INTO lead_event (customer_id, kind, occurred_on, created_at)
SELECT n, 'defeat', {day_minus} (n % 29 + 1), :created FROM {numbers} WHERE n % 20 >= 15;
INSERT INTO lead_event (customer_id, kind, occurred_on, created_at)
SELECT n, 'test_drive', {day_minus} (n % 10), :created FROM {numbers} WHERE n % 20 IN (13, 14);
INSERT INTO survey (customer_id, questionnaire_id, questionnaire_version, purpose, channel, status,
                    attempt_count, reminders_sent, stage_attempts, created_at, updated_at)
SELECT n, 'defeat', 'defeat@1', 'defeat', 'phone', 'completed', 1, 0, 0, :recent, :recent FROM {numbers}
WHERE n % 20 IN (15, 16) AND n <= :surveyed * 10
"""


def _fill(url: str, customers: int, surveyed: int) -> float:
    """Migrate (as ``huifang db upgrade`` does), then bulk-load the data shape; returns the load's seconds."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    created = NOW - timedelta(days=400)
    recent = NOW - timedelta(days=10)
    sqlite = engine.dialect.name == "sqlite"
    params: dict[str, object] = {"count": customers, "surveyed": surveyed, "created": created, "recent": recent}
    if sqlite:  # stored the way SQLAlchemy's DateTime stores them on SQLite
        params |= {k: params[k].strftime("%Y-%m-%d %H:%M:%S.%f") for k in ("created", "recent")}  # type: ignore[attr-defined]
    with engine.begin() as connection:
        store = "INSERT INTO store (id, name, timezone, created_at) VALUES (1, '店', 'Asia/Shanghai', :created)"
        connection.execute(text(store), params)
        staff = (
            "INSERT INTO staff (id, store_id, name, role, active, created_at, updated_at) "
            "VALUES (1, 1, '李明', 'sales_consultant', true, :created, :created)"
        )
        connection.execute(text(staff), params)
        if sqlite:
            numbers = (
                "(WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
                "SELECT n FROM seq)"
            )
            sql = re.sub(r"\{day_minus\} \(([^)]*)\)", r"date('2026-11-25', '-' || (\1) || ' days')", GENERATE)
        else:
            numbers = "generate_series(1, :count) AS g(n)"
            sql = re.sub(r"\{day_minus\} \(([^)]*)\)", r"(DATE '2026-11-25' - (\1))", GENERATE)
            sql = sql.replace("'+86139' || substr('00000000' || n, -8, 8)", "'+86139' || lpad(n::text, 8, '0')")
            sql = sql.replace("substr('ABC', n % 3 + 1, 1)", "substr('ABC', (n % 3 + 1)::int, 1)")
        for statement in sql.replace("{numbers}", numbers).split(";"):
            if statement.strip():
                connection.execute(text(statement), params)
    engine.dispose()
    return time.perf_counter() - started


def _queries(url: str) -> tuple[float, int, int]:
    """The queries of one ``select_due`` pass, median of 3: seconds, survey and task candidates."""
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


def _job_passes(url: str, passes: int) -> list[tuple[float, int]]:
    """The real ``select_due`` job, ``passes`` times in a row: seconds and surveys created, each."""
    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    done = []
    for _ in range(passes):
        started = time.perf_counter()
        report = jobs.select_due(app.job_context())
        done.append((time.perf_counter() - started, report.surveys))
    app.close()
    return done


def _analyse(url: str) -> None:
    """What a large import runs at its end (and `db upgrade`, and `huifang run` every 6 hours)."""
    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    with app.uow() as uow:
        uow.refresh_statistics()
    app.close()


def _show(backend: str, state: str, figures: tuple[float, int, int]) -> None:
    seconds, surveys, tasks = figures
    print(f"  {backend:<10} {state:<14} queries {seconds * 1000:8.0f} ms   {surveys:,} survey candidates, "
          f"{tasks:,} task candidates (limit {DueRules().batch_limit:,} per purpose)")  # fmt: skip


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
    parser.add_argument("--recent-surveys", type=int, help="recent lost-prospect surveys (default customers / 10)")
    parser.add_argument("--passes", type=int, default=1, help="select_due job passes in a row (0: none)")
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
            surveyed = args.recent_surveys if args.recent_surveys is not None else args.customers // 10
            print(f"due selection over {args.customers:,} customers, {surveyed:,} recent lost-prospect surveys "
                  f"(goal < 1 s each)")  # fmt: skip
            for backend, url, _ in targets:
                load = _fill(url, args.customers, surveyed)
                print(f"  {backend:<10} load {load:6.1f} s")
                if backend == "SQLite":
                    _show(backend, "never analysed", _queries(url))
                _analyse(url)
                _show(backend, "after import", _queries(url))
                if args.passes:
                    for number, (seconds, created) in enumerate(_job_passes(url, args.passes), 1):
                        state = f"job pass {number}"
                        print(f"  {backend:<10} {state:<14} {seconds * 1000:8.0f} ms   {created:,} surveys created")
                    _show(backend, "after passes", _queries(url))
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
