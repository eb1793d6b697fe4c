"""Erasing one customer's personal data from every table (PIPL's right to deletion), in the caller's transaction.

What identifies the person goes: name, phone, honorific, Telegram chat, VIN and plate, free text (answers,
stated reasons, call and task notes), engine states (they hold the name and typed answers), outbox payloads
and Telegram updates that name them, web and deep links. What the tallies count stays, anonymised: the
customer row (its status, region, industry, tier and scores), surveys with their coded answers, contact
attempts with their dispositions, tasks and consent records.

Outbox payloads and stored updates are JSON; they are matched in Python (the name, the phone in both forms,
the chat id), in batches, because a JSON column's text differs between SQLite and PostgreSQL and escapes
Chinese. Erasure is rare; a pass over a large outbox takes seconds, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    ContactAttempt,
    Customer,
    InboundUpdate,
    LeadEvent,
    LinkToken,
    OutboundMessage,
    Survey,
    Task,
    Vehicle,
    WebLink,
)

ERASED_PHONE = "erased:{id}"  # unique per customer (the store's phones are unique) and never a real number
ERASED_RECIPIENT = "erased"


def _mentions(text: str, needles: Iterable[str]) -> bool:
    return any(n and n in text for n in needles)


def erase_customer(session: Session, customer: Customer, placeholder_name: str, now: datetime) -> dict[str, int]:
    """Remove ``customer``'s personal data everywhere (the caller commits); rows touched per table."""
    phone = customer.phone
    needles = [customer.name, phone, phone.removeprefix("+86")]
    if customer.telegram_chat_id is not None:
        needles.append(str(customer.telegram_chat_id))
    survey_ids = list(session.scalars(select(Survey.id).where(Survey.customer_id == customer.id)))
    rows: dict[str, int] = {}

    def count(table: str, result: object) -> None:
        rows[table] = rows.get(table, 0) + int(getattr(result, "rowcount", 0) or 0)

    customer.name = placeholder_name
    customer.honorific = None
    customer.phone = ERASED_PHONE.format(id=customer.id)
    customer.telegram_chat_id = None
    customer.opted_out_at = customer.opted_out_at or now  # never contacted again
    customer.updated_at = now
    rows["customer"] = 1
    count(
        "vehicle",
        session.execute(
            update(Vehicle).where(Vehicle.customer_id == customer.id).values(vin=None, plate=None, updated_at=now)
        ),
    )
    count(
        "lead_event",
        session.execute(update(LeadEvent).where(LeadEvent.customer_id == customer.id).values(stated_reason=None)),
    )
    count("task", session.execute(update(Task).where(Task.customer_id == customer.id).values(note=None)))
    count(
        "link_token",
        session.execute(delete(LinkToken).where(LinkToken.subject == "customer", LinkToken.subject_id == customer.id)),
    )
    if survey_ids:
        count("survey", session.execute(update(Survey).where(Survey.id.in_(survey_ids)).values(state=None)))
        count(
            "answer",
            session.execute(
                update(Answer)
                .where(Answer.survey_id.in_(survey_ids), Answer.free_text.is_not(None))
                .values(free_text=None)
            ),
        )
        count(
            "contact_attempt",
            session.execute(
                update(ContactAttempt)
                .where(ContactAttempt.survey_id.in_(survey_ids), ContactAttempt.note.is_not(None))
                .values(note=None)
            ),
        )
        count("web_link", session.execute(delete(WebLink).where(WebLink.survey_id.in_(survey_ids))))
    # Messages to or about the customer (a consultant's task card names them too), read as plain rows in batches.
    hits: list[tuple[int, bool]] = []
    listing = select(OutboundMessage.id, OutboundMessage.recipient, OutboundMessage.payload)
    for message_id, recipient, payload in session.execute(listing.execution_options(yield_per=1000)):
        if recipient in needles or _mentions(json.dumps(payload, ensure_ascii=False), needles):
            hits.append((message_id, recipient in needles))
    for message_id, to_them in hits:
        values: dict[str, object] = {"payload": {"erased": True}}
        if to_them:
            values["recipient"] = ERASED_RECIPIENT
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(**values))
    if hits:
        rows["outbound_message"] = len(hits)
    stale = [u.update_id for u in session.scalars(select(InboundUpdate)) if _mentions(u.payload, needles)]
    if stale:
        count("inbound_update", session.execute(delete(InboundUpdate).where(InboundUpdate.update_id.in_(stale))))
    return {table: n for table, n in rows.items() if n}
