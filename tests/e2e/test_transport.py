"""The aiohttp Bot API transport over real sockets: what it sends, and what its errors promise.

The outbox relies on the error contract of ``bot/telegram/transport.py``: ``TimedOut`` means the request
may have reached Telegram (never blindly resent), any other ``NetworkError`` means it certainly did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
import traceback
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import ExtBot

from bot.sandbox.fake_telegram import FakeTelegram
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.transport import AiohttpRequest

TOKEN = "123456:TEST-token-for-the-local-fake-server"
OK = b'{"ok":true,"result":true}'


class RawServer:
    """An HTTP server on a real socket that reads each request, then answers, hangs or hangs up.

    ``behaviour``: ``answer`` (200 at once), ``silent`` (never answers), ``hang_up`` (closes the connection
    without answering), ``hold`` (answers only once ``release()`` is called), ``redirect`` (302 elsewhere).
    """

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.requests: list[bytes] = []
        self.received = asyncio.Event()
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    def url(self, method: str = "getMe") -> str:
        return f"http://127.0.0.1:{self.port}/bot{TOKEN}/{method}"

    def release(self) -> None:
        self._release.set()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                self.requests.append(head + await reader.readexactly(length))
                self.received.set()
                if self.behaviour == "hang_up":
                    return
                if self.behaviour == "silent":
                    await asyncio.Event().wait()
                if self.behaviour == "hold":
                    await self._release.wait()
                if self.behaviour == "redirect":
                    writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(OK)}\r\n\r\n".encode()
                    + OK
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def transport(**options: float | int | None) -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(**options)  # type: ignore[arg-type]
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


def tiny_png(path: Path) -> Path:
    """A valid 1×1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def printed(error: BaseException) -> str:
    """What a log line with this exception's traceback (causes included) would show."""
    return "".join(traceback.format_exception(error))


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"a:{i}")] for i, label in enumerate(labels)]
    )


# ------------------------------------------------------------------------------------------- not sent


async def test_a_refused_connection_is_reported_as_not_sent() -> None:
    # A bound socket that does not listen holds the port, and the kernel refuses connections to it.
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        port = closed_port.getsockname()[1]
        async with transport(connect_timeout=1.0) as request:
            with pytest.raises(NetworkError) as raised:
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")

    assert not isinstance(raised.value, TimedOut)
    assert TOKEN not in printed(raised.value)


async def test_an_invalid_api_url_is_reported_as_not_sent_without_printing_the_token() -> None:
    async with transport() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://[broken/bot{TOKEN}/getMe")

    assert not isinstance(raised.value, TimedOut)
    assert "HUIFANG_TELEGRAM_API_URL" in str(raised.value)
    assert TOKEN not in printed(raised.value)


async def test_when_every_pooled_connection_is_busy_the_next_request_is_not_sent() -> None:
    async with (
        RawServer("hold") as server,
        transport(connection_pool_size=1, read_timeout=5.0, connect_timeout=5.0, pool_timeout=0.2) as request,
    ):
        first = asyncio.create_task(request.post(server.url("sendMessage"), read_timeout=5.0))
        await asyncio.wait_for(server.received.wait(), 2.0)  # the only connection now waits for its answer

        started = time.monotonic()
        with pytest.raises(NetworkError) as raised:
            await request.post(server.url("getMe"))
        waited = time.monotonic() - started

        assert not isinstance(raised.value, TimedOut)
        assert waited < 1.0  # the wait for a free connection is the pool timeout's alone, not connect's 5 s
        assert server.connections == 1
        assert len(server.requests) == 1 and b"/sendMessage" in server.requests[0]

        server.release()  # the busy connection was only slow: its request still gets its answer
        assert await asyncio.wait_for(first, 2.0) is True


async def test_a_redirect_is_not_followed_so_a_post_never_turns_into_a_bodiless_get() -> None:
    async with RawServer("redirect") as server, transport() as request:
        with pytest.raises(NetworkError):
            await request.post(server.url("sendMessage"))

    assert len(server.requests) == 1 and server.requests[0].startswith(b"POST ")


async def test_a_request_before_initialize_raises_runtime_error_and_counts_as_not_sent() -> None:
    async with RawServer("answer") as server:
        request = AiohttpRequest()
        with pytest.raises(RuntimeError, match="not initialized"):
            await request.do_request(server.url(), "POST")
        # Through PTB's wrapper (what Bot calls) the same failure is a plain NetworkError: nothing went out.
        with pytest.raises(NetworkError) as raised:
            await request.post(server.url())

    assert not isinstance(raised.value, TimedOut)
    assert server.connections == 0


# ------------------------------------------------------------------------------------------ maybe sent


async def test_a_server_that_reads_the_request_and_never_answers_times_out_as_maybe_sent() -> None:
    async with RawServer("silent") as server, transport(read_timeout=0.3) as request:
        started = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await request.post(server.url("sendMessage"))
        waited = time.monotonic() - started

    assert len(server.requests) == 1
    assert TOKEN not in printed(raised.value)
    assert 0.25 <= waited < 1.5


async def test_a_server_that_hangs_up_after_reading_the_request_is_reported_as_maybe_sent() -> None:
    async with RawServer("hang_up") as server, transport(read_timeout=2.0) as request:
        with pytest.raises(TimedOut) as raised:
            await request.post(server.url("sendMessage"))

    assert len(server.requests) == 1
    assert TOKEN not in printed(raised.value)


