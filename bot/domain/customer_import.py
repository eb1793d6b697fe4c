"""The dealership's customer list, row by row: column names, validation, and what a row changes.

Pure rules: a row (column -> raw cell) becomes a ``CustomerRow`` or a list of problems, each naming the
column in Chinese so staff can fix the spreadsheet. Merging a row into what the database already holds
(``merge_customer``) tells whether it creates, updates or leaves a customer unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from bot.domain.dates import InvalidDate, parse_date
from bot.domain.people import (
    HONORIFIC_BY_LABEL,
    ROLE_BY_LABEL,
    STATUS_BY_LABEL,
    TIER_BY_LABEL,
    CustomerStatus,
    Honorific,
    IntentLevel,
    Role,
    Tier,
)
from bot.domain.phone import InvalidPhone, normalise


@dataclass(frozen=True)
class Column:
    """One importable column: our key, the Chinese header staff see, and accepted aliases."""

    key: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False


CUSTOMER_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("客户姓名", "客户名称", "name"), required=True),
    Column("honorific", "称呼", ("性别", "honorific", "gender", "title")),
    Column("phone", "手机", ("电话", "手机号", "手机号码", "联系电话", "phone", "mobile"), required=True),
    Column("region", "区域", ("地区", "region")),
    Column("industry", "行业", ("industry",)),
    Column("series", "车系", ("series",)),
    Column("model", "车型", ("model",)),
    Column("vin", "车架号", ("vin", "车辆识别代号", "车架号/vin")),
    Column("plate", "车牌", ("车牌号", "plate")),
    Column("purchase_date", "购车日期", ("purchase_date",)),
    Column("delivery_date", "交车日期", ("delivery_date",)),
    Column("last_visit_date", "最近进店日期", ("最近进厂日期", "最近到店日期", "last_visit_date", "last_visit")),
    Column("mileage", "里程", ("行驶里程", "公里数", "mileage")),
    Column("consultant", "销售顾问", ("顾问", "consultant")),
    Column("status", "客户类型", ("状态", "客户状态", "status")),
    Column("defeat_date", "战败日期", ("defeat_date",)),
    Column("defeat_reason", "战败原因", ("defeat_reason",)),
    Column("intent_level", "意向级别", ("intent_level", "意向等级")),
    Column("test_drive_date", "试驾日期", ("test_drive_date",)),
    Column("tier", "客户级别", ("客户等级", "tier")),
)

STAFF_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("name",), required=True),
    Column("role", "岗位", ("角色", "职位", "role"), required=True),
    Column("phone", "手机", ("电话", "手机号", "phone", "mobile")),
    Column("active", "在职", ("状态", "active")),
)

_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_PLATE_MAX = 20
_TEXT_MAX = 50


def _canon(header: str) -> str:
    return re.sub(r"[\s_\-/（）()]", "", header).lower()


@dataclass(frozen=True)
class HeaderMap:
    """Which input column feeds which key, and the input columns nobody asked for."""

    index_by_key: dict[str, int]
    unknown: tuple[str, ...]
    missing_required: tuple[str, ...]


def map_headers(headers: list[str], columns: tuple[Column, ...]) -> HeaderMap:
    """Match the file's header row to our columns, case- and punctuation-insensitively."""
    lookup: dict[str, str] = {}
    for column in columns:
        for name in (column.label, column.key, *column.aliases):
            lookup[_canon(name)] = column.key
    index_by_key: dict[str, int] = {}
    unknown: list[str] = []
    for index, header in enumerate(headers):
        key = lookup.get(_canon(str(header or "")))
        if key is None or key in index_by_key:
            if str(header or "").strip():
                unknown.append(str(header).strip())
            continue
        index_by_key[key] = index
    missing = tuple(c.label for c in columns if c.required and c.key not in index_by_key)
    return HeaderMap(index_by_key, tuple(unknown), missing)


@dataclass(frozen=True)
class Problem:
    """Why a row was rejected: the column (Chinese header) and what is wrong."""

    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.column}：{self.message}"


_CUSTOMER_LABELS = {c.key: c.label for c in CUSTOMER_COLUMNS}


