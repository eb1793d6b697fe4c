"""The scheduled jobs: plain functions over a unit-of-work factory, a clock and (to send) a sender.

The database says what is due; these functions only look and write. Each is safe to run twice, or in two
processes at once (cron's `huifang jobs run NAME` beside the scheduler of `huifang run`; tested in
tests/reliability/test_two_processes.py):

* each job's transaction first takes a lock named after the job (``SqlUnitOfWork.serialise``): a second
  process waits for the first to commit, then its queries see what the first wrote, so a survey, a task or
  an expiry is not recorded twice;
* the database refuses a second active survey for the same customer and purpose (a partial unique index)
  and a second copy of a due follow-up task (its unique schedule key); both inserts take that refusal as
  "already done" (``INSERT … ON CONFLICT DO NOTHING``), so they hold even without the lock;
* every message goes through the outbox under an idempotency key (``INSERT … ON CONFLICT DO NOTHING``),
  and each message is claimed by one sender before it is sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.domain.calling import CallingHours
from bot.domain.due import DueRules, one_per_customer
from bot.domain.lifecycle import Event, EventKind
from bot.domain.people import Honorific, title
from bot.services.outbox import Sender, SendReport, send_outbox
from bot.services.survey_status import move
from bot.services.surveys import SurveyKit, create_survey
from bot.texts import Texts
from storage.models import Customer, Staff, Survey, Task
from storage.queries.due import survey_candidates, task_candidates
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
    invitation_reminder_after: timedelta = timedelta(hours=24)
    invitation_expires_after: timedelta = timedelta(days=7)
    chart_dir: Path = Path("huifang-charts")

    @property
    def now(self) -> datetime:
        return self.kit.clock.now()

    def local(self, moment: datetime | None = None) -> datetime:
        return (moment or self.now).astimezone(self.kit.tz)


# ------------------------------------------------------------------------------------------------- surveys


@dataclass
class DueReport:
    surveys: int = 0
    chat: int = 0
    phone: int = 0
    tasks: int = 0


def select_due(ctx: JobContext) -> DueReport:
    """Create the surveys and follow-up tasks that are due now (at most one survey per customer)."""
    report = DueReport()
    now = ctx.now
    today = ctx.local(now).date()
    with ctx.uow() as uow:
        # Two schedulers at once (cron beside `huifang run`): the second waits here for the first's commit and
        # then finds its surveys and tasks already made. The unique index on active surveys backs this up.
        uow.serialise("select_due")
        chosen = one_per_customer(survey_candidates(uow.session, now, today, ctx.rules), ctx.rules.purpose_order)
        customers = {
            c.id: c for c in uow.session.query(Customer).filter(Customer.id.in_([x.customer_id for x in chosen]))
        } if chosen else {}  # fmt: skip
        for candidate in chosen[: ctx.rules.batch_limit]:
            customer = customers[candidate.customer_id]
            by_chat = customer.telegram_chat_id is not None and customer.chat_unreachable_at is None
            channel = "chat" if by_chat else "phone"
            survey = create_survey(uow, ctx.kit, customer.id, candidate.questionnaire_id, candidate.purpose, channel,
                                   now)  # fmt: skip
            if survey is None:  # another process created it a moment ago: already done
                continue
            report.surveys += 1
            report.chat += by_chat
            report.phone += not by_chat
        for due in task_candidates(uow.session, now, today, ctx.rules):
            report.tasks += uow.tasks.add_scheduled(due.staff_id, due.customer_id, due.kind, due.due_at, due.key, now)
        uow.commit()
    log.info("select_due: %s surveys (%s chat, %s phone), %s tasks", report.surveys, report.chat, report.phone,
             report.tasks)  # fmt: skip
    return report


def send_invitations(ctx: JobContext) -> int:
    """Queue a chat invitation (consent first) for every waiting chat survey, inside calling hours only."""
    if not ctx.hours.is_open(ctx.local().replace(tzinfo=None)):
        return 0
    now = ctx.now
    queued = 0
    with ctx.uow() as uow:
        uow.serialise("send_invitations")
        rows = uow.session.query(Survey, Customer).join(Customer, Customer.id == Survey.customer_id).filter(
            Survey.status == "pending", Survey.channel == "chat", Customer.opted_out_at.is_(None),
            Customer.telegram_chat_id.is_not(None), Customer.chat_unreachable_at.is_(None),
        ).limit(5000).all()  # fmt: skip
        for survey, customer in rows:
            honorific = Honorific(customer.honorific) if customer.honorific else None
            payload = {
                "template": "consent",
                "context": {
                    "title": title(customer.name, honorific),
                    "store_name": uow.people.store_name(customer.store_id),
                    "purpose": survey.questionnaire_id,
                    "purpose_text": ctx.texts.purpose(survey.questionnaire_id),
                    "minutes": 2,
                },
                "buttons": _consent_buttons(ctx.texts),
                "customer_id": customer.id,
            }
            queued += uow.outbox.add(f"invite:{survey.id}", "telegram", str(customer.telegram_chat_id), payload, now)
            move(uow, survey, Event(EventKind.INVITE), channel="chat", now=now)
            survey.expires_at = now + ctx.invitation_expires_after
        uow.commit()
    return queued


def _consent_buttons(texts: Texts) -> list[list[list[str]]]:
    return [[[texts.label("start"), "k:go"], [texts.label("later"), "k:later"], [texts.label("stop"), "k:stop"]]]


def remind_and_expire(ctx: JobContext) -> tuple[int, int]:
    """One reminder 24 h after an unanswered invitation; after 7 days the survey expires (no response)."""
    now = ctx.now
    reminded = expired = 0
    with ctx.uow() as uow:
        uow.serialise("remind_and_expire")  # else two runs would both record the expiry attempt
        waiting = uow.session.query(Survey, Customer).join(Customer, Customer.id == Survey.customer_id).filter(
            Survey.channel == "chat", Survey.status.in_(("invited", "in_progress")), Survey.expires_at.is_not(None),
        ).limit(5000).all()  # fmt: skip
        for survey, customer in waiting:
            assert survey.expires_at is not None
            if survey.expires_at <= now:
                move(uow, survey, Event(EventKind.NO_REPLY), channel="chat", now=now)
                expired += 1
                continue
            invited_at = survey.expires_at - ctx.invitation_expires_after
            if (
                survey.status == "invited"
                and survey.reminders_sent == 0
                and now - invited_at >= ctx.invitation_reminder_after
                and customer.opted_out_at is None
                and ctx.hours.is_open(ctx.local().replace(tzinfo=None))
            ):
                honorific = Honorific(customer.honorific) if customer.honorific else None
                payload = {
                    "template": "reminder",
                    "context": {"title": title(customer.name, honorific)},
                    "buttons": _consent_buttons(ctx.texts),
                    "customer_id": customer.id,
                }
                uow.outbox.add(f"remind:{survey.id}", "telegram", str(customer.telegram_chat_id), payload, now)
                survey.reminders_sent = 1
                reminded += 1
        uow.commit()
    return reminded, expired


# --------------------------------------------------------------------------------------------------- staff


def staff_digest(ctx: JobContext) -> int:
    """The 09:00 digest: each bound staff member's open tasks."""
    now = ctx.now
    day = ctx.local(now).date()
    queued = 0
    with ctx.uow() as uow:
        uow.serialise("staff_digest")
        staff = uow.session.query(Staff).filter(Staff.telegram_user_id.is_not(None), Staff.active.is_(True)).all()
        for member in staff:
            tasks = uow.tasks.open_for(member.id)
            if not tasks:
                continue
            overdue = sum(1 for t in tasks if t.due_at < now)
            kinds: dict[str, int] = {}
            for task in tasks:
                kinds[ctx.texts.task_kind(task.kind)] = kinds.get(ctx.texts.task_kind(task.kind), 0) + 1
            payload = {
                "template": "digest",
                "context": {
                    "name": member.name,
                    "count": len(tasks),
                    "overdue": overdue,
                    "kinds": sorted(kinds.items()),
                },
            }
            queued += uow.outbox.add(
                f"digest:{member.id}:{day}", "telegram", str(member.telegram_user_id), payload, now
            )
        uow.commit()
    return queued


