"""Thin handlers: pull data out of the update, call one service in one unit of work, render, reply.

Every handler that changes something claims the update id in the same transaction (``first_time``),
so an update Telegram delivers twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from telegram import BotCommandScopeChat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.domain.engine import Rejection, RejectReason
from bot.domain.lifecycle import OutboxStatus
from bot.domain.links import LinkProblem
from bot.domain.presentation import REJECTION_TEXT_ZH
from bot.services import chat, outbox, staff_desk, weekly
from bot.services.chat import AlreadyStarted, Behind, Bound, NoSurvey, NothingToAnswer, NotTaken, Refused
from bot.services.surveys import Accepted, Position
from bot.telegram.context import ChatServices, HuifangContext, Seen
from bot.telegram.transport import NotSent
from bot.telegram.views import (
    CONSENT_LATER,
    CONSENT_START,
    CONSENT_STOP,
    button_rows,
    command_menu,
    consent_keyboard,
    question_message,
    task_message,
)

if TYPE_CHECKING:
    from storage.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


def _ids(update: Update) -> tuple[int, int]:
    assert update.effective_user is not None and update.effective_chat is not None
    return update.effective_user.id, update.effective_chat.id


async def start(update: Update, context: HuifangContext) -> None:
    """/start [token]: bind through a deep link, or greet again."""
    services = context.services
    texts = services.texts
    user_id, chat_id = _ids(update)
    message = update.effective_message
    assert message is not None
    token = context.args[0] if context.args else None

    def bind(uow: SqlUnitOfWork) -> tuple[Bound | Refused | Position, bool, _Next | None]:
        result: Bound | Refused | Position
        if token:
            result = chat.open_link(uow, services.kit, services.link_secret, token, user_id, chat_id)
        else:
            staff = staff_desk.staff_member(uow, user_id)
            if staff is not None:
                result = Bound(chat.LinkResult.STAFF, staff.name, uow.people.store_name(staff.store_id))
            else:
                result = chat.greet_again(uow, services.kit, chat_id) or Refused(LinkProblem.MALFORMED)
        manager = False
        if isinstance(result, Bound) and result.kind is chat.LinkResult.STAFF:
            staff = staff_desk.staff_member(uow, user_id)
            manager = staff is not None and staff_desk.is_manager(staff)
        consent = None
        if token and isinstance(result, Bound) and result.kind is chat.LinkResult.CUSTOMER:
            consent = _record_consent(uow, context, chat_id, result)
        return result, manager, consent

    outcome = await services.once(update.update_id, bind)
    if isinstance(outcome, Seen):
        return
    result, manager, consent = outcome
    if isinstance(result, Position):  # a survey runs in this chat: its current question again
        await _show(context, chat_id, result)
    elif isinstance(result, Refused):
        name = "link_refused" if token else "unknown_user"
        await message.reply_text(texts.message(name, problem=result.problem.value))
    elif result.kind is chat.LinkResult.STAFF:
        await message.reply_text(
            texts.message("staff_bound", name=result.name, store_name=result.store_name, manager=manager)
        )
        try:  # the staff menu in this chat only; a failure here must not undo the binding
            await context.bot.set_my_commands(command_menu(texts, manager), scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:
            log.info("staff command menu not set: %s", type(exc).__name__)
    elif consent is not None:
        await _deliver(context, chat_id, consent)
    else:
        await _ask_consent(context, chat_id, result)


def _consent_text(context: HuifangContext, bound: Bound) -> str:
    texts = context.services.texts
    return texts.message(
        "consent",
        title=bound.title,
        store_name=bound.store_name,
        purpose=bound.purpose,
        purpose_text=texts.purpose(bound.purpose),
        minutes=2,
    )


def _record_consent(uow: SqlUnitOfWork, context: HuifangContext, chat_id: int, bound: Bound) -> _Next | None:
    """The consent question after a link binds a customer, recorded with the binding (see ``_record_next``)."""
    if bound.survey_id is None:
        return None
    services = context.services
    text, markup = _consent_text(context, bound), consent_keyboard(services.texts)
    payload = {"text": text, "buttons": button_rows(markup)}
    return _Next(text, markup, chat.record_next(uow, services.kit, bound.survey_id, chat_id, payload, consent=True))


async def _ask_consent(context: HuifangContext, chat_id: int, bound: Bound) -> None:
    await _send(context, chat_id, _consent_text(context, bound), consent_keyboard(context.services.texts))


async def consent_choice(update: Update, context: HuifangContext) -> None:
    """开始 / 稍后 / 退订 under the consent message."""
    services = context.services
    query = update.callback_query
    assert query is not None
    _user_id, chat_id = _ids(update)

    def choose(uow: SqlUnitOfWork) -> tuple[object, _Next | None]:
        if query.data == CONSENT_START:
            started = chat.consent(uow, services.kit, chat_id, _specialist_name(uow, chat_id))
            return started, _record_next(uow, context, chat_id, started)
        if query.data == CONSENT_LATER:
            return chat.postpone(uow, services.kit, chat_id), None
        return chat.opt_out(uow, services.kit, chat_id), None

    outcome = await services.once(update.update_id, choose)
    if isinstance(outcome, Seen):
        return
    result, first = outcome
    texts = services.texts
    if isinstance(result, AlreadyStarted):
        await asyncio.gather(query.answer(texts.message("survey_already_started")), _remove_keyboard(query.message))
        return
    await query.answer()
    if query.data == CONSENT_STOP:
        await _edit(query.message, texts.message("opted_out"))
    elif query.data == CONSENT_LATER:
        await _edit(query.message, texts.message("consent_later"), consent_keyboard(texts))
    elif isinstance(result, NothingToAnswer):
        await _edit(query.message, texts.message("nothing_to_answer"))
    elif isinstance(result, Position) and first is not None:
        await _remove_keyboard(query.message)
        await _deliver(context, chat_id, first)


async def survey_tap(update: Update, context: HuifangContext) -> None:
    """A button under a question: choose, toggle, confirm, rate or pick a callback time."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None
    _user_id, chat_id = _ids(update)
    data = query.data

    def apply(uow: SqlUnitOfWork) -> tuple[object, _Next | None]:
        result = chat.tap(uow, services.kit, chat_id, data)
        return result, _record_next(uow, context, chat_id, result)

    outcome = await services.once(update.update_id, apply)
    if isinstance(outcome, Seen):
        return
    result, following = outcome
    texts = services.texts
    if isinstance(result, Behind):  # an old button: say so, and show the current question if it may be missing
        note = query.answer(REJECTION_TEXT_ZH[RejectReason.STALE_QUESTION])
        if result.resend:
            await asyncio.gather(note, _show(context, chat_id, result.position, result.message_id))
        else:
            await note
    elif isinstance(result, Rejection):
        await query.answer(REJECTION_TEXT_ZH[result.reason])
    elif isinstance(result, NotTaken):  # a time that has passed: the same question with times still ahead
        _text, markup = question_message(texts, result.position, services.kit)
        await asyncio.gather(query.answer(REJECTION_TEXT_ZH[result.reason]), _redraw(query.message, markup))
    elif isinstance(result, NoSurvey):
        await query.answer(texts.message("survey_closed"))
    elif isinstance(result, Accepted):
        await _after_answer(context, chat_id, query.message, result, following, query.answer())


