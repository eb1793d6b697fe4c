"""The specialist's call screen in the staff chat: /call, the dial outcome, the script, the end of a call.

Callback data: ``call:next``; ``d:<ref>:<disposition>`` (dial outcome); ``p`` + the chat codec for a
question's options (``pa:<ref>:<node>:<option>`` …); ``e:<ref>:<how>`` to end a call; ``cb:<ref>`` to
book a callback time. All of it is checked against the claim held in the database.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.domain.callback_time import parse_callback_time
from bot.domain.calling import Next, PhoneSettings
from bot.domain.dispositions import disposition as disposition_info
from bot.domain.engine import BookCallback, Rejection, RejectReason
from bot.domain.lifecycle import SurveyStatus
from bot.domain.presentation import (
    REJECTION_TEXT_ZH,
    callback_input,
    for_chat,
    for_phone,
    parse_callback,
    parse_slot,
    text_input,
)
from bot.domain.questionnaire import NodeKind
from bot.services import calls, staff_desk
from bot.services.calls import CallCard, NotYourCase, OutsideHours
from bot.services.surveys import Accepted, Position, position_of, questionnaire_of, survey_id_of
from bot.telegram.context import SEEN, HuifangContext, Seen
from bot.telegram.views import callback_slots, example_time
from storage.unit_of_work import SqlUnitOfWork

DIAL_OUTCOMES = (
    "connected", "no_answer", "line_busy", "powered_off", "suspended", "vacant",
    "wrong_number", "unreachable", "forwarded", "away", "rejected_call", "other",
)  # fmt: skip
END_KINDS = ("refused", "partial", "do_not_call")
log = logging.getLogger(__name__)


def _fmt(moment: datetime, context: HuifangContext) -> str:
    return moment.astimezone(context.services.tz).strftime("%m-%d %H:%M")


def _phone_settings(context: HuifangContext) -> PhoneSettings:
    return context.services.phone


async def call_command(update: Update, context: HuifangContext) -> None:
    """/call or 下一个: claim the next customer and show the card with the dial outcomes."""
    services = context.services
    user = update.effective_user
    assert user is not None

    def claim_next(uow: SqlUnitOfWork) -> tuple[bool, calls.CallCard | calls.OutsideHours | None]:
        staff = staff_desk.staff_member(uow, user.id)
        result = calls.next_call(uow, services.kit, _phone_settings(context), staff) if staff else None
        uow.commit()
        return staff is not None, result

    is_staff, result = await services.transact(claim_next)
    target = update.effective_message
    assert target is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    texts = services.texts
    if not is_staff:
        await target.reply_text(texts.message("staff_only"))
    elif result is None:
        await target.reply_text(texts.message("call_queue_empty"))
    elif isinstance(result, OutsideHours):
        await target.reply_text(texts.message("call_outside_hours", opens_at=result.opens_at.strftime("%m-%d %H:%M")))
    else:
        await target.reply_text(_card_text(context, result), reply_markup=_dial_keyboard(result.ref))


def _card_text(context: HuifangContext, card: CallCard) -> str:
    attempts = "、".join(f"{label} {_fmt(at, context)}" for label, at in card.attempts[-5:])
    answers = "、".join(label for _, label in card.answers)
    return context.services.texts.message(
        "call_card",
        questionnaire=card.questionnaire,
        callback_at=_fmt(card.callback_at, context) if card.callback_at else "",
        title=card.title,
        name=card.name,
        phone=card.phone,
        vehicle=card.vehicle,
        consultant=card.consultant,
        attempts=attempts,
        answers=answers,
    )


def _dial_keyboard(ref: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(_dial_label(code), callback_data=f"d:{ref}:{code}") for code in DIAL_OUTCOMES]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def _dial_label(code: str) -> str:
    return "接通" if code == "connected" else disposition_info(code).label


def _call_keyboard(context: HuifangContext, position: Position) -> InlineKeyboardMarkup:
    """The question's options (prefixed for the phone) and the buttons that end a call."""
    texts = context.services.texts
    slots = callback_slots(context.services.container.clock.now(), context.services.tz, context.services.kit.hours)
    view = for_chat(position.step, position.ref, slots if position.step.kind.value == "callback" else ())
    rows = [[InlineKeyboardButton(b.label, callback_data="p" + b.data) for b in row] for row in view.buttons]
    ref = position.ref
    rows.append(
        [
            InlineKeyboardButton(texts.label("refused_call"), callback_data=f"e:{ref}:refused"),
            InlineKeyboardButton(texts.label("partial"), callback_data=f"e:{ref}:partial"),
            InlineKeyboardButton(texts.label("book"), callback_data=f"cb:{ref}"),
        ]
    )
    rows.append([InlineKeyboardButton(texts.label("do_not_call"), callback_data=f"e:{ref}:do_not_call")])
    return InlineKeyboardMarkup(rows)


