"""Lapsed service customers: vehicles by lapse stage and by region, model or age band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import (
    Customer,
    Vehicle,
)
from storage.queries.reports.common import OWNER_STATUSES

# --------------------------------------------------------------------------------------------------------------
# Lapsed service customers


@dataclass(frozen=True)
class LapseCount:
    value: str
    stage: str
    count: int


def lapse_counts(
    session: Session,
    dimension: str,
    cutoffs: dict[str, date],
    age_bands: Sequence[tuple[str, date | None, date | None]] = (),
) -> list[LapseCount]:
    """Owners' vehicles by lapse stage (from the last workshop visit: the car's, else the customer's) and by
    ``dimension``: 'stage' (none), 'region', 'model' or 'age' (bands of (key, delivered after, on or before)).

    ``cutoffs`` maps stage code → the latest last-visit date that is at least that stage."""
    last_visit = func.coalesce(Vehicle.last_service_date, Customer.last_visit_date)
    stage = case(
        (last_visit <= cutoffs["fully_lapsed"], literal("fully_lapsed")),
        (last_visit <= cutoffs["lapsed"], literal("lapsed")),
        else_=literal("pre_lapsed"),
    )
    if dimension == "stage":
        value: ColumnElement[Any] | InstrumentedAttribute[str | None] = literal("")
    elif dimension == "region":
        value = Customer.region
    elif dimension == "model":
        value = Vehicle.model
    elif dimension == "age":
        delivered = func.coalesce(Vehicle.delivery_date, Vehicle.purchase_date)
        whens = []
        for key, after, until in age_bands:
            conditions = [delivered <= until] if until is not None else []
            if after is not None:
                conditions.append(delivered > after)
            whens.append((and_(*conditions), literal(key)))
        value = case(*whens, else_=literal("")) if whens else literal("")
    else:
        raise ValueError(f"unknown lapse dimension {dimension!r}")
    inner = (
        select(value.label("value"), stage.label("stage"))
        .select_from(Vehicle)
        .join(Customer, Customer.id == Vehicle.customer_id)
        .where(Customer.status.in_(OWNER_STATUSES), last_visit <= cutoffs["pre_lapsed"])
        .subquery()
    )
    query = select(inner.c.value, inner.c.stage, func.count()).group_by(inner.c.value, inner.c.stage)
    return [LapseCount(v or "", s, int(n)) for v, s, n in session.execute(query)]