def urgent(ctx: JobContext) -> int:
    """Every minute: callback reminders 10 minutes ahead; tasks overdue by a day escalate to the managers."""
    now = ctx.now
    queued = 0
    with ctx.uow() as uow:
        uow.serialise("urgent")
        soon = uow.session.query(Task, Staff).join(Staff, Staff.id == Task.staff_id).filter(
            Task.kind == "callback", Task.status == "open", Task.due_at <= now + timedelta(minutes=10),
            Task.due_at > now - timedelta(hours=1), Staff.telegram_user_id.is_not(None),
        ).all()  # fmt: skip
        for task, member in soon:
            customer = uow.people.get(task.customer_id)
            assert customer is not None
            honorific = Honorific(customer.honorific) if customer.honorific else None
            payload = {
                "template": "callback_reminder",
                "context": {"title": title(customer.name, honorific), "at": ctx.local(task.due_at).strftime("%H:%M")},
            }
            queued += uow.outbox.add(f"callback:{task.id}", "telegram", str(member.telegram_user_id), payload, now)
        # Tasks that crossed "a day overdue" within the last day: each escalates once (the key sees to
        # that), and a scheduler that was down for some hours still catches up.
        overdue = (
            uow.session.query(Task)
            .filter(
                Task.status == "open", Task.due_at <= now - timedelta(days=1), Task.due_at > now - timedelta(days=2)
            )
            .limit(2000)
            .all()
        )
        for task in overdue:
            customer = uow.people.get(task.customer_id)
            assert customer is not None
            owner = uow.people.staff(task.staff_id)
            for manager in uow.colleagues.managers(customer.store_id):
                if manager.telegram_user_id is None or manager.id == task.staff_id:
                    continue
                honorific = Honorific(customer.honorific) if customer.honorific else None
                payload = {
                    "template": "escalation",
                    "context": {
                        "staff_name": owner.name if owner else "未分配",
                        "kind_label": ctx.texts.task_kind(task.kind),
                        "title": title(customer.name, honorific),
                        "due": ctx.local(task.due_at).strftime("%m-%d %H:%M"),
                    },
                }
                key = f"escalate:{task.id}:{manager.id}"
                queued += uow.outbox.add(key, "telegram", str(manager.telegram_user_id), payload, now)
        uow.commit()
    return queued


