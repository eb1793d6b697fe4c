"""The scheduled jobs: thin functions over a ``JobContext`` that call one service each (no SQL here).

The services (``bot/services/due_selection.py``, ``invitations.py``, ``plan_progress.py``,
``staff_messages.py``) do the work in a unit of work and commit. Each job is safe to run twice, or in two
processes at once (cron's `huifang jobs run NAME` beside the scheduler of `huifang run`; tested in
tests/reliability/test_two_processes.py):

* each job's transaction first takes a lock named after the job (``SqlUnitOfWork.serialise``): a second
  process waits for the first to commit, then its queries see what the first wrote, so a survey, a task or
  a move to the next contact mode is not recorded twice;
* the database refuses a second active survey for the same customer and purpose (a partial unique index)
  and a second copy of a due follow-up task (its unique schedule key); both inserts take that refusal as
  "already done" (``INSERT … ON CONFLICT DO NOTHING``), so they hold even without the lock;
* every message goes through the outbox under an idempotency key (``INSERT … ON CONFLICT DO NOTHING``),
  and each message is claimed by one sender before it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot.contact_plans import load_plans
from bot.domain.calling import CallingHours
from bot.domain.contact_plan import ContactPlan, Mode
from bot.domain.due import DueRules
from bot.domain.statistics import ReportSettings
from bot.services import due_selection, invitations, plan_progress, sms, staff_messages
from bot.services.due_selection import DueReport
from bot.services.outbox import Sender, SendReport, send_outbox
from bot.services.plan_progress import PlanReport
from bot.services.sms import SmsSetup
from bot.services.surveys import SurveyKit
from bot.texts import Texts
from storage.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)

UowFactory = Callable[[], SqlUnitOfWork]


@dataclass(frozen=True)
class JobContext:
    """What every job needs; built by the composition root."""

    uow: UowFactory
    kit: SurveyKit
    texts: Texts
    rules: DueRules = field(default_factory=DueRules)
    hours: CallingHours = field(default_factory=CallingHours)
    plans: Mapping[str, ContactPlan] = field(default_factory=load_plans)
    modes: frozenset[Mode] = frozenset({Mode.CHAT, Mode.PHONE})  # modes whose adapters are set up
    invitation_reminder_after: timedelta = timedelta(hours=24)
    invitation_expires_after: timedelta = timedelta(days=7)
    chart_dir: Path = Path("huifang-charts")
    # SMS invitations (the web mode), when set up: what queueing needs, and a factory of the provider's Sender.
    sms: SmsSetup | None = None
    sms_sender: Callable[[], Any] | None = None
    sms_per_second: float = 10.0

    @property
    def now(self) -> datetime:
        return self.kit.clock.now()

    def local(self, moment: datetime | None = None) -> datetime:
        return (moment or self.now).astimezone(self.kit.tz)


# ------------------------------------------------------------------------------------------------- surveys


def plan_summary(texts: Texts, report: PlanReport) -> str:
    """The contact plan's run in one Chinese line (modes started / moved, modes skipped and why)."""
    return texts.message(
        "plan_report",
        started=[(texts.mode(m), n) for m, n in sorted(report.started.items())],
        moved=[(texts.mode(m), n) for m, n in sorted(report.moved.items())],
        ended=report.ended,
        skipped=[(texts.mode(m), texts.skip_reason(r), n) for (m, r), n in sorted(report.skipped.items())],
    )


def select_due(ctx: JobContext) -> DueReport:
    """Create the surveys (each in its plan's first usable mode) and follow-up tasks that are due now."""
    with ctx.uow() as uow:
        report = due_selection.select_due(uow, ctx.kit, ctx.rules, ctx.plans, ctx.modes, ctx.now)
    log.info("select_due: %s surveys (%s chat, %s phone), %s tasks", report.surveys, report.chat, report.phone,
             report.tasks)  # fmt: skip
    report.summary = f"{plan_summary(ctx.texts, report.plan)}；{ctx.texts.label('tasks_made')} {report.tasks}"
    return report


def refresh_statistics(ctx: JobContext) -> str:
    """Refresh the planner's statistics (SQLite gathers none by itself), so due selection keeps its plan as
    the tables grow (``storage.database.analyse``)."""
    with ctx.uow() as uow:
        uow.refresh_statistics()
    return ctx.texts.label("statistics_refreshed")


