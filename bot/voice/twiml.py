"""The TwiML voice adapter: webhooks in, TwiML out, and calls placed through the provider's REST API.

TwiML is the webhook dialect Twilio, SignalWire and Telnyx (TeXML) accept. For each call huifang serves

    POST /voice/twiml/<key>/answer        the call was answered (``AnsweredBy`` with machine detection)
    POST /voice/twiml/<key>/turn/<n>      the result of question n's <Gather> (``Digits``, ``SpeechResult``,
                                          ``Confidence``; nothing on silence: ``actionOnEmptyResult``)
    POST /voice/twiml/<key>/status        the final call status (``CallStatus``, ``SipResponseCode``)

Every request must carry a valid ``X-Twilio-Signature`` for the URL the provider requested
(``HUIFANG_PUBLIC_URL`` + the path) and its form parameters; anything else is refused with 403 and changes
nothing. The twilio package does the provider's parts: ``RequestValidator`` (the signature exactly as
documented), ``VoiceResponse`` / ``Gather`` (the markup) and its REST client on its aiohttp transport (calls
placed without blocking the event loop; the API base URL is a setting, so tests and the demo use a fake).

Handlers are thin: read the form, call one ``VoiceDesk`` use case in a worker thread (its database work never
runs on the event loop), render its actions. No Chinese here: the robot's words come from the questionnaires
and ``scripts_zh/voice/phrases.yaml``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from bot.domain.voice_dialog import Action, Gather, Hangup, Keys, Play, Say, Silence, Speech, Transfer
from bot.services.voice import CallOrder, Reply, UnknownCall, VoiceDesk
from bot.webserver import Mount

log = logging.getLogger(__name__)

PREFIX = "/voice/twiml"

Offload = Callable[..., Awaitable[Any]]
"""``await offload(fn, *args)``: run a blocking use case off the event loop (``huifang run`` passes the chat's
own, so on SQLite every write of the process goes through its one writer thread)."""


def default_offload(serial: bool) -> Offload:
    """Worker threads for the use cases: one thread when the database takes one writer at a time (SQLite),
    so concurrent calls queue for a few milliseconds instead of sleeping in SQLite's busy handler."""
    if not serial:
        return asyncio.to_thread
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-writer")

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args))

    return run


@dataclass(frozen=True)
class TwimlConfig:
    """What the adapter needs from settings."""

    public_url: str  # the base URL the provider reaches huifang at (no trailing slash)
    auth_token: str
    account_sid: str = ""
    api_url: str = "https://api.twilio.com"
    caller_id: str = ""
    language: str = "cmn-Hans-CN"
    voice: str | None = None
    calls_per_second: float = 1.0

    def url(self, key: str, tail: str) -> str:
        return f"{self.public_url.rstrip('/')}{PREFIX}/{key}/{tail}"


# -------------------------------------------------------------------------------------------------- markup


def render(actions: Sequence[Action], config: TwimlConfig, key: str, turn: int) -> str:
    """The TwiML document for ``actions``; a gather's answer comes back to question ``turn``'s URL."""
    response = VoiceResponse()
    say_options: dict[str, Any] = {"language": config.language}
    if config.voice:
        say_options["voice"] = config.voice
    for action in actions:
        match action:
            case Say(text=text):
                response.say(text, **say_options)
            case Play(url=url):
                response.play(url)
            case Gather():
                gather = TwimlGather(
                    input="dtmf speech" if action.digits else "speech",
                    action=config.url(key, f"turn/{turn}"),
                    method="POST",
                    language=config.language,
                    hints=",".join(action.hints) or None,
                    timeout=action.timeout,
                    speech_timeout="auto",
                    num_digits=action.num_digits,
                    finish_on_key=action.finish_on_key,
                    action_on_empty_result=True,
                )
                gather.say(action.prompt, **say_options)
                response.append(gather)
            case Transfer(number=number):
                response.dial(number, caller_id=config.caller_id or None)
            case Hangup():
                response.hangup()
    return str(response)


def event_of(form: dict[str, str]) -> Keys | Speech | Silence:
    """A gather's result as a dialog event: keys first, then speech, else silence."""
    digits = form.get("Digits", "").strip()
    if digits:
        return Keys(digits)
    speech = form.get("SpeechResult", "").strip()
    if speech:
        try:
            confidence = float(form.get("Confidence", "") or 0.0)
        except ValueError:
            confidence = 0.0
        return Speech(speech, confidence)
    return Silence()


