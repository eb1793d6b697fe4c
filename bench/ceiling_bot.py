"""The ceiling for bench/chat_bench.py: a PTB bot with no database and no logic.

Every button press gets an answer and a new message with a keyboard: the least any survey bot can do.
Run as its own process, like `huifang run`, so both are measured the same way. With a third argument
``aiohttp`` it uses huifang's HTTP transport instead of PTB's default (httpx).
"""

from __future__ import annotations

import sys
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=t)] for t in ("甲", "乙", "丙")])


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    await context.bot.send_message(query.message.chat.id, "下一题", reply_markup=KEYBOARD)


def main() -> None:
    token, api_url = sys.argv[1], sys.argv[2]
    builder = Application.builder().token(token).base_url(api_url).concurrent_updates(64)
    if sys.argv[3:] == ["aiohttp"]:  # the same minimal bot on huifang's transport, for comparison
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from bot.telegram.transport import AiohttpRequest

        builder = builder.request(AiohttpRequest(16)).get_updates_request(AiohttpRequest(1))
    application = builder.build()
    application.add_handler(CallbackQueryHandler(on_press))
    application.run_polling(poll_interval=0, timeout=5)


if __name__ == "__main__":
    main()
