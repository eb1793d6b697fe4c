"""Contention: customers answering through `huifang run` while other processes write to the same database.

For each backend (SQLite file, PostgreSQL scratch database), `huifang run` serves simulated customers
walking the `defeat` survey (as in ``chat_bench.py``: 配合回访 → 其他品牌 → a typed brand → 价格/价值), each
pausing ``--think`` seconds (±50 %) before a tap, ``--concurrency`` at once, while:

1. ``import``: a ``--rows``-row (default 100,000) `huifang import customers` runs in another process.
   Measured: tap-to-next-question p50/p99 while the import runs, and taps lost (no next question within
   30 s, or an answer missing from the database). Goal: p99 < 1 s, 0 lost.
2. ``commands``: 50 command-line calls (32 `huifang link`, 9 `huifang import customers` of 60 rows,
   9 `huifang jobs run select_due`, 4 at a time) run in other processes. Measured: failed commands (exit
   code not 0, or anything on stderr), lost taps, tap p50/p99. Goal: 0 failed, 0 lost.

    python bench/contention_bench.py                 # 100,000 rows, SQLite and PostgreSQL
    python bench/contention_bench.py --no-pg --rows 20000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_bench import SECRET, Run, _drop_pg, _env, _pg_url, _seed, _sqlite_url, _start_bot, _stop_bot
from sqlalchemy import func, select

from bot.app import build
from bot.domain.clock import FixedClock
from bot.sandbox.fake_telegram import FakeTelegram, FakeUser
from bot.settings import Settings
from examples.make_sample import write_customers
from storage.models import Answer, Customer

STORE = "惠州江铃4S店"  # the store chat_bench._seed creates


class Lost(Exception):
    """A tap that got no next question within the timeout."""


async def _tap(tg: FakeTelegram, user: FakeUser, act, count: int, run: Run, lost: list[int]):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    act()
    try:
        messages = await tg.wait_for_count(user.id, count, timeout=30)
    except AssertionError:
        lost.append(user.id)
        raise Lost from None
    run.latencies.append(time.perf_counter() - started)
    return messages[count - 1]


async def _walk(tg: FakeTelegram, user: FakeUser, token: str, think: float, run: Run, lost: list[int]) -> None:
    try:  # untimed: open the deep link, press 开始
        tg.open_link(user, token)
        consent = (await tg.wait_for_count(user.id, 1, timeout=60))[0]
        tg.press(user, consent, "开始")
        message = (await tg.wait_for_count(user.id, 2, timeout=60))[1]
    except AssertionError:
        lost.append(user.id)
        return
    steps = [
        lambda m: tg.press(user, m, "配合回访"),
        lambda m: tg.press(user, m, "其他品牌"),
        lambda m: tg.send_text(user, "比亚迪"),
        lambda m: tg.press(user, m, "价格/价值"),
    ]
    try:
        for count, act in enumerate(steps, start=3):
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
            message = await _tap(tg, user, lambda a=act, m=message: a(m), count, run, lost)
    except Lost:
        return


async def _customers_while(
    tg: FakeTelegram, tokens: list[str], busy: asyncio.Task, concurrency: int, think: float, run: Run
) -> tuple[int, list[int]]:
    """Customers start walks until ``busy`` is done; returns (walks started, users whose tap was lost)."""
    queue = list(enumerate(tokens))
    lost: list[int] = []
    started = 0

    async def worker() -> None:
        nonlocal started
        while queue and not busy.done():
            index, token = queue.pop(0)
            started += 1
            await _walk(tg, FakeUser(20_000 + index), token, think, run, lost)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if not queue:
        print("  (ran out of customers before the other process finished: raise --customers)")
    return started, lost


async def _huifang(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


def _answers(url: str) -> int:
    app = build(Settings(database_url=url, link_secret=SECRET))
    with app.uow() as uow:
        count = uow.session.scalar(select(func.count(Answer.id))) or 0
    app.close()
    return count


def _pct(run: Run) -> str:
    return f"{run.pct(0.5):>7.0f} {run.pct(0.99):>7.0f}"


async def scenario(url: str, scenario_name: str, args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    app = build(Settings(database_url=url, link_secret=SECRET), clock=FixedClock(datetime.now(UTC)))
    tokens = _seed(app, args.customers)
    with app.uow() as uow:
        customer_ids = list(uow.session.scalars(select(Customer.id)))
    app.close()
    run = Run(scenario_name)
    result: dict[str, object] = {}
    async with FakeTelegram() as tg:
        env = _env(
            HUIFANG_DATABASE_URL=url,
            HUIFANG_TELEGRAM_TOKEN=tg.token,
            HUIFANG_TELEGRAM_API_URL=tg.api_url,
            HUIFANG_LINK_SECRET=SECRET,
            HUIFANG_STORE_NAME=STORE,
            HUIFANG_TELEGRAM_BOT_USERNAME="huifang_test_bot",
            HUIFANG_TELEGRAM_RATE_LIMIT="false",
        )
        process = await _start_bot(tg, [sys.executable, "-m", "bot", "run"], env)
        try:
            started = time.perf_counter()
            if scenario_name == "import":
                big = tmp / f"import_{args.rows}.csv"
                if not big.exists():
                    write_customers(big, args.rows, seed=11, bad_rows=False)
                busy = asyncio.create_task(_huifang(env, "import", "customers", str(big), "--store", STORE))
            else:
                files = []
                for seed in range(3):
                    files.append(tmp / f"small{seed}.csv")
                    write_customers(files[-1], 60, seed=100 + seed, bad_rows=False)
                commands: list[tuple[str, ...]] = [("link", str(random.choice(customer_ids))) for _ in range(32)]
                commands += [("import", "customers", str(files[i % 3]), "--store", STORE) for i in range(9)]
                commands += [("jobs", "run", "select_due") for _ in range(9)]
                random.shuffle(commands)
                slots = asyncio.Semaphore(4)

                async def one(command: tuple[str, ...]) -> tuple[int, str]:
                    async with slots:
                        return await _huifang(env, *command)

                async def all_commands() -> list[tuple[int, str]]:
                    return await asyncio.gather(*(one(c) for c in commands))

                busy = asyncio.create_task(all_commands())
            walks, lost = await _customers_while(tg, tokens, busy, args.concurrency, args.think, run)
            outcome = await busy
            seconds = time.perf_counter() - started
        finally:
            await _stop_bot(process)
    answers = _answers(url)
    if scenario_name == "import":
        code, stderr = outcome  # type: ignore[misc]
        failed = int(code != 0 or bool(stderr.strip()))
        result["failed"] = f"import {'FAILED: ' + stderr.strip().splitlines()[-1][:100] if failed else 'ok'}"
    else:
        bad = [(c, e.strip().splitlines()[-1][:100] if e.strip() else "") for c, e in outcome if c or e.strip()]  # type: ignore[union-attr]
        result["failed"] = f"{len(bad)} of {len(outcome)} commands failed"  # type: ignore[arg-type]
        for code, line in bad[:3]:
            print(f"  failed (exit {code}): {line}")
    # Each answered tap stored exactly one answer: more answers than answered taps is a tap stored but never
    # answered (the customer is stuck), fewer is an answer lost.
    result.update(
        walks=walks,
        taps=len(run.latencies),
        lost=len(lost),
        stored=answers - len(run.latencies),
        seconds=seconds,
        run=run,
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the concurrent import")
    parser.add_argument("--customers", type=int, default=1500, help="customers seeded (walks start until done)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--think", type=float, default=0.5, help="seconds a customer pauses before a tap (±50 %%)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--scenarios", default="import,commands")
    args = parser.parse_args()

    print(f"{args.concurrency} customers answering at once, {args.think:g} s think time; latency = tap → next question")
    print(f"{'backend':<11} {'scenario':<9} {'seconds':>7} {'walks':>6} {'taps':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'lost':>5} {'stored-answered':>15}  other process")  # fmt: skip
    drops: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        try:
            for backend in ("SQLite", "PostgreSQL"):
                if (backend == "SQLite" and args.no_sqlite) or (backend == "PostgreSQL" and args.no_pg):
                    continue
                for name in args.scenarios.split(","):
                    if backend == "SQLite":
                        url = _sqlite_url(tmp, f"contention_{name}")
                    else:
                        pg = _pg_url(args.pg_url)
                        if pg is None:
                            break
                        url = pg[0]
                        drops.append(pg[1])
                    r = await scenario(url, name, args, tmp)
                    run: Run = r["run"]  # type: ignore[assignment]
                    print(f"{backend:<11} {name:<9} {r['seconds']:>7.1f} {r['walks']:>6} {r['taps']:>6} {_pct(run)} "
                          f"{r['lost']:>5} {r['stored']:>15}  {r['failed']}")  # fmt: skip
                    goal = run.pct(0.99) < 1000 and r["lost"] == r["stored"] == 0 and "FAILED" not in str(r["failed"])
                    if name == "commands":
                        goal = goal and str(r["failed"]).startswith("0 of")
                    print(f"{'':<11} goal (p99 < 1 s, 0 lost, 0 failed): {'met' if goal else 'NOT met'}")
        finally:
            for name in drops:
                _drop_pg(args.pg_url, name)


if __name__ == "__main__":
    asyncio.run(main())
