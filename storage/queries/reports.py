"""The SQL behind ``huifang report``: every count is a GROUP BY in the database, never a loop over rows here.

Rules that keep SQLite and PostgreSQL identical:

* periods arrive as half-open UTC intervals computed in Python from the store's time zone; week and month
  buckets are a CASE over those bounds, never a database date function;
* only integer counts and sums come back; shares, averages and medians are divided in Python;
* the one database-specific expression, seconds since the epoch, is compiled per dialect (``epoch_seconds``).

Reason tallies read whole UTC days from ``reason_rollup`` (kept exact by triggers, see migration 0002) and the
partial days at a period's edges from ``answer``, so a week and ten years cost about the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.models import (
    Answer,
    ContactAttempt,
    Customer,
    ReasonRollup,
    Staff,
    Store,
    Survey,
    Task,
    Vehicle,
)

OWNER_STATUSES = ("owner", "lapsed")  # both bought here: 基盘客户, whether or not they still visit


# --------------------------------------------------------------------------------------------------------------
# Portable pieces


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of a timestamp column (floor), on every backend."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def bucket_case(column: Any, bounds: Sequence[tuple[datetime, datetime]]) -> ColumnElement[int]:
    """The index of the [start, end) bound a timestamp falls in, -1 if none (bounds sorted, disjoint)."""
    if not bounds:
        return literal(-1)
    whens = [(and_(column >= lo, column < hi), i) for i, (lo, hi) in enumerate(bounds)]
    return case(*whens, else_=-1)


def _answer_group() -> ColumnElement[str]:
    # An inline '' (not a bound parameter), so PostgreSQL sees the SELECT and GROUP BY expressions as equal.
    return func.coalesce(Answer.reason_group, literal_column("''"))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def whole_utc_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The UTC days lying wholly inside [start, end) as (first, after last), or None if there are none."""
    start, end = _utc(start), _utc(end)
    first = start.date() if start.time() == datetime.min.time() else start.date() + timedelta(days=1)
    after_last = end.date()
    return (first, after_last) if first < after_last else None


# --------------------------------------------------------------------------------------------------------------
# Reason tallies


@dataclass(frozen=True)
class ReasonCount:
    """How many answers gave ``reason_code`` to ``question_id`` (in ``bucket`` for a breakdown)."""

    question_id: str
    reason_code: str
    reason_group: str
    count: int
    bucket: str = ""


