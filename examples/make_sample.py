"""Write a realistic sample customer list and staff list for a 江铃 truck dealership in 惠州.

    python examples/make_sample.py [--customers N] [--out DIR] [--format csv|xlsx] [--seed S] [--no-bad-rows]

Deterministic (fixed seed) and streamed: rows are written as they are generated, so 100,000 rows take a
few seconds and little memory (the import benchmark in bench/ reuses ``write_customers``).

Every date is on or before ``REFERENCE_DATE``, so the import never rejects one as lying in the future.
Unless ``--no-bad-rows`` is given, three rows are deliberately wrong, to show the rejects file:
a phone number one digit short, a VIN of 15 characters and the impossible date 2024-13-45.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REFERENCE_DATE = date(2026, 11, 20)
DEFAULT_SEED = 20261120

CUSTOMER_HEADERS = [
    "姓名",
    "称呼",
    "手机",
    "区域",
    "行业",
    "车系",
    "车型",
    "车架号",
    "车牌",
    "购车日期",
    "交车日期",
    "最近进店日期",
    "里程",
    "销售顾问",
    "客户类型",
    "战败日期",
    "战败原因",
    "意向级别",
    "试驾日期",
    "客户级别",
]
STAFF_HEADERS = ["姓名", "岗位", "手机", "在职"]
DATE_COLUMNS = frozenset({"购车日期", "交车日期", "最近进店日期", "战败日期", "试驾日期"})

# (name, role, active). Every consultant the customer list uses is here.
CONSULTANTS = ["李明辉", "陈志强", "黄晓丽", "张伟", "刘嘉欣", "叶国栋"]
STAFF: list[tuple[str, str, str]] = [
    *((name, "销售顾问", "在职") for name in CONSULTANTS),
    ("钟振华", "服务顾问", "在职"),
    ("罗美玲", "服务顾问", "离职"),
    ("何静", "客服专员", "在职"),
    ("林小燕", "客服专员", "在职"),
    ("梁建国", "经理", "在职"),
    ("曾文涛", "经理", "在职"),
]

# Guangdong-heavy surname weights, then the national long tail.
_SURNAME_WEIGHTS = {"陈": 12, "李": 9, "黄": 8, "张": 7, "梁": 6, "林": 6, "刘": 6, "吴": 4, "罗": 4, "杨": 4}
_SURNAME_WEIGHTS |= {"叶": 4, "何": 4, "郑": 3, "曾": 3, "邓": 3, "钟": 3, "王": 3, "谢": 2, "周": 2, "徐": 2}
_SURNAME_WEIGHTS |= {"朱": 2, "赖": 2, "廖": 2, "温": 2, "江": 2, "蔡": 2}
SURNAMES = "".join(s * w for s, w in _SURNAME_WEIGHTS.items())
SURNAMES += "赵孙马胡郭高宋唐许韩冯曹彭肖田董袁潘蒋余杜程苏魏吕丁沈姚卢古邱丘巫卓麦欧龚邹"
MALE_GIVEN = "伟强军国明建志勇平辉华文杰俊鹏涛斌超波海峰宇浩东锋永健德振兴荣坤龙飞家成嘉"
FEMALE_GIVEN = "芳娟敏静丽艳霞燕玲红梅琳婷慧秀美佳欣雪颖莉萍倩晓翠月凤瑶丹婉"

REGIONS = ["惠城区", "惠阳区", "博罗县", "惠东县", "大亚湾区", "龙门县"]
REGION_WEIGHTS = [30, 18, 17, 15, 10, 10]
# Seed 001: 交通运输 21%, 制造业 20%, 服务业 16%, 五金化工 16%, the rest shared.
INDUSTRIES = ["交通运输", "制造业", "服务业", "五金化工", "建筑业", "电力燃气业", "事业单位"]
INDUSTRY_WEIGHTS = [21, 20, 16, 16, 12, 7, 8]

SERIES = ["轻卡", "皮卡", "全顺"]
SERIES_WEIGHTS = [50, 30, 20]
MODELS = {
    "轻卡": [
        "凯运 蓝鲸 4.2米 单排",
        "凯运 强劲版 3.8米 排半",
        "顺达 宽体 4.2米 单排",
        "顺达 窄体 3.3米 排半",
        "凯锐 800 4.2米 单排",
        "福运 S 3.8米 排半",
    ],
    "皮卡": [
        "宝典 2.8T 柴油 两驱 标准型",
        "宝典 2.8T 柴油 四驱 豪华型",
        "域虎5 2.4T 汽油 两驱",
        "域虎7 2.0T 柴油 四驱",
        "域虎9 2.0T 柴油 四驱 旗舰版",
    ],
    "全顺": [
        "新世代全顺 短轴 中顶 客车 15座",
        "新世代全顺 长轴 高顶 厢式运输车",
        "经典全顺 短轴 低顶 客车 10座",
        "经典全顺 长轴 中顶 厢式运输车",
    ],
}
VDS = {"轻卡": "JXDE1", "皮卡": "JBDB4", "全顺": "JAFA5"}  # vehicle descriptor section per series
KM_PER_DAY = {"轻卡": (80, 200), "皮卡": (30, 90), "全顺": (60, 160)}

# Seed 001: lost-sale reasons by series (2009 shares, approximated).
DEFEAT_REASONS = ["价格高", "品牌不认可", "车型不满意", "无存货", "资金不到位", "跟进不及时", "不合理要求"]
DEFEAT_WEIGHTS = {
    "轻卡": [22, 14, 20, 11, 13, 8, 8],
    "皮卡": [36, 17, 11, 10, 11, 5, 8],
    "全顺": [40, 20, 11, 10, 6, 4, 4],
}
QUASI_REASONS = ["资金不到位", "价格高", "跟进不及时", "车型不满意"]

STATUSES = ["意向", "准战败", "战败", "保有", "流失"]
STATUS_WEIGHTS = [20, 8, 15, 45, 12]
INTENT_LEVELS = ["H", "A", "B", "C"]
INTENT_WEIGHTS = [15, 30, 35, 20]
TEST_DRIVE_SHARE = {"H": 1.0, "A": 0.7, "B": 0.3, "C": 0.0}
TIERS = ["优质", "潜力", "一般"]
TIER_WEIGHTS = [12, 23, 65]

# Mainland mobile prefixes that phonenumbers accepts (154 and 194 are not allocated).
PHONE_PREFIXES = [f"13{d}" for d in range(10)] + [f"15{d}" for d in "01235789"]
PHONE_PREFIXES += [f"18{d}" for d in range(10)] + [f"19{d}" for d in "01235789"]
PHONE_MULTIPLIER = 61_803_399  # coprime with 10**8, so index -> 8-digit suffix is a bijection
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_MULTIPLIER = 389_117  # coprime with 10**6
YEAR_CODES = {year: "ABCDEFGHJKLMNPRSTVWXY123456789"[(year - 2010) % 30] for year in range(2010, 2040)}
# ISO 3779 transliteration of letters for the check digit.
_VIN_VALUES = {str(d): d for d in range(10)}
_VIN_VALUES.update(zip("ABCDEFGH", range(1, 9), strict=True))
_VIN_VALUES.update(zip("JKLMN", range(1, 6), strict=True))
_VIN_VALUES.update({"P": 7, "R": 9})
_VIN_VALUES.update(zip("STUVWXYZ", range(2, 10), strict=True))
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PLATE_SPACE = len(PLATE_LETTERS) * 10_000
PLATE_MULTIPLIER = 104_729  # coprime with PLATE_SPACE


def scramble(index: int, digits: int, multiplier: int) -> int:
    """A bijection on 0 .. 10**digits - 1 that hides the sequence (affine, digit reversal, affine)."""
    modulus = 10**digits
    value = (index * multiplier + 37_460_219) % modulus
    value = int(f"{value:0{digits}d}"[::-1])
    return (value * multiplier + 52_918_373) % modulus


def mobile(index: int, rng: random.Random) -> str:
    """A valid mainland mobile number, unique per index (below 10**8)."""
    suffix = scramble(index, 8, PHONE_MULTIPLIER)
    return f"{rng.choice(PHONE_PREFIXES)}{suffix:08d}"


def vin_check_digit(vin: str) -> str:
    """ISO 3779 check digit (position 9) for a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def make_vin(index: int, series: str, year: int) -> str:
    """A JMC-looking VIN (WMI LEF), unique per index (below 10**7)."""
    serial = scramble(index, 6, VIN_MULTIPLIER)
    plant = "ABCDEFGHJK"[index // 1_000_000 % 10]
    vin = f"LEF{VDS[series]}0{YEAR_CODES[year]}{plant}{serial:06d}"
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def make_plate(index: int) -> str:
    """A 惠州 plate, 粤L + letter + 4 digits, unique per index (below 240,000)."""
    number = (index * PLATE_MULTIPLIER + 4_711) % PLATE_SPACE
    letter, digits = PLATE_LETTERS[number % len(PLATE_LETTERS)], f"{number // len(PLATE_LETTERS):04d}"
    return f"粤L{letter}{digits[::-1]}"


def format_date(day: date, rng: random.Random) -> str:
    """Mostly ISO, sometimes the other ways people type dates."""
    roll = rng.random()
    if roll < 0.80:
        return day.isoformat()
    if roll < 0.92:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def person(rng: random.Random) -> tuple[str, str]:
    """A (name, honorific) pair with matching gender."""
    male = rng.random() < 0.72  # truck buyers are mostly men
    pool = MALE_GIVEN if male else FEMALE_GIVEN
    given = "".join(rng.choice(pool) for _ in range(2 if rng.random() < 0.75 else 1))
    return rng.choice(SURNAMES) + given, ("先生" if male else "女士")


def _owner_vehicle(
    row: dict[str, Any], index: int, rng: random.Random, delivered: date, last_visit: date | None
) -> None:
    series = row["车系"]
    purchased = delivered - timedelta(days=rng.randint(0, 7))
    row["车架号"] = make_vin(index, series, min(purchased.year + (purchased.month >= 9), 2039))
    row["车牌"] = make_plate(index)
    row["购车日期"] = purchased
    row["交车日期"] = delivered
    row["最近进店日期"] = last_visit
    if rng.random() < 0.9:
        low, high = KM_PER_DAY[series]
        until = last_visit or REFERENCE_DATE
        row["里程"] = max((until - delivered).days, 0) * rng.randint(low, high) + rng.randint(5, 300)
    row["客户级别"] = rng.choices(TIERS, TIER_WEIGHTS)[0]


def customer(index: int, rng: random.Random, status: str | None = None) -> dict[str, Any]:
    """One customer as column -> value (dates as ``date``; formatted by the writer)."""
    today = REFERENCE_DATE
    name, honorific = person(rng)
    phone = mobile(index, rng)
    roll = rng.random()
    if roll < 0.04:
        phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    elif roll < 0.07:
        phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    series = rng.choices(SERIES, SERIES_WEIGHTS)[0]
    row: dict[str, Any] = {
        "姓名": name,
        "称呼": honorific if rng.random() < 0.95 else None,
        "手机": phone,
        "区域": rng.choices(REGIONS, REGION_WEIGHTS)[0] if rng.random() < 0.97 else None,
        "行业": rng.choices(INDUSTRIES, INDUSTRY_WEIGHTS)[0] if rng.random() < 0.93 else None,
        "车系": series,
        "车型": rng.choice(MODELS[series]),
        "销售顾问": rng.choice(CONSULTANTS),
        "客户类型": status or rng.choices(STATUSES, STATUS_WEIGHTS)[0],
    }
    kind = row["客户类型"]
    if kind == "意向":
        level = rng.choices(INTENT_LEVELS, INTENT_WEIGHTS)[0]
        row["意向级别"] = level
        if rng.random() < TEST_DRIVE_SHARE[level]:
            row["试驾日期"] = today - timedelta(days=rng.randint(0, 21))
    elif kind in ("准战败", "战败"):
        if kind == "战败":
            row["战败原因"] = rng.choices(DEFEAT_REASONS, DEFEAT_WEIGHTS[series])[0]
        else:
            row["战败原因"] = rng.choice(QUASI_REASONS)
        defeated = today - timedelta(days=rng.randint(0, 30))
        row["战败日期"] = defeated
        if rng.random() < 0.5:
            row["试驾日期"] = defeated - timedelta(days=rng.randint(3, 40))
    elif kind == "保有":
        delivered = today - timedelta(days=rng.randint(0, 1100))
        age = (today - delivered).days
        last_visit = None
        if age > 45:
            last_visit = today - timedelta(days=rng.randint(0, min(age - 30, 150)))
        _owner_vehicle(row, index, rng, delivered, last_visit)
    else:  # 流失: no workshop visit for 6-12, 12-24 or 24+ months
        months = rng.choice([(6, 12), (12, 24), (24, 48)])
        last_visit = today - timedelta(days=rng.randint(months[0] * 30 + 5, months[1] * 30))
        delivered = last_visit - timedelta(days=rng.randint(60, 900))
        _owner_vehicle(row, index, rng, delivered, last_visit)
    return row


def customer_rows(count: int, seed: int = DEFAULT_SEED, bad_rows: bool = True) -> Iterator[dict[str, Any]]:
    """Yield ``count`` customers; with ``bad_rows`` three of them carry one deliberate error each."""
    rng = random.Random(seed)
    bad = {count // 7: "phone", count // 2: "vin", count * 5 // 6: "date"} if bad_rows and count >= 7 else {}
    for index in range(count):
        defect = bad.get(index)
        row = customer(index, rng, "保有" if defect else None)
        if defect == "phone":
            row["手机"] = mobile(index, rng)[:10]  # one digit short
        elif defect == "vin":
            row["车架号"] = row["车架号"][:15]  # two characters lost when copying
        elif defect == "date":
            row["最近进店日期"] = "2024-13-45"  # no such month or day
        yield row


def _csv_cells(row: dict[str, Any], headers: list[str], rng: random.Random) -> list[str]:
    cells = []
    for header in headers:
        value = row.get(header)
        if value is None:
            cells.append("")
        elif isinstance(value, date):
            cells.append(format_date(value, rng))
        else:
            cells.append(str(value))
    return cells


def _xlsx_cells(row: dict[str, Any], headers: list[str], rng: random.Random) -> list[Any]:
    """Cells as Excel holds them: most dates as date cells, plain phone numbers as numbers."""
    cells: list[Any] = []
    for header in headers:
        value = row.get(header)
        if isinstance(value, date):
            text = format_date(value, rng)
            cells.append(value if text == value.isoformat() else text)
        elif header == "手机" and isinstance(value, str) and value.isdigit():
            cells.append(int(value))
        else:
            cells.append(value)
    return cells


def write_table(path: Path, headers: list[str], rows: Iterator[dict[str, Any]], seed: int) -> int:
    """Stream ``rows`` to ``path`` (.csv in UTF-8 with BOM, or .xlsx); return the number written."""
    rng = random.Random(seed + 1)  # date formats, independent of the row contents
    written = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("客户名单" if "车架号" in headers else "员工名单")
        sheet.append(headers)
        for row in rows:
            sheet.append(_xlsx_cells(row, headers, rng))
            written += 1
        book.save(path)
        return written
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)  # CRLF line endings, as Excel writes them
        writer.writerow(headers)
        for row in rows:
            writer.writerow(_csv_cells(row, headers, rng))
            written += 1
    return written


def write_customers(path: Path, count: int, seed: int = DEFAULT_SEED, bad_rows: bool = True) -> int:
    """Write the customer list (format from the suffix); return the number of data rows."""
    return write_table(path, CUSTOMER_HEADERS, customer_rows(count, seed, bad_rows), seed)


def staff_rows(seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """The store's staff; the service advisor who left keeps her row, marked 离职."""
    rng = random.Random(seed)
    for offset, (name, role, active) in enumerate(STAFF):
        phone = mobile(99_999_999 - offset, rng)  # never equal to a customer's number
        yield {"姓名": name, "岗位": role, "手机": phone, "在职": active}


def write_staff(path: Path, seed: int = DEFAULT_SEED) -> int:
    """Write the staff list (format from the suffix); return the number of rows."""
    return write_table(path, STAFF_HEADERS, staff_rows(seed), seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300, help="number of customer rows (default 300)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="output directory")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-bad-rows", action="store_true", help="leave out the three deliberate errors")
    args = parser.parse_args(argv)
    if not 0 <= args.customers < 10_000_000:
        parser.error("--customers must be between 0 and 9,999,999")
    args.out.mkdir(parents=True, exist_ok=True)
    customers_path = args.out / f"customers.{args.format}"
    staff_path = args.out / f"staff.{args.format}"
    count = write_customers(customers_path, args.customers, args.seed, not args.no_bad_rows)
    staff = write_staff(staff_path, args.seed)
    print(f"{customers_path}: {count} customers", file=sys.stderr)
    print(f"{staff_path}: {staff} staff", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
