"""The Telegram Sender for the outbox: one rendered message → one Bot API call, errors classified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.services.outbox import MaybeSent, Refused, TryLater, Unreachable
from bot.telegram.transport import NotSent

CAPTION_MAX = 1024


class TelegramSender:
    """Sends outbox messages with a PTB ``Bot`` (the running application's, so its rate limiter applies).

    A message is ``{"text"}`` (with ``buttons``), ``{"text", "photo": path}`` (one photo, the text as its
    caption) or ``{"text", "photos": [paths]}`` (2–10 images as one album, one Bot API call, so the outbox's
    exactly-once holds for the album as a whole; the text is the first image's caption). A text too long for
    a caption follows as its own message."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def _album(self, recipient: str, message: dict[str, Any]) -> None:
        text = str(message["text"])
        files = [Path(p).read_bytes() for p in message["photos"]]
        caption = text if len(text) <= CAPTION_MAX else None
        media = [
            InputMediaPhoto(data, caption=caption if i == 0 else None, filename=Path(path).name)
            for i, (data, path) in enumerate(zip(files, message["photos"], strict=True))
        ]
        await self._bot.send_media_group(int(recipient), media)
        if caption is None:
            await self._bot.send_message(int(recipient), text)

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        markup = None
        if message.get("buttons"):
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in message["buttons"]]
            )
        try:
            if message.get("photos"):
                await self._album(recipient, message)
            elif message.get("photo"):
                with Path(message["photo"]).open("rb") as photo:
                    await self._bot.send_photo(
                        int(recipient), photo, caption=message["text"][:1024], reply_markup=markup
                    )
                if len(message["text"]) > 1024:
                    await self._bot.send_message(int(recipient), message["text"])
            else:
                await self._bot.send_message(int(recipient), message["text"], reply_markup=markup)
        except Forbidden as exc:
            raise Unreachable from exc
        except RetryAfter as exc:  # only without the send limiter (e.g. `jobs run send_outbox`): not sent, try later
            raise TryLater from exc
        except NotSent as exc:  # no connection was made (the limiter already retried with backoff)
            raise TryLater from exc
        except BadRequest as exc:
            raise Refused(exc.message) from exc
        except NetworkError as exc:  # timed out, cut off, or a 5xx: it may have been delivered
            raise MaybeSent from exc
