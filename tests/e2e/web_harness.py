"""The web survey page over real HTTP: `huifang run`'s application on a real port, a customer with a link, and
a browser-like client (cookies, forms, redirects) that reads the pages the way a person would."""

from __future__ import annotations

import asyncio
import html
import queue
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.app import Container
from bot.domain.people import Role
from bot.questionnaires.loading import load_file
from bot.services.surveys import create_survey
from bot.services.web_links import issue_web_link
from bot.web.pages import web_page_mount
from bot.webserver import bound_port, build_web_app, start_web_server
from storage.models import Customer

EVERY_KIND = Path(__file__).parent / "fixtures" / "every_kind.yaml"


def seed_customer(
    app: Container, questionnaire: str = "defeat", phone: str = "+8613800138000", name: str = "王建国"
) -> tuple[int, int]:
    """A store, a consultant and a customer with a survey waiting in the web mode: (customer id, survey id)."""
    kit = app.survey_kit()
    if questionnaire == "every_kind" and "every_kind" not in kit.catalog.by_id:
        loaded = load_file(EVERY_KIND)
        kit.catalog.by_id[loaded.id] = loaded
        kit.catalog.by_ref[loaded.ref] = loaded
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.id_by_name("惠州江铃4S店")
        if store is None:
            store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
            uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        customer = Customer(store_id=store, name=name, honorific="先生", phone=phone, status="defeated",
                            created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.flush()
        survey = create_survey(uow, kit, customer.id, questionnaire, questionnaire, "web", due_at=now)
        assert survey is not None
        uow.commit()
        return customer.id, survey.id


def issue(app: Container, survey_id: int, days: int = 14) -> str:
    with app.uow() as uow:
        token = issue_web_link(uow, survey_id, app.clock.now(), days)
        uow.commit()
    return token


@dataclass
class Page:
    status: int
    url: str
    text: str

    def field(self, name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]*)"', self.text)
        assert found, f"no field {name} on the page"
        return html.unescape(found.group(1))

    @property
    def visible(self) -> str:
        """The page's text without tags (what a person reads)."""
        body = re.sub(r"<(script|style|head)[^>]*>.*?</\1>", "", self.text, flags=re.S)
        return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))).strip()

    def has(self, words: str) -> bool:
        return words in self.visible


class Customer_:
    """One person's browser: its own cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.last: Page | None = None

    async def open(self, path: str) -> Page:
        async with self.session.get(self.base + path) as response:
            self.last = Page(response.status, str(response.url), await response.text())
        return self.last

    async def post(self, path: str, data: list[tuple[str, str]], page: Page | None = None) -> Page:
        """Submit a form of ``page`` (default: the last page seen), with its CSRF and step fields."""
        page = page or self.last
        assert page is not None
        fields = [("csrf", page.field("csrf"))]
        if 'name="step"' in page.text:
            fields += [("do", "answer"), ("step", page.field("step"))]
        async with self.session.post(self.base + path, data=fields + data) as response:
            self.last = Page(response.status, str(response.url), await response.text())
        return self.last

    async def close(self) -> None:
        await self.session.close()


@asynccontextmanager
async def web_server(app: Container) -> AsyncIterator[str]:
    """`huifang run`'s HTTP application with the web page mounted (its own database runner), on a free port."""
    services = app.chat_services()
    runner = await start_web_server(build_web_app([web_page_mount(app, services.transact)]), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()
        services.close()


@asynccontextmanager
async def browser(base: str) -> AsyncIterator[Customer_]:
    person = Customer_(base)
    try:
        yield person
    finally:
        await person.close()


@contextmanager
def web_server_thread(app: Container) -> Iterator[str]:
    """The same application served from a thread of its own (for blocking clients: a browser under Selenium)."""
    loop = asyncio.new_event_loop()
    ready: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        try:
            async with web_server(app) as base:
                ready.put(base)
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # handed to the test thread
            ready.put(exc)

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    base = ready.get(timeout=30)
    if isinstance(base, BaseException):
        raise base
    try:
        yield base
    finally:
        stop.set()
        thread.join(timeout=30)
        loop.close()
