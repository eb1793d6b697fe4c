"""The chat mode's tries: the invitation (consent first) and one reminder, each counted in the chat stage."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.domain.contact_plan import ContactPlan, Mode
from bot.domain.lifecycle import Event, EventKind
from bot.domain.people import Honorific, title
from bot.services.plan_progress import PlanReport, advance_plans, count_try, may_try_now
from bot.services.survey_status import move, record_try
from bot.texts import Texts
from storage.models import Customer
from storage.unit_of_work import SqlUnitOfWork

CHAT = "chat"


def consent_buttons(texts: Texts) -> list[list[list[str]]]:
    return [[[texts.label("start"), "k:go"], [texts.label("later"), "k:later"], [texts.label("stop"), "k:stop"]]]


def _title(customer: Customer) -> str:
    return title(customer.name, Honorific(customer.honorific) if customer.honorific else None)


def send_invitations(
    uow: SqlUnitOfWork, texts: Texts, plans: Mapping[str, ContactPlan], now: datetime, expires_after: timedelta
) -> int:
    """Queue an invitation for every chat survey not yet offered whose chat stage has a try left; commit.
    How many were queued (the caller checks calling hours)."""
    queued = 0
    uow.serialise("send_invitations")
    for survey, customer in uow.surveys.to_invite_by_chat():
        if not may_try_now(plans, survey):
            continue
        payload: dict[str, Any] = {
            "template": "consent",
            "context": {
                "title": _title(customer),
                "store_name": uow.people.store_name(customer.store_id),
                "purpose": survey.questionnaire_id,
                "purpose_text": texts.purpose(survey.questionnaire_id),
                "minutes": 2,
            },
            "buttons": consent_buttons(texts),
            "customer_id": customer.id,
        }
        queued += uow.outbox.add(f"invite:{survey.id}", "telegram", str(customer.telegram_chat_id), payload, now)
        move(uow, survey, Event(EventKind.INVITE), channel=CHAT, now=now)
        record_try(uow, survey, "invited", channel=CHAT, now=now)
        survey.expires_at = now + expires_after
        count_try(survey)
    uow.commit()
    return queued


def remind_and_move_on(
    uow: SqlUnitOfWork,
    texts: Texts,
    plans: Mapping[str, ContactPlan],
    configured: frozenset[Mode],
    now: datetime,
    *,
    remind: bool,
    remind_after: timedelta,
    expires_after: timedelta,
) -> tuple[int, PlanReport]:
    """The contact plan's step (surveys unanswered for their mode's wait move on, or end when no mode is left),
    then the reminders (if ``remind``: inside calling hours), in one transaction under one lock (two runs at
    once remind and move each survey once); committed. (reminders queued, what the plan did)."""
    uow.serialise("remind_and_expire")
    plan = advance_plans(uow, plans, configured, now)
    reminded = 0
    if remind:
        reminded = send_reminders(uow, texts, plans, now, remind_after=remind_after, expires_after=expires_after)
    uow.commit()
    return reminded, plan


def send_reminders(
    uow: SqlUnitOfWork,
    texts: Texts,
    plans: Mapping[str, ContactPlan],
    now: datetime,
    *,
    remind_after: timedelta,
    expires_after: timedelta,
) -> int:
    """One reminder ``remind_after`` an unanswered invitation, if the chat stage has a try left (the caller
    checks calling hours and commits). How many were queued."""
    reminded = 0
    for survey, customer in uow.surveys.invited_by_chat():
        assert survey.expires_at is not None
        invited_at = survey.expires_at - expires_after
        if survey.reminders_sent or now - invited_at < remind_after or not may_try_now(plans, survey):
            continue
        payload = {
            "template": "reminder",
            "context": {"title": _title(customer)},
            "buttons": consent_buttons(texts),
            "customer_id": customer.id,
        }
        uow.outbox.add(f"remind:{survey.id}", "telegram", str(customer.telegram_chat_id), payload, now)
        survey.reminders_sent = 1
        record_try(uow, survey, "reminded", channel=CHAT, now=now)
        count_try(survey)
        reminded += 1
    return reminded
