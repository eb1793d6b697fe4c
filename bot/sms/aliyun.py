"""Aliyun SMS (阿里云短信服务, Dysmsapi 2017-05-25): ``SendSms`` with SignName, TemplateCode and TemplateParam.

China requires an approved signature (签名) and template (模板): Aliyun sends the template's own text with the
parameters filled in, so what we send is the parameters, not the text. Aliyun refuses a URL as a parameter
(isv.PARAM_NOT_SUPPORT_URL): the approved template holds the address up to the token
(``https://…/s/${token}``) and we send the token. ``OutId`` carries our reference, which Aliyun's delivery
receipts return as ``out_id``.

The request is signed with Aliyun's RPC signature, version 1.0 (HMAC-SHA1): the parameters sorted by name,
each percent-encoded (RFC 3986: space as %20, ``*`` as %2A, ``~`` kept), joined with ``&``; the string to sign
is ``POST&%2F&`` + the encoded query; the key is the AccessKeySecret followed by ``&``; the Base64 digest is
the ``Signature`` parameter. Written by hand because Aliyun's SDK (alibabacloud_dysmsapi20170525 and its
tea runtime) is a large synchronous dependency for one signed POST, and it cannot be pointed at a local fake
without replacing its endpoint resolver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.services.outbox import MaybeSent, Refused, TryLater

DEFAULT_URL = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986 unreserved characters kept, everything else %XX (UTF-8)."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of a request's parameters (everything but ``Signature`` itself)."""
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_params(
    access_key_id: str, secret: str, business: Mapping[str, str], now: datetime, nonce: str | None = None
) -> dict[str, str]:
    """The full, signed parameter set of one SendSms call."""
    params = {
        "AccessKeyId": access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": API_VERSION,
        **business,
    }
    params["Signature"] = signature(params, secret)
    return params


def local_number(e164: str) -> str:
    """Aliyun takes mainland numbers without +86; other numbers with their country code, no +."""
    digits = e164.lstrip("+")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


class AliyunSms:
    """An outbox Sender for Aliyun SMS; use as ``async with AliyunSms(...) as sender``."""

    def __init__(
        self,
        access_key_id: str,
        secret: str,
        sign_name: str,
        template_code: str,
        api_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._key, self._secret = access_key_id, secret
        self._sign_name, self._template = sign_name, template_code
        self._url = api_url or DEFAULT_URL
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AliyunSms:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        assert self._session is not None, "use AliyunSms as an async context manager"
        business = {
            "PhoneNumbers": local_number(recipient),
            "SignName": self._sign_name,
            "TemplateCode": self._template,
            "TemplateParam": json.dumps(message.get("params", {}), ensure_ascii=False, separators=(",", ":")),
            "OutId": str(message.get("ref", "")),
        }
        params = signed_params(self._key, self._secret, business, datetime.now(UTC))
        try:
            async with self._session.post(self._url, data=params) as response:
                body = await response.text()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ClientConnectionResetError) as exc:
            raise TryLater from exc  # no connection: it did not leave
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise MaybeSent from exc
        if status >= 500:
            raise MaybeSent(f"HTTP {status}")
        try:
            data = json.loads(body)
        except ValueError:
            raise Refused(f"HTTP {status}: not JSON") from None
        code = str(data.get("Code", ""))
        if code == "OK":
            return
        if code in ("isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "isp.SYSTEM_ERROR"):
            raise TryLater(code)  # flow control or a transient error: refused before sending, try later
        raise Refused(code or f"HTTP {status}")