# ------------------------------------------------------------------------------------------------ webhooks


class _Webhooks:
    def __init__(self, desk: VoiceDesk, config: TwimlConfig, offload: Offload) -> None:
        self._desk = desk
        self._config = config
        self._offload = offload
        self._validator = RequestValidator(config.auth_token)

    async def _form(self, request: web.Request) -> dict[str, str]:
        """The form, if the signature matches the URL the provider requested; else 403."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        url = f"{self._config.public_url.rstrip('/')}{request.path_qs}"
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self._validator.validate(url, form, signature):
            log.warning("voice webhook refused: bad signature")
            raise web.HTTPForbidden()
        return form

    def _twiml(self, reply: Reply, key: str) -> web.Response:
        return web.Response(text=render(reply.actions, self._config, key, reply.turn), content_type="text/xml")

    async def answer(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        key = request.match_info["key"]
        reply = await self._call(self._desk.answered, key, form.get("AnsweredBy") or None)
        return self._twiml(reply, key)

    async def turn(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        key = request.match_info["key"]
        turn = int(request.match_info["turn"])
        reply = await self._call(self._desk.heard, key, turn, event_of(form))
        return self._twiml(reply, key)

    async def status(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        sip = form.get("SipResponseCode", "")
        code = int(sip) if sip.isdigit() else None
        status = form.get("CallStatus", "")
        await self._call(self._desk.ended, request.match_info["key"], status, code, form.get("AnsweredBy") or None)
        return web.Response(status=204)

    async def _call(self, use_case: Any, *args: Any) -> Any:
        try:
            return await self._offload(use_case, *args)
        except UnknownCall:
            raise web.HTTPNotFound() from None


def mount(desk: VoiceDesk, config: TwimlConfig, offload: Offload | None = None) -> Mount:
    """The voice webhooks' routes, for ``bot.webserver.build_web_app``."""
    hooks = _Webhooks(desk, config, offload or default_offload(desk.serial_writes))

    def add(app: web.Application) -> None:
        app.router.add_post(PREFIX + "/{key:[A-Za-z0-9_-]{8,32}}/answer", hooks.answer)
        app.router.add_post(PREFIX + "/{key:[A-Za-z0-9_-]{8,32}}/turn/{turn:[0-9]{1,4}}", hooks.turn)
        app.router.add_post(PREFIX + "/{key:[A-Za-z0-9_-]{8,32}}/status", hooks.status)

    return add


# ------------------------------------------------------------------------------------------------ dialler


class TwimlDialler:
    """Places the calls the dialler plans through the provider's REST API (create call with ``Url``,
    ``StatusCallback`` and ``MachineDetection``), no faster than ``calls_per_second``."""

    def __init__(self, desk: VoiceDesk, config: TwimlConfig, offload: Offload | None = None) -> None:
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        self._desk = desk
        self._config = config
        self._offload = offload or default_offload(desk.serial_writes)
        self._http = AsyncTwilioHttpClient()
        self._client = Client(config.account_sid, config.auth_token, http_client=self._http)
        self._client.api.base_url = config.api_url.rstrip("/")
        self._gap = 1.0 / config.calls_per_second
        self._last = -1e9
        self.sent_at: collections.deque[float] = collections.deque(maxlen=1000)  # when each create was sent

    async def tick(self) -> int:
        """Plan the calls due now and place them, paced; how many the provider accepted."""
        orders = await self._offload(self._desk.plan_calls)
        placed = 0
        for order in orders:
            wait = self._last + self._gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = time.monotonic()
            self.sent_at.append(self._last)
            placed += await self.place(order)
        return placed

    async def place(self, order: CallOrder) -> int:
        try:
            call = await self._client.calls.create_async(
                to=order.to,
                from_=self._config.caller_id,
                url=self._config.url(order.key, "answer"),
                method="POST",
                status_callback=self._config.url(order.key, "status"),
                status_callback_method="POST",
                machine_detection="Enable",
            )
        except Exception as exc:  # the provider refused or could not be reached: 无法接通, retried by the rules
            log.warning("voice call not placed: %s", type(exc).__name__)
            await self._offload(self._desk.call_not_placed, order.key)
            return 0
        await self._offload(self._desk.call_placed, order.key, str(call.sid))
        return 1

    async def close(self) -> None:
        await self._http.close()
