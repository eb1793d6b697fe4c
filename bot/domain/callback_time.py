"""Callback times as customers and staff type or say them, and which ones can be booked.

One parser for every place a time is typed: a customer's chat answer, a specialist's text during a call
(the script's callback question, or after tapping 预约回访). It reads the store-local wall-clock time the
person meant and returns a naive datetime; ``callback_time_problem`` then says whether it can be booked
(not past, within ``HORIZON``, inside calling hours).

Read: 2026-12-03 15:00, 12-03 15:00, 12/3 15:00, 12月3日 15:00, 十二月三日下午三点, 明天下午三点, 明天 10:00,
后天上午10点半, 大后天, 今晚8点, 明早9点, 下午3点 (today), 周五下午2点 / 星期五 / 礼拜五 (the next Friday,
today if it is one), 下周五 (the Friday of next week), Chinese numerals 一…五十九 and 两, 半 (:30), 一刻 (:15),
三刻 (:45), full-width digits. A time without a day needs 上午/下午/晚上 or a day word ("14:00" alone is
not read: a customer may mean anything by it); 晚上12点 is not read (noon or midnight?).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.domain.calling import CallingHours
from bot.domain.engine import RejectReason

HORIZON = timedelta(days=60)  # a callback further ahead is a typo, not an appointment

_WIDE = str.maketrans("０１２３４５６７８９：／－．　", "0123456789:/-. ")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十]+")
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "今晚": 0, "今早": 0, "明天": 1, "明日": 1, "明晚": 1, "明早": 1}
_RELATIVE_DAYS |= {"后天": 2, "后日": 2, "大后天": 3}
_IMPLIED_PERIOD = {"今晚": "晚上", "明晚": "晚上", "今早": "上午", "明早": "上午"}
_LATER = ("下午", "晚上", "傍晚")

_DAY = (
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"|(?P<mo2>\d{1,2})\s*[-/.月]\s*(?P<d2>\d{1,2})\s*[日号]?"
    r"|(?P<rel>大后天|今天|今日|今晚|今早|明天|明日|明晚|明早|后天|后日)"
    r"|(?P<next>下下|下个?)?(?:周|星期|礼拜)(?P<wd>[1-7日天]))"
)
_PERIOD = r"(?P<period>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上)"
_CLOCK = (
    r"(?P<h>\d{1,2})\s*"
    r"(?:[:：.]\s*(?P<m>\d{2})"
    r"|[点时]\s*(?:(?P<half>半)|(?P<quarter>[13])\s*刻|(?P<m2>\d{1,2})\s*分?)?)"
)
_TIME = re.compile(rf"^(?:{_DAY}\s*T?\s*)?(?:{_PERIOD}\s*)?{_CLOCK}$", re.ASCII)


def parse_callback_time(text: str, today: date) -> datetime | None:
    """The store-local time ``text`` means, read against ``today``; None if it is not a time we can read.

    Without a year the next such day is meant (in December, 01-05 is next January).
    """
    raw = _arabic(text.strip().translate(_WIDE))
    match = _TIME.match(raw)
    if match is None:
        return None
    parts = match.groupdict()
    period = parts["period"] or _IMPLIED_PERIOD.get(parts["rel"] or "")
    has_day = any(parts[k] for k in ("y", "mo2", "rel", "wd"))
    if not has_day and period is None:
        return None  # "14:00" or "3点" alone
    hour = int(parts["h"])
    minute = _minute(parts)
    if period == "晚上" and hour == 12:
        return None  # midnight or noon? ask again rather than guess
    if period in _LATER and hour < 12:
        hour += 12
    if period == "中午" and hour < 3:
        hour += 12
    try:
        day = _day(parts, today)
        return datetime(day.year, day.month, day.day, hour, minute)
    except ValueError:  # 13月, 2月30日, 25点, 14:75
        return None


def callback_time_problem(
    at: datetime, now: datetime, hours: CallingHours | None = None, horizon: timedelta = HORIZON
) -> RejectReason | None:
    """Why ``at`` (store-local, like ``now``) cannot be booked as a callback, or None if it can."""
    if at <= now:
        return RejectReason.PAST_TIME
    if at > now + horizon:
        return RejectReason.TOO_FAR_AHEAD
    if not (hours or CallingHours()).is_open(at):
        return RejectReason.OUTSIDE_HOURS
    return None


def _minute(parts: dict[str, str | None]) -> int:
    if parts["half"]:
        return 30
    if parts["quarter"]:
        return 15 * int(parts["quarter"])
    return int(parts["m"] or parts["m2"] or 0)


def _day(parts: dict[str, str | None], today: date) -> date:
    if parts["y"]:
        return date(int(parts["y"]), int(parts["mo"] or 0), int(parts["d"] or 0))
    if parts["mo2"]:
        day = date(today.year, int(parts["mo2"]), int(parts["d2"] or 0))
        return day if day >= today else date(today.year + 1, day.month, day.day)
    if parts["rel"]:
        return today + timedelta(days=_RELATIVE_DAYS[parts["rel"]])
    if parts["wd"]:
        weekday = 6 if parts["wd"] in "7日天" else int(parts["wd"]) - 1
        if parts["next"]:  # 下周五: the Friday of next week (下下周五: the week after)
            monday = today + timedelta(days=7 - today.weekday() + (7 if parts["next"] == "下下" else 0))
            return monday + timedelta(days=weekday)
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return today


def _arabic(text: str) -> str:
    """Chinese numerals (一…九十九, 两, 零) as Arabic digits: 十二月三日下午三点半 → 12月3日下午3点半."""

    def convert(match: re.Match[str]) -> str:
        word = match.group(0)
        if "十" not in word:
            return "".join(str(_CN_DIGITS[c]) for c in word)
        tens, _, ones = word.partition("十")
        if len(tens) > 1 or len(ones) > 1 or "十" in ones:
            return word  # not a number we read
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))

    return _CN_NUMBER.sub(convert, text)
