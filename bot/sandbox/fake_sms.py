"""A local SMS provider for tests and the offline demo, speaking both API shapes huifang sends through.

* Aliyun: ``POST /`` with the signed ``SendSms`` parameters (the signature is checked the way Aliyun checks
  it); the text shown is the approved template (``templates``, Aliyun's ``${var}`` syntax) filled in, with
  【签名】 in front. Receipts and upstream replies are pushed as JSON arrays to the report / upstream URLs,
  as Aliyun's "HTTP batch push" does.
* Twilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth; receipts go to each message's
  ``StatusCallback``, replies to the inbound URL, both form-encoded and signed with ``X-Twilio-Signature``
  (twilio's own ``RequestValidator`` computes it).

``fail(phone, code, message)`` makes deliveries to a number fail with the provider's code and text; every
message is kept in ``messages`` with its text and link, so a test or the demo can open it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from string import Template
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator
from yarl import URL

from bot.sms.aliyun import signature

_LINK = re.compile(r"https?://\S+")


@dataclass
class FakeSms:
    """One SMS the provider accepted."""

    provider: str
    phone: str
    text: str
    ref: str
    sid: str
    callback: str | None = None
    reported: bool = False

    @property
    def link(self) -> str | None:
        found = _LINK.search(self.text)
        return found.group(0) if found else None


@dataclass
class FakeSmsProvider:
    """The server. ``async with FakeSmsProvider(...) as sms``; ``sms.url`` is the API base URL."""

    account: str = "LTAI-test-account"
    secret: str = "test-secret-of-the-fake-provider"
    templates: dict[str, str] = field(default_factory=dict)  # Aliyun template code -> text with ${var}
    aliyun_report_url: str | None = None
    aliyun_upstream_url: str | None = None
    twilio_inbound_url: str | None = None
    auto_receipts: bool = False  # push each message's receipt right after accepting it
    messages: list[FakeSms] = field(default_factory=list)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    refused_requests: int = 0
    callback_answers: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> FakeSmsProvider:
        app = web.Application()
        app.router.add_post("/", self._aliyun_send)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._twilio_send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            await task
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, phone: str, code: str, message: str = "") -> None:
        """Deliveries to ``phone`` (as sent, any format) fail with this provider code and text."""
        self.failures[phone.lstrip("+").removeprefix("86")] = (code, message)

    def to(self, phone: str) -> list[FakeSms]:
        digits = phone.lstrip("+").removeprefix("86")
        return [m for m in self.messages if m.phone.lstrip("+").removeprefix("86") == digits]

    # ------------------------------------------------------------------------------------------- sending

    async def _aliyun_send(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        given = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.account or given != signature(params, self.secret):
            self.refused_requests += 1
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"})
        template = self.templates.get(params.get("TemplateCode", ""))
        if template is None:
            return web.json_response({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "template"})
        values = json.loads(params.get("TemplateParam") or "{}")
        text = f"【{params['SignName']}】{Template(template).safe_substitute(values)}"
        sid = f"{next(self._ids):06d}^0"
        self._accept(FakeSms("aliyun", params["PhoneNumbers"], text, params.get("OutId", ""), sid))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": sid, "RequestId": sid})

    async def _twilio_send(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        expected = aiohttp.encode_basic_auth(self.account, self.secret)
        if request.match_info["sid"] != self.account or auth != expected:
            self.refused_requests += 1
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        sid = f"SM{next(self._ids):032x}"
        callback = form.get("StatusCallback")
        ref = ""
        if callback and "ref=" in callback:
            from urllib.parse import parse_qs, urlsplit

            ref = parse_qs(urlsplit(callback).query).get("ref", [""])[0]
        self._accept(FakeSms("twilio", form["To"], form["Body"], ref, sid, callback))
        return web.json_response({"sid": sid, "to": form["To"]}, status=201)

    def _accept(self, message: FakeSms) -> None:
        self.messages.append(message)
        if self.auto_receipts:
            task = asyncio.get_running_loop().create_task(self._report(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------------------- receipts and replies

    async def deliver_receipts(self) -> int:
        """Push the receipt of every message not reported yet; how many."""
        waiting = [m for m in self.messages if not m.reported]
        for message in waiting:
            await self._report(message)
        return len(waiting)

    async def _report(self, message: FakeSms) -> None:
        if message.reported:
            return
        message.reported = True
        failure = self.failures.get(message.phone.lstrip("+").removeprefix("86"))
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if message.provider == "aliyun" and self.aliyun_report_url:
            report = {
                "phone_number": message.phone, "send_time": now, "report_time": now,
                "success": failure is None, "err_code": failure[0] if failure else "DELIVERED",
                "err_msg": failure[1] if failure else "", "sms_size": "1", "biz_id": message.sid,
                "out_id": message.ref,
            }  # fmt: skip
            await self._post_json(self.aliyun_report_url, [report])
        elif message.provider == "twilio" and message.callback:
            form = {"MessageSid": message.sid, "MessageStatus": "undelivered" if failure else "delivered",
                    "To": message.phone, "AccountSid": self.account}  # fmt: skip
            if failure:
                form["ErrorCode"] = failure[0]
            await self._post_signed(message.callback, form)

    async def reply(self, phone: str, text: str, provider: str = "aliyun") -> None:
        """The customer answers an SMS from ``phone`` (as the carrier gives it) with ``text``."""
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if provider == "aliyun":
            assert self.aliyun_upstream_url, "no upstream URL configured"
            up = {"phone_number": phone, "send_time": now, "content": text, "sign_name": "",
                  "dest_code": "1234", "sequence_id": next(self._ids)}  # fmt: skip
            await self._post_json(self.aliyun_upstream_url, [up])
        else:
            assert self.twilio_inbound_url, "no inbound URL configured"
            form = {"MessageSid": f"SM{next(self._ids):032x}", "From": phone, "To": "+10000000000", "Body": text,
                    "AccountSid": self.account}  # fmt: skip
            await self._post_signed(self.twilio_inbound_url, form)

    async def _post_json(self, url: str, body: Any) -> None:
        async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
            self.callback_answers.append(response.status)

    async def _post_signed(self, url: str, form: dict[str, str]) -> None:
        sign = RequestValidator(self.secret).compute_signature(url, form)
        async with (
            aiohttp.ClientSession() as session,
            session.post(URL(url, encoded=True), data=urlencode(form), headers={
                "X-Twilio-Signature": sign, "Content-Type": "application/x-www-form-urlencoded"}) as response,
        ):  # fmt: skip
            self.callback_answers.append(response.status)