def _raw_reasons(questionnaire_id: str, start: datetime, end: datetime) -> Select[Any]:
    return (
        select(
            Answer.question_id.label("question_id"),
            Answer.reason_code.label("reason_code"),
            _answer_group().label("reason_group"),
            func.count().label("n"),
        )
        .join(Survey, Survey.id == Answer.survey_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            Answer.reason_code.is_not(None),
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .group_by(Answer.question_id, Answer.reason_code, _answer_group())
    )


def reason_counts(session: Session, questionnaire_id: str, start: datetime, end: datetime) -> list[ReasonCount]:
    """Answers per (question, reason code, group) answered in [start, end): roll-up days plus raw edges."""
    days = whole_utc_days(start, end)
    if days is None:
        parts: list[Select[Any]] = [_raw_reasons(questionnaire_id, start, end)]
    else:
        first, after_last = days
        first_at = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        after_at = datetime.combine(after_last, datetime.min.time(), tzinfo=UTC)
        parts = [
            select(
                ReasonRollup.question_id.label("question_id"),
                ReasonRollup.reason_code.label("reason_code"),
                ReasonRollup.reason_group.label("reason_group"),
                func.sum(ReasonRollup.answers).label("n"),
            )
            .where(
                ReasonRollup.questionnaire_id == questionnaire_id,
                ReasonRollup.answered_on >= first,
                ReasonRollup.answered_on < after_last,
            )
            .group_by(ReasonRollup.question_id, ReasonRollup.reason_code, ReasonRollup.reason_group)
        ]
        if start < first_at:
            parts.append(_raw_reasons(questionnaire_id, start, first_at))
        if after_at < end:
            parts.append(_raw_reasons(questionnaire_id, after_at, end))
    combined = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    query = select(
        combined.c.question_id, combined.c.reason_code, combined.c.reason_group, func.sum(combined.c.n)
    ).group_by(combined.c.question_id, combined.c.reason_code, combined.c.reason_group)
    return [
        ReasonCount(q, code, group, int(n))
        for q, code, group, n in session.execute(query)
        if n  # days whose answers were all deleted keep a zero row in the roll-up
    ]


BREAKDOWNS = ("series", "model", "consultant", "store", "week", "month")


def reason_counts_by(
    session: Session,
    questionnaire_id: str,
    start: datetime,
    end: datetime,
    by: str,
    bucket_bounds: Sequence[tuple[str, datetime, datetime]] = (),
) -> list[ReasonCount]:
    """Reason counts broken down by the customer's vehicle series/model, owning consultant, store, or by the
    week/month buckets given as (label, utc start, utc end). Missing values come back as bucket ''."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    query = (
        select(Answer.question_id, Answer.reason_code, _answer_group())
        .select_from(Answer)
        .join(Survey, Survey.id == Answer.survey_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            Answer.reason_code.is_not(None),
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
    )
    labels: dict[Any, str] = {}
    key: Any
    if by in ("week", "month"):
        key = bucket_case(Answer.answered_at, [(lo, hi) for _, lo, hi in bucket_bounds])
        labels = {i: label for i, (label, _, _) in enumerate(bucket_bounds)}
        group_cols: list[Any] = [key]
    else:
        query = query.join(Customer, Customer.id == Survey.customer_id)
        if by in ("series", "model"):
            vehicle = aliased(Vehicle)
            latest = select(func.max(Vehicle.id)).where(Vehicle.customer_id == Customer.id).scalar_subquery()
            query = query.outerjoin(vehicle, and_(vehicle.customer_id == Customer.id, vehicle.id == latest))
            key = vehicle.series if by == "series" else vehicle.model
            group_cols = [key]
        elif by == "consultant":
            query = query.outerjoin(Staff, Staff.id == Customer.owner_staff_id)
            key = Staff.name
            group_cols = [Customer.owner_staff_id, Staff.name]
        else:
            query = query.join(Store, Store.id == Customer.store_id)
            key = Store.name
            group_cols = [Customer.store_id, Store.name]
    query = query.add_columns(key.label("bucket"), func.count().label("n")).group_by(
        Answer.question_id, Answer.reason_code, _answer_group(), *group_cols
    )
    result = []
    for q, code, group, bucket, n in session.execute(query):
        label = labels.get(bucket, "") if labels else (bucket or "")
        result.append(ReasonCount(q, code, group, int(n), label))
    return result


@dataclass(frozen=True)
class FreeText:
    """A free-text answer (e.g. the words after 其他), shown for reading, never counted."""

    answered_at: datetime
    question_id: str
    text: str


def free_texts(
    session: Session,
    questionnaire_id: str,
    question_ids: Sequence[str],
    start: datetime,
    end: datetime,
    limit: int,
) -> list[FreeText]:
    """The newest free-text answers to ``question_ids`` in [start, end), at most ``limit``."""
    query = (
        select(Answer.answered_at, Answer.question_id, Answer.free_text)
        .join(Survey, Survey.id == Answer.survey_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            Answer.question_id.in_(list(question_ids)) if question_ids else false(),
            Answer.free_text.is_not(None),
            Answer.free_text != "",
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .order_by(Answer.answered_at.desc(), Answer.id.desc())
        .limit(limit)
    )
    return [FreeText(at, q, t) for at, q, t in session.execute(query)]


# --------------------------------------------------------------------------------------------------------------
# Contact outcomes


@dataclass(frozen=True)
class DispositionCount:
    """Cases (surveys) on ``channel`` whose final disposition is ``code``."""

    channel: str
    code: str
    count: int


@dataclass(frozen=True)
class CaseAttempts:
    """One case (survey): the channel it is on now, its outcome, and every contact attempt as (mode,
    disposition), oldest first."""

    survey_id: int
    channel: str
    outcome: str | None
    attempts: tuple[tuple[str, str], ...]


def case_attempts(session: Session, start: datetime, end: datetime) -> list[CaseAttempts]:
    """Every survey created in [start, end) with its attempts in every mode (the service picks each case's
    result with ``dispositions.case_result``); one query, ordered by survey then attempt time."""
    query = (
        select(Survey.id, Survey.channel, Survey.outcome, ContactAttempt.channel, ContactAttempt.disposition)
        .outerjoin(ContactAttempt, ContactAttempt.survey_id == Survey.id)
        .where(Survey.created_at >= start, Survey.created_at < end)
        .order_by(Survey.id, ContactAttempt.attempted_at, ContactAttempt.id)
    )
    cases: dict[int, tuple[str, str | None, list[tuple[str, str]]]] = {}
    for survey_id, channel, outcome, mode, code in session.execute(query):
        attempts = cases.setdefault(survey_id, (channel, outcome, []))[2]
        if code is not None:
            attempts.append((mode, code))
    return [CaseAttempts(sid, ch, outcome, tuple(a)) for sid, (ch, outcome, a) in cases.items()]


# --------------------------------------------------------------------------------------------------------------
# Follow-up discipline


@dataclass(frozen=True)
class DisciplineRow:
    """Task figures for one staff member (staff_id None: unassigned; name '合计' row built by the service)."""

    staff_id: int | None
    name: str
    created: int
    done: int
    open_overdue: int
    done_late: int
    acted: int
    within_24h: int
    judged_24h: int
    median_seconds_twice: int | None  # sum of the one or two middle delays; None if no action yet
    median_terms: int


def task_discipline(session: Session, start: datetime, end: datetime, now: datetime) -> list[DisciplineRow]:
    """Per staff member: tasks created in [start, end), done, overdue (open past due, done late), and time to
    first action (first_action_at, else done_at): count within 24 h among tasks old enough to judge, median."""
    first_action = func.coalesce(Task.first_action_at, Task.done_at)
    delay = epoch_seconds(first_action) - epoch_seconds(Task.created_at)
    in_period = and_(Task.created_at >= start, Task.created_at < end)
    day_ago = now - timedelta(hours=24)

    def as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    totals = (
        select(
            Task.staff_id,
            func.count(),
            as_int(Task.status == "done"),
            as_int(and_(Task.status == "open", Task.due_at < now)),
            as_int(and_(Task.status == "done", Task.done_at > Task.due_at)),
            as_int(first_action.is_not(None)),
            as_int(and_(first_action.is_not(None), delay <= 86400)),
            as_int(or_(first_action.is_not(None), Task.created_at <= day_ago)),
        )
        .where(in_period)
        .group_by(Task.staff_id)
    )
    ranked = (
        select(
            Task.staff_id.label("staff_id"),
            delay.label("d"),
            func.row_number().over(partition_by=Task.staff_id, order_by=delay).label("rn"),
            func.count().over(partition_by=Task.staff_id).label("cnt"),
        )
        .where(in_period, first_action.is_not(None))
        .subquery()
    )
    middle = (
        select(ranked.c.staff_id, func.sum(ranked.c.d), func.count())
        .where(or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2))
        .group_by(ranked.c.staff_id)
    )
    medians = {sid: (int(total), int(n)) for sid, total, n in session.execute(middle)}
    names = dict(session.execute(select(Staff.id, Staff.name)).all())
    rows = []
    for sid, created, done, overdue, late, acted, within, judged in session.execute(totals):
        med = medians.get(sid)
        rows.append(
            DisciplineRow(
                staff_id=sid,
                name=names.get(sid, "") if sid is not None else "",
                created=int(created),
                done=int(done or 0),
                open_overdue=int(overdue or 0),
                done_late=int(late or 0),
                acted=int(acted or 0),
                within_24h=int(within or 0),
                judged_24h=int(judged or 0),
                median_seconds_twice=med[0] if med else None,
                median_terms=med[1] if med else 0,
            )
        )
    return rows


def overall_median_delay(session: Session, start: datetime, end: datetime) -> tuple[int, int] | None:
    """(sum of the middle one or two delays, how many) over all tasks created in [start, end) with an action."""
    first_action = func.coalesce(Task.first_action_at, Task.done_at)
    delay = epoch_seconds(first_action) - epoch_seconds(Task.created_at)
    ranked = (
        select(
            delay.label("d"),
            func.row_number().over(order_by=delay).label("rn"),
            func.count().over().label("cnt"),
        )
        .where(Task.created_at >= start, Task.created_at < end, first_action.is_not(None))
        .subquery()
    )
    query = select(func.sum(ranked.c.d), func.count()).where(
        or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2)
    )
    total, n = session.execute(query).one()
    return (int(total), int(n)) if n else None


# --------------------------------------------------------------------------------------------------------------
# Recovery of quasi-defeated prospects


@dataclass(frozen=True)
class RecoveryRow:
    staff_id: int | None
    name: str
    surveyed: int
    bought: int


def recovery(
    session: Session,
    questionnaire_id: str,
    recoverable: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> list[RecoveryRow]:
    """Per owning consultant: customers who answered a recoverable option (question, option) in [start, end),
    and how many of them are owners now (bought after all)."""
    if not recoverable:
        return []
    chosen = or_(*[and_(Answer.question_id == q, Answer.option_code == o) for q, o in recoverable])
    query = (
        select(
            Customer.owner_staff_id,
            Staff.name,
            func.count(distinct(Customer.id)),
            func.count(distinct(case((Customer.status == "owner", Customer.id)))),
        )
        .select_from(Answer)
        .join(Survey, Survey.id == Answer.survey_id)
        .join(Customer, Customer.id == Survey.customer_id)
        .outerjoin(Staff, Staff.id == Customer.owner_staff_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            chosen,
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .group_by(Customer.owner_staff_id, Staff.name)
    )
    return [RecoveryRow(sid, name or "", int(s), int(b)) for sid, name, s, b in session.execute(query)]


def recovery_total(
    session: Session,
    questionnaire_id: str,
    recoverable: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> tuple[int, int]:
    """Distinct customers over all consultants (one customer surveyed twice counts once)."""
    if not recoverable:
        return 0, 0
    chosen = or_(*[and_(Answer.question_id == q, Answer.option_code == o) for q, o in recoverable])
    query = (
        select(
            func.count(distinct(Customer.id)),
            func.count(distinct(case((Customer.status == "owner", Customer.id)))),
        )
        .select_from(Answer)
        .join(Survey, Survey.id == Answer.survey_id)
        .join(Customer, Customer.id == Survey.customer_id)
        .where(
            Survey.questionnaire_id == questionnaire_id, chosen, Answer.answered_at >= start, Answer.answered_at < end
        )
    )
    surveyed, bought = session.execute(query).one()
    return int(surveyed), int(bought)


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
    return [(source, int(n)) for source, n in session.execute(query)]


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
        value: ColumnElement[Any] = literal("")
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


# --------------------------------------------------------------------------------------------------------------
# Roll-up maintenance


_ROLLUP_DAY = {"sqlite": "date(a.answered_at)", "postgresql": "(a.answered_at AT TIME ZONE 'UTC')::date"}


def rebuild_reason_rollup(connection: Connection) -> None:
    """Recompute ``reason_rollup`` from ``answer`` (after a bulk load with the triggers off, or as a repair)."""
    day = _ROLLUP_DAY[connection.dialect.name]
    key = "questionnaire_id, answered_on, question_id, reason_code, reason_group"
    connection.execute(text("DELETE FROM reason_rollup"))
    connection.execute(
        text(
            f"INSERT INTO reason_rollup ({key}, answers) "
            f"SELECT s.questionnaire_id, {day}, a.question_id, a.reason_code, COALESCE(a.reason_group, ''), "
            "COUNT(*) FROM answer a JOIN survey s ON s.id = a.survey_id WHERE a.reason_code IS NOT NULL "
            f"GROUP BY s.questionnaire_id, {day}, a.question_id, a.reason_code, COALESCE(a.reason_group, '')"
        )
    )
