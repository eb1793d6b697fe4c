"""A fake TwiML voice provider (tests, benches, the demo): real HTTP both ways, correctly signed webhooks.

It serves the one REST call huifang makes (``POST /2010-04-01/Accounts/<sid>/Calls.json``, Basic auth with
the account id and auth token) and, for each call placed, plays the simulated customer registered for the
number it was placed to:

* ``Unanswered(status, sip)``: the call never connects (busy 486, no-answer, failed 404 / 480 / 603 …); only
  the final status callback is posted.
* ``Answered(replies, machine=False)``: the call connects; the fake fetches the answer URL, then walks the
  TwiML it gets back: ``<Say>``/``<Play>`` go into the call's transcript, a ``<Gather>`` is answered with the
  customer's next reply (``Press("1")``, ``Speak("配合回访", 0.9)``, ``Quiet()``: nothing, which posts the
  gather's action with no input, as ``actionOnEmptyResult`` asks; ``HangUp()``: the customer hangs up),
  ``<Dial>`` records a transfer, ``<Hangup>`` ends the call. A customer with no reply left hangs up.
  With ``machine=True`` the answer URL gets ``AnsweredBy=machine_end_beep``.

Every request carries ``X-Twilio-Signature`` computed with the twilio package's ``RequestValidator`` over
the exact URL and form, as the real provider does. A webhook that fails (connection refused, 5xx) is retried
``retries`` times ``retry_delay`` apart (the provider's connection-retry option); after that the call ends
and its status callback is retried until huifang takes it (for ``status_patience`` seconds).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

# ------------------------------------------------------------------------------------------ the customers


@dataclass(frozen=True)
class Press:
    digits: str


@dataclass(frozen=True)
class Speak:
    text: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Quiet:
    pass


@dataclass(frozen=True)
class HangUp:
    pass


Reply = Press | Speak | Quiet | HangUp


@dataclass(frozen=True)
class Answered:
    """A call that connects. ``replies`` are given in order; or ``respond`` picks each reply from the prompt
    just heard (the demo's customers, who answer whatever they are asked)."""

    replies: tuple[Reply, ...] = ()
    machine: bool = False
    respond: Callable[[str], Reply] | None = None


@dataclass(frozen=True)
class Unanswered:
    status: str = "no-answer"
    sip: int | None = None


Customer = Answered | Unanswered


@dataclass
class FakeCall:
    """One call as the fake saw it."""

    sid: str
    to: str
    url: str
    status_callback: str
    created_at: float  # time.monotonic() when huifang asked for it
    transcript: list[str] = field(default_factory=list)  # what the robot said, in order
    prompts: list[str] = field(default_factory=list)  # what each gather asked
    transferred_to: str | None = None
    call_status: str = "queued"  # the provider's CallStatus
    hung_up_by: str | None = None  # "customer" or "robot"
    webhook_times: list[float] = field(default_factory=list)  # seconds huifang took per webhook
    ended_at: float = 0.0  # time.monotonic() when the call ended
    done: asyncio.Event = field(default_factory=asyncio.Event)


class FakeVoiceProvider:
    """The fake provider; ``await start()``, register customers with ``customer(phone, ...)``, read ``calls``."""

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-voice-auth-token",
        *,
        retries: int = 3,
        retry_delay: float = 0.5,
        status_patience: float = 30.0,
        ring_seconds: float = 0.0,
        think_seconds: float = 0.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.retries = retries
        self.retry_delay = retry_delay
        self.status_patience = status_patience
        self.ring_seconds = ring_seconds
        self.think_seconds = think_seconds  # how long a customer takes before each reply
        self.customers: dict[str, Customer] = {}
        self.calls: list[FakeCall] = []
        self._ids = itertools.count(1)
        self._validator = RequestValidator(auth_token)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # ---------------------------------------------------------------------------------------- set-up

    def customer(self, phone: str, behaviour: Customer) -> None:
        self.customers[phone] = behaviour

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", self._create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_calls(self, count: int, timeout: float = 20.0) -> list[FakeCall]:
        """Wait until ``count`` calls were placed and every one of them has ended."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < count or not all(c.done.is_set() for c in self.calls):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.calls)} calls placed, {sum(c.done.is_set() for c in self.calls)} ended")
            await asyncio.sleep(0.01)
        return list(self.calls)

    def sign(self, url: str, form: dict[str, str]) -> str:
        return str(self._validator.compute_signature(url, form))

    # -------------------------------------------------------------------------------------- REST API

    async def _create(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.match_info["sid"] != self.account_sid or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not form.get("To") or not form.get("Url"):
            return web.json_response({"code": 21201, "message": "No 'To' number"}, status=400)
        sid = f"CA{next(self._ids):032x}"
        call = FakeCall(sid, form["To"], form["Url"], form.get("StatusCallback", ""), time.monotonic())
        self.calls.append(call)
        task = asyncio.create_task(self._play(call, self.customers.get(form["To"], Unanswered())))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From", ""),
                "direction": "outbound-api",
            },
            status=201,
        )

    # ---------------------------------------------------------------------------------------- a call

    async def _play(self, call: FakeCall, customer: Customer) -> None:
        base = {"AccountSid": self.account_sid, "CallSid": call.sid, "To": call.to, "Direction": "outbound-api"}
        try:
            if self.ring_seconds:
                await asyncio.sleep(self.ring_seconds)
            if isinstance(customer, Unanswered):
                call.call_status = customer.status
                final = {**base, "CallStatus": customer.status, "CallDuration": "0"}
                if customer.sip is not None:
                    final["SipResponseCode"] = str(customer.sip)
                await self._post_status(call, final)
                return
            answered_by = "machine_end_beep" if customer.machine else "human"
            call.call_status = "in-progress"
            replies: list[Reply] | Callable[[str], Reply] = customer.respond or list(customer.replies)
            document = await self._webhook(
                call, call.url, {**base, "CallStatus": "in-progress", "AnsweredBy": answered_by}
            )
            while document is not None:
                document = await self._walk(call, document, replies, base)
            call.call_status = "completed"
            final = {**base, "CallStatus": "completed", "CallDuration": "42", "SipResponseCode": "200",
                     "AnsweredBy": answered_by}  # fmt: skip
            await self._post_status(call, final)
        finally:
            call.ended_at = time.monotonic()
            call.done.set()

    async def _walk(
        self, call: FakeCall, document: str, replies: list[Reply] | Callable[[str], Reply], base: dict[str, str]
    ) -> str | None:
        """Follow one TwiML document; the next document to follow, or None when the call ended."""
        root = ET.fromstring(document)
        for verb in root:
            if verb.tag in ("Say", "Play"):
                call.transcript.append(verb.text or "")
            elif verb.tag == "Hangup":
                call.hung_up_by = "robot"
                return None
            elif verb.tag == "Dial":
                call.transferred_to = (verb.text or "").strip()
                return None
            elif verb.tag == "Gather":
                said = " ".join(child.text or "" for child in verb if child.tag == "Say")
                call.transcript.append(said)
                call.prompts.append(said)
                if callable(replies):
                    reply = replies(said) if len(call.prompts) <= 40 else HangUp()
                else:
                    reply = replies.pop(0) if replies else HangUp()
                if self.think_seconds:
                    await asyncio.sleep(self.think_seconds)
                if isinstance(reply, HangUp):
                    call.hung_up_by = "customer"
                    return None
                form = {**base, "CallStatus": "in-progress"}
                if isinstance(reply, Press):
                    form["Digits"] = reply.digits
                elif isinstance(reply, Speak):
                    form["SpeechResult"] = reply.text
                    form["Confidence"] = f"{reply.confidence:.2f}"
                return await self._webhook(call, verb.attrib["action"], form)
        return None  # the document ran out: the provider hangs up

    async def _webhook(self, call: FakeCall, url: str, form: dict[str, str]) -> str | None:
        """POST a signed webhook; its TwiML, or None when huifang could not be reached (the call ends)."""
        assert self._session is not None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay)
            started = time.perf_counter()
            try:
                async with self._session.post(
                    url, data=form, headers={"X-Twilio-Signature": self.sign(url, form)}
                ) as r:
                    body = await r.text()
                    if r.status == 200:
                        call.webhook_times.append(time.perf_counter() - started)
                        return body
                    if r.status < 500:
                        return None  # refused (403, 404): the provider would play an error and hang up
            except (TimeoutError, aiohttp.ClientError):
                pass
        return None

    async def _post_status(self, call: FakeCall, form: dict[str, str]) -> None:
        assert self._session is not None
        if not call.status_callback:
            return
        deadline = time.monotonic() + self.status_patience
        headers = {"X-Twilio-Signature": self.sign(call.status_callback, form)}
        while True:
            try:
                async with self._session.post(call.status_callback, data=form, headers=headers) as r:
                    if r.status < 500:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(self.retry_delay)


def twiml_of(document: str) -> Any:
    """A TwiML document parsed (for tests that look at the markup itself)."""
    return ET.fromstring(document)
