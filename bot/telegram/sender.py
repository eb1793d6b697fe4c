"""The Telegram Sender for the outbox: one rendered message → one Bot API call, errors classified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.services.outbox import MaybeSent, Refused, TryLater, Unreachable
from bot.telegram.transport import NotSent


class TelegramSender:
    """Sends outbox messages with a PTB ``Bot`` (the running application's, so its rate limiter applies)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        markup = None
        if message.get("buttons"):
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in message["buttons"]]
            )
        try:
            if message.get("photo"):
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