@dataclass(frozen=True)
class CustomerRow:
    """A valid row of the customer list. ``None`` means the cell was empty: keep what we have."""

    name: str
    phone: str
    honorific: Honorific | None = None
    region: str | None = None
    industry: str | None = None
    series: str | None = None
    model: str | None = None
    vin: str | None = None
    plate: str | None = None
    purchase_date: date | None = None
    delivery_date: date | None = None
    last_visit_date: date | None = None
    mileage: int | None = None
    consultant: str | None = None
    status: CustomerStatus | None = None
    defeat_date: date | None = None
    defeat_reason: str | None = None
    intent_level: IntentLevel | None = None
    test_drive_date: date | None = None
    tier: Tier | None = None

    @property
    def has_vehicle(self) -> bool:
        return any((self.vin, self.series, self.model, self.plate, self.purchase_date, self.delivery_date))

    def resolved_status(self) -> CustomerStatus | None:
        """The status the row states, or the one its dates imply (a defeat date means 战败)."""
        if self.status is not None:
            return self.status
        if self.defeat_date is not None:
            return CustomerStatus.DEFEATED
        if self.purchase_date is not None or self.delivery_date is not None:
            return CustomerStatus.OWNER
        return None


@dataclass(frozen=True)
class FirstUse:
    """The earlier accepted row of the same file that used a phone (``holder``: its name) or a VIN
    (``holder``: its phone), with its row number as the user sees it in the file."""

    row_number: int
    holder: str


def file_duplicate(row: CustomerRow, phone_first: FirstUse | None, vin_first: FirstUse | None) -> Problem | None:
    """Why ``row`` collides with an earlier row of the same file, or None.

    The same phone under another name is two people (or a typo): merging them would overwrite the first person
    with the second, so the later row is refused. The same phone under the same name is the same customer on a
    second row (one row per car) and merges. The same VIN under another phone would move the car from the first
    row's customer to the second's within one file, so it is refused too.
    """
    if phone_first is not None and phone_first.holder != row.name:
        return Problem(_CUSTOMER_LABELS["phone"], f"与第{phone_first.row_number}行手机号重复")
    if row.vin and vin_first is not None and vin_first.holder != row.phone:
        return Problem(_CUSTOMER_LABELS["vin"], f"与第{vin_first.row_number}行车架号重复")
    return None


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def parse_customer_row(
    cells: list[Any], headers: HeaderMap, today: date, region_code: str = "CN"
) -> CustomerRow | list[Problem]:
    """Validate one row; return the row, or every problem found in it (not just the first)."""
    raw: dict[str, Any] = {}
    for key, index in headers.index_by_key.items():
        raw[key] = cells[index] if index < len(cells) else None
    row = _RowCheck(raw)
    for step in (_check_texts, _check_phone, _check_vehicle, _check_dates, _check_mileage, _check_categories):
        step(row, today, region_code)
    if row.problems:
        return row.problems
    return CustomerRow(**{k: v for k, v in row.values.items() if v is not None})


@dataclass
class _RowCheck:
    """One row being checked: its raw cells by column key, the values read so far, the problems found."""

    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def text(self, key: str) -> str | None:
        return _cell_text(self.raw.get(key))

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(_CUSTOMER_LABELS[key], message))


def _check_texts(row: _RowCheck, today: date, region_code: str) -> None:
    for key in ("name", "region", "industry", "series", "model", "consultant", "defeat_reason"):
        text = row.text(key)
        limit = 200 if key == "defeat_reason" else (100 if key == "model" else _TEXT_MAX)
        if text is not None and len(text) > limit:
            row.problem(key, f"过长（最多{limit}个字）")
        row.values[key] = text
    if row.values["name"] is None:
        row.problem("name", "必填，不能为空")


def _check_phone(row: _RowCheck, today: date, region_code: str) -> None:
    phone_text = row.text("phone")
    if phone_text is None:
        row.problem("phone", "必填，不能为空")
    else:
        try:
            row.values["phone"] = normalise(phone_text, region_code)
        except InvalidPhone as exc:
            row.problem("phone", f"{exc}：“{phone_text}”")
    honorific = row.text("honorific")
    if honorific is not None:
        found = HONORIFIC_BY_LABEL.get(honorific.lower())
        if found is None:
            row.problem("honorific", f"应为 先生 或 女士，而不是“{honorific}”")
        row.values["honorific"] = found


def _check_vehicle(row: _RowCheck, today: date, region_code: str) -> None:
    vin = row.text("vin")
    if vin is not None:
        vin = vin.upper().replace(" ", "")
        if not _VIN.match(vin):
            row.problem("vin", f"应为17位字母数字（不含I、O、Q）：“{vin}”")
        row.values["vin"] = vin
    plate = row.text("plate")
    if plate is not None and len(plate) > _PLATE_MAX:
        row.problem("plate", "过长")
    row.values["plate"] = plate.upper().replace(" ", "") if plate else None


