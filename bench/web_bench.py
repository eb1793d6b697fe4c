"""The web survey page under load: N respondents at once answer `defeat` through plain HTTP clients.

For each backend (a SQLite file, a PostgreSQL scratch database) the page is served by a child process running
`huifang run`'s HTTP application (`bot.webserver` + `bot.web.pages`, the same code and database runner), and
N respondents (``--respondents``, default 200), all at once, each with its own cookies, do what a person
does: open the link, 开始, then answer each question until the closing words (single choice: the last option,
which is 配合回访 at the opening; multiple: the first; rating: the top; text: a short remark; callback: the
first time offered), loading the page after every answer (POST-redirect-GET). One answer in ten is sent twice
at the same moment (a double tap). Between pages each person reads for ``--think`` seconds (default 1–3, drawn
at random, as a person reads a question and taps); ``--think 0`` sends every request at once (a burst: every
respondent's answer queues behind the others' at SQLite's one writer, which is not how people use a page).

Measured: server time per page kind, p50 / p99 (the child times each request from its arrival in the
application to its response, and returns it in a ``Server-Timing`` header); goal p99 < 50 ms. Checked: every
survey completed, every accepted answer stored once, none twice (0 lost, 0 doubled).

    python bench/web_bench.py                  # 200 respondents, SQLite and PostgreSQL
    python bench/web_bench.py --quick          # 50 respondents, SQLite only
    python bench/web_bench.py --think 0        # a burst: no reading time between pages
    python bench/web_bench.py --no-sqlite      # PostgreSQL only (--no-pg: SQLite only)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.app import build
from bot.domain.people import Role
from bot.services.surveys import create_survey
from bot.services.web_links import issue_web_link
from bot.settings import Settings
from storage.database import make_engine, normalise_url
from storage.models import Answer, Customer, Survey
from storage.schema import upgrade

SECRET = "bench-secret-0123456789"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        store_name="惠州江铃4S店",
        link_secret=SECRET,
        web_rate_per_address=1_000_000,  # every respondent comes from 127.0.0.1 here
        web_rate_per_link=1_000,
    )


# --------------------------------------------------------------------------------------------------
# The server (child process)


def serve(url: str, port_file: str) -> None:
    from aiohttp import web

    from bot.web.pages import web_page_mount
    from bot.webserver import bound_port, build_web_app, start_web_server

    @web.middleware
    async def timing(request: web.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
            raise
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
        return response

    async def main() -> None:
        app = build(_settings(url))
        services = app.chat_services()
        web_app = build_web_app([web_page_mount(app, services.transact)])
        web_app.middlewares.insert(0, timing)
        runner = await start_web_server(web_app, "127.0.0.1", 0)
        written = Path(f"{port_file}.tmp")
        written.write_text(str(bound_port(runner)))
        written.rename(port_file)  # whole, at once: the parent never reads a half-written port
        await asyncio.Event().wait()

    asyncio.run(main())


# --------------------------------------------------------------------------------------------------
# The respondents


class Respondent:
    def __init__(
        self, base: str, token: str, times: dict[str, list[float]], rng: random.Random, think: tuple[float, float]
    ) -> None:
        self.base, self.token, self.times, self.rng, self.think = base, token, times, rng, think
        self.accepted = 0

    async def run(self) -> None:
        async with aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(limit=4)
        ) as session:
            self.session = session
            await asyncio.sleep(self.rng.uniform(0, self.think[1]))  # people open their SMS at different moments
            page = await self.get("consent")
            await asyncio.sleep(self.rng.uniform(*self.think))
            page, _ = await self.post(page, [("do", "start")], "start")
            for _ in range(30):
                if 'name="step"' not in page:
                    return
                await asyncio.sleep(self.rng.uniform(*self.think))
                fields = self.answer(page)
                if self.rng.random() < 0.1:  # a double tap: the same form twice at once
                    taps = await asyncio.gather(self.post(page, fields, "answer"), self.post(page, fields, "answer"))
                    self.accepted += sum(accepted for _, accepted in taps)
                    page = await self.get("question")
                else:
                    page, accepted = await self.post(page, fields, "answer")
                    self.accepted += accepted
            raise RuntimeError("the survey did not end within 30 pages")

    def answer(self, page: str) -> list[tuple[str, str]]:
        if 'name="slot"' in page:
            return [("slot", _field(page, "slot"))]
        if 'type="checkbox"' in page:
            return [("choice", "0")]
        if 'name="rating"' in page:
            return [("rating", re.findall(r'name="rating" value="(-?\d+)"', page)[-1])]
        if "<textarea" in page:
            return [("text", "价格再优惠一点就好了")]
        return [("choice", re.findall(r'name="choice" value="(\d+)"', page)[-1])]

    async def get(self, kind: str) -> str:
        async with self.session.get(f"{self.base}/s/{self.token}") as response:
            body = await response.text()
            self._time(f"GET {_kind(body) if kind != 'consent' else kind}", response)
            assert response.status == 200, response.status
            return body

    async def post(self, page: str, fields: list[tuple[str, str]], kind: str) -> tuple[str, bool]:
        """Submit a form of ``page`` and load the page it redirects to; whether an answer was taken."""
        data = [("csrf", _field(page, "csrf"))]
        if 'name="step"' in page:
            data += [("do", "answer"), ("step", _field(page, "step"))]
        async with self.session.post(
            f"{self.base}/s/{self.token}", data=data + fields, allow_redirects=False
        ) as response:
            await response.read()
            self._time(f"POST {kind}", response)
            assert response.status == 303, response.status
            location = response.headers["Location"]
        async with self.session.get(self.base + location) as response:
            body = await response.text()
            self._time(f"GET {_kind(body)}", response)
        return body, kind == "answer" and "note=stale" not in location

    def _time(self, kind: str, response: aiohttp.ClientResponse) -> None:
        timing = response.headers.get("Server-Timing", "")
        found = re.search(r"dur=([0-9.]+)", timing)
        if found:
            self.times[kind].append(float(found.group(1)))


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def _kind(body: str) -> str:
    if 'name="step"' in body:
        return "question"
    if "感谢" in body or "再见" in body:
        return "closing"
    return "other"


# --------------------------------------------------------------------------------------------------
# One backend


def _seed(url: str, n: int) -> tuple[list[str], list[int]]:
    app = build(_settings(url))
    kit = app.survey_kit()
    now = app.clock.now()
    tokens, surveys = [], []
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        for i in range(n):
            customer = Customer(
                store_id=store, name=f"客户{i}", honorific="先生", phone=f"+86138{i:08d}", status="defeated",
                owner_staff_id=consultant, created_at=now, updated_at=now,
            )  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            survey = create_survey(uow, kit, customer.id, "defeat", "defeat", "web", due_at=now)
            assert survey is not None
            surveys.append(survey.id)
            tokens.append(issue_web_link(uow, survey.id, now, 14))
        uow.commit()
    app.close()
    return tokens, surveys


def run_backend(name: str, url: str, n: int, think: tuple[float, float]) -> dict[str, object]:
    upgrade_engine = make_engine(url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    tokens, surveys = _seed(url, n)
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        child = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port_file)])
        try:
            for _ in range(1200):  # the child imports and builds the app (slow on a busy machine)
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            times: dict[str, list[float]] = defaultdict(list)
            rng = random.Random(7)
            people = [Respondent(base, t, times, rng, think) for t in tokens]

            async def everyone() -> float:
                started = time.perf_counter()
                await asyncio.gather(*(p.run() for p in people))
                return time.perf_counter() - started

            wall = asyncio.run(everyone())
        finally:
            child.terminate()
            child.wait(10)
    engine = make_engine(url)
    with engine.connect() as db:
        stored = int(db.scalar(select(func.count()).select_from(Answer)) or 0)
        doubled = int(
            db.scalar(
                select(func.count()).select_from(
                    select(Answer.survey_id, Answer.question_id, Answer.option_code)
                    .group_by(Answer.survey_id, Answer.question_id, Answer.option_code)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            or 0
        )
        completed = int(db.scalar(select(func.count()).select_from(Survey).where(Survey.status == "completed")) or 0)
    engine.dispose()
    accepted = sum(p.accepted for p in people)
    return {
        "name": name,
        "think": think,
        "respondents": n,
        "wall": wall,
        "times": times,
        "accepted": accepted,
        "stored": stored,
        "doubled": doubled,
        "completed": completed,
        "surveys": len(surveys),
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(result: dict[str, object]) -> bool:
    times: dict[str, list[float]] = result["times"]  # type: ignore[assignment]
    think = result["think"]
    print(
        f"\n== {result['name']}: {result['respondents']} respondents at once, reading {think[0]:g}–{think[1]:g} s "  # type: ignore[index]
        f"per page, {result['wall']:.1f} s in all =="
    )
    print(f"{'page':<16}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    worst = 0.0
    for kind in sorted(times):
        values = times[kind]
        p99 = _pct(values, 0.99)
        worst = max(worst, p99)
        print(f"{kind:<16}{len(values):>9}{statistics.median(values):>9.1f}{p99:>9.1f}{max(values):>9.1f}")
    every = [v for vs in times.values() for v in vs]
    print(
        f"{'all pages':<16}{len(every):>9}{statistics.median(every):>9.1f}{_pct(every, 0.99):>9.1f}{max(every):>9.1f}"
    )
    lost = int(result["accepted"]) - int(result["stored"])  # type: ignore[call-overload]
    print(
        f"answers accepted {result['accepted']}, stored {result['stored']} (lost {lost}), doubled {result['doubled']}; "
        f"surveys completed {result['completed']} of {result['surveys']}"
    )
    ok = worst < 50 and lost == 0 and result["doubled"] == 0 and result["completed"] == result["surveys"]
    print("goal (p99 < 50 ms per page, 0 lost, 0 doubled):", "met" if ok else "NOT met")
    return ok


def _scratch_pg(pg_url: str) -> tuple[str, object]:
    admin_url = make_url(normalise_url(pg_url))
    name = f"huifang_webbench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.set(database=name).render_as_string(hide_password=False), (admin, name)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="50 respondents, SQLite only")
    parser.add_argument("--pg-url", default=os.environ.get("HUIFANG_TEST_DATABASE_URL", PG_DEFAULT))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--think", default="1-3", help="seconds a person reads each page: 1-3, or 0 for a burst")
    args = parser.parse_args()
    n = 50 if args.quick else args.respondents
    low, _, high = args.think.partition("-")
    think = (float(low), float(high or low))
    ok = True
    print("load average before the run (this machine's other work slows every figure):", os.getloadavg())
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            ok &= report(run_backend("SQLite", f"sqlite:///{tmp}/bench.db", n, think))
    if not (args.quick or args.no_pg):
        try:
            url, (admin, name) = _scratch_pg(args.pg_url)  # type: ignore[misc]
        except Exception as exc:
            print(f"\nPostgreSQL skipped: cannot reach {args.pg_url} ({type(exc).__name__})")
        else:
            try:
                ok &= report(run_backend("PostgreSQL", url, n, think))
            finally:
                with admin.connect() as connection:  # type: ignore[attr-defined]
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()  # type: ignore[attr-defined]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
