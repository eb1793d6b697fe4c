"""A local, Telegram-compatible Bot API server for tests, benchmarks and the offline demo.

The real bot (python-telegram-bot's Application) talks to it over HTTP through ``HUIFANG_TELEGRAM_API_URL``
exactly as it talks to Telegram. It implements the methods huifang uses, keeps every chat's messages,
lets simulated people write, press buttons and open deep links, and can misbehave on purpose: answer 429
with ``retry_after``, 403 for a user who blocked the bot, or enforce Telegram's send limits. Like Telegram,
a second long poll on the same token ends the one still waiting with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CHAT_BURST = 3
"""Messages one chat may receive at once before Telegram's one-a-second pace applies (``enforce_limits``)."""

_TEXT_FIELDS = {"text", "caption", "callback_query_id", "url", "secret_token", "parse_mode", "command"}


@dataclass
class SentMessage:
    """A message the bot sent (and its later edits)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    kind: str = "text"  # text | photo | document
    edits: int = 0
    upload: bytes = field(default=b"", repr=False)  # the uploaded file of a photo or document
    media_group_id: str | None = None  # set on each photo of an album (sendMediaGroup)
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    @property
    def button_labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


@dataclass
class FakeUser:
    """A Telegram user in a private chat with the bot (chat id == user id)."""

    id: int
    first_name: str = "用户"
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


class FakeTelegram:
    """The server. ``async with FakeTelegram(token) as tg: ...``; ``tg.api_url`` is the bot's base URL."""

    def __init__(
        self,
        token: str = "123456:TEST-token-for-the-local-fake-server",
        bot_username: str = "huifang_test_bot",
        enforce_limits: bool = False,
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 1
        self.enforce_limits = enforce_limits
        self.calls: dict[str, int] = defaultdict(int)
        self.messages: dict[int, list[SentMessage]] = defaultdict(list)
        self.blocked: set[int] = set()
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[tuple[str, str]]] = {}  # by scope: "default" or a chat id
        self.too_many_requests = 0
        self.webhook: dict[str, Any] | None = None
        self.webhook_answers: list[int] = []  # HTTP status of every webhook delivery, in order
        self._webhook_task: asyncio.Task[None] | None = None
        self._fail_next: dict[str, deque[tuple[int, str, int | None]]] = defaultdict(deque)
        self._updates: list[dict[str, Any]] = []
        self._redeliveries: list[dict[str, Any]] = []
        self._all_updates: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._polls = itertools.count(1)
        self._current_poll = 0  # the getUpdates request being answered; an older one still waiting gets 409
        self._new_message = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._sends_global: deque[float] = deque()
        self._sends_chat: dict[int, float] = {}
        self.port = port  # 0: any free port, read back once started
        # Called with the offset of every getUpdates before it is answered (tests use it to kill the bot
        # at the moment it confirms a batch).
        self.on_get_updates: Callable[[int], None] | None = None
        # Called with the update id once the bot's webhook has answered 200 for it.
        self.on_webhook_answered: Callable[[int], None] | None = None

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_webhook()
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    @property
    def api_url(self) -> str:
        """What to set HUIFANG_TELEGRAM_API_URL to."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------------------------------ simulated people

    def send_text(self, user: FakeUser, text: str) -> int:
        """The user writes ``text`` to the bot; returns the update id."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": user.as_dict(),
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.push_update({"message": message})

    def open_link(self, user: FakeUser, payload: str) -> int:
        """The user opens ``t.me/<bot>?start=<payload>``: Telegram sends ``/start <payload>``."""
        return self.send_text(user, f"/start {payload}")

    def press(self, user: FakeUser, message: SentMessage, label: str) -> int:
        """The user taps the inline button labelled ``label`` under ``message``."""
        for text, data in message.buttons:
            if text == label:
                return self.press_data(user, message, data)
        raise AssertionError(f"no button {label!r} under message {message.message_id}: {message.button_labels}")

    def press_data(self, user: FakeUser, message: SentMessage, data: str) -> int:
        """The user taps a button whose callback data is ``data`` (also for replaying an old tap)."""
        query: dict[str, Any] = {
            "id": str(next(self._update_ids) * 7919),
            "from": user.as_dict(),
            "chat_instance": str(user.id),
            "data": data,
            "message": {
                "message_id": message.message_id,
                "chat": {"id": message.chat_id, "type": "private"},
                "date": int(time.time()),
                "text": message.text,
                "from": {"id": self.bot_id, "is_bot": True, "first_name": "huifang"},
            },
        }
        if message.reply_markup:  # Telegram sends the keyboard the button was under
            query["message"]["reply_markup"] = message.reply_markup
        return self.push_update({"callback_query": query})

    def push_update(self, body: dict[str, Any], update_id: int | None = None) -> int:
        """Queue an update for getUpdates (give ``update_id`` to redeliver the same one)."""
        uid = update_id if update_id is not None else next(self._update_ids)
        update = {"update_id": uid, **body}
        self._all_updates[uid] = update
        self._updates.append(update)
        self._new_update.set()
        return uid

    def push_message(self, chat_id: int, text: str, keyboard: list[list[str]] | None = None) -> SentMessage:
        """Put a bot message with an inline keyboard into a chat (to start a scripted conversation)."""
        markup = None
        if keyboard:
            markup = {"inline_keyboard": [[{"text": t, "callback_data": t} for t in row] for row in keyboard]}
        message = SentMessage(chat_id, next(self._message_ids), text, markup)
        self.messages[chat_id].append(message)
        return message

    def redeliver(self, update_id: int) -> None:
        """Deliver an already-delivered update again, as Telegram does after a lost acknowledgement."""
        self._redeliveries.append(self._all_updates[update_id])
        self._new_update.set()

    # ------------------------------------------------------------------------------------------ inspection

    def chat(self, chat_id: int) -> list[SentMessage]:
        return self.messages[chat_id]

    @property
    def undelivered(self) -> int:
        """Updates the bot has not yet confirmed (by polling with a later offset, or answering its webhook)."""
        return len(self._updates) + len(self._redeliveries)

    def last(self, chat_id: int) -> SentMessage:
        return self.messages[chat_id][-1]

    async def wait_for(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 5.0
    ) -> SentMessage:
        """Wait until the bot has sent (or edited) a message in ``chat_id`` matching ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = 0
        async with self._new_message:
            while True:
                for message in self.messages[chat_id][seen:]:
                    if predicate is None or predicate(message):
                        return message
                seen = 0 if predicate is not None else len(self.messages[chat_id])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [m.text for m in self.messages[chat_id]]
                    raise AssertionError(f"no matching message in chat {chat_id} within {timeout}s: {texts}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_message.wait(), remaining)

    async def wait_for_count(self, chat_id: int, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until ``chat_id`` holds at least ``count`` messages from the bot."""
        await self.wait_for(chat_id, lambda _m: len(self.messages[chat_id]) >= count, timeout)
        return self.messages[chat_id]

    def fail_next(self, method: str, code: int = 429, description: str = "", retry_after: int | None = 1) -> None:
        """Make the next call of ``method`` fail with ``code`` (429 carries ``retry_after``)."""
        self._fail_next[method].append((code, description or _DEFAULT_ERRORS.get(code, "Error"), retry_after))

    # -------------------------------------------------------------------------------------------- protocol

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method_line = lines[0].split()
                if len(method_line) < 2:
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload = await self._dispatch(method_line[1], headers, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            pass  # the client went away, or the server is shutting down
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path).path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = parts[0][3:], parts[1]
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        params = _parse_body(headers.get("content-type", ""), body)
        self.calls[method] += 1
        if self._fail_next[method]:
            code, description, retry_after = self._fail_next[method].popleft()
            return code, _error(code, description, retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": f"Bad Request: method {method} not faked",
            }
        try:
            result = await handler(params)
        except _ApiError as exc:
            return exc.code, _error(exc.code, exc.description, exc.retry_after)
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------------------------------- methods

    async def _m_getMe(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "回访助手",
            "username": self.bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        if self.on_get_updates is not None:
            self.on_get_updates(offset)
        limit = int(p.get("limit") or 100)
        deadline = time.monotonic() + timeout
        # Like Telegram: a new getUpdates ends one still waiting (two bots on one token) with 409 Conflict.
        poll = self._current_poll = next(self._polls)
        self._new_update.set()  # wakes the older poll, which then finds it has been overtaken
        while True:
            if poll != self._current_poll:
                raise _ApiError(409, CONFLICT_OTHER_POLL)
            # Like Telegram: an update stays until a later offset confirms it, so a poll whose answer is
            # lost (a restart mid-request) loses nothing.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if self._redeliveries or self._updates:
                batch = (self._redeliveries + self._updates)[:limit]
                self._redeliveries = [u for u in self._redeliveries if u not in batch]
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(remaining, 1.0))

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        await self._stop_webhook()
        if p.get("drop_pending_updates"):
            self._updates, self._redeliveries = [], []
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        if not str(p.get("url", "")).startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTP URL must be provided for webhook")
        if p.get("drop_pending_updates"):
            self._updates, self._redeliveries = [], []
        self.webhook = p
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._push_to_webhook())
        self._new_update.set()
        return True

    async def _stop_webhook(self) -> None:
        self.webhook = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _push_to_webhook(self) -> None:
        """Like Telegram with a webhook set: POST each update, in order, until the bot answers 200."""
        import aiohttp

        async with aiohttp.ClientSession() as session:
            while self.webhook is not None:
                pending = self._redeliveries + self._updates
                if not pending:
                    self._new_update.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._new_update.wait(), 1.0)
                    continue
                update, hook = pending[0], self.webhook
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
                try:
                    async with session.post(hook["url"], data=json.dumps(update), headers=headers) as response:
                        status = response.status
                except aiohttp.ClientError:
                    status = 0
                self.webhook_answers.append(status)
                if status == 200:
                    if self.on_webhook_answered is not None:
                        self.on_webhook_answered(int(update["update_id"]))
                    if self._redeliveries and self._redeliveries[0] is update:
                        self._redeliveries.pop(0)
                    else:
                        self._updates.remove(update)
                else:
                    await asyncio.sleep(0.2)  # Telegram retries later

    async def _m_getWebhookInfo(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        scope = p.get("scope") or {"type": "default"}
        key = str(scope.get("chat_id", scope.get("type")))
        self.commands[key] = [(c["command"], c["description"]) for c in p.get("commands", [])]
        return True

    async def _m_close(self, _p: dict[str, Any]) -> bool:
        return True

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        self.callback_answers.append(p)
        return True

    async def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        return await self._send(p, "text", str(p.get("text", "")))

    async def _m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        message = await self._send(p, "photo", str(p.get("caption", "")))
        upload = p.get("photo")
        if isinstance(upload, dict):
            self.messages[int(p["chat_id"])][-1].upload = bytes(upload.get("data", b""))
        return message

    async def _m_sendMediaGroup(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """An album of 2–10 photos, each uploaded as ``attach://<name>``; a caption of at most 1024 characters
        on any of them. Recorded as one photo message per item, sharing a ``media_group_id``."""
        chat_id = int(p["chat_id"])
        media = p.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: wrong number of media in the group")
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if self.enforce_limits:
            self._check_limits(chat_id)
        items = []
        for item in media:
            reference = str(item.get("media", ""))
            upload = p.get(reference.removeprefix("attach://")) if reference.startswith("attach://") else None
            if item.get("type") != "photo" or not isinstance(upload, dict):
                raise _ApiError(400, "Bad Request: media not found")
            caption = str(item.get("caption", ""))
            if len(caption) > 1024:
                raise _ApiError(400, "Bad Request: message caption is too long")
            items.append((caption, bytes(upload.get("data", b""))))
        group = f"album-{next(self._message_ids)}"
        sent = []
        for caption, upload in items:
            message = SentMessage(chat_id, next(self._message_ids), caption, None, "photo", upload=upload)
            message.media_group_id = group
            self.messages[chat_id].append(message)
            sent.append(self._message_dict(message))
        await self._notify()
        return sent

    async def _m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        return await self._send(p, "document", str(p.get("caption", "")))

    async def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._find(p)
        message.text = str(p.get("text", ""))
        message.reply_markup = p.get("reply_markup")
        message.edits += 1
        await self._notify()
        return self._message_dict(message)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._find(p)
        message.reply_markup = p.get("reply_markup")
        message.edits += 1
        await self._notify()
        return self._message_dict(message)

    # ------------------------------------------------------------------------------------------- helpers

    async def _send(self, p: dict[str, Any], kind: str, text: str) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if self.enforce_limits:
            self._check_limits(chat_id)
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        message = SentMessage(chat_id, next(self._message_ids), text, p.get("reply_markup"), kind)
        self.messages[chat_id].append(message)
        await self._notify()
        return self._message_dict(message)

    def _check_limits(self, chat_id: int) -> None:
        """Telegram's send limits: 30 messages in any second overall; per chat no sustained rate above one a
        second, with a short burst of ``CHAT_BURST`` allowed (a bucket that refills one message a second)."""
        now = time.monotonic()
        while self._sends_global and now - self._sends_global[0] > 1.0:
            self._sends_global.popleft()
        full_again = self._sends_chat.get(chat_id, now)  # when this chat's bucket is full again
        if len(self._sends_global) >= 30 or full_again - now > (CHAT_BURST - 1) * 1.0 + 1e-3:
            self.too_many_requests += 1
            raise _ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._sends_global.append(now)
        self._sends_chat[chat_id] = max(full_again, now) + 1.0

    def _find(self, p: dict[str, Any]) -> SentMessage:
        chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
        for message in self.messages[chat_id]:
            if message.message_id == message_id:
                return message
        raise _ApiError(400, "Bad Request: message to edit not found")

    def _message_dict(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "回访助手"},
        }
        if message.kind == "text":
            data["text"] = message.text
        else:
            data["caption"] = message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.media_group_id:
            data["media_group_id"] = message.media_group_id
        return data

    async def _notify(self) -> None:
        async with self._new_message:
            self._new_message.notify_all()


CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_DEFAULT_ERRORS = {
    429: "Too Many Requests: retry after 1",
    403: "Forbidden: bot was blocked by the user",
    400: "Bad Request",
    502: "Bad Gateway",
}


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _error(code: int, description: str, retry_after: int | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if code == 429:
        payload["parameters"] = {"retry_after": retry_after or 1}
    return payload


def _decode(key: str, value: str) -> Any:
    if key in _TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            if part.get_filename():
                params[name] = {"filename": part.get_filename(), "size": len(payload), "data": payload}
            else:
                params[name] = _decode(name, payload.decode())
        return params
    return {k: _decode(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}


class FakeTelegramThread:
    """The fake server on its own event loop in a background thread, for driving a separate process."""

    def __init__(self, **kwargs: Any) -> None:
        import threading

        self._kwargs = kwargs
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.server: FakeTelegram | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeTelegramThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` on the server's loop (e.g. ``tg.call(tg.server.open_link, user, token)``)."""
        assert self._loop is not None

        async def invoke() -> Any:
            result = function(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(30)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with FakeTelegram(**self._kwargs) as server:
                self.server = server
                self._ready.set()
                await self._stop.wait()

        asyncio.run(main())
