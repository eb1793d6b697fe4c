"""Chat throughput and latency: simulated customers answer `defeat` through the real bot over HTTP.

For each backend (SQLite file, PostgreSQL scratch database) N customers (``--customers``), ``--concurrency``
of them answering at once, walk: open link → 开始 → 配合回访 → 其他品牌 → type a brand → 价格/价值 (closing).
Measured: answers recorded per second, and latency from a button press (or typed text) to the next question
arriving at the fake Bot API server. In the same run, against the same fake server, a minimal PTB bot that
answers every press with a new keyboard (no database, no logic) gives the ceiling of this machine
(``ceiling``: PTB as installed; ``ceil-aio``: the same bot on huifang's HTTP transport).
Binding and consent happen first, untimed; the timed phase is the four answers of each customer.

    python bench/chat_bench.py                 # 200 customers, 25 at once, SQLite and PostgreSQL
    python bench/chat_bench.py --quick         # 50 customers, SQLite only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.app import build
from bot.domain.clock import FixedClock
from bot.domain.links import LinkSubject
from bot.domain.people import Role
from bot.sandbox.fake_telegram import FakeTelegram, FakeUser, SentMessage
from bot.services.links import issue_link
from bot.services.surveys import create_survey
from bot.settings import Settings
from storage.database import make_engine, normalise_url
from storage.models import Answer, Customer
from storage.schema import upgrade

SECRET = "bench-secret-0123456789"


@dataclass
class Run:
    name: str
    answers: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    api_calls: int = 0
    setup_seconds: float = 0.0  # binding and consent, before the timed answers
    bot_cpu: float = 0.0  # CPU seconds the bot process used in the timed phase
    too_many: int = 0  # 429 answers from the fake server (it enforces Telegram's limits with --limiter)

    @property
    def cpu_ms_per_answer(self) -> float:
        return 1000 * self.bot_cpu / self.answers if self.answers else 0.0

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000 if data else 0.0


THINK = {"seconds": 0.0}  # a customer's pause between reading a question and tapping (set by --think)


async def _timed(tg: FakeTelegram, user: FakeUser, act, count_before: int, run: Run):  # type: ignore[no-untyped-def]
    if THINK["seconds"]:  # people do not tap in step: spread the pause ±50 %
        await asyncio.sleep(THINK["seconds"] * random.uniform(0.5, 1.5))
    started = time.perf_counter()
    act()
    messages = await tg.wait_for_count(user.id, count_before + 1, timeout=30)
    run.latencies.append(time.perf_counter() - started)
    return messages[count_before]


async def _bind_and_consent(tg: FakeTelegram, user: FakeUser, token: str) -> SentMessage:
    """Untimed: open the deep link, press 开始; returns the opening question."""
    tg.open_link(user, token)
    consent = (await tg.wait_for_count(user.id, 1, timeout=30))[0]
    tg.press(user, consent, "开始")
    return (await tg.wait_for_count(user.id, 2, timeout=30))[1]


async def _answer_defeat(tg: FakeTelegram, user: FakeUser, opening: SentMessage, run: Run) -> None:
    """Timed: four answers, one of them typed."""
    q1 = await _timed(tg, user, lambda: tg.press(user, opening, "配合回访"), 2, run)
    brand = await _timed(tg, user, lambda: tg.press(user, q1, "其他品牌"), 3, run)
    q2 = await _timed(tg, user, lambda: tg.send_text(user, "比亚迪"), 4, run)
    await _timed(tg, user, lambda: tg.press(user, q2, "价格/价值"), 5, run)
    assert brand.text


async def _workers(items: list, concurrency: int, work) -> None:  # type: ignore[no-untyped-def]
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _seed(app, customers: int) -> list[str]:  # type: ignore[no-untyped-def]
    tokens = []
    with app.uow() as uow:
        now = app.clock.now()
        store_id = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store_id, "李明", Role.SALES_CONSULTANT, None, True, now)
        uow.staff.add(store_id, "周芳", Role.CS_SPECIALIST, None, True, now)
        issuer = app.link_issuer("huifang_test_bot")
        kit = app.survey_kit()
        for i in range(customers):
            customer = Customer(
                store_id=store_id,
                name=f"客户{i}",
                honorific="先生",
                phone=f"+86139{i:08d}",
                status="defeated",
                owner_staff_id=consultant,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(customer)
            uow.flush()
            create_survey(uow, kit, customer.id, "defeat", "defeat", "chat")
            tokens.append(issue_link(uow, issuer, LinkSubject.CUSTOMER, customer.id, app.clock).rsplit("=", 1)[1])
        uow.commit()
    return tokens


async def _start_bot(tg: FakeTelegram, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a bot process against the fake server and wait until it polls."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        if tg.calls["getUpdates"] > 0:
            return process
        if process.poll() is not None:
            raise RuntimeError(f"bot exited: {process.stderr.read().decode()[-500:] if process.stderr else ''}")
        await asyncio.sleep(0.05)
    raise RuntimeError("bot did not start polling")


async def _stop_bot(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    for _ in range(200):
        if process.poll() is not None:
            return
        await asyncio.sleep(0.05)
    process.kill()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update(extra)
    return env


async def bench_huifang(url: str, customers: int, concurrency: int, limiter: bool = False) -> Run:
    """`huifang run` as its own process; customers and the fake server in this one.

    ``limiter``: the send limiter on, as `huifang run` ships, against a fake server enforcing Telegram's limits.
    """
    app = build(Settings(database_url=url, link_secret=SECRET), clock=FixedClock(datetime.now(UTC)))
    tokens = _seed(app, customers)
    run = Run("huifang")
    async with FakeTelegram(enforce_limits=limiter) as tg:
        env = _env(
            HUIFANG_DATABASE_URL=url,
            HUIFANG_TELEGRAM_TOKEN=tg.token,
            HUIFANG_TELEGRAM_API_URL=tg.api_url,
            HUIFANG_LINK_SECRET=SECRET,
            # Without --limiter: measure capacity, not Telegram's limits.
            HUIFANG_TELEGRAM_RATE_LIMIT="true" if limiter else "false",
        )
        process = await _start_bot(tg, [sys.executable, "-m", "bot", "run"], env)
        try:
            users = [(FakeUser(10_000 + i), token) for i, token in enumerate(tokens)]
            openings: dict[int, SentMessage] = {}

            async def bind(item: tuple[FakeUser, str]) -> None:
                openings[item[0].id] = await _bind_and_consent(tg, item[0], item[1])

            started = time.perf_counter()
            await _workers(users, concurrency, bind)
            run.setup_seconds = time.perf_counter() - started
            calls_before = sum(tg.calls.values()) - tg.calls["getUpdates"]
            profiler = _profile(process.pid)
            cpu_before = _cpu_seconds(process.pid)
            started = time.perf_counter()
            await _workers(
                [user for user, _ in users], concurrency, lambda u: _answer_defeat(tg, u, openings[u.id], run)
            )
            run.seconds = time.perf_counter() - started
            run.bot_cpu = _cpu_seconds(process.pid) - cpu_before
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait()
            run.api_calls = sum(tg.calls.values()) - tg.calls["getUpdates"] - calls_before
            run.too_many = tg.too_many_requests
        finally:
            await _stop_bot(process)
    with app.uow() as uow:
        run.answers = uow.session.scalar(select(func.count(Answer.id))) or 0
    app.close()
    return run


async def bench_ceiling(customers: int, concurrency: int, transport: str = "httpx") -> Run:
    """bench/ceiling_bot.py as its own process: every press gets an answer and a new keyboard."""
    run = Run("ceiling" if transport == "httpx" else "ceil-aio")
    async with FakeTelegram() as tg:
        script = str(Path(__file__).with_name("ceiling_bot.py"))
        command = [sys.executable, script, tg.token, tg.api_url] + ([transport] if transport != "httpx" else [])
        process = await _start_bot(tg, command, _env())
        try:

            async def customer(user: FakeUser) -> None:
                tg.push_message(user.id, "开始", [["甲"], ["乙"], ["丙"]])
                message = tg.chat(user.id)[0]
                for n in range(1, 5):
                    message = await _timed(tg, user, lambda m=message: tg.press(user, m, "甲"), n, run)

            cpu_before = _cpu_seconds(process.pid)
            started = time.perf_counter()
            await _workers([FakeUser(20_000 + i) for i in range(customers)], concurrency, customer)
            run.seconds = time.perf_counter() - started
            run.bot_cpu = _cpu_seconds(process.pid) - cpu_before
            run.answers = len(run.latencies)
            run.api_calls = tg.calls["answerCallbackQuery"] + tg.calls["sendMessage"]
        finally:
            await _stop_bot(process)
    return run


def _profile(pid: int) -> subprocess.Popen[bytes] | None:
    """With BENCH_PYSPY=FILE, sample the bot with py-spy during the timed phase (collapsed stacks)."""
    target = os.environ.get("BENCH_PYSPY")
    if not target:
        return None
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "500", "-o", target]
    profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaches before the first tap
    return profiler


def _median(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.per_second)[len(runs) // 2]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sqlite_url(directory: Path, name: str = "chat_bench") -> str:
    url = f"sqlite:///{directory / (name + '.db')}"
    upgrade(make_engine(url))
    return url


def _pg_url(admin_url: str) -> tuple[str, str] | None:
    name = f"huifang_chat_bench_{os.getpid()}_{uuid.uuid4().hex[:4]}"
    try:
        admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {type(exc).__name__}")
        return None
    url = make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    upgrade(make_engine(url))
    return url, name


def _drop_pg(admin_url: str, name: str) -> None:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _print(run: Run, ceiling: Run, backend: str) -> None:
    ratio = run.per_second / ceiling.per_second if ceiling.per_second else 0.0
    calls = run.api_calls / max(run.answers, 1)
    print(
        f"{backend:<11} {run.name:<8} {run.answers:>7} {run.seconds:>7.2f} {run.per_second:>9.1f} "
        f"{run.pct(0.5):>7.1f} {run.pct(0.99):>7.1f} {calls:>9.2f} {run.cpu_ms_per_answer:>7.2f} {ratio:>6.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the saturated runs (median reported)")
    parser.add_argument("--quick", action="store_true", help="50 customers, SQLite only")
    parser.add_argument(
        "--think",
        type=float,
        default=None,
        help="seconds a customer pauses before each tap; default: run once saturated (0) and once at 1 s, "
        "Telegram's pace of one message per second per chat",
    )
    parser.add_argument(
        "--limiter",
        action="store_true",
        help="huifang only, with the production send limiter against a fake server enforcing Telegram's limits "
        "(goal: p50 < 150 ms, p99 < 400 ms, 0 x 429)",
    )
    args = parser.parse_args()
    if args.limiter:
        await _limited(args)
        return
    if args.quick:
        args.customers, args.no_pg, args.repeat = 50, True, 1

    print(f"{args.customers} customers, {args.concurrency} answering at once; latency = press → next question")
    print(f"{'backend':<11} {'bot':<8} {'answers':>7} {'seconds':>7} {'answers/s':>9} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'calls/ans':>9} {'cpu ms':>7} {'ratio':>6}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, str, str | None]] = []
        if not args.no_sqlite:
            backends.append(("SQLite", _sqlite_url(Path(tmp)), None))
        if not args.no_pg:
            pg = _pg_url(args.pg_url)
            if pg:
                backends.append(("PostgreSQL", pg[0], pg[1]))
        modes = [args.think] if args.think is not None else [0.0, 1.0]
        try:
            for (backend, url, _), think in [(b, t) for b in backends for t in modes]:
                THINK["seconds"] = think
                print(f"-- {backend}, think time {think:g} s" + (" (saturated)" if not think else ""))
                if think and url.startswith("sqlite"):
                    url = _sqlite_url(Path(tmp), f"paced{think:g}")
                elif think:
                    fresh = _pg_url(args.pg_url)
                    assert fresh is not None
                    url = fresh[0]
                    backends.append(("", "", fresh[1]))
                # A busy shared machine drifts from one run to the next: saturated runs are repeated with the
                # bots interleaved, and each bot's median round is reported.
                rounds = args.repeat if not think else 1
                ceilings, same_transports, runs = [], [], []
                for n in range(rounds):
                    if n:
                        if url.startswith("sqlite"):
                            url = _sqlite_url(Path(tmp), f"round{n}-{think:g}")
                        else:
                            fresh = _pg_url(args.pg_url)
                            assert fresh is not None
                            url = fresh[0]
                            backends.append(("", "", fresh[1]))
                    ceilings.append(await bench_ceiling(args.customers, args.concurrency))
                    same_transports.append(await bench_ceiling(args.customers, args.concurrency, "aiohttp"))
                    runs.append(await bench_huifang(url, args.customers, args.concurrency))
                    if rounds > 1:
                        c, a, h = ceilings[-1].per_second, same_transports[-1].per_second, runs[-1].per_second
                        print(f"{'':<11} round {n + 1}: ceiling {c:.1f}, ceil-aio {a:.1f}, huifang {h:.1f} "
                              f"answers/s; ratio {h / c:.2f}")  # fmt: skip
                ceiling, same_transport, run = _median(ceilings), _median(same_transports), _median(runs)
                if rounds > 1:
                    print(f"{'':<11} median of {rounds} rounds:")
                _print(ceiling, ceiling, backend)
                _print(same_transport, ceiling, backend)
                _print(run, ceiling, backend)
                expected = args.customers * 4  # opening, q1, the typed brand, q2
                assert run.answers == expected, f"{run.answers} answers recorded, expected {expected}"
                if think:
                    print(f"{'':<11} p99 target < 100 ms: {'met' if run.pct(0.99) < 100 else 'NOT met'}")
                else:
                    met = run.per_second >= 0.7 * ceiling.per_second
                    print(f"{'':<11} ratio target ≥ 0.70 × ceiling: {'met' if met else 'NOT met'}")
                print(
                    f"{'':<11} huifang ÷ ceil-aio (the same minimal bot on huifang's transport): "
                    f"{run.per_second / same_transport.per_second:.2f}"
                )
                print(
                    f"{'':<11} binding + consent before the timed answers: "
                    f"{args.customers / run.setup_seconds:.1f} customers/s"
                )
                if not think:  # Little's law: a closed loop's latency is its population over its throughput
                    print(
                        f"{'':<11} saturated latency is queueing (the ceiling's own p99: {ceiling.pct(0.99):.0f} ms): "
                        f"{args.concurrency} customers ÷ {run.per_second:.0f} answers/s = "
                        f"{1000 * args.concurrency / run.per_second:.0f} ms on average; "
                        "the p99 goal is read at Telegram's pace"
                    )
        finally:
            for _, _, name in backends:
                if name:
                    _drop_pg(args.pg_url, name)


async def _limited(args: argparse.Namespace) -> None:
    """Tap-to-next-question with the send limiter on, as `huifang run` ships (issue #16, gap 1)."""
    print(f"{args.customers} customers, {args.concurrency} answering at once, send limiter on, Telegram's limits "
          "enforced by the fake server")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        targets = [] if args.no_sqlite else [("SQLite", _sqlite_url(Path(tmp), "limited"))]
        for think in [args.think] if args.think is not None else [0.0, 1.0]:
            THINK["seconds"] = think
            runs = [(b, u) for b, u in targets]
            if not args.no_pg and not args.quick:
                pg = _pg_url(args.pg_url)
                if pg:
                    runs.append(("PostgreSQL", pg[0]))
                    names.append(pg[1])
            for backend, url in runs:
                if url.startswith("sqlite"):
                    url = _sqlite_url(Path(tmp), f"limited{think:g}")
                run = await bench_huifang(url, args.customers, args.concurrency, limiter=True)
                met = "met" if run.pct(0.5) < 150 and run.pct(0.99) < 400 and run.too_many == 0 else "NOT met"
                print(f"  {backend:<10} think {think:g} s: {run.answers} answers, {run.per_second:.1f} answers/s, "
                      f"p50 {run.pct(0.5):.0f} ms, p99 {run.pct(0.99):.0f} ms, {run.too_many} x 429, "
                      f"{run.api_calls / max(run.answers, 1):.2f} calls/answer -> goal {met}")  # fmt: skip
        for name in names:
            _drop_pg(args.pg_url, name)


if __name__ == "__main__":
    asyncio.run(main())
