"""The bot's HTTP transport to the Bot API: python-telegram-bot's ``BaseRequest`` on aiohttp.

PTB's default transport (httpx over httpcore and anyio) costs about 2.3 ms of CPU per Bot API call on
the benchmark machine, most of it spent walking the connection pool; aiohttp's C parser and simple pool
cost about 0.5 ms (``bench/transport_bench.py``). A survey answer costs three calls, so this is where a
busy bot spends its time. PTB documents ``BaseRequest`` as the place to plug in another HTTP library.

Errors keep PTB's meaning, and say whether the request may have reached Telegram, because the outbox
must never blindly resend a message Telegram may already have delivered:

* not sent (no connection could be had or made) → ``NotSent``, a ``NetworkError``: safe to try again, and
  the send limiter does, with backoff;
* maybe sent (timed out or cut off after the request went out) → ``TimedOut``: a missed invitation is
  asked again by the reminder, while a duplicate cannot be taken back.

A keep-alive connection the server has already closed while it sat idle in the pool (its FIN or RST waiting
unread, e.g. after the event loop was busy for a while) would fail the next request in a way that cannot be
told apart from "cut off after sending". So, as HTTP clients do for a connection closed while idle, every
pooled connection is checked just before it is used: if the server has hung up on it, it is closed and
another one taken, before a byte of the request is written (so the request certainly was not processed).
A server that hangs up at the very moment the request goes out still gives ``TimedOut``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import sys
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)


class NotSent(NetworkError):
    """The request never left this machine (no free or working connection): safe to make again."""


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded pool of keep-alive connections to the Bot API."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The pool wait is ours (``_slots``, bounded by pool_timeout); aiohttp's own limit then never waits.
            self._slots = asyncio.Semaphore(self._pool_size)
            connector = _FreshConnector(
                limit=self._pool_size,
                # Python 3.12.7+ closes aborted TLS transports itself; aiohttp then warns about this option.
                enable_cleanup_closed=sys.version_info < (3, 12, 7),
            )
            # trust_env stays off: with it aiohttp reads the proxy variables and ~/.netrc in a thread on
            # every request. The proxy is resolved once instead (``proxy``, see ``proxy_for``).
            self._session = aiohttp.ClientSession(connector=connector, proxy=self._proxy)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if files else self._write_timeout
        else:
            write = write_timeout
        timeout = _timeout(read, write, connect)
        body, headers = _encode(fields, files, {"User-Agent": self.USER_AGENT})
        await self._take_slot(slots, pool)
        try:
            # No redirects: a POST must not turn into a GET without its body (PTB's httpx does not follow).
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        # ``from None`` throughout: aiohttp puts the request URL, and so the bot token, into some of its
        # messages (connect timeouts, invalid URLs, bad responses), and a logged cause would print it.
        except aiohttp.ConnectionTimeoutError:
            raise NotSent(
                "Connect timeout: no connection to the Bot API could be made. Request was *not* sent to Telegram."
            ) from None
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS handshake: nothing went out
            where = f"{exc.host}:{exc.port}"
            raise NotSent(f"aiohttp.{type(exc).__name__}: cannot connect to {where} ({exc.os_error})") from None
        except aiohttp.InvalidURL:
            raise NotSent("Invalid Bot API URL (HUIFANG_TELEGRAM_API_URL). Request was *not* sent.") from None
        except (TimeoutError, asyncio.TimeoutError):  # noqa: UP041 - aiohttp raises either
            raise TimedOut from None
        except aiohttp.ClientError as exc:  # cut off after the request went out: it may have arrived
            raise TimedOut(f"aiohttp.{type(exc).__name__}: the request may have reached Telegram") from None
        finally:
            slots.release()

    async def _take_slot(self, slots: asyncio.Semaphore, pool: float | None) -> None:
        """One of the pool's connections, waiting at most ``pool`` seconds once all are busy."""
        try:
            if slots.locked():
                await asyncio.wait_for(slots.acquire(), pool)
            else:
                await slots.acquire()
        except TimeoutError as exc:
            raise NotSent(
                f"Pool timeout: all {self._pool_size} connections to the Bot API are busy. "
                "Request was *not* sent to Telegram."
            ) from exc


def _encode(fields: Any, files: Any, headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """The request body (multipart with files, else a URL-encoded form, else none) and its headers."""
    body: Any = None
    if files:
        body = _multipart(fields or {}, files)
    elif fields:  # encoded here: aiohttp's FormData builds a multipart writer even for a plain form
        body = urlencode(fields).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return body, headers


class _FreshConnector(aiohttp.TCPConnector):
    """A connector that never hands out a pooled connection the server has already closed."""

    async def connect(self, req: Any, traces: Any, timeout: aiohttp.ClientTimeout) -> Any:
        for _ in range(self.limit + 1):  # after a stall, every pooled connection may be stale
            connection = await super().connect(req, traces, timeout)
            if not _hung_up(connection):
                return connection
            log.debug("a pooled connection was closed by the server while idle; taking another")
            connection.close()
        return connection


def _hung_up(connection: Any) -> bool:
    """Whether the server has closed this idle connection: its FIN (Linux: POLLRDHUP) or reset has arrived.

    Asked of the socket, not read from it, so it holds for TLS too (where a closing server's close_notify
    waits unread before the FIN) and takes nothing a live connection still needs.
    """
    transport = connection.transport
    raw = transport.get_extra_info("socket") if transport is not None else None
    if raw is None:
        return False
    poller = select.poll()
    poller.register(raw.fileno(), _CLOSED_EVENTS)
    return bool(poller.poll(0))


_CLOSED_EVENTS = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


def bot_requests(api_url: str, connections: int, proxy: str | None) -> tuple[AiohttpRequest, AiohttpRequest]:
    """The two transports a PTB bot takes: for Bot API calls, and the single long poll of getUpdates."""
    resolved = proxy_for(api_url, proxy)
    return AiohttpRequest(connections, proxy=resolved), AiohttpRequest(1, proxy=resolved)


def proxy_for(api_url: str, configured: str | None = None) -> str | None:
    """The HTTP proxy to reach ``api_url`` through: the configured one, else HTTPS_PROXY / ALL_PROXY.

    Read once at start. NO_PROXY and local addresses are honoured; aiohttp speaks only to HTTP(S) proxies,
    so another kind in the environment (socks5://…) is ignored with a warning rather than failing later.
    """
    if configured:
        return configured
    host = urlsplit(api_url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1") or urllib.request.proxy_bypass_environment(host):  # type: ignore[attr-defined]  # CPython has it; typeshed not
        return None
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        value = os.environ.get(name)
        if not value:
            continue
        if urlsplit(value).scheme in ("http", "https"):
            return value
        log.warning("%s is not an HTTP proxy; the bot connects without it", name)
        return None
    return None


def _timeout(read: float | None, write: float | None, connect: float | None) -> aiohttp.ClientTimeout:
    """PTB's timeouts in aiohttp's terms (the pool wait is bounded before the request starts).

    aiohttp has no write timeout, so the whole request is bounded by the sum of the three instead.
    """
    parts = [read, write, connect]
    total = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    return aiohttp.ClientTimeout(total=total, connect=connect, sock_connect=connect, sock_read=read)


def _multipart(fields: dict[str, str], files: dict[str, Any]) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
