"""`huifang run`: the bot with its scheduler, on long polling or a webhook.

Start-up: settings checked (token, link secret, a webhook's secret), the Bot API reached with retries, the
command menu set, then crash recovery (next questions recorded and not sent are sent, updates fetched and
not handled are handled) before any new update is fetched; then the scheduler and the updater run until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from bot.cli.support import Fatal, container, telegram_token

if TYPE_CHECKING:
    from aiohttp.web import AppRunner

    from bot.app import Container
    from bot.webserver import Mount

log = logging.getLogger("huifang")


@click.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """启动机器人（默认长轮询；设置 HUIFANG_WEBHOOK_URL 则使用 webhook）。"""
    from bot import redaction
    from bot.app import MissingSetting

    with container(ctx) as app:
        token = telegram_token(app)
        try:
            services = app.chat_services()
        except MissingSetting as exc:
            raise Fatal(str(exc)) from None
        _check_webhook(app)
        _check_voice(app)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("twilio").setLevel(logging.WARNING)  # its INFO lines describe every API request
        secrets = (app.settings.webhook_secret, app.settings.link_secret, app.settings.sms_secret,
                   app.settings.sms_callback_secret, app.settings.voice_auth_token)  # fmt: skip
        redaction.install([token, *(s.get_secret_value() for s in secrets if s is not None)])
        try:
            asyncio.run(_serve(app, services, token))
        except KeyboardInterrupt:  # only before start-up finished; afterwards Ctrl-C stops the bot cleanly
            raise Fatal("启动被中断（Ctrl-C）：机器人没有启动") from None


def _check_voice(app: Container) -> None:
    """Voice set up here (HUIFANG_CONTACT_MODES) needs its provider settings: one line and exit 2 otherwise."""
    from bot.app import MissingSetting

    if app.voice_configured():
        try:
            app.twiml_config()
        except MissingSetting as exc:
            raise Fatal(str(exc)) from None


def _check_webhook(app: Container) -> None:
    """A webhook anyone could post fake updates to is refused: it needs Telegram's secret token."""
    settings = app.settings
    if not settings.webhook_url:
        return
    scheme = urlsplit(settings.webhook_url).scheme
    # Telegram posts only to https; a self-hosted Bot API server (HUIFANG_TELEGRAM_API_URL) may use http.
    official = urlsplit(settings.telegram_api_url).hostname == "api.telegram.org"
    if scheme != "https" and (official or scheme != "http"):
        raise Fatal("HUIFANG_WEBHOOK_URL 必须是 https:// 开头的公网地址")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
        raise Fatal("使用 webhook 时须设置 HUIFANG_WEBHOOK_SECRET（16–256 位字母、数字、_ 或 -）")


async def _reach_telegram(application: Any, patience: float) -> None:
    """Initialise the bot (getMe), retrying network errors with backoff for ``patience`` seconds."""
    from telegram.error import InvalidToken, NetworkError

    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + patience, 1.0
    while True:
        try:
            await application.initialize()
            return
        except asyncio.CancelledError:  # Ctrl-C while still trying: close the HTTP sessions, then stop
            await application.bot.shutdown()
            raise
        except InvalidToken:
            await application.bot.shutdown()  # closes the HTTP sessions a failed start opened
            raise Fatal("Telegram 拒绝了机器人令牌（HUIFANG_TELEGRAM_TOKEN），请检查") from None
        except NetworkError as exc:
            if loop.time() + delay > deadline:
                await application.bot.shutdown()  # closes the HTTP sessions a failed start opened
                raise Fatal(
                    f"无法连接 Telegram Bot API（{exc.message}）：请检查网络，或设置代理 HUIFANG_TELEGRAM_PROXY"
                ) from None
            log.warning("Bot API not reachable (%s); trying again in %.0f s", exc.message, delay)
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                await application.bot.shutdown()
                raise
            delay = min(delay * 2, 30.0)