async def text_message(update: Update, context: HuifangContext) -> None:
    """Typed text: opt-out words, free-text answers, typed callback times, typed option numbers."""
    services = context.services
    texts = services.texts
    message = update.effective_message
    assert message is not None and message.text is not None
    _user_id, chat_id = _ids(update)
    if message.text.strip().lower() in texts.opt_out_words:
        await stop(update, context)
        return
    from bot.telegram.phone_handlers import staff_text

    if await staff_text(update, context):
        return
    text = message.text

    def apply(uow: SqlUnitOfWork) -> tuple[object, _Next | None]:
        result = chat.answer_typed(uow, services.kit, chat_id, text)
        return result, _record_next(uow, context, chat_id, result)

    outcome = await services.once(update.update_id, apply)
    if isinstance(outcome, Seen):
        return
    result, following = outcome
    if isinstance(result, Bound):  # a survey waits for 开始: show the consent screen again
        await _ask_consent(context, chat_id, result)
    elif isinstance(result, NoSurvey):
        await message.reply_text(texts.message("no_survey_running"))
    elif isinstance(result, NotTaken) and not result.understood:
        await message.reply_text(texts.message("not_understood", hint=REJECTION_TEXT_ZH[RejectReason.WRONG_INPUT]))
    elif isinstance(result, NotTaken) and result.reason is RejectReason.TEXT_TOO_LONG:
        limit = result.position.step.max_length or 0
        await message.reply_text(texts.message("text_too_long", length=len(message.text.strip()), limit=limit))
    elif isinstance(result, NotTaken):
        await message.reply_text(REJECTION_TEXT_ZH[result.reason])
    elif isinstance(result, Accepted):
        await _after_answer(context, chat_id, None, result, following)


async def stop(update: Update, context: HuifangContext) -> None:
    """/stop or 退订: opt out for good."""
    services = context.services
    message = update.effective_message
    assert message is not None
    _user_id, chat_id = _ids(update)
    known = await services.once(update.update_id, lambda uow: chat.opt_out(uow, services.kit, chat_id))
    if isinstance(known, Seen):
        return
    await message.reply_text(services.texts.message("opted_out" if known else "unknown_user"))


