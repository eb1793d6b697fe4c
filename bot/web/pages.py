"""The mobile web survey page: aiohttp handlers over `bot/services/web_survey.py`, one page per screen.

Routes (mounted on `huifang run`'s one HTTP server, `bot/webserver.py`)::

    GET  /s/{token}           the screen the link shows now: consent, the current question, closing words …
    POST /s/{token}           a form: do=start | later | optout | answer; answered with 303 to GET (POST-redirect-GET)
    GET  /s/{token}/optout    the 退订 confirmation (linked from every page; a GET never changes anything)
    GET  /static/web.css      the one style sheet

Pages are server-rendered from ``scripts_zh/web/*.html`` (autoescaped), need no JavaScript, and load one
small style sheet. Each handler pulls the form apart, runs one use case in a unit of work off the event loop
(``transact``: the bot's own, so SQLite writes share its one writer thread), and renders or redirects.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from bot.domain.engine import RejectReason
from bot.domain.presentation import form_input
from bot.domain.questionnaire import NodeKind
from bot.rendering import SCRIPTS_DIR
from bot.services import web_survey
from bot.services.surveys import Accepted
from bot.services.web_links import WebLinkProblem
from bot.texts import Texts, web_page, web_text
from bot.web.guard import CSRF_COOKIE, RateLimiter, csrf_field, csrf_ok, new_cookie

if TYPE_CHECKING:
    from bot.app import Container
    from bot.services.surveys import SurveyKit
    from bot.webserver import Mount
    from storage.unit_of_work import SqlUnitOfWork

T = TypeVar("T")
CSS_FILE = SCRIPTS_DIR / "web" / "web.css"
FORM_FIELDS = ("choice", "rating", "text", "slot", "when")
_NOTES = ("stale", "later", "resumed")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what web_links.issue_web_link hands out (anything else: unknown)


class Transact(Protocol):
    """Run a unit of work off the event loop (``ChatServices.transact``); the work commits itself."""

    def __call__(self, work: Callable[[SqlUnitOfWork], T], *, read_only: bool = False) -> Awaitable[T]: ...


@dataclass(frozen=True)
class WebPageSettings:
    csrf_key: bytes
    per_link: int = 60
    per_address: int = 300
    forwarded_for: bool = False
    public_url: str | None = None


def web_page_mount(container: Container, transact: Transact) -> Mount:
    """The page's routes for ``huifang run`` (settings and the link secret from the container)."""
    settings = container.settings
    key = hmac.new(container.link_secret(), b"huifang web page csrf", hashlib.sha256).digest()
    page = WebPage(
        container.survey_kit(),
        transact,
        WebPageSettings(
            key,
            settings.web_rate_per_link,
            settings.web_rate_per_address,
            settings.web_forwarded_for,
            settings.public_url,
        ),
    )
    return page.mount


