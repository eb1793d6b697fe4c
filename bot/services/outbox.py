"""Sending what the outbox holds, exactly once per idempotency key, through a channel's Sender.

Messages are claimed in the database before sending (two processes never send the same one); a message
whose claim went stale (its process died before sending) is claimed again and sent. A send that timed
out (or got a server error) may have been delivered, so it is not repeated; a send that never left
(no connection) is retried later; one the channel refused as it is fails at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.domain.clock import Clock
from bot.domain.lifecycle import OutboxStatus
from bot.texts import Texts

log = logging.getLogger(__name__)


class Unreachable(Exception):
    """The recipient blocked us (403): never try this chat again."""


class TryLater(Exception):
    """Not sent (network error before delivery): try again later."""


class MaybeSent(Exception):
    """The request timed out after it was sent: it may have arrived, so it must not be sent again."""


class Refused(Exception):
    """The channel refused this message as it is (Telegram's 400): sending it again would not help."""


class Sender(Protocol):
    """A channel that delivers one rendered message: ``{"text", "buttons"?, "photo"?}``."""

    async def send(self, recipient: str, message: dict[str, Any]) -> None: ...


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retry: int = 0
    cancelled: int = 0


def render(texts: Texts, payload: dict[str, Any]) -> dict[str, Any]:
    """The message to send: payloads hold ready text, or a template name and its context."""
    if "template" in payload:
        return {**payload, "text": texts.message(payload["template"], **payload.get("context", {}))}
    return payload


def settle(uow: Any, message_id: int, outcome: str, clock: Clock, error: str | None = None) -> None:
    """Record how a message its caller claimed and sent itself went: "sent", "failed" (it may have arrived:
    never repeated) or "pending" (it never left: the background sender tries again)."""
    uow.outbox.finish(message_id, outcome, clock.now(), error)


def release_stranded(uow_factory: Any, key_prefix: str, clock: Clock) -> int:
    """After a restart: messages under ``key_prefix`` that a dead process claimed to send itself go back to
    the sender (they were recorded, perhaps not sent), committed. How many."""
    with uow_factory() as uow:
        released = int(uow.outbox.release_claims(key_prefix, clock.now()))
        uow.commit()
    return released


async def send_outbox(
    uow_factory: Any,
    sender: Sender,
    texts: Texts,
    clock: Clock,
    *,
    claim_timeout: timedelta = timedelta(minutes=5),
    batch: int = 200,
    max_attempts: int = 5,
    channel: str = "telegram",
) -> SendReport:
    """Send every pending message of ``channel`` (and every one a crashed sender left claimed)."""
    report = SendReport()
    while True:
        now = clock.now()
        stale = now - claim_timeout
        with uow_factory() as uow:
            uow.serialise("outbox_claim")  # two senders claim one after the other, each a different batch
            claimed = [m for m in uow.outbox.claimable(now, stale, batch, channel) if uow.outbox.claim(m, now, stale)]
            uow.commit()
        if not claimed:
            return report
        for message_id in claimed:
            await _deliver(uow_factory, sender, texts, clock, message_id, max_attempts, report)


async def _deliver(
    uow_factory: Any, sender: Sender, texts: Texts, clock: Clock, message_id: int, max_attempts: int, report: SendReport
) -> None:
    with uow_factory() as uow:
        message = uow.outbox.get(message_id)
        assert message is not None
        recipient, payload, attempts = message.recipient, dict(message.payload), message.attempts
        customer_id = payload.get("customer_id")
        customer = uow.people.get(customer_id) if customer_id else None
        # Consent is checked again at send time: an opt-out between queueing and sending wins (a chat that
        # blocked the bot stops chat messages only).
        blocked_chat = message.channel == "telegram" and customer is not None and customer.chat_unreachable_at
        if customer is not None and (customer.opted_out_at is not None or blocked_chat):
            uow.outbox.finish(message_id, OutboxStatus.CANCELLED, clock.now(), "opted out or unreachable")
            uow.commit()
            report.cancelled += 1
            return
    outcome, error = OutboxStatus.SENT, None
    try:
        await sender.send(recipient, render(texts, payload))
    except Unreachable:
        outcome, error = OutboxStatus.FAILED, "blocked by the recipient"
    except MaybeSent:
        outcome, error = OutboxStatus.FAILED, "timed out after sending; not repeated"
    except Refused as exc:
        outcome, error = OutboxStatus.FAILED, f"refused: {exc}"[:200]
    except TryLater as exc:
        outcome, error = (
            (OutboxStatus.FAILED if attempts >= max_attempts else OutboxStatus.PENDING),
            f"network: {type(exc.__cause__).__name__}",
        )
    with uow_factory() as uow:
        uow.outbox.finish(message_id, outcome, clock.now(), error)
        if error == "blocked by the recipient" and customer_id:
            customer = uow.people.get(customer_id)
            if customer is not None:
                customer.chat_unreachable_at = clock.now()
        uow.commit()
    if outcome is OutboxStatus.SENT:
        report.sent += 1
    elif outcome is OutboxStatus.PENDING:
        report.retry += 1
    else:
        report.failed += 1
        log.info("outbox message %s not delivered: %s", message_id, error)