def _next_keyboard(context: HuifangContext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(context.services.texts.label("next"), callback_data="call:next")]]
    )


async def _show_script(context: HuifangContext, chat_id: int, position: Position) -> None:
    if position.finished:
        await context.bot.send_message(chat_id, position.step.text, reply_markup=_next_keyboard(context))
        return
    view = for_phone(position.step)
    text = context.services.texts.message(
        "call_script", number=position.number, total=position.total, script=view.script, instruction=view.instruction
    )
    await context.bot.send_message(chat_id, text, reply_markup=_call_keyboard(context, position))


async def dial_tap(update: Update, context: HuifangContext) -> None:
    """A dial outcome under the customer card."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    _, ref, code = _fields(query.data, 3) or ("", "", "")
    survey_id = survey_id_of(ref)
    user_id = update.effective_user.id

    def dial(uow: SqlUnitOfWork) -> calls.Dialled | _NotStaff | None:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return NOT_STAFF
        if survey_id is None or code not in DIAL_OUTCOMES:
            return None
        try:
            return calls.record_dial(uow, services.kit, _phone_settings(context), staff, survey_id, code)
        except NotYourCase:
            return None

    result = await services.once(update.update_id, dial)
    if isinstance(result, Seen) or await _refused_as_not_staff(update, context, result):
        return
    await query.answer()
    texts = services.texts
    chat_id = query.message.chat.id if query.message else update.effective_user.id
    if not isinstance(result, calls.Dialled):
        await context.bot.send_message(chat_id, texts.message("call_not_yours"))
        return
    await _quiet(query.message, reply_markup=None)
    if result.decision.next is Next.CONNECTED and result.position is not None:
        await _show_script(context, chat_id, result.position)
        return
    next_try = result.next_try_local.strftime("%m-%d %H:%M") if result.next_try_local else ""
    await context.bot.send_message(
        chat_id,
        texts.message(
            "call_logged", title=result.title, outcome=_dial_label(code), next_try=next_try,
            ended=result.decision.next is Next.END,
        ),
        reply_markup=_next_keyboard(context),
    )  # fmt: skip


async def answer_tap(update: Update, context: HuifangContext) -> None:
    """The specialist taps what the customer said."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    decoded = parse_callback(query.data[1:])
    user_id = update.effective_user.id

    def record(uow: SqlUnitOfWork) -> Accepted | Rejection | _NotStaff | None:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return NOT_STAFF
        survey_id = survey_id_of(decoded.survey_ref) if decoded else None
        survey = uow.surveys.get(survey_id) if survey_id is not None else None
        if survey is None or decoded is None:
            return None
        given = callback_input(questionnaire_of(uow, services.kit, survey), decoded)
        if given is None:
            return None
        if isinstance(given, BookCallback):  # a slot offered a while ago may have passed since
            given = replace(given, earliest=services.kit.local_now())
        try:
            return calls.phone_answer(uow, services.kit, staff, survey.id, given)
        except NotYourCase:
            return None

    result = await services.once(update.update_id, record)
    if isinstance(result, Seen) or await _refused_as_not_staff(update, context, result):
        return
    if context.chat_data is not None:  # the call went on after 预约回访: typed text answers the script again
        context.chat_data.pop(_BOOKING, None)
    await _after_phone_answer(update, context, result)  # type: ignore[arg-type]


