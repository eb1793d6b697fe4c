"""Deep-link tokens for binding a Telegram account: signed, expiring, short enough for ``?start=``.

A token is ``base64url(body) + base64url(mac)`` where body = version, subject kind, subject id, expiry
(unix minutes) and a random nonce, and mac = HMAC-SHA256(secret, body) cut to 16 bytes. It is 44
characters of A–Z a–z 0–9 _ -, within Telegram's 64. The signature proves we issued it; the nonce, kept
in the database, makes it single-use.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from hashlib import sha256

_VERSION = 1
_BODY = struct.Struct(">BcII6s")  # version, kind, subject id, expiry minute, nonce
_MAC_BYTES = 16


class LinkSubject(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


_KIND_BYTE = {LinkSubject.CUSTOMER: b"c", LinkSubject.STAFF: b"s"}
_SUBJECT_BY_BYTE = {v: k for k, v in _KIND_BYTE.items()}


class LinkProblem(StrEnum):
    """Why a token does not bind."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    USED = "used"


class InvalidLink(ValueError):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says."""

    subject: LinkSubject
    subject_id: int
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: bytes, subject: LinkSubject, subject_id: int, expires_at: datetime) -> tuple[str, LinkClaim]:
    """Make a token; returns it with its claim (store the nonce to make it single-use)."""
    nonce = secrets.token_bytes(6)
    minute = int(expires_at.timestamp() // 60)
    body = _BODY.pack(_VERSION, _KIND_BYTE[subject], subject_id, minute, nonce)
    mac = hmac.new(secret, body, sha256).digest()[:_MAC_BYTES]
    claim = LinkClaim(subject, subject_id, nonce.hex(), datetime.fromtimestamp(minute * 60, UTC))
    return _b64(body) + _b64(mac), claim


def verify(secret: bytes, token: str, now: datetime) -> LinkClaim:
    """Check a token's signature and expiry; raise InvalidLink saying what is wrong."""
    body_chars = (_BODY.size * 4 + 2) // 3
    if len(token) != body_chars + (_MAC_BYTES * 4 + 2) // 3:
        raise InvalidLink(LinkProblem.MALFORMED)
    try:
        body, mac = _unb64(token[:body_chars]), _unb64(token[body_chars:])
        version, kind, subject_id, minute, nonce = _BODY.unpack(body)
    except (ValueError, struct.error):
        raise InvalidLink(LinkProblem.MALFORMED) from None
    expected = hmac.new(secret, body, sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected) or version != _VERSION or kind not in _SUBJECT_BY_BYTE:
        raise InvalidLink(LinkProblem.FORGED)
    expires_at = datetime.fromtimestamp(minute * 60, UTC)
    if now >= expires_at:
        raise InvalidLink(LinkProblem.EXPIRED)
    return LinkClaim(_SUBJECT_BY_BYTE[kind], subject_id, nonce.hex(), expires_at)


def deep_link(bot_username: str, token: str) -> str:
    """The t.me link that opens the bot with ``/start <token>``."""
    return f"https://t.me/{bot_username}?start={token}"


def expiry(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
