"""Reason tallies: per question and code, by bucket (--by), and the free texts typed after 其他."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    false,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from storage.models import (
    Answer,
    Customer,
    ReasonRollup,
    Staff,
    Store,
    Survey,
    Vehicle,
)
from storage.queries.reports.common import answer_group, bucket_case, whole_utc_days

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


def _raw_reasons(questionnaire_id: str, start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    return (
        select(
            Answer.question_id.label("question_id"),
            Answer.reason_code.label("reason_code"),
            answer_group().label("reason_group"),
            func.count().label("n"),
        )
        .join(Survey, Survey.id == Answer.survey_id)
        .where(
            Survey.questionnaire_id == questionnaire_id,
            Answer.reason_code.is_not(None),
            Answer.answered_at >= start,
            Answer.answered_at < end,
        )
        .group_by(Answer.question_id, Answer.reason_code, answer_group())
    )


def reason_counts(session: Session, questionnaire_id: str, start: datetime, end: datetime) -> list[ReasonCount]:
    """Answers per (question, reason code, group) answered in [start, end): roll-up days plus raw edges."""
    days = whole_utc_days(start, end)
    if days is None:
        parts: list[Select[*tuple[Any, ...]]] = [_raw_reasons(questionnaire_id, start, end)]
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
        select(Answer.question_id, Answer.reason_code, answer_group())
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
        Answer.question_id, Answer.reason_code, answer_group(), *group_cols
    )
    result = []
    for q, code, group, bucket, n in session.execute(query):  # type: ignore[misc]  # columns added above
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
    return [FreeText(at, q, t or "") for at, q, t in session.execute(query)]
