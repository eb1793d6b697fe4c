"""Benchmark the reason report against the issue's goals.

    python bench/report_bench.py [--scale 1.0] [--runs 5] [--no-sqlite] [--no-pg] [--pg-url URL] [--keep]

Generates 1,000,000 customers, 2,500,000 surveys and 10,000,000 answers (times ``--scale``) spread over the five
years before 2026-11-25, in a scratch SQLite file and a scratch PostgreSQL database ``huifang_report_bench``
(created through the database named in ``--pg-url``, dropped at the end unless ``--keep``), then times
``build_report`` for the reason section of the week 2026-W47 (with its previous week) and of all time.

Goals: weekly < 0.5 s on both databases; all-time < 2 s on PostgreSQL.

Generation is plain SQL inside each database (generate_series on PostgreSQL, a recursive CTE on SQLite), with
foreign-key checks and the roll-up triggers off during the load and the roll-up rebuilt once at the end
(``storage.queries.reports.rebuild_reason_rollup``, the same result the triggers keep).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "huifang_report_bench"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
SPAN_SECONDS = 5 * 365 * 24 * 3600
START_EPOCH = int(NOW.timestamp()) - SPAN_SECONDS
GOALS = {("sqlite", "weekly"): 0.5, ("postgresql", "weekly"): 0.5, ("postgresql", "all-time"): 2.0}

# Questionnaire per survey id (sid % 5): 0-2 defeat, 3 lapsed, 4 owner_care. Four answers per survey.
# Reason codes are picked by a multiplicative hash of the answer id so every week sees every code.
DEFEAT_Q = [
    ("q1", "购车去向", ["other_brand", "our_brand_elsewhere", "not_yet"]),
    ("q2", None, ["no_stock", "friend_recommendation", "facilities", "price_value", "sales_performance", "other"]),
    ("q4", None, ["brand", "friend_recommendation", "facilities", "value_for_money", "other"]),
    ("q2_other", None, []),
]
LAPSED_Q = [
    ("q1", None, ["dissatisfied", "other_reasons"]),
    ("q1_internal", "内因", ["cost_high", "poor_technique", "long_wait", "service_attitude"]),
    ("q1_external", "外因", ["far_away", "car_elsewhere", "relative_garage", "car_sold", "low_mileage"]),
    ("q2", "回店意愿", ["willing", "maybe", "unwilling"]),
]
OWNER_Q = [
    ("q_problems", None, ["none", "solved", "unsolved"]),
    ("q_rebuy", None, ["yes", "maybe", "no"]),
    ("q_recommend", None, ["yes", "no"]),
    ("q_other_brands", None, ["yes", "no"]),
]
GROUPS = {
    "no_stock": "资源缺少",
    "friend_recommendation": "口碑推荐",
    "facilities": "环境设施",
    "price_value": "价格较高",
    "sales_performance": "销售人员",
    "other": "其他",
    "brand": "品牌",
    "value_for_money": "价格/价值",
}


def _case(sql_key: str, options: list[str]) -> str:
    """SQL CASE picking one of ``options`` by ``sql_key`` modulo their count."""
    if not options:
        return "NULL"
    whens = " ".join(f"WHEN {i} THEN '{o}'" for i, o in enumerate(options))
    return f"CASE ({sql_key}) % {len(options)} {whens} END"


def answer_select(ts: Callable[[str], str], series: str) -> str:
    """The SELECT producing every answer row from the integer ``g`` (1..n) of ``series``."""
    sid = "((g - 1) / 4 + 1)"
    k = "((g - 1) % 4)"
    h = "((g * 2654435761) % 1000003)"
    blocks = {0: DEFEAT_Q, 1: DEFEAT_Q, 2: DEFEAT_Q, 3: LAPSED_Q, 4: OWNER_Q}
    question = (
        "CASE "
        + " ".join(
            f"WHEN {sid} % 5 = {m} AND {k} = {i} THEN '{q}'"
            for m, qs in blocks.items()
            for i, (q, _, _) in enumerate(qs)
        )
        + " END"
    )
    code = (
        "CASE "
        + " ".join(
            f"WHEN {sid} % 5 = {m} AND {k} = {i} THEN {_case(h, opts)}"
            for m, qs in blocks.items()
            for i, (_, _, opts) in enumerate(qs)
        )
        + " ELSE NULL END"
    )
    group_parts = []
    for m, qs in blocks.items():
        for i, (_, fixed, opts) in enumerate(qs):
            if fixed:
                group_parts.append(f"WHEN {sid} % 5 = {m} AND {k} = {i} THEN '{fixed}'")
            elif opts and m < 3:
                group_parts.append(
                    f"WHEN {sid} % 5 = {m} AND {k} = {i} THEN " + _case(h, [GROUPS.get(o, "其他") for o in opts])
                )
    group = "CASE " + " ".join(group_parts) + " ELSE NULL END"
    is_defeat_text = f"({sid} % 5 < 3 AND {k} = 3)"
    return (
        f"SELECT g, {sid}, {question}, "
        f"CASE WHEN {is_defeat_text} THEN '' ELSE {code} END, "
        f"CASE WHEN {is_defeat_text} THEN NULL ELSE {code} END, "
        f"CASE WHEN {is_defeat_text} THEN NULL ELSE {group} END, "
        f"CASE WHEN {is_defeat_text} THEN '原话' || g ELSE NULL END, "
        f"{ts(f'({sid} * 7919) % {SPAN_SECONDS} + {k} * 60')} "
        f"FROM {series}"
    )


def generate(connection: object, dialect: str, scale: float) -> dict[str, int]:
    """Fill customers, surveys and answers with plain SQL; returns the row counts."""
    customers = int(1_000_000 * scale)
    surveys = int(2_500_000 * scale)
    answers = surveys * 4
    cur = connection.cursor()  # type: ignore[attr-defined]
    if dialect == "postgresql":

        def ts(offset: str) -> str:
            return f"to_timestamp({START_EPOCH} + ({offset}))"

        def series(n: int) -> str:
            return f"generate_series(1::bigint, {n}::bigint) AS s(g)"

        cur.execute("SET session_replication_role = replica")  # no FK checks, no roll-up triggers while loading
    else:

        def ts(offset: str) -> str:
            return f"strftime('%Y-%m-%d %H:%M:%S', {START_EPOCH} + ({offset}), 'unixepoch') || '.000000'"

        def series(n: int) -> str:
            return f"(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {n}) SELECT g FROM c)"

    now_sql = ts(str(SPAN_SECONDS))
    cur.execute(f"INSERT INTO store (id, name, timezone, created_at) VALUES (1, '本店', 'Asia/Shanghai', {now_sql})")
    cur.execute(
        "INSERT INTO staff (id, store_id, name, role, active, created_at, updated_at) "
        f"SELECT g, 1, '顾问' || g, 'sales_consultant', TRUE, {now_sql}, {now_sql} FROM {series(30)}"
    )
    statuses = ["prospect", "quasi_defeated", "defeated", "owner", "lapsed"]
    regions = ["惠城区", "博罗县", "惠阳区", "大亚湾区", "惠东县", "龙门县"]
    industries = ["制造业", "服务业", "电力燃气业", "交通运输", "五金化工", "建筑业", "事业单位"]
    cur.execute(
        "INSERT INTO customer (id, store_id, name, phone, status, region, industry, owner_staff_id, "
        "loyalty_score, economic_score, created_at, updated_at) "
        f"SELECT g, 1, '客户' || g, '+86130' || g, {_case('g', statuses)}, "
        f"{_case('g / 7', regions)}, {_case('g / 11', industries)}, 1 + g % 30, g % 11, (g / 3) % 11, "
        f"{ts(f'(g * 104729) % {SPAN_SECONDS}')}, {now_sql} FROM {series(customers)}"
    )
    outcomes = ["complete", "complete", "refusal", "appointment", "partial"]
    cur.execute(
        "INSERT INTO survey (id, customer_id, questionnaire_id, questionnaire_version, purpose, channel, status, "
        "outcome, attempt_count, reminders_sent, created_at, updated_at) "
        f"SELECT g, 1 + (g * 31) % {customers}, "
        "CASE WHEN g % 5 < 3 THEN 'defeat' WHEN g % 5 = 3 THEN 'lapsed' ELSE 'owner_care' END, "
        "'1', 'bench', CASE WHEN g % 2 = 0 THEN 'chat' ELSE 'phone' END, 'done', "
        f"{_case('g / 5', outcomes)}, 1, 0, {ts(f'(g * 7919) % {SPAN_SECONDS}')}, {now_sql} "
        f"FROM {series(surveys)}"
    )
    cur.execute(
        "INSERT INTO answer (id, survey_id, question_id, option_code, reason_code, reason_group, free_text, "
        f"answered_at) {answer_select(ts, series(answers))}"
    )
    cur.close()
    return {"customers": customers, "surveys": surveys, "answers": answers}


def _indexes(cur: object, dialect: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the droppable secondary indexes of answer and survey."""
    if dialect == "postgresql":
        cur.execute(  # type: ignore[attr-defined]
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('answer', 'survey') "
            "AND indexname LIKE 'ix_%'"
        )
    else:
        cur.execute(  # type: ignore[attr-defined]
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('answer', 'survey') "
            "AND name LIKE 'ix_%'"
        )
    return list(cur.fetchall())  # type: ignore[attr-defined]