async def help_command(update: Update, context: HuifangContext) -> None:
    services = context.services
    message = update.effective_message
    assert message is not None
    _user_id, chat_id = _ids(update)

    def look_up(uow: SqlUnitOfWork) -> tuple[str, str]:
        customer = uow.people.by_chat(chat_id)
        store_name = uow.people.store_name(customer.store_id) if customer else ""
        consultant = uow.people.staff(customer.owner_staff_id) if customer else None
        return store_name, consultant.name if consultant else ""

    store_name, consultant_name = await services.transact(look_up, read_only=True)
    await message.reply_text(services.texts.message("help", store_name=store_name, consultant_name=consultant_name))


async def tasks_command(update: Update, context: HuifangContext) -> None:
    """/tasks: my open tasks, each with 完成 / 推迟."""
    services = context.services
    message = update.effective_message
    assert message is not None
    user_id, chat_id = _ids(update)

    def look_up(uow: SqlUnitOfWork) -> tuple[object, list[staff_desk.TaskCard]]:
        staff = staff_desk.staff_member(uow, user_id)
        return staff, staff_desk.open_tasks(uow, staff, services.container.clock) if staff else []

    staff, cards = await services.transact(look_up, read_only=True)
    if staff is None:
        await message.reply_text(services.texts.message("staff_only"))
        return
    if not cards:
        await message.reply_text(services.texts.message("tasks_empty"))
    for card in cards:
        text, buttons = task_message(services.texts, card, services.tz)
        await _send(context, chat_id, text, buttons)


async def today_command(update: Update, context: HuifangContext) -> None:
    services = context.services
    message = update.effective_message
    assert message is not None
    user_id, _chat_id = _ids(update)
    clock = services.container.clock
    local = clock.now().astimezone(services.tz)
    end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=services.tz)

    def look_up(uow: SqlUnitOfWork) -> staff_desk.Today | None:
        staff = staff_desk.staff_member(uow, user_id)
        return staff_desk.today(uow, staff, clock, end) if staff else None

    summary = await services.transact(look_up, read_only=True)
    if summary is None:
        await message.reply_text(services.texts.message("staff_only"))
        return
    await message.reply_text(
        services.texts.message("today", date=local.strftime("%m-%d"), tasks=summary.tasks, overdue=summary.overdue)
    )


async def stats_command(update: Update, context: HuifangContext) -> None:
    """/stats (managers): this week so far, in the shape of the Monday summary."""
    services = context.services
    message = update.effective_message
    assert message is not None
    user_id, _chat_id = _ids(update)

    def look_up(uow: SqlUnitOfWork) -> tuple[bool, bool]:
        staff = staff_desk.staff_member(uow, user_id)
        return staff is not None, staff is not None and staff_desk.is_manager(staff)

    is_staff, manager = await services.transact(look_up, read_only=True)
    if not manager:
        await message.reply_text(services.texts.message("managers_only" if is_staff else "staff_only"))
        return
    container = services.container
    today = services.kit.local_now().date()
    # A report reads a week of answers: in a thread, so customers' taps are not held up meanwhile.
    text = await asyncio.to_thread(
        weekly.this_week_text,
        container.read_uow,
        services.texts,
        container.report_settings(),
        container.clock,
        today,
        services.kit.unconfigured_modes(),
    )
    await message.reply_text(text)


async def task_tap(update: Update, context: HuifangContext) -> None:
    """完成 / 推迟 under a task card."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.data is not None
    user_id, _chat_id = _ids(update)
    _, action, raw_id = query.data.split(":")

    def finish(uow: SqlUnitOfWork) -> tuple[bool, staff_desk.TaskCard | None]:
        staff = staff_desk.staff_member(uow, user_id)
        if staff is None:
            return False, None
        done = staff_desk.finish_task if action == "done" else staff_desk.postpone_task
        return True, done(uow, staff, int(raw_id), services.container.clock)

    outcome = await services.once(update.update_id, finish)
    if isinstance(outcome, Seen):
        return
    is_staff, card = outcome
    texts = services.texts
    if not is_staff:
        await query.answer(texts.message("staff_only"))
        return
    await query.answer()
    if card is not None:
        name = "task_done" if action == "done" else "task_postponed"
        text = texts.message(
            name,
            kind_label=texts.task_kind(card.kind),
            customer_title=card.customer_title,
            due=card.due_at.astimezone(services.tz).strftime("%m-%d %H:%M"),
        )
        await _edit(query.message, text)


# ------------------------------------------------------------------------------------------------- helpers


def _specialist_name(uow: SqlUnitOfWork, chat_id: int) -> str:
    """Who the chat speaks as: the store's customer-service specialist, if it has one."""
    customer = uow.people.by_chat(chat_id)
    specialist = uow.colleagues.least_busy(customer.store_id, "cs_specialist") if customer else None
    return specialist.name if specialist else "客服"


