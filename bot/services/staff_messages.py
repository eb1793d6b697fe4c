"""Messages to staff the scheduler queues: the morning digest, callback reminders, escalations of overdue
tasks to the managers, and the managers' weekly summary. Each queues through the outbox under an idempotency
key (safe to run twice, or in two processes) and commits."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.contact_plan import Mode
from bot.domain.people import Honorific, Role, title
from bot.domain.statistics import ReportSettings, last_full_week
from bot.texts import Texts
from storage.models import Customer
from storage.unit_of_work import SqlUnitOfWork


def _title(customer: Customer) -> str:
    return title(customer.name, Honorific(customer.honorific) if customer.honorific else None)


def staff_digest(uow: SqlUnitOfWork, texts: Texts, now: datetime, tz: ZoneInfo) -> int:
    """Each bound staff member's open tasks, once a day; how many digests were queued."""
    day = now.astimezone(tz).date()
    queued = 0
    uow.serialise("staff_digest")
    for member in uow.colleagues.reachable():
        tasks = uow.tasks.open_for(member.id)
        if not tasks:
            continue
        kinds: dict[str, int] = {}
        for task in tasks:
            kinds[texts.task_kind(task.kind)] = kinds.get(texts.task_kind(task.kind), 0) + 1
        payload: dict[str, object] = {
            "template": "digest",
            "context": {
                "name": member.name,
                "count": len(tasks),
                "overdue": sum(1 for t in tasks if t.due_at < now),
                "kinds": sorted(kinds.items()),
            },
        }
        queued += uow.outbox.add(f"digest:{member.id}:{day}", "telegram", str(member.telegram_user_id), payload, now)
    uow.commit()
    return queued


def urgent(uow: SqlUnitOfWork, texts: Texts, now: datetime, tz: ZoneInfo) -> int:
    """Callback reminders 10 minutes ahead; tasks overdue by a day escalate to the store's managers."""
    queued = 0
    uow.serialise("urgent")
    for task, member in uow.tasks.callbacks_due(now - timedelta(hours=1), now + timedelta(minutes=10)):
        customer = uow.people.get(task.customer_id)
        assert customer is not None
        payload: dict[str, object] = {
            "template": "callback_reminder",
            "context": {"title": _title(customer), "at": task.due_at.astimezone(tz).strftime("%H:%M")},
        }
        queued += uow.outbox.add(f"callback:{task.id}", "telegram", str(member.telegram_user_id), payload, now)
    # Tasks that crossed "a day overdue" within the last day: each escalates once (the key sees to that), and
    # a scheduler that was down for some hours still catches up.
    for task in uow.tasks.open_due_between(now - timedelta(days=2), now - timedelta(days=1)):
        customer = uow.people.get(task.customer_id)
        assert customer is not None
        owner = uow.people.staff(task.staff_id)
        for manager in uow.colleagues.managers(customer.store_id):
            if manager.telegram_user_id is None or manager.id == task.staff_id:
                continue
            payload = {
                "template": "escalation",
                "context": {
                    "staff_name": owner.name if owner else texts.label("unassigned"),
                    "kind_label": texts.task_kind(task.kind),
                    "title": _title(customer),
                    "due": task.due_at.astimezone(tz).strftime("%m-%d %H:%M"),
                },
            }
            key = f"escalate:{task.id}:{manager.id}"
            queued += uow.outbox.add(key, "telegram", str(manager.telegram_user_id), payload, now)
    uow.commit()
    return queued


def weekly_summary(
    uow_factory: Callable[[], SqlUnitOfWork],
    texts: Texts,
    settings: ReportSettings,
    clock: Clock,
    tz: ZoneInfo,
    chart_dir: Path,
    skipped: Sequence[Mode] = (),
) -> int:
    """Last week's summary to every bound manager: a short text and three phone-sized images (funnel, reasons,
    satisfaction and tasks) as one album, one outbox row per manager; how many messages were queued."""
    from bot.services.summary import week_summary
    from bot.services.weekly import summary_text
    from bot.summary_charts import summary_images

    now = clock.now()
    period = last_full_week(now.astimezone(tz).date())
    summary = week_summary(uow_factory, settings, clock, period)
    chart_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in summary_images(summary):
        image = chart_dir / f"weekly-{period.label}-{name}.png"
        # Written aside and renamed into place: a second process writing the same image at the same moment
        # never leaves a half-written file for a sender to read.
        partial = image.with_name(f".{image.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, image)
        paths.append(str(image.resolve()))
    text = summary_text(texts, summary, skipped=skipped)
    queued = 0
    with uow_factory() as uow:
        uow.serialise("weekly_summary")
        for manager in uow.colleagues.reachable(Role.MANAGER):
            payload: dict[str, object] = {"text": text, "photos": paths}
            key = f"weekly:{period.label}:{manager.id}"
            queued += uow.outbox.add(key, "telegram", str(manager.telegram_user_id), payload, now)
        uow.commit()
    return queued