def load(url: str, scale: float) -> tuple[dict[str, int], float]:
    """Migrate, then load with the secondary indexes dropped and rebuilt after (faster than maintaining them)."""
    from storage.database import make_engine
    from storage.queries.reports import rebuild_reason_rollup
    from storage.schema import upgrade

    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    dialect = engine.dialect.name
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        cur = dbapi.cursor()
        if dialect == "sqlite":
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-1000000")
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cur.fetchall()
            for name, _ in triggers:
                cur.execute(f"DROP TRIGGER {name}")
        indexes = _indexes(cur, dialect)
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        if dialect == "sqlite":
            cur.execute("BEGIN")
        counts = generate(dbapi, dialect, scale)
        for _, create in indexes:
            cur.execute(create)
        if dialect == "sqlite":
            for _, create in triggers:
                cur.execute(create)
            cur.execute("COMMIT")
        else:
            cur.execute("SET session_replication_role = origin")
            dbapi.commit()
        cur.close()
    finally:
        raw.close()
    with engine.begin() as connection:
        rebuild_reason_rollup(connection)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()
    return counts, time.perf_counter() - started


def time_reports(url: str, runs: int) -> dict[str, list[float]]:
    """Median-able timings of the weekly and all-time reason reports (plus one full weekly report)."""
    from bot.app import build
    from bot.domain.clock import FixedClock
    from bot.domain.statistics import ReportSettings, parse_week
    from bot.services.reports import ReportParams, build_report
    from bot.settings import Settings

    app = build(Settings(database_url=url), FixedClock(NOW))
    settings = ReportSettings()
    cases = {
        "weekly": ReportParams(period=parse_week("2026-W47"), sections=("reasons",)),
        "all-time": ReportParams(all_time=True, sections=("reasons",)),
        "weekly-by-series": ReportParams(period=parse_week("2026-W47"), sections=("reasons",), by="series"),
        "weekly-contacts": ReportParams(period=parse_week("2026-W47"), sections=("contacts",)),
    }
    results: dict[str, list[float]] = {}
    try:
        for name, params in cases.items():
            build_report(app.uow, params, settings, app.clock)  # warm the caches once
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                report = build_report(app.uow, params, settings, app.clock)
                timings.append(time.perf_counter() - started)
            results[name] = timings
            if name == "weekly":
                top = report.table("reasons").rows[:3]
                print(f"    (weekly sample: {[(r['question'][:3], r['reason_code'], r['count']) for r in top]})")
    finally:
        app.close()
    return results