@dataclass(frozen=True)
class _Next:
    """The message showing where a survey now stands, rendered and recorded in the answer's unit of work."""

    text: str
    markup: InlineKeyboardMarkup | None
    message_id: int | None  # its outbox row (None: recorded before, shown again without a record)


def _record_next(uow: SqlUnitOfWork, context: HuifangContext, chat_id: int, result: object) -> _Next | None:
    """If ``result`` moved the survey on, record its next message in the outbox (same transaction as the
    answer), so a crash before it is sent cannot strand the customer: `huifang run` sends it on start-up."""
    if isinstance(result, Accepted) and result.moved:
        position = result.position
    elif isinstance(result, Position):
        position = result
    else:
        return None
    services = context.services
    text, markup = question_message(services.texts, position, services.kit)
    payload = {"text": text, "buttons": button_rows(markup)}
    return _Next(text, markup, chat.record_next(uow, services.kit, position.survey_id, chat_id, payload))


async def _after_answer(
    context: HuifangContext,
    chat_id: int,
    old: object,
    result: Accepted,
    following: _Next | None,
    acknowledge: Awaitable[object] | None = None,
) -> None:
    """Acknowledge the tap, mark the answered question and send the next one, all at once (one round trip)."""
    services = context.services
    position = result.position
    calls: list[Awaitable[object]] = [acknowledge] if acknowledge is not None else []
    if not result.moved:  # a toggle in a multiple choice: redraw the keyboard only
        _text, markup = question_message(services.texts, position, services.kit)
        if isinstance(old, Message):
            calls.append(_quiet(old.edit_reply_markup(reply_markup=markup)))
        await asyncio.gather(*calls)
        return
    if isinstance(old, Message) and old.text:
        answered = services.texts.message("answered", text=old.text, label=result.answered_label)
        calls.append(_quiet(old.edit_text(answered)))
    if following is not None:
        calls.append(_deliver(context, chat_id, following))
    await asyncio.gather(*calls)


async def _deliver(context: HuifangContext, chat_id: int, following: _Next) -> None:
    await _send(context, chat_id, following.text, following.markup, following.message_id)


async def _show(context: HuifangContext, chat_id: int, position: Position, message_id: int | None = None) -> None:
    services = context.services
    text, markup = question_message(services.texts, position, services.kit)
    await _send(context, chat_id, text, markup, message_id)


async def _send(
    context: HuifangContext, chat_id: int, text: str, markup: object = None, message_id: int | None = None
) -> None:
    """Send, and remember a customer who blocked the bot so nothing more is sent to them.

    ``message_id``: the outbox row this message was recorded as (claimed by this process). Right after
    Telegram accepts it, it is marked sent, so nothing sends it again; one that never left goes back to the
    outbox sender; one that may have arrived (timed out) is marked failed and never repeated.
    """
    services = context.services
    clock = services.container.clock
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)  # type: ignore[arg-type]
    except Forbidden:

        def mark(uow: SqlUnitOfWork) -> None:
            chat.mark_unreachable(uow, services.kit, chat_id)
            if message_id is not None:
                outbox.settle(uow, message_id, OutboxStatus.FAILED, clock, "blocked by the recipient")
            uow.commit()

        await services.transact(mark)
        log.info("chat %s blocked the bot; marked unreachable", "customer")
        return
    except NetworkError as exc:
        if message_id is not None:
            not_sent = isinstance(exc, NotSent)
            outcome = OutboxStatus.PENDING if not_sent else OutboxStatus.FAILED
            error = None if not_sent else "maybe sent; not repeated"
            await _settle(services, message_id, outcome, error)
        raise
    except BadRequest as exc:
        if message_id is not None:
            await _settle(services, message_id, OutboxStatus.FAILED, f"refused: {exc.message}"[:200])
        raise
    if message_id is not None:
        await _settle(services, message_id, OutboxStatus.SENT, None)


async def _settle(services: ChatServices, message_id: int, outcome: str, error: str | None) -> None:
    def record(uow: SqlUnitOfWork) -> None:
        outbox.settle(uow, message_id, outcome, services.container.clock, error)
        uow.commit()

    await services.transact_promptly(record)


async def _edit(message: object, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(message, Message):
        await _quiet(message.edit_text(text, reply_markup=markup))


async def _redraw(message: object, markup: InlineKeyboardMarkup | None) -> None:
    if isinstance(message, Message):
        await _quiet(message.edit_reply_markup(reply_markup=markup))


async def _remove_keyboard(message: object) -> None:
    if isinstance(message, Message):
        await _quiet(message.edit_reply_markup(reply_markup=None))


async def _quiet(call: object) -> None:
    """Edits of old messages are cosmetic: a message too old to edit must not fail the answer."""
    try:
        await call  # type: ignore[misc]
    except BadRequest as exc:
        log.debug("edit skipped: %s", exc.message)
