"""The message that shows where a chat survey stands is recorded in the outbox with the answer, sent at once
by the handler, and marked sent so that nothing sends it again; an old button shows the current question
again when its delivery failed."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import OutboundMessage
from tests.e2e.harness import Harness

NEXT_MESSAGE = "chat-next:"  # the outbox key prefix of a chat survey's next message


def _next_messages(bot: Harness, survey_id: int) -> dict[str, str]:
    with bot.app.uow() as uow:
        rows = uow.session.execute(
            select(OutboundMessage.idempotency_key, OutboundMessage.status).where(
                OutboundMessage.idempotency_key.startswith(f"{NEXT_MESSAGE}{survey_id}:")
            )
        )
        return {key.removeprefix(f"{NEXT_MESSAGE}{survey_id}:"): status for key, status in rows}


async def _settled(bot: Harness, survey_id: int, count: int) -> dict[str, str]:
    for _ in range(100):
        rows = _next_messages(bot, survey_id)
        if len(rows) >= count and set(rows.values()) == {"sent"}:
            break
        await asyncio.sleep(0.05)
    return rows


async def test_consent_and_each_next_question_are_recorded_in_the_outbox_and_marked_sent_once_delivered(
    bot: Harness,
) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "王建国", "+8613800138000")
    bot.telegram.open_link(bot.user(601), token)
    consent = await bot.reply_to(601, 1)
    opening = await bot.tap(601, consent, "开始")
    q1 = await bot.tap(601, opening, "配合回访")

    rows = await _settled(bot, survey_id, 3)
    with bot.app.uow() as uow:
        waiting = uow.outbox.claimable(bot.app.clock.now(), bot.app.clock.now(), 10)

    assert q1.text.startswith("【第2/")
    assert rows == {"0:consent": "sent", "1:0": "sent", "1:1": "sent"}
    assert waiting == []  # the outbox sender has nothing to send again


async def test_an_old_button_shows_the_current_question_again_when_its_delivery_failed(bot: Harness) -> None:
    store = bot.store_with_staff()
    _, survey_id, token = bot.customer_with_survey(store, "赵丽", "+8613900139000", honorific="女士")
    bot.telegram.open_link(bot.user(602), token)
    consent = await bot.reply_to(602, 1)
    opening = await bot.tap(602, consent, "开始")
    old_refuse = dict(opening.buttons)["拒绝回访"]
    q1 = await bot.tap(602, opening, "配合回访")
    await _settled(bot, survey_id, 3)
    with bot.app.uow() as uow:  # as if its send had timed out: it may never have arrived
        found = uow.outbox.status_of(f"{NEXT_MESSAGE}{survey_id}:1:1")
        assert found is not None
        uow.outbox.finish(found[0], "failed", bot.app.clock.now(), "maybe sent; not repeated")
        uow.commit()
    sent = len(bot.telegram.chat(602))

    bot.telegram.press_data(bot.user(602), opening, old_refuse)  # a button of the question answered already
    again = await bot.reply_to(602, sent + 1)

    assert bot.telegram.callback_answers[-1]["text"] == "这个问题已经回答过了，请回答最新的问题。"
    assert again.text == q1.text and again.button_labels == q1.button_labels
    assert len(bot.telegram.chat(602)) == sent + 1
    assert (await _settled(bot, survey_id, 3))["1:1"] == "sent"
    assert bot.answers(survey_id) == [("opening", "agree", None, None)]
