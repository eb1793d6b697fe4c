"""Turning service results into Telegram messages: texts from templates, keyboards from engine views."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.presentation import for_chat
from bot.domain.questionnaire import NodeKind
from bot.services.staff_desk import TaskCard
from bot.services.surveys import Position
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


def callback_slots(now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Callback times to offer: later today (if still in calling hours), tomorrow morning and afternoon."""
    local = now.astimezone(tz)
    slots = []
    later = (local + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    if 9 <= later.hour < 20 and later.date() == local.date():
        slots.append(later)
    tomorrow = local.date() + timedelta(days=1)
    slots.append(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0))
    slots.append(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 15, 0))
    return [s.replace(tzinfo=None) for s in slots]


def question_message(
    texts: Texts, position: Position, now: datetime, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and keyboard of the question a survey waits on (or its closing words)."""
    step = position.step
    view = for_chat(step, position.ref, callback_slots(now, tz) if step.kind is NodeKind.CALLBACK else ())
    if step.finished:
        return view.text, None
    example = (now.astimezone(tz) + timedelta(days=1)).strftime("%m-%d 14:00")
    body = texts.message(
        "question_hint",
        text=view.text,
        kind=str(step.kind),
        max_length=step.max_length or 0,
        example_time=example,
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