async def _after_phone_answer(update: Update, context: HuifangContext, result: Accepted | Rejection | None) -> None:
    query = update.callback_query
    message = update.effective_message
    assert message is not None
    chat_id = message.chat.id
    if isinstance(result, Rejection):
        if query is not None:
            await query.answer(REJECTION_TEXT_ZH[result.reason])
        else:
            await message.reply_text(REJECTION_TEXT_ZH[result.reason])
        return
    if query is not None:
        await query.answer()
    if result is None:
        await context.bot.send_message(chat_id, context.services.texts.message("call_not_yours"))
        return
    if query is not None and isinstance(query.message, Message):
        if result.moved:
            answered = context.services.texts.message(
                "answered", text=query.message.text or "", label=result.answered_label
            )
            await _quiet(query.message, text=answered)
        else:
            await _quiet(query.message, reply_markup=_call_keyboard(context, result.position))
            return
    await _show_script(context, chat_id, result.position)


async def end_tap(update: Update, context: HuifangContext) -> None:
    """拒访 / 中途挂断 / 勿再致电."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    _, ref, how = _fields(query.data, 3) or ("", "", "")
    survey_id = survey_id_of(ref)
    user_id = update.effective_user.id

    def end(uow: SqlUnitOfWork) -> str | _NotStaff | None:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return NOT_STAFF
        if survey_id is None or how not in END_KINDS:
            return None
        try:
            return calls.end_call(uow, services.kit, staff, survey_id, how)
        except NotYourCase:
            return None

    ended_title = await services.once(update.update_id, end)
    if isinstance(ended_title, Seen) or await _refused_as_not_staff(update, context, ended_title):
        return
    await query.answer()
    texts = services.texts
    chat_id = query.message.chat.id if query.message else update.effective_user.id
    label = {"refused": "refused_call", "partial": "partial", "do_not_call": "do_not_call"}.get(how, "")
    text = (
        texts.message("call_ended", title=ended_title, outcome=texts.label(label))
        if isinstance(ended_title, str)
        else texts.message("call_not_yours")
    )
    await _quiet(query.message, reply_markup=None)
    await context.bot.send_message(chat_id, text, reply_markup=_next_keyboard(context))


async def book_tap(update: Update, context: HuifangContext) -> None:
    """预约回访: offer times (or a typed one, see ``staff_text``); a slot ``cs:<ref>:<YYYYMMDDHHMM>`` books it."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    parts = query.data.split(":")
    offer = parts[0] == "cb" and len(parts) == 2
    survey_id = survey_id_of(parts[1]) if len(parts) in (2, 3) else None
    at = parse_slot(parts[2]) if len(parts) == 3 and parts[0] == "cs" else None
    user_id = update.effective_user.id

    def book(uow: SqlUnitOfWork) -> object:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return NOT_STAFF
        if survey_id is None or (at is None and not offer):
            return None
        try:
            if offer:
                claimed = uow.surveys.claimed_by(staff.id)
                return _OFFER if claimed is not None and claimed.id == survey_id else None
            assert at is not None
            return calls.book_chosen_callback(uow, services.kit, staff, survey_id, at)
        except NotYourCase:
            return None

    booked = await services.once(update.update_id, book)
    if isinstance(booked, Seen) or await _refused_as_not_staff(update, context, booked):
        return
    chat_id = query.message.chat.id if query.message else user_id
    if isinstance(booked, RejectReason):
        await query.answer(REJECTION_TEXT_ZH[booked])
        return
    await query.answer()
    if booked is _OFFER:
        assert survey_id is not None
        await _offer_times(context, chat_id, survey_id, parts[1])
        return
    await _send_booked(context, chat_id, booked)


async def _offer_times(context: HuifangContext, chat_id: int, survey_id: int, ref: str) -> None:
    """The times to tap; a time typed next in this chat books this survey's callback (``staff_text``)."""
    services = context.services
    slots = callback_slots(services.container.clock.now(), services.tz, services.kit.hours)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(s.strftime("%m-%d %H:%M"), callback_data=f"cs:{ref}:{s:%Y%m%d%H%M}")] for s in slots]
    )
    if context.chat_data is not None:
        context.chat_data[_BOOKING] = survey_id
    await context.bot.send_message(
        chat_id, services.texts.message("call_pick_time", example_time=_example_time(context)), reply_markup=keyboard
    )


def _example_time(context: HuifangContext) -> str:
    services = context.services
    return example_time(services.container.clock.now(), services.tz, services.kit.hours)


