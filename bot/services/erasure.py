"""Use case: `huifang erase CUSTOMER`, PIPL's right to deletion.

The customer's personal data is removed from every table (``storage/queries/erasure.py`` lists what goes and
what stays); every active survey ends first as an opt-out (so no job contacts them again, and the consent
record says why); the coded answers stay, anonymised, so the tallies do not change; an ``erasure_record``
keeps that it happened, when, and how many rows were touched, never what they held. One transaction: an
erasure that fails half-way leaves nothing half-erased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.clock import Clock
from bot.domain.phone import InvalidPhone, normalise
from bot.services.survey_status import opt_out_everywhere
from storage.models import Customer, ErasureRecord
from storage.queries.erasure import erase_customer
from storage.unit_of_work import SqlUnitOfWork

ADMIN = "admin"  # the channel an erasure is recorded in (staff at the command line)


class CustomerNotFound(LookupError):
    """No customer, or more than one, matches what was typed."""


@dataclass(frozen=True)
class Erased:
    customer_id: int
    erased_at: datetime
    rows: dict[str, int]


def find_customer(uow: SqlUnitOfWork, ref: str, region: str) -> Customer:
    """The customer ``ref`` names: a customer id, or a phone number that belongs to exactly one customer."""
    found = uow.people.get(int(ref)) if ref.isdigit() and len(ref) < 9 else None
    if found is None:
        try:
            matches = uow.people.by_phone(normalise(ref, region))
        except InvalidPhone:
            matches = []
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise CustomerNotFound(ref)
    return found


def erase(
    uow_factory: Callable[[], SqlUnitOfWork], ref: str, region: str, clock: Clock, placeholder_name: str
) -> Erased:
    """Erase the customer ``ref`` names; committed. CustomerNotFound if none (or several) match."""
    with uow_factory() as uow:
        customer = find_customer(uow, ref, region)
        now = clock.now()
        opt_out_everywhere(uow, customer.id, channel=ADMIN, now=now, source="erasure")
        uow.flush()
        rows = erase_customer(uow.session, customer, placeholder_name, now)
        uow.session.add(ErasureRecord(customer_id=customer.id, erased_at=now, rows=rows))
        uow.commit()
        return Erased(customer.id, now, rows)
