"""Reading the dates dealerships type into spreadsheets (2024-03-05, 2024/3/5, 2024年3月5日, Excel serials), and
calendar-month arithmetic (``months_before``)."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0, counting its phantom 1900-02-29
_YMD = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:[ T].*)?$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


class InvalidDate(ValueError):
    """The value is not a date we can read; the message is Chinese, for staff."""


def parse_date(value: object) -> date:
    """Read one date cell, whatever Excel or a person put there."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value))
    text = str(value).strip()
    match = _YMD.match(text) or _COMPACT.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError as exc:
            raise InvalidDate(f"不存在的日期“{text}”") from exc
    try:
        serial = float(text)
    except ValueError:
        raise InvalidDate(f"无法识别的日期“{text}”（应为 2024-03-05、2024/3/5 或 2024年3月5日）") from None
    return _from_serial(serial)


def _from_serial(serial: float) -> date:
    # 1 (1900-01-01) .. 2958465 (9999-12-31); anything else is a number, not a date
    if not 1 <= serial <= 2958465:
        raise InvalidDate(f"无法识别的日期“{serial:g}”")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clamped to the month's end (31 August − 6 = 28/29
    February)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from ``earlier`` to ``later``: a month is complete on the same day of the month,
    or on the month's last day when it has no such day (2026-01-31 → 2026-02-27 is 0, → 2026-02-28 is 1)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day and not _is_month_end(later):
        months -= 1
    return months


def latest_day_months_before(day: date, months: int) -> date:
    """The latest date at least ``months`` whole months (``months_between``) before ``day``: ``months_before``,
    except that from a month's last day it is the last day of the earlier month (2026-02-28 − 6 → 2025-08-31)."""
    earlier = months_before(day, months)
    if _is_month_end(day):
        return date(earlier.year, earlier.month, calendar.monthrange(earlier.year, earlier.month)[1])
    return earlier


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month
