"""A Twilio-compatible Messages API: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth.

Each message names its own ``StatusCallback`` (our receipt URL with the message's reference in the query),
so a receipt says which invitation it is about. Sent with aiohttp rather than twilio's ``Client`` because the
API base URL is a setting (a Twilio-compatible provider, or the local fake) and the client has no such
option; the ``twilio`` package is used where it matters, to check the callbacks' signatures
(``bot/sms/callbacks.py``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.services.outbox import MaybeSent, Refused, TryLater

DEFAULT_URL = "https://api.twilio.com"


class TwilioSms:
    """An outbox Sender for a Twilio-compatible API; use as ``async with TwilioSms(...) as sender``."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str | None,
        api_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, sender
        self._callback = status_callback
        base = (api_url or DEFAULT_URL).rstrip("/")
        self._url = f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> TwilioSms:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, headers={"Authorization": aiohttp.encode_basic_auth(self._sid, self._token)}
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        assert self._session is not None, "use TwilioSms as an async context manager"
        form = {"To": recipient, "Body": message["text"]}
        form["MessagingServiceSid" if self._from.startswith("MG") else "From"] = self._from
        if self._callback:
            # ":" kept as is: the URL Twilio signs is the one given here, character for character
            form["StatusCallback"] = f"{self._callback}?{urlencode({'ref': message.get('ref', '')}, safe=':')}"
        try:
            async with self._session.post(self._url, data=form) as response:
                body = await response.text()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ClientConnectionResetError) as exc:
            raise TryLater from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise MaybeSent from exc
        if status in (200, 201):
            return
        if status == 429:
            raise TryLater("HTTP 429")  # refused for the rate: not sent
        if status >= 500:
            raise MaybeSent(f"HTTP {status}")
        try:
            code = json.loads(body).get("code")
        except ValueError:
            code = None
        raise Refused(f"HTTP {status} {code or ''}".strip())