def send_invitations(ctx: JobContext) -> int:
    """Queue a chat invitation (consent first) for every waiting chat survey, inside calling hours only."""
    if not ctx.hours.is_open(ctx.local().replace(tzinfo=None)):
        return 0
    with ctx.uow() as uow:
        return invitations.send_invitations(uow, ctx.texts, ctx.plans, ctx.now, ctx.invitation_expires_after)


def advance_plans(ctx: JobContext) -> PlanReport:
    """Move every waiting survey whose mode's wait ran out to its plan's next mode (or end it)."""
    with ctx.uow() as uow:
        report = plan_progress.move_plans_on(uow, ctx.plans, ctx.modes, ctx.now)
    report.summary = plan_summary(ctx.texts, report)
    return report


def remind_and_expire(ctx: JobContext) -> tuple[int, int]:
    """The contact plan's step (a survey unanswered for its mode's wait moves to the next mode, or ends when
    none is left), then one reminder 24 h after an unanswered chat invitation. (reminded, ended)."""
    with ctx.uow() as uow:
        reminded, plan = invitations.remind_and_move_on(
            uow, ctx.texts, ctx.plans, ctx.modes, ctx.now,
            remind=ctx.hours.is_open(ctx.local().replace(tzinfo=None)),
            remind_after=ctx.invitation_reminder_after, expires_after=ctx.invitation_expires_after,
        )  # fmt: skip
    return reminded, plan.ended


# --------------------------------------------------------------------------------------------------- staff


def staff_digest(ctx: JobContext) -> int:
    """The 09:00 digest: each bound staff member's open tasks."""
    with ctx.uow() as uow:
        return staff_messages.staff_digest(uow, ctx.texts, ctx.now, ctx.kit.tz)


def urgent(ctx: JobContext) -> int:
    """Every minute: callback reminders 10 minutes ahead; tasks overdue by a day escalate to the managers."""
    with ctx.uow() as uow:
        return staff_messages.urgent(uow, ctx.texts, ctx.now, ctx.kit.tz)


# ----------------------------------------------------------------------------------------------- managers


def weekly_summary(ctx: JobContext, report_settings: ReportSettings) -> int:
    """Monday 09:00: last week's numbers with a chart, to every manager."""
    return staff_messages.weekly_summary(
        ctx.uow, ctx.texts, report_settings, ctx.kit.clock, ctx.kit.tz, ctx.chart_dir, ctx.kit.unconfigured_modes()
    )


# ------------------------------------------------------------------------------------------------ sending


async def deliver(ctx: JobContext, sender: Sender) -> SendReport:
    """Send what the outbox holds."""
    return await send_outbox(ctx.uow, sender, ctx.texts, ctx.kit.clock)


async def send_sms(ctx: JobContext) -> tuple[int, SendReport]:
    """Inside calling hours: queue the invitation SMS of the web-mode surveys, then send what the outbox holds
    for SMS at the provider's rate. (queued, sent report)."""
    import asyncio

    from bot.sms.pacing import Paced

    if ctx.sms is None or ctx.sms_sender is None or not ctx.hours.is_open(ctx.local().replace(tzinfo=None)):
        return 0, SendReport()
    setup = ctx.sms

    def queue() -> int:
        with ctx.uow() as uow:
            return sms.queue_invitations(uow, ctx.texts, ctx.plans, setup, ctx.now)

    queued = await asyncio.to_thread(queue)
    async with ctx.sms_sender() as provider:
        report = await sms.deliver(ctx.uow, Paced(provider, ctx.sms_per_second), ctx.texts, ctx.kit.clock)
    log.info("send_sms: %s queued, %s sent, %s failed, %s cancelled", queued, report.sent, report.failed,
             report.cancelled)  # fmt: skip
    return queued, report


def at_local(day: date, hour: int, tz: Any) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


# ------------------------------------------------------------------------------------------- voice calls


class Dialler(Protocol):
    async def tick(self) -> int: ...


async def place_voice_calls(dialler: Dialler) -> int:
    """Place the robot calls due now (calling hours, opt-outs, the concurrency cap and the pace are the
    dialler's service and adapter's business); how many the provider accepted."""
    return await dialler.tick()
