"""Turning service results into Telegram messages: texts from templates, keyboards from engine views."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.calling import CallingHours
from bot.domain.presentation import for_chat
from bot.domain.questionnaire import NodeKind
from bot.services.staff_desk import TaskCard
from bot.services.surveys import Position, SurveyKit
from bot.texts import Texts

CONSENT_START, CONSENT_LATER, CONSENT_STOP = "k:go", "k:later", "k:stop"

_MENUS = {
    None: ("help", "stop"),  # customers, and anyone not bound
    False: ("tasks", "today", "call", "help"),  # staff
    True: ("tasks", "today", "call", "stats", "help"),  # managers
}


def command_menu(texts: Texts, manager: bool | None) -> list[BotCommand]:
    """Telegram's command menu: ``None`` for customers, else for staff (``True``: a manager)."""
    return [BotCommand(name, text) for name, text in texts.commands(*_MENUS[manager])]


def callback_slots(now: datetime, tz: ZoneInfo, hours: CallingHours) -> list[datetime]:
    """Callback times to offer (store-local, naive), inside the configured calling hours: later today if still
    open, then a morning and an afternoon time on the next calling day (``CallingHours.callback_slots``)."""
    return hours.callback_slots(now.astimezone(tz).replace(tzinfo=None))


def example_time(now: datetime, tz: ZoneInfo, hours: CallingHours) -> str:
    """A time to show as an example of what may be typed, one that can be booked
    (``CallingHours.example_callback``)."""
    return hours.example_callback(now.astimezone(tz).replace(tzinfo=None)).strftime("%m-%d %H:%M")


def question_message(texts: Texts, position: Position, kit: SurveyKit) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and keyboard of the question a survey waits on (or its closing words), now (``kit.clock``); a
    callback question offers times inside the calling hours (``kit.hours``)."""
    now, tz, hours = kit.clock.now(), kit.tz, kit.hours
    step = position.step
    callback = step.kind is NodeKind.CALLBACK
    view = for_chat(step, position.ref, callback_slots(now, tz, hours) if callback else ())
    if step.finished:
        return view.text, None
    body = texts.message(
        "question_hint",
        text=view.text,
        kind=str(step.kind),
        max_length=step.max_length or 0,
        example_time=example_time(now, tz, hours) if callback else "",
    )
    text = texts.message("question", number=position.number, total=position.total, text=body)
    return text, keyboard(view.buttons) if view.buttons else None


def keyboard(rows: object) -> InlineKeyboardMarkup:
    """Inline keyboard from the engine's button rows."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]  # type: ignore[attr-defined]
    )


def button_rows(markup: InlineKeyboardMarkup | None) -> list[list[list[str]]]:
    """An inline keyboard as the outbox stores it: rows of [label, callback data]."""
    if markup is None:
        return []
    return [[[b.text, str(b.callback_data)] for b in row] for row in markup.inline_keyboard]


def consent_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.label("start"), callback_data=CONSENT_START),
                InlineKeyboardButton(texts.label("later"), callback_data=CONSENT_LATER),
                InlineKeyboardButton(texts.label("stop"), callback_data=CONSENT_STOP),
            ]
        ]
    )


def task_message(texts: Texts, card: TaskCard, tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    text = texts.message(
        "task_card",
        kind_label=texts.task_kind(card.kind),
        due=card.due_at.astimezone(tz).strftime("%m-%d %H:%M"),
        overdue=card.overdue,
        customer_title=card.customer_title,
        customer_name=card.customer_name,
        phone=card.phone,
        vehicle=card.vehicle,
        note=card.note,
        history=card.history,
    )
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.label("done"), callback_data=f"task:done:{card.task_id}"),
                InlineKeyboardButton(texts.label("postpone"), callback_data=f"task:later:{card.task_id}"),
            ]
        ]
    )
    return text, buttons