# ------------------------------------------------------------------------------ a real Bot, fake Telegram


async def test_a_bot_on_this_transport_sends_edits_and_uploads_to_the_bot_api(tmp_path: Path) -> None:
    photo_path = tiny_png(tmp_path / "满意度.png")
    async with FakeTelegram(token=TOKEN) as tg:
        bot = Bot(TOKEN, base_url=tg.api_url, request=AiohttpRequest(4), get_updates_request=AiohttpRequest(1))
        async with bot:
            assert bot.username == tg.bot_username
            sent = await bot.send_message(
                42, "您好，请问您对本次服务满意吗？", reply_markup=keyboard("满意", "一般", "不满意")
            )
            await bot.edit_message_text(
                "谢谢！价格/价值 & 服务 = 满意",
                chat_id=42,
                message_id=sent.message_id,
                reply_markup=keyboard("再评一次"),
            )
            with photo_path.open("rb") as photo:
                uploaded = await bot.send_photo(
                    42, photo, caption="本周满意度：92%", reply_markup=keyboard("查看详情", "关闭")
                )

    assert sent.text == "您好，请问您对本次服务满意吗？"
    assert uploaded.caption == "本周满意度：92%"
    text, picture = tg.chat(42)
    assert (text.kind, text.text, text.edits) == ("text", "谢谢！价格/价值 & 服务 = 满意", 1)
    assert text.buttons == [("再评一次", "a:0")]
    assert (picture.kind, picture.text) == ("photo", "本周满意度：92%")
    assert picture.buttons == [("查看详情", "a:0"), ("关闭", "a:1")]
    assert tg.calls["sendPhoto"] == 1 and tg.calls["editMessageText"] == 1


async def test_a_rejected_token_raises_invalid_token_and_the_bot_shutdown_closes_both_sessions() -> None:
    async with FakeTelegram(token="999999:another-bot") as tg:
        requests = (AiohttpRequest(4), AiohttpRequest(1))
        bot = Bot(TOKEN, base_url=tg.api_url, request=requests[0], get_updates_request=requests[1])
        with pytest.raises(InvalidToken):
            await bot.initialize()
        sessions = [r._session for r in requests]
        await bot.shutdown()

    assert all(session is not None and session.closed for session in sessions)
    assert all(r._session is None for r in requests)


# ------------------------------------------------------------------------- through the send limiter


async def test_a_send_during_a_short_outage_is_made_again_and_arrives_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    telegram = FakeTelegram(token=TOKEN, port=port)
    await telegram.__aenter__()
    bot = ExtBot(
        TOKEN,
        base_url=telegram.api_url,
        request=AiohttpRequest(4),
        get_updates_request=AiohttpRequest(1),
        rate_limiter=SendLimiter(),
    )
    await bot.initialize()
    try:
        await telegram.__aexit__(None, None, None)  # the Bot API goes away for a moment
        await asyncio.sleep(0.1)

        async def come_back() -> None:
            await asyncio.sleep(0.7)
            await telegram.__aenter__()

        back = asyncio.create_task(come_back())
        await bot.send_message(77, "【第1/5题】您好", reply_markup=keyboard("是", "否"))
        await back
    finally:
        await bot.shutdown()
        await telegram.__aexit__(None, None, None)

    assert [m.text for m in telegram.chat(77)] == ["【第1/5题】您好"]


async def test_a_send_that_timed_out_is_not_made_again_by_the_send_limiter() -> None:
    limiter = SendLimiter()
    await limiter.initialize()
    async with RawServer("silent") as server, transport(read_timeout=0.3) as request:
        with pytest.raises(TimedOut):
            await limiter.process_request(
                request.post, (server.url("sendMessage"),), {}, "sendMessage", {"chat_id": 77}, None
            )

    assert len(server.requests) == 1


# ------------------------------------------------------------------------------ stale keep-alive connections


class IdleClosingServer:
    """A keep-alive HTTP server in its own thread that closes a connection left idle for ``idle`` seconds,
    as servers and proxies do; it answers every request it reads."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.requests = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, method: str) -> str:
        return f"http://127.0.0.1:{self.port}/bot{TOKEN}/{method}"

    def __enter__(self) -> IdleClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(self.idle)
            data = b""
            while True:
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    return  # idle too long: hang up
                if not chunk:
                    return
                data += chunk
                while b"\r\n\r\n" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = next(
                        (int(v) for n, _, v in (h.partition(b":") for h in head.split(b"\r\n")[1:])
                         if n.strip().lower() == b"content-length"),
                        0,
                    )  # fmt: skip
                    if len(rest) < length:
                        break
                    data = rest[length:]
                    self.requests += 1
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(OK)}\r\n\r\n".encode()
                        + OK
                    )


async def test_a_kept_alive_connection_the_server_closed_during_a_stall_is_replaced_and_the_send_arrives_once() -> None:
    with IdleClosingServer(idle=0.2) as server:
        async with transport() as request:
            assert await request.post(server.url("sendMessage"), None) is True
            time.sleep(0.6)  # the event loop is held up; meanwhile the server hangs up on the idle connection

            second = await request.post(server.url("sendMessage"), None)

    assert second is True
    assert server.requests == 2  # nothing was lost, and nothing was sent twice
    assert server.connections == 2  # the closed connection was left alone and a fresh one made
