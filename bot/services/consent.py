"""Use cases: keep every consent and opt-out as it happened, and list them for a customer.

A record says when, in which channel, through what (``source``: the button, the SMS reply, the call result)
and in what words (``wording``: what the customer sent, or which text they answered). Records are only
added, never changed; China's draft rules on marketing calls and SMS ask senders to keep them at least
5 months, and an erasure keeps them (they hold no name or number) so the opt-out stays provable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.domain.phone import mask
from bot.rendering import SCRIPTS_DIR, render_string
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


@dataclass(frozen=True)
class ConsentReport:
    """What `huifang report --consent CUSTOMER` shows: who (masked), every record, and any erasure."""

    customer_id: int
    name: str
    masked_phone: str
    entries: list[ConsentEntry]
    erased_at: list[datetime]


@cache
def labels() -> dict[str, Any]:
    """The Chinese texts of consent records and erasure (``scripts_zh/consent/labels.yaml``)."""
    return dict(yaml.safe_load((SCRIPTS_DIR / "consent" / "labels.yaml").read_text(encoding="utf-8")))


def consent_report(uow_factory: Callable[[], SqlUnitOfWork], ref: str, region: str) -> ConsentReport:
    """A customer's consent records (``ref``: a customer id or a phone number); CustomerNotFound if none."""
    from bot.services.erasure import find_customer

    with uow_factory() as uow:
        customer = find_customer(uow, ref, region)
        erased = uow.consents.erasures(customer.id)
        phone = "" if erased else mask(customer.phone)
        return ConsentReport(customer.id, customer.name, phone, history(uow, customer.id), erased)


def render_table(report: ConsentReport, tz: ZoneInfo) -> str:
    """The report as a plain-text table in the store's time zone (what staff read)."""
    text = labels()
    who = {"name": report.name, "phone": report.masked_phone, "id": report.customer_id}
    lines = [render_string(text["title"], who)]
    lines.append("\t".join(text["headers"]))
    for e in report.entries:
        lines.append(
            "\t".join(
                (
                    f"{e.recorded_at.astimezone(tz):%Y-%m-%d %H:%M}",
                    text["channels"].get(e.channel, e.channel),
                    text["actions"].get(e.action.value, e.action.value),
                    text["sources"].get(e.source, e.source),
                    e.wording,
                )
            )
        )
    if not report.entries:
        lines.append(text["empty"])
    for moment in report.erased_at:
        lines.append(render_string(text["erased_note"], {"when": f"{moment.astimezone(tz):%Y-%m-%d %H:%M}"}))
    return "\n".join(lines)