async def _send_booked(context: HuifangContext, chat_id: int, booked: object) -> None:
    texts = context.services.texts
    if isinstance(booked, tuple):
        at, title = booked
        text = texts.message("call_booked", title=title, at=_fmt(at, context))
        if context.chat_data is not None:
            context.chat_data.pop(_BOOKING, None)
    else:
        text = texts.message("call_not_yours")
    await context.bot.send_message(chat_id, text, reply_markup=_next_keyboard(context))


async def staff_text(update: Update, context: HuifangContext) -> bool:
    """Typed text from a specialist during a call (free-text answers, typed times); False if it is not that.

    After 预约回访 the next text is read as the callback time (``callback_time.parse_callback_time``), and so
    is a time typed while a choice or rating is on screen (also after a restart, which forgets the 预约回访 tap).
    """
    services = context.services
    message = update.effective_message
    if message is None or message.text is None or update.effective_user is None:
        return False
    user_id, update_id, text = update.effective_user.id, update.update_id, message.text
    booking = context.chat_data.get(_BOOKING) if context.chat_data is not None else None

    def work(uow: SqlUnitOfWork) -> object:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return None
        survey = uow.surveys.claimed_by(staff.id)
        if survey is None or survey.status != SurveyStatus.IN_PROGRESS:
            return None
        if not services.first_time(uow, update_id):
            return SEEN
        position = position_of(uow, services.kit, survey)
        at = parse_callback_time(text, services.kit.local_now().date())
        # After 预约回访 the text is the time; so is a time typed while a choice is on screen (no option is one).
        if booking == survey.id or (at is not None and position.step.kind in _CHOICES):
            result = calls.book_chosen_callback(uow, services.kit, staff, survey.id, at) if at else _UNREAD_TIME
            uow.commit()
            return result
        given = text_input(position.step, text, services.kit.local_now())
        result = calls.phone_answer(uow, services.kit, staff, survey.id, given) if given is not None else _UNREAD
        uow.commit()
        return result

    # Every customer's typed text passes here first: off the event loop on PostgreSQL, as the chat's own work.
    outcome = await services.transact(work)
    if outcome is None:
        return False
    if outcome is _UNREAD:
        await message.reply_text(REJECTION_TEXT_ZH[RejectReason.WRONG_INPUT])
    elif outcome is _UNREAD_TIME:
        await message.reply_text(services.texts.message("call_time_unread", example_time=_example_time(context)))
    elif isinstance(outcome, RejectReason):
        await message.reply_text(REJECTION_TEXT_ZH[outcome])
    elif isinstance(outcome, tuple):
        await _send_booked(context, message.chat.id, outcome)
    elif not isinstance(outcome, Seen):
        await _after_phone_answer(update, context, outcome)  # type: ignore[arg-type]
    return True


class _NotStaff:
    """The sender of a staff button is not (or no longer) staff: they get one short line, nothing else."""


NOT_STAFF = _NotStaff()
_OFFER = object()  # 预约回访 on the specialist's own claimed call: show the times
_BOOKING = "booking_survey"  # chat_data key: the survey whose callback time the specialist is choosing
_UNREAD_TIME = object()  # a typed callback time that could not be read
_CHOICES = (NodeKind.SINGLE, NodeKind.MULTI, NodeKind.RATING)


def _fields(data: str, count: int) -> list[str] | None:
    """The ``:``-separated fields of callback data, if there are exactly ``count``."""
    parts = data.split(":")
    return parts if len(parts) == count else None


async def _refused_as_not_staff(update: Update, context: HuifangContext, result: object) -> bool:
    """Answer a non-staff sender of a staff button with the staff-only line; True if that was the case."""
    if not isinstance(result, _NotStaff):
        return False
    query = update.callback_query
    assert query is not None
    await query.answer(context.services.texts.message("staff_only"))
    return True


async def _quiet(message: object, **edit: object) -> None:
    """Edit an old message (its text, or else its keyboard); one that is gone or too old is left as it is."""
    if not isinstance(message, Message):
        return
    try:
        if "text" in edit:
            await message.edit_text(**edit)  # type: ignore[arg-type]
        else:
            await message.edit_reply_markup(**edit)  # type: ignore[arg-type]
    except BadRequest as exc:
        log.debug("edit skipped: %s", exc.message)


_UNREAD = object()  # the specialist's text could not be read for the question on screen
