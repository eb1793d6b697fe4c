"""Reading the dates dealerships type into spreadsheets: 2024-03-05, 2024/3/5, 2024年3月5日, Excel serials."""

from __future__ import annotations

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


# ------------------------------------------------------------------------------------ typed callback times

_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_CLOCK = (
    r"(?P<half>上午|早上|中午|下午|晚上)?\s*(?P<h>\d{1,2})\s*"
    r"(?:[:：.]\s*(?P<m>\d{2})|点\s*(?P<m2>\d{1,2}|半)?\s*分?|时)"
)
_FULL = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?\s*T?\s*" + _CLOCK + "$")
_MONTH_DAY = re.compile(r"^(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?\s*" + _CLOCK + "$")
_RELATIVE = re.compile(r"^(?P<word>今天|今日|明天|明日|后天)\s*" + _CLOCK + "$")
_WIDE = str.maketrans("０１２３４５６７８９：／－．　", "0123456789:/-. ")


def parse_callback_time(text: str, today: date) -> datetime | None:
    """A time a customer types for a callback, as a naive store-local datetime; None if unreadable.

    Accepted: 2026-11-26 14:00, 11-26 14:00, 11/26 14:00, 11月26日 下午2点, 明天 10:00, 后天上午9点半.
    Without a year the next such day is meant (in December, 01-05 is next January).
    """
    raw = text.strip().translate(_WIDE)
    match = _FULL.match(raw) or _MONTH_DAY.match(raw) or _RELATIVE.match(raw)
    if match is None:
        return None
    parts = match.groupdict()
    hour = int(parts["h"])
    minute_text = parts.get("m") or parts.get("m2") or "0"
    minute = 30 if minute_text == "半" else int(minute_text)
    if parts.get("half") == "晚上" and hour == 12:
        return None  # midnight or noon? ask again rather than guess
    if parts.get("half") in ("下午", "晚上") and hour < 12:
        hour += 12
    if parts.get("half") == "中午" and hour < 3:
        hour += 12
    try:
        if parts.get("word"):
            day = today + timedelta(days=_DAY_WORDS[parts["word"]])
        elif parts.get("y"):
            day = date(int(parts["y"]), int(parts["mo"]), int(parts["d"]))
        else:
            day = date(today.year, int(parts["mo"]), int(parts["d"]))
            if day < today:
                day = date(today.year + 1, day.month, day.day)
        return datetime(day.year, day.month, day.day, hour, minute)
    except ValueError:  # 13月, 2月30日, 25点, 14:75
        return None