def _pg_admin(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from storage.database import normalise_url

    return create_engine(make_url(normalise_url(url)), isolation_level="AUTOCOMMIT")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M customers, 10M answers")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    targets: list[tuple[str, str]] = []
    scratch = Path(tempfile.mkdtemp(prefix="huifang_report_bench_"))
    if not args.no_sqlite:
        targets.append(("sqlite", f"sqlite:///{scratch / 'bench.db'}"))
    admin = None
    if not args.no_pg:
        admin = _pg_admin(args.pg_url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
        targets.append(("postgresql", make_url(args.pg_url).set(database=BENCH_DB).render_as_string(False)))
    failed = False
    try:
        for dialect, url in targets:
            print(f"== {dialect} (scale {args.scale})", flush=True)
            counts, load_seconds = load(url, args.scale)
            print(f"  generated {counts} in {load_seconds:.1f} s", flush=True)
            for name, timings in time_reports(url, args.runs).items():
                median = statistics.median(timings)
                goal = GOALS.get((dialect, name))
                verdict = "" if goal is None else (" ok" if median < goal else f" OVER the {goal} s goal")
                failed |= goal is not None and median >= goal and args.scale >= 1.0
                print(
                    f"  {name:16s} median {median * 1000:8.1f} ms over {len(timings)} runs"
                    f" (min {min(timings) * 1000:.1f}, max {max(timings) * 1000:.1f}){verdict}",
                    flush=True,
                )
    finally:
        if admin is not None:
            if not args.keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            admin.dispose()
        if not args.keep:
            for path in scratch.glob("*"):
                path.unlink()
            scratch.rmdir()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