# ----------------------------------------------------------------------------------------------- managers


def weekly_summary(ctx: JobContext, report_settings: Any) -> int:
    """Monday 09:00: last week's numbers with a chart, to every manager."""
    from bot.domain.statistics import last_full_week
    from bot.report_output import write
    from bot.services.weekly import summary_text, week_reports

    now = ctx.now
    period = last_full_week(ctx.local(now).date())
    report, by_series = week_reports(ctx.uow, report_settings, ctx.kit.clock, period)
    ctx.chart_dir.mkdir(parents=True, exist_ok=True)
    chart = ctx.chart_dir / f"weekly-{period.label}.png"
    # Written aside and renamed into place: a second process writing the same chart at the same moment never
    # leaves a half-written file for a sender to read.
    partial = chart.with_name(f".{chart.name}.{os.getpid()}.partial")
    write(report, "png", partial)
    os.replace(partial, chart)
    text = summary_text(ctx.texts, report, by_series)
    queued = 0
    with ctx.uow() as uow:
        uow.serialise("weekly_summary")
        managers = (
            uow.session.query(Staff)
            .filter(Staff.role == "manager", Staff.active.is_(True), Staff.telegram_user_id.is_not(None))
            .all()
        )
        for manager in managers:
            payload = {"text": text, "photo": str(chart.resolve())}
            key = f"weekly:{period.label}:{manager.id}"
            queued += uow.outbox.add(key, "telegram", str(manager.telegram_user_id), payload, now)
        uow.commit()
    return queued


# ------------------------------------------------------------------------------------------------ sending


async def deliver(ctx: JobContext, sender: Sender) -> SendReport:
    """Send what the outbox holds."""
    return await send_outbox(ctx.uow, sender, ctx.texts, ctx.kit.clock)


def at_local(day: date, hour: int, tz: Any) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
