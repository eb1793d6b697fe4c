"""Owners (基盘客户): tiers, concentration by region and industry, referrals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Customer,
    Vehicle,
)
from storage.queries.reports.common import OWNER_STATUSES

# --------------------------------------------------------------------------------------------------------------
# Owners: tiers, concentration, referrals


@dataclass(frozen=True)
class TierRule:
    """Thresholds of ``bot.domain.statistics.tier_from_scores`` (the SQL below mirrors it)."""

    premium_loyalty: int
    premium_economic: int
    potential_loyalty: int
    potential_economic: int


def tier_expression(rule: TierRule) -> ColumnElement[str]:
    """Tier code from the two scores; the stored tier when unscored; 'unrated' when neither."""
    loyalty, economic = Customer.loyalty_score, Customer.economic_score
    scored = case(
        (and_(loyalty >= rule.premium_loyalty, economic >= rule.premium_economic), literal("premium")),
        (or_(loyalty >= rule.potential_loyalty, economic >= rule.potential_economic), literal("potential")),
        else_=literal("ordinary"),
    )
    return case(
        (and_(loyalty.is_not(None), economic.is_not(None)), scored),
        else_=func.coalesce(Customer.tier, "unrated"),
    )


@dataclass(frozen=True)
class TierSummary:
    tier: str
    customers: int
    loyalty_sum: int
    loyalty_n: int
    economic_sum: int
    economic_n: int


def tier_summary(session: Session, rule: TierRule) -> list[TierSummary]:
    """Owners per tier with the sums behind their average scores."""
    tier = tier_expression(rule).label("tier")
    inner = (
        select(tier, Customer.loyalty_score, Customer.economic_score)
        .where(Customer.status.in_(OWNER_STATUSES))
        .subquery()
    )
    query = select(
        inner.c.tier,
        func.count(),
        func.coalesce(func.sum(inner.c.loyalty_score), 0),
        func.count(inner.c.loyalty_score),
        func.coalesce(func.sum(inner.c.economic_score), 0),
        func.count(inner.c.economic_score),
    ).group_by(inner.c.tier)
    return [
        TierSummary(t, int(n), int(ls), int(ln), int(es), int(en)) for t, n, ls, ln, es, en in session.execute(query)
    ]


@dataclass(frozen=True)
class ConcentrationCount:
    """Owners acquired in ``year`` ('curr' or 'prev') with this region/industry ``value`` and ``tier``."""

    value: str
    tier: str
    year: str
    count: int


def owner_concentration(
    session: Session, dimension: str, rule: TierRule, current_year: int
) -> list[ConcentrationCount]:
    """Owners by region or industry × tier × acquisition year (this year and last), the seed's 区域集中度 and
    行业分级 tables. A customer's acquisition date is the earliest purchase (else delivery) date of their cars."""
    column = {"region": Customer.region, "industry": Customer.industry}[dimension]
    acquired = (
        select(
            Vehicle.customer_id.label("customer_id"),
            func.min(func.coalesce(Vehicle.purchase_date, Vehicle.delivery_date)).label("acquired_on"),
        )
        .group_by(Vehicle.customer_id)
        .subquery()
    )
    curr_start, next_start = date(current_year, 1, 1), date(current_year + 1, 1, 1)
    prev_start = date(current_year - 1, 1, 1)
    year = case((acquired.c.acquired_on >= curr_start, literal("curr")), else_=literal("prev"))
    inner = (
        select(column.label("value"), tier_expression(rule).label("tier"), year.label("year"))
        .join(acquired, acquired.c.customer_id == Customer.id)
        .where(
            Customer.status.in_(OWNER_STATUSES),
            acquired.c.acquired_on >= prev_start,
            acquired.c.acquired_on < next_start,
        )
        .subquery()
    )
    query = select(inner.c.value, inner.c.tier, inner.c.year, func.count()).group_by(
        inner.c.value, inner.c.tier, inner.c.year
    )
    return [ConcentrationCount(v or "", t, y, int(n)) for v, t, y, n in session.execute(query)]


def referral_counts(session: Session, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Customers recorded in [start, end) per referral source (推荐来源)."""
    query = (
        select(Customer.referral_source, func.count())
        .where(
            Customer.referral_source.is_not(None),
            Customer.referral_source != "",
            Customer.created_at >= start,
            Customer.created_at < end,
        )
        .group_by(Customer.referral_source)
    )
    return [(source or "", int(n)) for source, n in session.execute(query)]
