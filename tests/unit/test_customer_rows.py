"""Reading one row of a dealership's spreadsheet: dates, phones, headers and merging."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.customer_import import (
    CUSTOMER_COLUMNS,
    CustomerFacts,
    CustomerRow,
    map_headers,
    merge_customer,
    parse_customer_row,
)
from bot.domain.dates import InvalidDate, parse_date
from bot.domain.people import CustomerStatus, Honorific, title
from bot.domain.phone import InvalidPhone, mask, normalise

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    "cell",
    ["2024-03-05", "2024/3/5", "2024年3月5日", "2024.03.05", "20240305", "2024-03-05 00:00:00",
     45356, "45356", datetime(2024, 3, 5, 14, 30), date(2024, 3, 5), 45356.0],
)  # fmt: skip
def test_every_way_staff_write_a_date_reads_as_the_same_day(cell: object) -> None:
    assert parse_date(cell) == date(2024, 3, 5)


@pytest.mark.parametrize("cell", ["2024-02-30", "下周三", "3/5/2024", "0", "-3"])
def test_a_date_that_is_not_one_is_refused_with_the_text_quoted(cell: str) -> None:
    with pytest.raises(InvalidDate, match="日期"):
        parse_date(cell)


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "138-0013-8000", "+86 13800138000", "8613800138000", "13800138000.0"],
)
def test_a_mobile_number_written_any_usual_way_becomes_e164(raw: str) -> None:
    assert normalise(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["12345", "1380013800", "abc", "  "])
def test_a_number_that_cannot_be_dialled_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise(raw)


def test_staff_who_do_not_call_see_a_masked_number() -> None:
    assert mask("+8613812345678") == "138****5678"


def test_a_customer_is_addressed_by_surname_and_honorific() -> None:
    assert title("王建国", Honorific.MR) == "王先生"
    assert title("赵丽", Honorific.MS) == "赵女士"
    assert title("赵丽", None) == "赵丽"


def test_headers_match_chinese_names_aliases_and_english_regardless_of_spacing() -> None:
    headers = map_headers(["客户姓名", " 手机号 ", "车架号/VIN", "Region", "备注", "性别"], CUSTOMER_COLUMNS)

    assert headers.index_by_key == {"name": 0, "phone": 1, "vin": 2, "region": 3, "honorific": 5}
    assert headers.unknown == ("备注",)
    assert headers.missing_required == ()


def test_missing_required_columns_are_named_in_chinese() -> None:
    assert map_headers(["区域"], CUSTOMER_COLUMNS).missing_required == ("姓名", "手机")


def _row(**cells: object) -> CustomerRow | list:  # type: ignore[type-arg]
    keys = list(cells)
    headers = map_headers(keys, CUSTOMER_COLUMNS)
    return parse_customer_row(list(cells.values()), headers, TODAY)


def test_a_defeat_date_without_a_status_means_defeated_and_a_purchase_means_owner() -> None:
    defeated = _row(姓名="赵丽", 手机="13900139000", 战败日期="2026-11-20")
    owner = _row(姓名="王建国", 手机="13800138000", 购车日期="2024-3-5")
    prospect = _row(姓名="李雷", 手机="13700137000", 意向级别="A级")

    assert isinstance(defeated, CustomerRow) and defeated.resolved_status() == CustomerStatus.DEFEATED
    assert isinstance(owner, CustomerRow) and owner.resolved_status() == CustomerStatus.OWNER
    assert isinstance(prospect, CustomerRow) and prospect.resolved_status() is None
    assert prospect.intent_level == "A"


def test_a_vin_is_upper_cased_and_must_have_17_characters_without_i_o_q() -> None:
    good = _row(姓名="王", 手机="13800138000", 车架号="ljxcaa1b2c3d45678")
    bad = _row(姓名="王", 手机="13800138000", 车架号="LJXCAA1B2C3D4567O")

    assert isinstance(good, CustomerRow) and good.vin == "LJXCAA1B2C3D45678"
    assert isinstance(bad, list) and str(bad[0]).startswith("车架号：应为17位字母数字")


def test_merging_a_row_never_erases_what_the_row_leaves_empty() -> None:
    stored = CustomerFacts(id=7, name="王建国", phone="+8613800138000", status=CustomerStatus.OWNER,
                           region="惠城区", industry="制造业")  # fmt: skip
    row = CustomerRow(name="王建国", phone="+8613800138000", region="惠阳区")

    merged, changed = merge_customer(stored, row, owner_staff_id=None)

    assert changed
    assert (merged.id, merged.region, merged.industry, merged.status) == (
        7,
        "惠阳区",
        "制造业",
        CustomerStatus.OWNER,
    )
    assert merge_customer(merged, row, owner_staff_id=None)[1] is False
