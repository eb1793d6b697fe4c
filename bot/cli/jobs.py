"""`huifang jobs run NAME [--now TIME]`: run one scheduled job once (for cron and for tests)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import click

from bot.cli.support import Fatal, cli_text, container, telegram_token

JOB_NAMES = ("select_due", "send_invitations", "remind_and_expire", "advance_plans", "staff_digest", "urgent",
             "weekly_summary", "send_outbox", "send_sms", "place_voice_calls", "refresh_statistics")  # fmt: skip


@click.group("jobs")
def jobs_group() -> None:
    """定时任务：手动运行一次。"""


@jobs_group.command("run")
@click.argument("name", type=click.Choice(JOB_NAMES))
@click.option("--now", "now_text", help="以此时间运行（门店时区，例如 2026-11-30T09:00）")
@click.pass_context
def run_job(ctx: click.Context, name: str, now_text: str | None) -> None:
    """运行一个定时任务一次。"""
    from bot.domain.clock import FixedClock
    from scheduler.runner import job_table

    with container(ctx) as app:
        if now_text:
            try:
                moment = datetime.fromisoformat(now_text)
            except ValueError:
                raise Fatal(cli_text("errors.job_time", text=now_text)) from None
            app.clock = FixedClock(moment if moment.tzinfo else moment.replace(tzinfo=app.settings.tz))
        if name == "place_voice_calls":
            click.echo(f"{name}：{asyncio.run(_place_voice_calls(app))}")
            return
        sender = None
        if name == "send_outbox":
            from telegram import Bot

            from bot import redaction
            from bot.telegram.sender import TelegramSender
            from bot.telegram.transport import bot_requests

            settings = app.settings
            token = telegram_token(app)
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            redaction.install([token])
            calls, polling = bot_requests(
                settings.telegram_api_url, settings.telegram_connections, settings.telegram_proxy
            )
            bot = Bot(token, base_url=settings.telegram_api_url, request=calls, get_updates_request=polling)
            sender = TelegramSender(bot)
        table = job_table(app.job_context(), sender, app.report_settings())
        if name not in table:
            raise Fatal(cli_text("errors.sms_not_set_up"))
        result = asyncio.run(_once(table[name], sender))
    click.echo(f"{name}：{result}")


async def _once(job, sender):  # type: ignore[no-untyped-def]
    if sender is None:
        return await job()
    async with sender._bot:
        return await job()


async def _place_voice_calls(app):  # type: ignore[no-untyped-def]
    """One tick of the robot calls' dialler (voice must be set up here: its settings are checked first)."""
    from bot.app import MissingSetting
    from bot.voice.twiml import TwimlDialler
    from scheduler.jobs import place_voice_calls

    if not app.voice_configured():
        raise Fatal(cli_text("errors.voice_not_set_up"))
    try:
        dialler = TwimlDialler(app.voice_desk(), app.twiml_config())
    except MissingSetting as exc:
        raise Fatal(str(exc)) from None
    try:
        return await place_voice_calls(dialler)
    finally:
        await dialler.close()
