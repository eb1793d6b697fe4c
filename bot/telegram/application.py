"""Building the python-telegram-bot Application: handlers, rate limiter, error handling, quiet logs."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram import handlers, phone_handlers
from bot.telegram.context import BotState, ChatServices, HuifangApplication, HuifangContext
from bot.telegram.inbound import ChatLanes, DurableUpdateQueue, Forgetter, journal_for
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.transport import bot_requests
from bot.telegram.views import command_menu

log = logging.getLogger(__name__)


def quiet_http_logs() -> None:
    """The HTTP client logs every request URL, and a Bot API URL contains the token: keep it silent."""
    for name in ("httpx", "httpcore", "aiohttp", "telegram.request", "telegram.ext._updater"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(
    services: ChatServices,
    token: str,
    api_url: str,
    *,
    rate_limit: bool = True,
    per_chat_interval: float = 1.0,
    connections: int = 16,
    proxy: str | None = None,
) -> HuifangApplication:
    """The bot, wired to ``services`` and talking to the Bot API at ``api_url``."""
    quiet_http_logs()
    context_types = ContextTypes(context=HuifangContext, bot_data=BotState)
    queue = DurableUpdateQueue(services, journal_for(services))
    builder = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .base_file_url(api_url.replace("/bot", "/file/bot"))
        .context_types(context_types)
        # Every update is stored before Telegram hears it arrived, and forgotten once handled (see
        # bot/telegram/inbound.py), so a crash loses none.
        .update_queue(queue)
        # Updates are handled concurrently: a slow Bot API round trip for one customer must not hold up
        # the others. One chat's updates are handled in order, one at a time, and take one of the 64 slots
        # at most, so a chat waiting out its 1 message/s cannot hold up other chats. Each handler's database
        # work is one unit of work without an await inside, in a worker thread (on SQLite, writes in the one
        # writer thread, see ChatServices.transact), and the survey row is locked for update.
        .concurrent_updates(ChatLanes(slots=64, forgetter=Forgetter(services, queue)))
    )
    # A bounded aiohttp pool: 16 keep-alive connections carry far more than Telegram's 30 messages/s.
    calls, polling = bot_requests(api_url, connections, proxy)
    builder = builder.request(calls).get_updates_request(polling)
    if rate_limit:
        # PTB types the builder for a limiter without per-call arguments; ours takes none per call either.
        builder = builder.rate_limiter(SendLimiter(overall=30, per_chat=per_chat_interval, max_retries=3))  # type: ignore[arg-type]
    application: HuifangApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.services = services
    register(application)
    return application


async def announce_commands(application: HuifangApplication) -> None:
    """The command menu every chat sees by default (customers); staff get theirs when they bind."""
    services = application.bot_data.services
    assert services is not None
    await application.bot.set_my_commands(command_menu(services.texts, None))


def register(application: HuifangApplication) -> None:
    """All handlers, most specific first."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", handlers.start, filters=private))
    application.add_handler(CommandHandler("stop", handlers.stop, filters=private))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=private))
    application.add_handler(CommandHandler("tasks", handlers.tasks_command, filters=private))
    application.add_handler(CommandHandler("today", handlers.today_command, filters=private))
    application.add_handler(CommandHandler("stats", handlers.stats_command, filters=private))
    application.add_handler(CallbackQueryHandler(handlers.consent_choice, pattern=r"^k:"))
    application.add_handler(CallbackQueryHandler(handlers.task_tap, pattern=r"^task:(done|later):[0-9]{1,9}$"))
    application.add_handler(CallbackQueryHandler(handlers.survey_tap, pattern=r"^[atcrb]:"))
    application.add_handler(CommandHandler("call", phone_handlers.call_command, filters=private))
    application.add_handler(CallbackQueryHandler(phone_handlers.call_command, pattern=r"^call:next$"))
    application.add_handler(CallbackQueryHandler(phone_handlers.dial_tap, pattern=r"^d:"))
    application.add_handler(CallbackQueryHandler(phone_handlers.answer_tap, pattern=r"^p[atcrb]:"))
    application.add_handler(CallbackQueryHandler(phone_handlers.end_tap, pattern=r"^e:"))
    application.add_handler(CallbackQueryHandler(phone_handlers.book_tap, pattern=r"^c[bs]:"))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, handlers.text_message))
    application.add_error_handler(_on_error)


async def _on_error(update: object, context: HuifangContext) -> None:
    # Only the exception type and update id: an update may hold phone numbers or answer text.
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s: %s", update_id, type(context.error).__name__, exc_info=context.error)
