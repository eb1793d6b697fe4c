"""Pure definitions behind the reports: AAPOR rates, shares, tiers, lapse stages (``bot.domain.lapse``) and periods.

Everything here works on exact numbers (``int`` counts, ``Fraction`` shares) and rounds only when asked to,
half up, so a share shown as 52% is the same on every database and in every output format.

Plain Python: no database, no Telegram.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.domain.dates import months_before as months_before  # re-exported: age bands and callers of the old home
from bot.domain.dates import months_between as months_between  # re-exported: callers of the old home
from bot.domain.lapse import LapseStage as LapseStage  # re-exported: the report's stage codes and labels
from bot.domain.lapse import LapseStages

# --------------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class ReportSettings:
    """Report knobs (Settings fields ``report_*``, env ``HUIFANG_REPORT_*``); defaults are the seeds' numbers."""

    # AAPOR e: share of unknown-eligibility cases assumed eligible. None: estimate it from the cases whose
    # eligibility is known, e = (I+P+R+NC+O) / (I+P+R+NC+O+NE) (AAPOR's proportional allocation).
    e: float | None = None
    # Owner tiers (基盘客户分级) from the two 10-point scores.
    tier_premium_loyalty: int = 7
    tier_premium_economic: int = 6
    tier_potential_loyalty: int = 6
    tier_potential_economic: int = 6
    # Lapse stages (准流失 / 流失 / 彻底流失): the same ``LapseStages`` due selection uses (settings ``lapse_*``).
    lapse: LapseStages = field(default_factory=LapseStages)
    # Vehicle age bands, upper bounds in years: <1, 1–2, 2–3, 3–5, ≥5.
    vehicle_age_bands: tuple[int, ...] = (1, 2, 3, 5)
    percent_decimals: int = 1
    free_text_limit: int = 50
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.e is not None and not 0 <= self.e <= 1:
            raise ValueError("e must be between 0 and 1")
        if list(self.vehicle_age_bands) != sorted(set(self.vehicle_age_bands)) or not self.vehicle_age_bands:
            raise ValueError("vehicle_age_bands must be increasing")
        ZoneInfo(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def lapse_pre_months(self) -> int:
        return self.lapse.pre

    @property
    def lapse_months(self) -> int:
        return self.lapse.lapsed

    @property
    def lapse_full_months(self) -> int:
        return self.lapse.full


# --------------------------------------------------------------------------------------------------------------
# Shares and percentage points


def share(part: int, whole: int) -> Fraction | None:
    """``part / whole`` exactly, or None when there is nothing to divide by."""
    if whole == 0:
        return None
    return Fraction(part, whole)


def round_half_up(value: Fraction | float, decimals: int = 0) -> Decimal:
    """Round like people do (0.5 → 1), not like ``round`` (banker's rounding)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def percent_text(value: Fraction | None, decimals: int = 1) -> str:
    """A share as a percentage for people: 0.5229 → '52.3%'; None → '—'."""
    if value is None:
        return "—"
    return f"{round_half_up(value * 100, decimals)}%"


def pp_change(current: Fraction | None, previous: Fraction | None) -> Fraction | None:
    """Change in percentage points between two shares; None if either is unknown."""
    if current is None or previous is None:
        return None
    return (current - previous) * 100


def pp_text(value: Fraction | None, decimals: int = 1) -> str:
    """A change in percentage points with its sign: '+3.2', '-1.0', '0.0'; None → '—'."""
    if value is None:
        return "—"
    rounded = round_half_up(value, decimals)
    if rounded == 0:
        return f"{abs(rounded)}"
    return f"{rounded:+}"


# --------------------------------------------------------------------------------------------------------------
# Honest changes: is a week-over-week change more than noise?
#
# Written here rather than taken from scipy/statsmodels: the two formulas below are a dozen lines, and the
# domain core stays plain Python (no numeric stack to import for /stats).

Z_95 = 1.959963984540054  # two-sided 95%
SMALL_SAMPLE = 30  # fewer cases than this on either side: a change that is not significant is called "few cases"


class Change(StrEnum):
    """What a change against the previous period means: up or down beyond noise, within noise, within noise
    with few cases (the words say so), or not comparable (a side has no cases)."""

    UP = "up"
    DOWN = "down"
    NOISE = "noise"
    FEW = "few"
    NONE = "none"


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion ``successes / n`` (95% by default); None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The pooled two-proportion z statistic of x1/n1 against x2/n2; 0 when both are all or nothing, None
    when a side has no cases."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 0.0
    return (x1 / n1 - x2 / n2) / spread


def share_change(x_now: int, n_now: int, x_before: int, n_before: int) -> Change:
    """Whether the share x_now/n_now differs from x_before/n_before beyond noise (two-proportion z-test, 95%)."""
    z = two_proportion_z(x_now, n_now, x_before, n_before)
    if z is None:
        return Change.NONE
    if abs(z) >= Z_95:
        return Change.UP if z > 0 else Change.DOWN
    return Change.FEW if min(n_now, n_before) < SMALL_SAMPLE else Change.NOISE


def count_change(now: int, before: int) -> Change:
    """Whether a count differs from last period's beyond Poisson noise: given now + before events, each falls
    in either period with even odds, z = (now − before) / √(now + before) (the conditional binomial test)."""
    total = now + before
    if total == 0:
        return Change.NOISE
    z = (now - before) / math.sqrt(total)
    if abs(z) >= Z_95:
        return Change.UP if z > 0 else Change.DOWN
    return Change.FEW if min(now, before) < SMALL_SAMPLE else Change.NOISE


# --------------------------------------------------------------------------------------------------------------
# AAPOR rates (Standard Definitions, AAPOR): RR1–RR6, COOP1–COOP4, REF1–REF3, CON1–CON3


@dataclass(frozen=True)
class AaporCounts:
    """Case counts by AAPOR group."""

    I: int = 0  # noqa: E741 - AAPOR's letters
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741
    UH: int = 0
    UO: int = 0
    NE: int = 0

    @property
    def total(self) -> int:
        return self.I + self.P + self.R + self.NC + self.O + self.UH + self.UO + self.NE

    def estimated_e(self) -> Fraction:
        """Proportional allocation: the eligible share among cases whose eligibility is known (1 if none)."""
        eligible = self.I + self.P + self.R + self.NC + self.O
        known = eligible + self.NE
        return Fraction(1) if known == 0 else Fraction(eligible, known)


# name → (Chinese description, formula as written in the Standard Definitions)
RATE_DEFINITIONS: dict[str, tuple[str, str]] = {
    "RR1": ("应答率1（最低）", "I / ((I+P) + (R+NC+O) + (UH+UO))"),
    "RR2": ("应答率2（含部分完成）", "(I+P) / ((I+P) + (R+NC+O) + (UH+UO))"),
    "RR3": ("应答率3（按e估计资格未知）", "I / ((I+P) + (R+NC+O) + e(UH+UO))"),
    "RR4": ("应答率4（含部分完成，按e）", "(I+P) / ((I+P) + (R+NC+O) + e(UH+UO))"),
    "RR5": ("应答率5（资格未知视为不合格）", "I / ((I+P) + (R+NC+O))"),
    "RR6": ("应答率6（最高）", "(I+P) / ((I+P) + (R+NC+O))"),
    "COOP1": ("合作率1", "I / ((I+P) + R + O)"),
    "COOP2": ("合作率2（含部分完成）", "(I+P) / ((I+P) + R + O)"),
    "COOP3": ("合作率3（不计其他）", "I / ((I+P) + R)"),
    "COOP4": ("合作率4（含部分完成，不计其他）", "(I+P) / ((I+P) + R)"),
    "REF1": ("拒绝率1", "R / ((I+P) + (R+NC+O) + (UH+UO))"),
    "REF2": ("拒绝率2（按e）", "R / ((I+P) + (R+NC+O) + e(UH+UO))"),
    "REF3": ("拒绝率3", "R / ((I+P) + (R+NC+O))"),
    "CON1": ("接触率1", "((I+P) + R + O) / ((I+P) + R + O + NC + (UH+UO))"),
    "CON2": ("接触率2（按e）", "((I+P) + R + O) / ((I+P) + R + O + NC + e(UH+UO))"),
    "CON3": ("接触率3", "((I+P) + R + O) / ((I+P) + R + O + NC)"),
}


def _ratio(numerator: Fraction | int, denominator: Fraction | int) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def aapor_rates(c: AaporCounts, e: float | Fraction | None = None) -> dict[str, Fraction | None]:
    """Every AAPOR rate for ``c``, exact; None where the denominator is zero. ``e`` None: estimated."""
    ee = c.estimated_e() if e is None else Fraction(str(e)) if isinstance(e, float) else Fraction(e)
    ip = c.I + c.P
    unknown = c.UH + c.UO
    eligible = ip + c.R + c.NC + c.O
    contacted = ip + c.R + c.O
    return {
        "RR1": _ratio(c.I, eligible + unknown),
        "RR2": _ratio(ip, eligible + unknown),
        "RR3": _ratio(c.I, eligible + ee * unknown),
        "RR4": _ratio(ip, eligible + ee * unknown),
        "RR5": _ratio(c.I, eligible),
        "RR6": _ratio(ip, eligible),
        "COOP1": _ratio(c.I, ip + c.R + c.O),
        "COOP2": _ratio(ip, ip + c.R + c.O),
        "COOP3": _ratio(c.I, ip + c.R),
        "COOP4": _ratio(ip, ip + c.R),
        "REF1": _ratio(c.R, eligible + unknown),
        "REF2": _ratio(c.R, eligible + ee * unknown),
        "REF3": _ratio(c.R, eligible),
        "CON1": _ratio(contacted, contacted + c.NC + unknown),
        "CON2": _ratio(contacted, contacted + c.NC + ee * unknown),
        "CON3": _ratio(contacted, contacted + c.NC),
    }


# --------------------------------------------------------------------------------------------------------------
# Owner tiers and lapse stages


def tier_from_scores(loyalty: int | None, economic: int | None, s: ReportSettings = ReportSettings()) -> str | None:
    """优质 (premium) when loyal and able; 潜力 (potential) when either is strong; else 一般. None if unscored.

    Codes are ``bot.domain.people.Tier`` values. The SQL in ``storage/queries/reports/owners.py`` mirrors this rule.
    """
    if loyalty is None or economic is None:
        return None
    if loyalty >= s.tier_premium_loyalty and economic >= s.tier_premium_economic:
        return "premium"
    if loyalty >= s.tier_potential_loyalty or economic >= s.tier_potential_economic:
        return "potential"
    return "ordinary"


TIER_CODES = ("premium", "potential", "ordinary", "unrated")
TIER_LABELS = {"premium": "优质", "potential": "潜力", "ordinary": "一般", "unrated": "未分级"}


def lapse_stage(months_since_visit: int, s: ReportSettings = ReportSettings()) -> LapseStage | None:
    """The stage for a customer away ``months_since_visit`` whole months; None while still active."""
    return s.lapse.stage_after(months_since_visit)


def lapse_cutoffs(today: date, s: ReportSettings = ReportSettings()) -> dict[LapseStage, date]:
    """Last visit on or before the date → at least that stage (``LapseStages.cutoffs``; the SQL compares dates
    with these)."""
    return s.lapse.cutoffs(today)


def age_bands(today: date, s: ReportSettings = ReportSettings()) -> list[tuple[str, str, date | None, date | None]]:
    """Vehicle age bands as (key, label, delivered after, delivered on or before) from youngest to oldest."""
    bounds = list(s.vehicle_age_bands)
    result: list[tuple[str, str, date | None, date | None]] = []
    previous = 0
    for upper in bounds:
        key = f"y{previous}_{upper}"
        label = f"{upper}年以内" if previous == 0 else f"{previous}–{upper}年"
        result.append((key, label, months_before(today, upper * 12), months_before(today, previous * 12)))
        previous = upper
    result.append((f"y{previous}_plus", f"{previous}年以上", None, months_before(today, previous * 12)))
    return result


# --------------------------------------------------------------------------------------------------------------
# Referral sources (seed 001 推荐成果)

REFERRAL_LABELS = {
    "old_customer": "老用户推荐",
    "friends_family": "亲朋好友推荐",
    "new_customer": "新用户推荐",
    "same_industry": "同行业推荐",
    "repeat": "重复推荐",
    "same_region": "同区域推荐",
}


def referral_label(source: str) -> str:
    """The Chinese label of a referral source code; labels and unknown values pass through."""
    return REFERRAL_LABELS.get(source, source)


# --------------------------------------------------------------------------------------------------------------
# Periods

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` (inclusive) to ``end`` (exclusive) in the store's time zone."""

    start: date
    end: date
    label: str = ""

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")
        if not self.label:
            last = self.end - timedelta(days=1)
            object.__setattr__(self, "label", f"{self.start.isoformat()} 至 {last.isoformat()}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same length just before this one (the previous ISO week for a week)."""
        if _WEEK_LABEL.match(self.label) and self.days == 7:
            return week_period(self.start - timedelta(days=7))
        return Period(self.start - timedelta(days=self.days), self.start)

    def utc_bounds(self, tz: ZoneInfo | str) -> tuple[datetime, datetime]:
        """The period as a half-open UTC interval [start, end) for SQL comparisons."""
        return local_midnight_utc(self.start, tz), local_midnight_utc(self.end, tz)


_WEEK_LABEL = re.compile(r"^\d{4}-W\d{2}$")


def local_midnight_utc(day: date, tz: ZoneInfo | str) -> datetime:
    """00:00 of ``day`` in ``tz``, as an aware UTC datetime."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_period(day: date) -> Period:
    """The ISO week (Monday to Sunday) containing ``day``."""
    monday = day - timedelta(days=day.isoweekday() - 1)
    year, week, _ = monday.isocalendar()
    return Period(monday, monday + timedelta(days=7), f"{year}-W{week:02d}")


def parse_week(text: str) -> Period:
    """'2026-W47' → Monday 2026-11-16 to Monday 2026-11-23; ValueError (Chinese message) if not a week."""
    match = _WEEK_RE.match(text)
    if not match:
        raise ValueError(f"无法识别的周“{text}”（格式：2026-W47）")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} 年没有第 {week} 周") from None
    return week_period(monday)


def last_full_week(today: date) -> Period:
    """The ISO week before the one containing ``today`` (what the weekly summary reports)."""
    return week_period(today - timedelta(days=7))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def buckets(period: Period, unit: str) -> list[tuple[str, date, date]]:
    """The weeks or months overlapping ``period`` as (label, start, end), clipped to the period."""
    result: list[tuple[str, date, date]] = []
    if unit == "week":
        cursor = week_period(period.start)
        while cursor.start < period.end:
            result.append((cursor.label, max(cursor.start, period.start), min(cursor.end, period.end)))
            cursor = week_period(cursor.end)
    elif unit == "month":
        cursor_day = month_start(period.start)
        while cursor_day < period.end:
            following = next_month(cursor_day)
            result.append((f"{cursor_day:%Y-%m}", max(cursor_day, period.start), min(following, period.end)))
            cursor_day = following
    else:
        raise ValueError(f"unknown bucket unit {unit!r}")
    return result
