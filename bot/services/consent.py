"""Use cases: keep every consent and opt-out as it happened, and list them for a customer.

A record says when, in which channel, through what (``source``: the button, the SMS reply, the call result)
and in what words (``wording``: what the customer sent, or which text they answered). Records are only
added, never changed; China's draft rules on marketing calls and SMS ask senders to keep them at least
5 months, and an erasure keeps them (they hold no name or number) so the opt-out stays provable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.models import ConsentRecord
from storage.unit_of_work import SqlUnitOfWork


class ConsentAction(StrEnum):
    CONSENT = "consent"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class ConsentEntry:
    recorded_at: datetime
    channel: str
    action: ConsentAction
    source: str
    wording: str


def record(
    uow: SqlUnitOfWork,
    customer_id: int,
    *,
    channel: str,
    action: ConsentAction,
    source: str,
    wording: str | None,
    now: datetime,
) -> None:
    """Keep one consent or opt-out (the caller commits, with the change it records)."""
    uow.consents.add(
        ConsentRecord(
            customer_id=customer_id,
            channel=channel,
            action=action.value,
            source=source,
            wording=(wording or "")[:500] or None,
            recorded_at=now,
        )
    )


def history(uow: SqlUnitOfWork, customer_id: int) -> list[ConsentEntry]:
    """A customer's consents and opt-outs, oldest first."""
    return [
        ConsentEntry(r.recorded_at, r.channel, ConsentAction(r.action), r.source, r.wording or "")
        for r in uow.consents.for_customer(customer_id)
    ]
