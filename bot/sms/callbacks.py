"""The SMS providers' callbacks, served by `huifang run`: delivery receipts and upstream replies.

Authenticity, as each provider documents it:

* Twilio signs every callback: ``X-Twilio-Signature`` is the Base64 HMAC-SHA1, keyed with the Auth Token, of
  the full URL it called followed by the form's fields sorted by name; twilio's ``RequestValidator`` checks
  it against our public URL (``HUIFANG_PUBLIC_URL``) plus the path and query. A bad or missing one is 403.
* Aliyun's HTTP batch push carries no signature; its receipt and reply URLs hold a secret of ours
  (``HUIFANG_SMS_CALLBACK_SECRET``, compared in constant time): a wrong secret is 404, as if there were no
  such route.

Handlers are thin: they read the provider's fields, turn each into a service call (in a worker thread, so
the event loop never waits for the database) and answer what the provider expects (Aliyun
``{"code": 0}``, Twilio an empty TwiML response). Nothing from a callback is logged but counts.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.domain.clock import Clock
from bot.domain.sms import Receipt
from bot.services import sms as sms_service

log = logging.getLogger(__name__)

TWILIO_STATUS = "/sms/twilio/status"
TWILIO_INBOUND = "/sms/twilio/inbound"
ALIYUN_REPORT = "/sms/aliyun/{secret}/report"
ALIYUN_UPSTREAM = "/sms/aliyun/{secret}/upstream"
_TWILIO_FINAL = {"delivered": True, "undelivered": False, "failed": False}


def twilio_status_url(public_url: str) -> str:
    return public_url.rstrip("/") + TWILIO_STATUS


def aliyun_urls(public_url: str, secret: str) -> tuple[str, str]:
    """(receipt URL, upstream-reply URL) to enter in Aliyun's console (回执消息配置 → HTTP 批量推送)."""
    base = public_url.rstrip("/")
    return base + ALIYUN_REPORT.format(secret=secret), base + ALIYUN_UPSTREAM.format(secret=secret)


class SmsCallbacks:
    """The callback routes of the configured provider (a ``bot.webserver.Mount``: call ``mount(app)``)."""

    def __init__(
        self,
        uow_factory: Callable[[], Any],
        clock: Clock,
        provider: str,
        secret: str,
        public_url: str,
        region: str = "CN",
    ) -> None:
        self._uow, self._clock, self._provider = uow_factory, clock, provider
        self._secret, self._public = secret, public_url.rstrip("/")
        self._region = region

    def mount(self, app: web.Application) -> None:
        if self._provider == "twilio":
            app.router.add_post(TWILIO_STATUS, self._twilio_status)
            app.router.add_post(TWILIO_INBOUND, self._twilio_inbound)
        else:
            app.router.add_post(ALIYUN_REPORT, self._aliyun_report)
            app.router.add_post(ALIYUN_UPSTREAM, self._aliyun_upstream)

    # ------------------------------------------------------------------------------------------ services

    async def _receipt(self, ref: str, receipt: Receipt) -> bool:
        def work() -> bool:
            with self._uow() as uow:
                return sms_service.record_receipt(uow, ref, receipt, self._clock.now())

        return await asyncio.to_thread(work)

    async def _reply(self, phone: str, text: str) -> int:
        def work() -> int:
            with self._uow() as uow:
                return sms_service.record_reply(uow, phone, text, self._clock.now(), self._region)

        return await asyncio.to_thread(work)

    # ------------------------------------------------------------------------------------------- Twilio

    async def _twilio_form(self, request: web.Request) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.post()).items()}
        url = self._public + request.raw_path  # as sent: the query percent-encoded as the provider signed it
        if not RequestValidator(self._secret).validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            raise web.HTTPForbidden()
        return form

    async def _twilio_status(self, request: web.Request) -> web.Response:
        form = await self._twilio_form(request)
        delivered = _TWILIO_FINAL.get(form.get("MessageStatus", ""))
        if delivered is not None:
            receipt = (
                Receipt(True, None)
                if delivered
                else sms_service.receipt_for_failure(form.get("ErrorCode", ""), form.get("ErrorMessage", ""))
            )
            await self._receipt(request.query.get("ref", ""), receipt)
        return web.Response(status=204)

    async def _twilio_inbound(self, request: web.Request) -> web.Response:
        form = await self._twilio_form(request)
        await self._reply(form.get("From", ""), form.get("Body", ""))
        return web.Response(text=str(MessagingResponse()), content_type="text/xml")

    # ------------------------------------------------------------------------------------------- Aliyun

    async def _aliyun_items(self, request: web.Request) -> list[dict[str, Any]]:
        if not hmac.compare_digest(request.match_info["secret"].encode(), self._secret.encode()):
            raise web.HTTPNotFound()
        try:
            items = json.loads(await request.text())
        except ValueError:
            raise web.HTTPBadRequest() from None
        if not isinstance(items, list):
            items = [items]
        return [item for item in items if isinstance(item, dict)]

    async def _aliyun_report(self, request: web.Request) -> web.Response:
        recorded = 0
        for item in await self._aliyun_items(request):
            success = item.get("success") in (True, "true")
            receipt = (
                Receipt(True, None)
                if success
                else sms_service.receipt_for_failure(str(item.get("err_code", "")), str(item.get("err_msg", "")))
            )
            recorded += await self._receipt(str(item.get("out_id", "")), receipt)
        log.info("sms receipts: %s recorded", recorded)
        return web.json_response({"code": 0, "msg": "ok"})

    async def _aliyun_upstream(self, request: web.Request) -> web.Response:
        for item in await self._aliyun_items(request):
            await self._reply(str(item.get("phone_number", "")), str(item.get("content", "")))
        return web.json_response({"code": 0, "msg": "ok"})
