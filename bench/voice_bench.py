"""Voice calls: 50 robot calls at once through the fake TwiML provider, on SQLite and PostgreSQL.

For each backend, ``--calls`` customers (default 50) have a defeat survey in the voice mode. One dialler tick
places every call through the provider's REST API (the fake), paced at ``--cps`` new calls a second; each
simulated customer takes ``--think`` seconds before each reply and walks: 配合回访 (key 3) → 其他品牌 (key 1)
→ says a brand → 价格/价值 (key 4) → the closing words. All calls overlap.

Measured:
* turn latency inside huifang: from the webhook request entering huifang's HTTP application to its TwiML
  being ready (signature check, the use case's transaction in a worker thread, rendering), p50 / p99 / max;
  and the round trip the provider sees (adds loopback HTTP and the fake's own work on the same event loop);
* answers: every survey must hold exactly its 4 answers and be completed (lost or doubled: reported);
* pacing: the gaps between the provider receiving successive create-call requests, against 1/cps;
* the most calls under way at once;
* CPU time of each use case in its worker thread (what a turn costs when the machine is not shared: on a
  loaded machine the wall-clock latency is mostly waiting for a core).

    python bench/voice_bench.py                       # 50 calls, SQLite and PostgreSQL
    python bench/voice_bench.py --no-pg --calls 20    # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.app import build
from bot.domain.clock import FixedClock
from bot.domain.people import Role
from bot.sandbox.fake_voice import Answered, FakeVoiceProvider, Press, Speak
from bot.sandbox.voice_rig import free_port
from bot.services.surveys import create_survey
from bot.settings import Settings
from bot.voice.twiml import TwimlConfig, TwimlDialler, default_offload, mount
from bot.webserver import build_web_app, start_web_server
from storage.database import normalise_url
from storage.models import Answer, Customer, Survey, Vehicle
from storage.schema import upgrade

REPLIES = (Press("3"), Press("1"), Speak("比亚迪", 0.9), Press("4"))
ANSWERS = 4
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai: inside calling hours


def _seed(app, calls: int) -> list[str]:  # type: ignore[no-untyped-def]
    phones = []
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", NOW)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, NOW)
        uow.staff.add(store, "周芳", Role.CS_SPECIALIST, None, True, NOW)
        uow.commit()
    kit = app.survey_kit()
    with app.uow() as uow:
        for i in range(calls):
            phone = f"+86135{i:08d}"
            owner = getattr(consultant, "id", consultant)
            customer = Customer(store_id=store, name=f"客户{i:03d}", honorific="先生", phone=phone, status="defeated",
                                owner_staff_id=owner, created_at=NOW, updated_at=NOW)  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            uow.session.add(Vehicle(customer_id=customer.id, series="轻卡", model="顺达",
                                    delivery_date=date(2026, 11, 1), created_at=NOW, updated_at=NOW))  # fmt: skip
            create_survey(uow, kit, customer.id, "defeat", "defeat", "voice")
            phones.append(phone)
        uow.commit()
    return phones


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def bench(url: str, calls: int, cps: float, think: float) -> dict[str, object]:
    settings = Settings(database_url=url, contact_modes=["voice"], voice_max_concurrent=calls)
    app = build(settings, clock=FixedClock(NOW))
    upgrade(app.engine)
    phones = _seed(app, calls)
    provider = FakeVoiceProvider(think_seconds=think)
    await provider.start()
    for phone in phones:
        provider.customer(phone, Answered(REPLIES))
    port = free_port()
    config = TwimlConfig(f"http://127.0.0.1:{port}", provider.auth_token, provider.account_sid, provider.base_url,
                         "+867520000000", calls_per_second=cps)  # fmt: skip
    desk = app.voice_desk()
    inside: list[float] = []

    @web.middleware
    async def timed(request: web.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await handler(request)
        if "/turn/" in request.path or request.path.endswith("/answer"):
            inside.append(time.perf_counter() - started)
        return response

    base_offload = default_offload(desk.serial_writes)
    cpu: list[float] = []

    def measured(fn, *args):  # type: ignore[no-untyped-def]
        started = time.thread_time()
        try:
            return fn(*args)
        finally:
            cpu.append(time.thread_time() - started)

    async def offload(fn, *args):  # type: ignore[no-untyped-def]
        return await base_offload(measured, fn, *args)

    web_app = build_web_app([mount(desk, config, offload)])
    web_app.middlewares.insert(0, timed)
    runner = await start_web_server(web_app, "127.0.0.1", port)
    dialler = TwimlDialler(desk, config, offload)
    started = time.perf_counter()
    try:
        placed = await dialler.tick()
        done = await provider.wait_calls(placed, timeout=120)
    finally:
        await dialler.close()
        await provider.stop()
        await runner.cleanup()
    seconds = time.perf_counter() - started
    sent = list(dialler.sent_at)
    with app.uow(read_only=True) as uow:
        per_survey = dict(uow.session.execute(select(Answer.survey_id, func.count()).group_by(Answer.survey_id)).all())
        statuses = dict(uow.session.execute(select(Survey.status, func.count()).group_by(Survey.status)).all())
    app.close()
    counts = [per_survey.get(s, 0) for s in range(1, calls + 1)]
    starts = sorted(c.created_at for c in done)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    round_trips = [t for c in done for t in c.webhook_times]
    return {
        "calls": placed,
        "seconds": seconds,
        "turns": len(inside),
        "p50": _pct(inside, 0.5),
        "p99": _pct(inside, 0.99),
        "max": max(inside) * 1000 if inside else 0.0,
        "cpu_p50": _pct(cpu, 0.5),
        "cpu_p99": _pct(cpu, 0.99),
        "rt_p50": _pct(round_trips, 0.5),
        "rt_p99": _pct(round_trips, 0.99),
        "lost": sum(max(0, ANSWERS - n) for n in counts),
        "doubled": sum(max(0, n - ANSWERS) for n in counts),
        "completed": statuses.get("completed", 0),
        "min_gap": min(gaps) if gaps else 0.0,
        "sent_min_gap": min((b - a for a, b in itertools.pairwise(sent)), default=0.0),
        "mean_gap": statistics.mean(gaps) if gaps else 0.0,
        "placing": starts[-1] - starts[0] if starts else 0.0,
        "most_at_once": _under_way(done),
    }


def _under_way(done) -> int:  # type: ignore[no-untyped-def]
    """The most calls placed and not yet ended at one moment."""
    return max((sum(1 for o in done if o.created_at <= c.created_at < o.ended_at) for c in done), default=0)


def _pg(admin_url: str) -> tuple[str, str] | None:
    url = make_url(normalise_url(admin_url))
    name = f"huifang_voice_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:
        print(f"PostgreSQL skipped: {type(exc).__name__}")
        return None
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop(admin_url: str, name: str) -> None:
    admin = create_engine(make_url(normalise_url(admin_url)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--cps", type=float, default=25.0, help="new calls a second (the dialler's pace)")
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="seconds a customer takes before each reply (a spoken question lasts 5-10 s; 3 s is short)",
    )
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite:///{Path(tmp) / 'voice_bench.db'}", None)]
        if not args.no_pg:
            pg = _pg(args.pg_url)
            if pg:
                backends.append(("PostgreSQL", pg[0], pg[1]))
        try:
            for backend, url, _ in backends:
                r = await bench(url, args.calls, args.cps, args.think)
                print(f"-- {backend}: {r['calls']} calls at {args.cps:g}/s, think {args.think:g} s, "
                      f"{r['seconds']:.1f} s in all")  # fmt: skip
                print(f"   turn latency inside huifang ({r['turns']} turns): p50 {r['p50']:.1f} ms, "
                      f"p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms — goal p99 < 100 ms: "
                      f"{'met' if r['p99'] < 100 else 'NOT met'}")  # fmt: skip
                print(
                    f"   CPU of one use case (its thread's CPU time): p50 {r['cpu_p50']:.1f} ms, "
                    f"p99 {r['cpu_p99']:.1f} ms"
                )
                print(f"   round trip seen by the provider: p50 {r['rt_p50']:.1f} ms, p99 {r['rt_p99']:.1f} ms")
                print(f"   answers: lost {r['lost']}, doubled {r['doubled']}; completed {r['completed']}/{r['calls']}")
                expected_gap = 1 / args.cps
                print(f"   pacing: creates sent at least {r['sent_min_gap'] * 1000:.1f} ms apart "
                      f"(1/cps = {expected_gap * 1000:.1f} ms): "
                      f"{'held' if r['sent_min_gap'] >= expected_gap else 'NOT held'}; at the provider: min gap "
                      f"{r['min_gap'] * 1000:.1f} ms, mean {r['mean_gap'] * 1000:.1f} ms (network jitter); "
                      f"all placed within {r['placing']:.2f} s; under way at once: {r['most_at_once']}")  # fmt: skip
        finally:
            for _, _, name in backends:
                if name:
                    _drop(args.pg_url, name)


if __name__ == "__main__":
    asyncio.run(main())
