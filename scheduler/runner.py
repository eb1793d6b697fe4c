"""APScheduler wiring: fixed job ids, misfires coalesced, one instance of each job at a time.

The scheduler only ticks; every job is a plain function of ``scheduler.jobs`` over the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.statistics import ReportSettings
from bot.services.outbox import Sender
from scheduler import jobs
from scheduler.jobs import JobContext

log = logging.getLogger(__name__)


def job_table(
    ctx: JobContext, sender: Sender | None, report_settings: ReportSettings
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Every job by its fixed name, as an awaitable with no arguments (database work runs in a thread)."""

    def threaded(function: Callable[..., Any], *args: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: asyncio.to_thread(function, ctx, *args)

    table: dict[str, Callable[[], Awaitable[Any]]] = {
        "select_due": threaded(jobs.select_due),
        "send_invitations": threaded(jobs.send_invitations),
        "remind_and_expire": threaded(jobs.remind_and_expire),
        "advance_plans": threaded(jobs.advance_plans),
        "staff_digest": threaded(jobs.staff_digest),
        "urgent": threaded(jobs.urgent),
        "weekly_summary": threaded(jobs.weekly_summary, report_settings),
        "refresh_statistics": threaded(jobs.refresh_statistics),
    }
    if sender is not None:
        table["send_outbox"] = lambda: _in_thread(jobs.deliver, ctx, sender)
    if ctx.sms_sender is not None:  # its own loop in a worker thread: its HTTP session lives there
        table["send_sms"] = lambda: asyncio.to_thread(asyncio.run, jobs.send_sms(ctx))
    return table


async def _in_thread(
    job: Callable[[JobContext, Sender], Coroutine[Any, Any, Any]], ctx: JobContext, sender: Sender
) -> Any:
    """Run an async job in a worker thread's own event loop, its sends on this loop (where the bot's HTTP
    session lives): the job's database work, which may wait for SQLite's write lock, never stalls the chats."""
    loop = asyncio.get_running_loop()

    def run() -> Any:
        return asyncio.run(job(ctx, _OnLoop(sender, loop)))

    return await asyncio.to_thread(run)


class _OnLoop:
    """A sender called from another thread's event loop that sends on ``loop``."""

    def __init__(self, sender: Sender, loop: asyncio.AbstractEventLoop) -> None:
        self._sender, self._loop = sender, loop

    async def send(self, recipient: str, message: dict[str, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(self._sender.send(recipient, message), self._loop)
        await asyncio.wrap_future(future)


SCHEDULE = {
    "select_due": IntervalTrigger(minutes=10),
    "send_invitations": IntervalTrigger(minutes=5),
    "remind_and_expire": IntervalTrigger(minutes=15),
    "urgent": IntervalTrigger(minutes=1),
    "send_outbox": IntervalTrigger(seconds=10),
    "send_sms": IntervalTrigger(seconds=30),
    "refresh_statistics": IntervalTrigger(hours=6),
}


def build_scheduler(ctx: JobContext, sender: Sender, report_settings: ReportSettings) -> AsyncIOScheduler:
    """The scheduler of `huifang run` (start it inside the running event loop)."""
    tz = ctx.kit.tz
    scheduler = AsyncIOScheduler(timezone=tz)
    table = job_table(ctx, sender, report_settings)
    triggers = {
        **SCHEDULE,
        "staff_digest": CronTrigger(hour=9, minute=0, timezone=tz),
        "weekly_summary": CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=tz),
    }
    for name, trigger in triggers.items():
        if name not in table:  # a channel not set up here (SMS)
            continue
        scheduler.add_job(
            _logged(name, table[name]),
            trigger,
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=300,
            replace_existing=True,
        )
    return scheduler


def _logged(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except Exception:  # a failing job must not stop the others; the next tick tries again
            log.exception("job %s failed", name)

    return run


VOICE_DIALLER_EVERY = IntervalTrigger(seconds=15)


def add_voice_dialler(scheduler: AsyncIOScheduler, dialler: jobs.Dialler) -> None:
    """The robot calls' dialler (voice set up here): every 15 s, one tick at a time."""
    scheduler.add_job(
        _logged("place_voice_calls", lambda: jobs.place_voice_calls(dialler)),
        VOICE_DIALLER_EVERY,
        id="place_voice_calls",
        name="place_voice_calls",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=60,
        replace_existing=True,
        next_run_time=datetime.now(UTC),  # the first tick at start-up: calls due before a restart go on at once
    )