def _check_dates(row: _RowCheck, today: date, region_code: str) -> None:
    for key in ("purchase_date", "delivery_date", "last_visit_date", "defeat_date", "test_drive_date"):
        cell = row.raw.get(key)
        if _cell_text(cell) is None:
            continue
        try:
            day = parse_date(cell)
        except InvalidDate as exc:
            row.problem(key, str(exc))
            continue
        if day > today:
            row.problem(key, f"日期 {day.isoformat()} 在今天之后")
        elif day.year < 1980:
            row.problem(key, f"日期 {day.isoformat()} 过早")
        row.values[key] = day


def _check_mileage(row: _RowCheck, today: date, region_code: str) -> None:
    mileage = row.text("mileage")
    if mileage is not None:
        try:
            km = int(float(mileage.replace(",", "").removesuffix("公里").removesuffix("km")))
            if not 0 <= km <= 3_000_000:
                raise ValueError
            row.values["mileage"] = km
        except ValueError:
            row.problem("mileage", f"应为公里数：“{mileage}”")


def _check_categories(row: _RowCheck, today: date, region_code: str) -> None:
    status = row.text("status")
    if status is not None:
        found_status = STATUS_BY_LABEL.get(status)
        if found_status is None:
            row.problem("status", f"应为 意向/准战败/战败/保有/流失 之一，而不是“{status}”")
        row.values["status"] = found_status
    level = row.text("intent_level")
    if level is not None:
        letter = level.upper().removesuffix("级")
        if letter not in IntentLevel.__members__:
            row.problem("intent_level", f"应为 H/A/B/C/O 之一，而不是“{level}”")
        else:
            row.values["intent_level"] = IntentLevel(letter)
    tier = row.text("tier")
    if tier is not None:
        found_tier = TIER_BY_LABEL.get(tier)
        if found_tier is None:
            row.problem("tier", f"应为 优质/潜力/一般 之一，而不是“{tier}”")
        row.values["tier"] = found_tier


@dataclass
class CustomerFacts:
    """What the database holds about a customer, in the terms of the import."""

    id: int | None
    name: str
    phone: str
    status: CustomerStatus
    honorific: Honorific | None = None
    region: str | None = None
    industry: str | None = None
    owner_staff_id: int | None = None
    intent_level: IntentLevel | None = None
    tier: Tier | None = None
    last_visit_date: date | None = None

    def values(self) -> dict[str, Any]:
        """Column values (without the id), for comparing and writing."""
        return {name: getattr(self, name) for name in _CUSTOMER_FACT_FIELDS}


_CUSTOMER_FACT_FIELDS = tuple(f.name for f in fields(CustomerFacts) if f.name != "id")


def merge_customer(
    existing: CustomerFacts | None, row: CustomerRow, owner_staff_id: int | None
) -> tuple[CustomerFacts, bool]:
    """Apply a row to what we know; return the new facts and whether anything changed.

    Empty cells never erase what is stored: a list exported with fewer columns must not wipe data.
    """
    status = row.resolved_status()
    if existing is None:
        facts = CustomerFacts(
            id=None,
            name=row.name,
            phone=row.phone,
            status=status or CustomerStatus.PROSPECT,
            honorific=row.honorific,
            region=row.region,
            industry=row.industry,
            owner_staff_id=owner_staff_id,
            intent_level=row.intent_level,
            tier=row.tier,
            last_visit_date=row.last_visit_date,
        )
        return facts, True
    updates: dict[str, Any] = {
        "name": row.name,
        "status": status,
        "honorific": row.honorific,
        "region": row.region,
        "industry": row.industry,
        "owner_staff_id": owner_staff_id,
        "intent_level": row.intent_level,
        "tier": row.tier,
        "last_visit_date": row.last_visit_date,
    }
    updates = {k: v for k, v in updates.items() if v is not None}
    merged = replace(existing, **updates)
    return merged, merged != existing


@dataclass(frozen=True)
class StaffRow:
    """A valid row of the staff list."""

    name: str
    role: Role
    phone: str | None = None
    active: bool = True


_ACTIVE = {"在职": True, "是": True, "yes": True, "y": True, "true": True, "1": True, "active": True}
_INACTIVE = {
    "离职": False,
    "否": False,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "inactive": False,
}