async def _serve(app: Container, services: object, token: str) -> None:
    from bot.telegram.sender import TelegramSender
    from scheduler.runner import build_scheduler

    application = await _start_bot(app, services, token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await application.start()
    await _recover(app, application)
    scheduler = build_scheduler(app.job_context(), TelegramSender(application.bot), app.report_settings())
    dialler = _voice_dialler(app, scheduler, services)
    scheduler.start()
    updater = application.updater
    assert updater is not None
    conflicts = _PollingConflicts(stop)
    http = None
    try:
        http = await _start_http(app, services)
        await _receive_updates(app, updater, conflicts)
        log.info("bot @%s is running", application.bot.username)
        await stop.wait()
    finally:
        services.close()  # type: ignore[attr-defined]
        scheduler.shutdown(wait=False)
        if dialler is not None:
            await dialler.close()
        if http is not None:
            await http.cleanup()
        if updater.running:
            await updater.stop()
        await application.stop()
        await application.shutdown()
    if conflicts.newcomer:
        raise Fatal(
            "另一个 huifang run 正在使用这个机器人令牌（Telegram 返回 409 Conflict）；同一令牌只能运行一个，请先停止它"
        )


def _voice_dialler(app: Container, scheduler: Any, services: Any) -> Any:
    """The robot calls' dialler as a scheduler job, when voice is set up here; None otherwise."""
    if not app.voice_configured():
        return None
    from bot.voice.twiml import TwimlDialler
    from scheduler.runner import add_voice_dialler

    dialler = TwimlDialler(app.voice_desk(), app.twiml_config(), services.offload)
    add_voice_dialler(scheduler, dialler)
    return dialler


async def _start_bot(app: Container, services: object, token: str) -> Any:
    """The PTB application, initialised against the Bot API, with its command menu set."""
    from telegram.error import TelegramError

    from bot.telegram.application import announce_commands, build_application

    application = build_application(
        services,  # type: ignore[arg-type]
        token,
        app.settings.telegram_api_url,
        rate_limit=app.settings.telegram_rate_limit,
        connections=app.settings.telegram_connections,
        proxy=app.settings.telegram_proxy,
    )
    await _reach_telegram(application, app.settings.telegram_startup_patience)
    try:
        await announce_commands(application)
    except TelegramError as exc:  # the menu is a convenience; the bot works without it
        log.warning("command menu not set: %s", type(exc).__name__)
    return application


async def _receive_updates(app: Container, updater: Any, conflicts: _PollingConflicts) -> None:
    """Telegram's updates: by webhook when HUIFANG_WEBHOOK_URL is set, else by long polling."""
    settings = app.settings
    if not settings.webhook_url:
        await updater.start_polling(poll_interval=0, timeout=30, error_callback=conflicts.seen)
        return
    assert settings.webhook_secret is not None  # checked by _check_webhook before starting
    try:
        await updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            # The path Telegram posts to, served as is (a reverse proxy in front keeps the path).
            url_path=urlsplit(settings.webhook_url).path.strip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
        )
    except OSError as exc:
        where = f"{settings.webhook_listen}:{settings.webhook_port}"
        raise Fatal(f"无法在 {where} 上接收 webhook（{exc.strerror or exc}）") from None


def _http_mounts(app: Container, services: object) -> list[Mount]:
    """The routes of the channels set up here (HUIFANG_CONTACT_MODES) that need the HTTP server: the web
    survey page, the voice and SMS providers' callbacks. Each channel adds its mount here."""
    from bot.web.pages import web_page_mount

    return [
        *([app.sms_callbacks().mount] if app.sms_enabled() else []),
        *app.voice_mounts(services.offload),  # type: ignore[attr-defined]
        *([web_page_mount(app, services.transact)] if "web" in app.settings.contact_modes else []),  # type: ignore[attr-defined]
    ]


async def _start_http(app: Container, services: object) -> AppRunner | None:
    """Start the HTTP server if a channel set up here needs it; None if none does."""
    from bot.webserver import build_web_app, start_web_server

    mounts = _http_mounts(app, services)
    if not mounts:
        return None
    settings = app.settings
    try:
        runner = await start_web_server(build_web_app(mounts), settings.http_listen, settings.http_port)
    except OSError as exc:
        where = f"{settings.http_listen}:{settings.http_port}"
        raise Fatal(f"无法在 {where} 上启动网页与回调服务（{exc.strerror or exc}）") from None
    log.info("HTTP server listening on %s:%s", settings.http_listen, settings.http_port)
    return runner


class _PollingConflicts:
    """Telegram's answer to two bots polling one token: each new getUpdates ends the other's with 409 Conflict.

    The process that started polling within the last ``window`` seconds is the newcomer: it stops (the
    caller prints one line and exits 2). The one that was already serving keeps serving and logs one
    warning a minute while the conflict lasts, without a traceback. Two processes started within the same
    window may both stop. Any other polling error is logged as python-telegram-bot logs it.
    """

    def __init__(self, stop: asyncio.Event, window: float = 10.0) -> None:
        self._stop = stop
        self._window = window
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._warned_at: float | None = None
        self.newcomer = False

    def seen(self, error: Exception) -> None:
        from telegram.error import Conflict

        now = self._loop.time()
        if not isinstance(error, Conflict):
            logging.getLogger("telegram.ext.Updater").exception(
                "Exception happened while polling for updates.", exc_info=error
            )
        elif now - self._started < self._window:
            self.newcomer = True
            self._stop.set()
        elif self._warned_at is None or now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("another process polls with this bot token (409 Conflict); this one keeps serving")


async def _recover(app: Container, application: Any) -> None:
    """After a crash: send the next questions recorded and not sent, then handle the updates fetched and
    not handled, before fetching new ones."""
    from bot.services import outbox
    from bot.services.chat import NEXT_MESSAGE
    from bot.telegram.inbound import replay
    from bot.telegram.sender import TelegramSender
    from scheduler import jobs

    stranded = outbox.release_stranded(app.uow, NEXT_MESSAGE, app.clock)
    if stranded:
        log.info("sending %s messages recorded before a restart and not sent", stranded)
        await jobs.deliver(app.job_context(), TelegramSender(application.bot))
    await replay(application)
