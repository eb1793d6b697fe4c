"""Portable pieces of the report SQL: seconds since the epoch per dialect, CASE buckets over UTC bounds,
whole UTC days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.models import (
    Answer,
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


def answer_group() -> ColumnElement[str]:
    # An inline '' (not a bound parameter), so PostgreSQL sees the SELECT and GROUP BY expressions as equal.
    return func.coalesce(Answer.reason_group, literal_column("''"))


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def whole_utc_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The UTC days lying wholly inside [start, end) as (first, after last), or None if there are none."""
    start, end = as_utc(start), as_utc(end)
    first = start.date() if start.time() == datetime.min.time() else start.date() + timedelta(days=1)
    after_last = end.date()
    return (first, after_last) if first < after_last else None