class WebPage:
    """The handlers, with what they share: the survey kit, the unit-of-work runner, the limits."""

    def __init__(self, kit: SurveyKit, transact: Transact, settings: WebPageSettings) -> None:
        self._kit = kit
        self._transact = transact
        self._settings = settings
        self._per_link = RateLimiter(settings.per_link)
        self._per_address = RateLimiter(settings.per_address)
        self._texts = Texts()
        self._secure = (settings.public_url or "").startswith("https://")

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/s/{token}", self.get)
        app.router.add_post("/s/{token}", self.post)
        app.router.add_get("/s/{token}/optout", self.optout_page)
        app.router.add_get("/static/web.css", self.css)

    # ----------------------------------------------------------------------------------------------
    # Handlers

    async def get(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        refused = self._limited(request, token)
        if refused is not None:
            return refused
        kit = self._kit
        shown = await self._transact(lambda uow: web_survey.show(uow, kit, token), read_only=True)
        note_code = request.query.get("note", "")
        note = web_text(f"notes.{note_code}") if note_code in _NOTES else ""
        return self._render(request, token, shown, note=note)

    async def optout_page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        refused = self._limited(request, token)
        if refused is not None:
            return refused
        kit = self._kit
        shown = await self._transact(lambda uow: web_survey.show(uow, kit, token), read_only=True)
        if isinstance(shown, WebLinkProblem):
            return self._render(request, token, shown)
        cookie, fresh = self._cookie(request)
        html = web_page(
            "optout",
            **self._frame(shown.who.store_name, "optout", token, optout=False),
            csrf=csrf_field(self._settings.csrf_key, cookie, token),
            back_url=_page_url(token),
        )
        return self._respond(html, cookie if fresh else None)

    async def post(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        refused = self._limited(request, token)
        if refused is not None:
            return refused
        form = await request.post()
        fields = {name: [v for v in form.getall(name, []) if isinstance(v, str)] for name in ("csrf", "do", "step")}
        csrf = (fields["csrf"] or [""])[0]
        if not self._same_origin(request) or not csrf_ok(
            self._settings.csrf_key, request.cookies.get(CSRF_COOKIE), token, csrf
        ):
            return self._problem(request, token, "forbidden", 403)
        action = (fields["do"] or [""])[0]
        kit = self._kit
        if action == "answer":
            values = {name: [v for v in form.getall(name, []) if isinstance(v, str)] for name in FORM_FIELDS}
            step_field = (fields["step"] or [""])[0]
            steps = int(step_field) if step_field.isascii() and step_field.isdigit() and len(step_field) < 9 else None
            return await self._answer(request, token, steps, values)
        if action == "start":
            shown = await self._transact(lambda uow: _committed(uow, web_survey.start(uow, kit, token)))
        elif action == "optout":
            shown = await self._transact(lambda uow: _committed(uow, web_survey.opt_out(uow, kit, token)))
        elif action == "later":
            later = await self._transact(lambda uow: web_survey.later(uow, kit, token), read_only=True)
            if isinstance(later, web_survey.Later):
                raise web.HTTPSeeOther(_page_url(token, "later"))
            shown = later
        else:
            raise web.HTTPSeeOther(_page_url(token))
        if isinstance(shown, WebLinkProblem):
            return self._render(request, token, shown)
        raise web.HTTPSeeOther(_page_url(token))

    async def _answer(
        self, request: web.Request, token: str, steps: int | None, values: Mapping[str, list[str]]
    ) -> web.Response:
        kit = self._kit

        def work(uow: SqlUnitOfWork) -> Any:
            now = kit.local_now()
            result = web_survey.respond(uow, kit, token, steps, lambda step: form_input(step, values, now))
            uow.commit()
            return result

        result = await self._transact(work)
        if isinstance(result, Accepted):
            raise web.HTTPSeeOther(_page_url(token))
        if isinstance(result, web_survey.Stale):
            raise web.HTTPSeeOther(_page_url(token, "stale"))
        if isinstance(result, web_survey.NotTaken):
            typed = (values.get("text") or values.get("when") or [""])[0]
            note = web_text(f"rejections.{result.reason.value}")
            if result.reason is RejectReason.WRONG_INPUT and not any(values.values()):
                note = web_text("rejections.wrong_input")
            return self._render(request, token, result.page, note=note, typed=typed, status=422)
        return self._render(request, token, result)

    async def css(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self._css,
            content_type="text/css",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @cached_property
    def _css(self) -> str:
        return Path(CSS_FILE).read_text(encoding="utf-8")

    # ----------------------------------------------------------------------------------------------
    # Guards

    def _client(self, request: web.Request) -> str:
        if self._settings.forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            last = forwarded.split(",")[-1].strip()
            if last:
                return last[:64]
        return request.remote or "?"

    def _limited(self, request: web.Request, token: str) -> web.Response | None:
        """A 429 page when this client address or this link asked too often, a 404 page for what cannot be a
        link token; None to go on."""
        if not _TOKEN.fullmatch(token):
            if not self._per_address.allow(self._client(request)):
                return self._problem(request, "", "too_many", 429)
            return self._problem(request, "", "unknown", 404)
        if self._per_address.allow(self._client(request)) and self._per_link.allow(token[:64]):
            return None
        response = self._problem(request, token, "too_many", 429)
        response.headers["Retry-After"] = "60"
        return response

    def _same_origin(self, request: web.Request) -> bool:
        """Whether a browser says the form came from this site. Browsers send Sec-Fetch-Site; with our
        no-referrer policy their Origin is "null", so a real Origin is checked only when one is sent."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return True  # the CSRF field is the guard
        allowed = {f"{request.scheme}://{request.host}"}
        if self._settings.public_url:
            public = urlsplit(self._settings.public_url)
            allowed.add(f"{public.scheme}://{public.netloc}")
        return origin in allowed

    def _cookie(self, request: web.Request) -> tuple[str, bool]:
        """The browser's CSRF cookie, or a new one (True: to be set on the response)."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 16 <= len(cookie) <= 64 and cookie.isascii():
            return cookie, False
        return new_cookie(), True

    # ----------------------------------------------------------------------------------------------
    # Rendering

    def _respond(self, html: str, new_cookie_value: str | None, status: int = 200) -> web.Response:
        response = web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
        if new_cookie_value is not None:
            response.set_cookie(
                CSRF_COOKIE, new_cookie_value, path="/s/", httponly=True, samesite="Lax", secure=self._secure
            )
        return response

    def _problem(self, request: web.Request, token: str, which: str, status: int) -> web.Response:
        html = web_page(
            "problem",
            **self._frame(web_text("store_unknown"), "problem", token, optout=False),
            heading=web_text(f"problems.{which}.heading"),
            body=web_text(f"problems.{which}.body"),
        )
        return self._respond(html, None, status)

    def _frame(self, store_name: str, page: str, token: str, *, optout: bool = True, note: str = "") -> dict[str, Any]:
        return {
            "store_name": store_name,
            "page_title": web_text(f"page_titles.{page}"),
            "page_kind": page,
            "progress": "",
            "progress_percent": None,
            "note": note,
            "optout_url": f"{_page_url(token)}/optout" if optout else "",
            "action_url": _page_url(token),
        }

    def _render(
        self,
        request: web.Request,
        token: str,
        shown: web_survey.Shown,
        *,
        note: str = "",
        typed: str = "",
        status: int = 200,
    ) -> web.Response:
        if isinstance(shown, WebLinkProblem):
            return self._problem(request, token, shown.value, 410 if shown is WebLinkProblem.EXPIRED else 404)
        cookie, fresh = self._cookie(request)
        csrf = csrf_field(self._settings.csrf_key, cookie, token)
        store = shown.who.store_name
        if isinstance(shown, web_survey.Question):
            html = web_page("question", **self._question(shown, token, note, typed), csrf=csrf)
        elif isinstance(shown, web_survey.Welcome):
            purpose = self._texts.purpose(shown.purpose) or web_text("purpose_default")
            html = web_page(
                "consent",
                **self._frame(store, "consent", token, note=note),
                csrf=csrf,
                title=shown.who.title,
                purpose_text=purpose,
                callback_at=_when(shown.callback_at),
                minutes=web_text("minutes"),
            )
        elif isinstance(shown, web_survey.Closing):
            html = web_page(
                "closing",
                **self._frame(store, "closing", token, note=note),
                csrf=csrf,
                paragraphs=[p for p in shown.text.split("\n") if p.strip()],
                callback_at=_when(shown.callback_at),
            )
        else:
            why = shown.why.value
            html = web_page(
                "ended",
                **self._frame(store, "ended", token, optout=shown.why is not web_survey.Ending.OPTED_OUT, note=note),
                heading=web_text(f"ended.{why}.heading"),
                body=web_text(f"ended.{why}.body"),
            )
        return self._respond(html, cookie if fresh else None, status)

    def _question(self, shown: web_survey.Question, token: str, note: str, typed: str) -> dict[str, Any]:
        position, step = shown.position, shown.step
        kit = self._kit
        frame = self._frame(shown.who.store_name, "question", token, note=note)
        total = max(position.total, position.number)
        frame["progress"] = web_text("progress", number=position.number, total=total)
        frame["progress_percent"] = min(100, (position.number - 1) * 100 // max(total, 1))
        scale = list(range(step.scale[0], step.scale[1] + 1)) if step.scale else []
        slots, example = [], ""
        if step.kind is NodeKind.CALLBACK:
            local = kit.local_now()
            slots = [{"value": s.strftime("%Y%m%d%H%M"), "label": _when(s)} for s in kit.hours.callback_slots(local)]
            example = kit.hours.example_callback(local).strftime("%m-%d %H:%M")
        return {
            **frame,
            "preamble": [p for text in step.preamble for p in text.split("\n") if p.strip()],
            "question": step.text,
            "kind": step.kind.value,
            "steps": shown.steps,
            "options": [{"index": o.index, "label": o.label, "checked": o.code in step.selected} for o in step.options],
            "max_choices": step.max_choices,
            "scale": scale,
            "scale_low": scale[0] if scale else 0,
            "scale_high": scale[-1] if scale else 0,
            "max_length": step.max_length or 500,
            "slots": slots,
            "example_time": example,
            "typed": typed,
        }


def _committed(uow: SqlUnitOfWork, result: T) -> T:
    uow.commit()
    return result


def _page_url(token: str, note: str | None = None) -> str:
    return f"/s/{token}" + (f"?note={note}" if note else "")


def _when(at: datetime | None) -> str:
    return f"{at.month}月{at.day}日 {at:%H:%M}" if at is not None else ""