def parse_staff_row(cells: list[Any], headers: HeaderMap, region_code: str = "CN") -> StaffRow | list[Problem]:
    """Validate one row of the staff list."""
    labels = {c.key: c.label for c in STAFF_COLUMNS}
    raw = {k: (cells[i] if i < len(cells) else None) for k, i in headers.index_by_key.items()}
    problems: list[Problem] = []
    name = _cell_text(raw.get("name"))
    if name is None:
        problems.append(Problem(labels["name"], "必填，不能为空"))
    elif len(name) > _TEXT_MAX:
        problems.append(Problem(labels["name"], "过长"))
    role_text = _cell_text(raw.get("role"))
    role = ROLE_BY_LABEL.get(role_text or "")
    if role is None:
        problems.append(
            Problem(labels["role"], f"应为 销售顾问/服务顾问/客服专员/经理 之一，而不是“{role_text or ''}”")
        )
    phone: str | None = None
    phone_text = _cell_text(raw.get("phone"))
    if phone_text is not None:
        try:
            phone = normalise(phone_text, region_code)
        except InvalidPhone as exc:
            problems.append(Problem(labels["phone"], f"{exc}：“{phone_text}”"))
    active = True
    active_text = _cell_text(raw.get("active"))
    if active_text is not None:
        key = active_text.lower()
        if key in _ACTIVE:
            active = True
        elif key in _INACTIVE:
            active = False
        else:
            problems.append(Problem(labels["active"], f"应为 在职 或 离职，而不是“{active_text}”"))
    if problems:
        return problems
    assert name is not None and role is not None
    return StaffRow(name=name, role=role, phone=phone, active=active)


@dataclass
class ImportSummary:
    """What an import did, counted per row of the file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    vehicles_created: int = 0
    vehicles_updated: int = 0
    new_staff: list[str] = field(default_factory=list)
    unknown_columns: tuple[str, ...] = ()
    rejects_path: str | None = None
    dry_run: bool = False

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    @property
    def changed_nothing(self) -> bool:
        return self.created == 0 and self.updated == 0 and not self.new_staff


@dataclass
class VehicleFacts:
    """What the database holds about a vehicle, in the terms of the import."""

    id: int | None
    customer_id: int | None
    series: str | None = None
    model: str | None = None
    vin: str | None = None
    plate: str | None = None
    purchase_date: date | None = None
    delivery_date: date | None = None
    last_service_date: date | None = None
    mileage: int | None = None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _VEHICLE_FACT_FIELDS}


_VEHICLE_FACT_FIELDS = tuple(f.name for f in fields(VehicleFacts) if f.name != "id")


def merge_vehicle(
    existing: VehicleFacts | None, row: CustomerRow, customer_id: int | None
) -> tuple[VehicleFacts, bool]:
    """Apply a row's vehicle columns; a VIN seen under a new phone moves the car to that customer (resold)."""
    updates: dict[str, Any] = {
        "customer_id": customer_id,
        "series": row.series,
        "model": row.model,
        "vin": row.vin,
        "plate": row.plate,
        "purchase_date": row.purchase_date,
        "delivery_date": row.delivery_date,
        "last_service_date": row.last_visit_date,
        "mileage": row.mileage,
    }
    updates = {k: v for k, v in updates.items() if v is not None}
    if existing is None:
        return VehicleFacts(id=None, **updates), True
    merged = replace(existing, **updates)
    return merged, merged != existing


def match_vehicle_without_vin(candidates: list[VehicleFacts], row: CustomerRow) -> VehicleFacts | None:
    """For a row with no VIN: the customer's VIN-less car with the same plate, else the same series/model."""
    pool = [v for v in candidates if v.vin is None]
    if row.plate:
        for vehicle in pool:
            if vehicle.plate == row.plate:
                return vehicle
    for vehicle in pool:
        if vehicle.series == row.series and vehicle.model == row.model and (vehicle.plate is None or not row.plate):
            return vehicle
    return None


@dataclass(frozen=True)
class LeadEventFacts:
    """A test drive or defeat the import records (one per customer, kind and day)."""

    customer_id: int
    kind: str
    occurred_on: date
    staff_id: int | None
    stated_reason: str | None


def lead_events_of(row: CustomerRow, customer_id: int, staff_id: int | None) -> list[LeadEventFacts]:
    """The lead events a row states."""
    events = []
    if row.test_drive_date is not None:
        events.append(LeadEventFacts(customer_id, "test_drive", row.test_drive_date, staff_id, None))
    if row.defeat_date is not None:
        events.append(LeadEventFacts(customer_id, "defeat", row.defeat_date, staff_id, row.defeat_reason))
    return events
