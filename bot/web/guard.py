"""What protects the web survey page's forms: CSRF tokens and rate limits.

CSRF: a signed double-submit token (OWASP's "signed double-submit cookie"). A page sets a random cookie on
the visitor's browser; every form carries ``HMAC(key, cookie | link token)``. Another site can make the
browser post, but cannot read the cookie nor compute the field, and the link token binds the field to one
survey. Written by hand: it is a dozen lines over ``hmac``, and aiohttp has no CSRF helper of its own
(aiohttp-session + aiohttp-csrf would add two dependencies and a session store for this).

Rate limits: a token bucket per key (a link, a client address) in this process's memory; the buckets are
forgotten when full again, so memory stays bounded by the clients of the last minute or so.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

CSRF_COOKIE = "hf_csrf"
_COOKIE_BYTES = 16


def new_cookie() -> str:
    return secrets.token_urlsafe(_COOKIE_BYTES)


def csrf_field(key: bytes, cookie: str, link_token: str) -> str:
    """The hidden form field for this browser (its cookie) and this link."""
    return hmac.new(key, f"{cookie}|{link_token}".encode(), hashlib.sha256).hexdigest()[:40]


def csrf_ok(key: bytes, cookie: str | None, link_token: str, field: str | None) -> bool:
    """Whether a posted form came from a page this browser got from us for this link."""
    if not cookie or not field or len(cookie) > 64 or len(field) > 64:
        return False
    return hmac.compare_digest(csrf_field(key, cookie, link_token), field)


class RateLimiter:
    """At most ``per_minute`` requests per key per minute on average, with bursts up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str) -> bool:
        """Take one request from ``key``'s bucket; False if it is empty (the request is refused)."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - at) * self._refill)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self._max_keys:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (their keys start afresh, which is the same thing)."""
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self._refill >= self._capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:  # a flood of distinct keys: keep the newest half
            newest = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[len(self._buckets) // 2 :]
            self._buckets = dict(newest)
