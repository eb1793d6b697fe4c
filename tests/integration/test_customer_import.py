"""Importing a dealership's customer list into a real, migrated database."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Container
from bot.services.importing import ImportFailed, import_customers
from storage.models import Customer, LeadEvent, Staff, Store, Vehicle
from tests.tables import HEADERS, read_csv, read_xlsx, write_csv, write_xlsx

WANG = ["王建国", "先生", "13800138000", "惠城区", "制造业", "轻卡", "顺达 2.8T", "LJXCAA1B2C3D45678",
        "粤L12345", "2024/3/5", "2024年3月8日", "李明", "保有", "", ""]  # fmt: skip
ZHAO = ["赵丽", "女", "139 0013 9000", "博罗县", "服务业", "", "", "", "", "", "", "张伟", "战败",
        "2026-11-20", "价格高"]  # fmt: skip
BAD_PHONE = ["钱多多", "先生", "12345", "惠阳区", "", "", "", "", "", "", "", "", "", "", ""]


def _import(app: Container, path: Path, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return import_customers(app.uow, path, app.import_options(None, dry_run), app.clock)


def _customers(app: Container) -> list[Customer]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(Customer).order_by(Customer.id)))
        uow.session.expunge_all()  # keep them readable after the unit of work rolls back
        return rows


def test_a_customer_list_becomes_customers_vehicles_consultants_and_defeats(app: Container, tmp_path: Path) -> None:
    summary = _import(app, write_csv(tmp_path / "客户.csv", [WANG, ZHAO]))

    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (2, 0, 0, 0)
    assert summary.vehicles_created == 1
    assert sorted(summary.new_staff) == ["张伟", "李明"]
    with app.uow() as uow:
        wang, zhao = uow.session.scalars(select(Customer).order_by(Customer.id)).all()
        assert (wang.name, wang.honorific, wang.phone, wang.status) == (
            "王建国",
            "先生",
            "+8613800138000",
            "owner",
        )
        assert (zhao.honorific, zhao.phone, zhao.status) == ("女士", "+8613900139000", "defeated")
        vehicle = uow.session.scalars(select(Vehicle)).one()
        assert (vehicle.customer_id, vehicle.vin, vehicle.plate) == (wang.id, "LJXCAA1B2C3D45678", "粤L12345")
        assert (vehicle.purchase_date, vehicle.delivery_date) == (date(2024, 3, 5), date(2024, 3, 8))
        consultant = uow.session.get(Staff, wang.owner_staff_id)
        assert consultant is not None and (consultant.name, consultant.role) == ("李明", "sales_consultant")
        defeat = uow.session.scalars(select(LeadEvent)).one()
        assert (defeat.customer_id, defeat.kind, defeat.occurred_on) == (
            zhao.id,
            "defeat",
            date(2026, 11, 20),
        )
        assert defeat.stated_reason == "价格高"
        store = uow.session.scalars(select(Store)).one()
        assert store.name == "惠州江铃4S店" and wang.store_id == store.id


def test_importing_the_same_file_twice_changes_nothing_the_second_time(app: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "客户.csv", [WANG, ZHAO])
    _import(app, path)
    first = [(c.id, c.updated_at) for c in _customers(app)]
    app.clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=app.clock.now().tzinfo))  # type: ignore[attr-defined]

    again = _import(app, path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert again.changed_nothing and again.vehicles_created == again.vehicles_updated == 0
    assert [(c.id, c.updated_at) for c in _customers(app)] == first


def test_bad_rows_go_to_a_rejects_file_with_row_number_and_reason_and_good_rows_still_land(
    app: Container, tmp_path: Path
) -> None:
    bad_vin = [*WANG[:2], "13700137000", *WANG[3:7], "LJXCAA1B2C3", *WANG[8:]]
    bad_date = ["孙悟空", "先生", "13600136000", "", "", "", "", "", "", "2024-13-45", "", "", "", "", ""]
    path = write_csv(tmp_path / "客户.csv", [WANG, BAD_PHONE, bad_vin, bad_date, ZHAO])

    summary = _import(app, path)

    assert (summary.created, summary.rejected) == (2, 3)
    assert summary.rejects_path == str(tmp_path / "客户.rejects.csv")
    rejects = read_csv(Path(summary.rejects_path))
    assert [r["行号"] for r in rejects] == ["3", "4", "5"]
    assert [r["姓名"] for r in rejects] == ["钱多多", "王建国", "孙悟空"]
    assert rejects[0]["拒绝原因"].startswith("手机：号码无效")
    assert "车架号：应为17位" in rejects[1]["拒绝原因"]
    assert "购车日期：不存在的日期“2024-13-45”" in rejects[2]["拒绝原因"]
    assert list(rejects[0].keys()) == [*HEADERS, "行号", "拒绝原因"]
    assert [c.name for c in _customers(app)] == ["王建国", "赵丽"]


def test_a_row_with_several_problems_lists_all_of_them(app: Container, tmp_path: Path) -> None:
    row = ["", "先森", "12345", "", "", "", "", "", "", "", "", "", "老客户", "", ""]
    summary = _import(app, write_csv(tmp_path / "c.csv", [row]))

    reason = read_csv(Path(summary.rejects_path or ""))[0]["拒绝原因"]
    assert reason.split("；") == [
        "姓名：必填，不能为空",
        "手机：号码无效（位数或号段不对）：“12345”",
        "称呼：应为 先生 或 女士，而不是“先森”",
        "客户类型：应为 意向/准战败/战败/保有/流失 之一，而不是“老客户”",
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_saved_as_utf8_with_or_without_bom_or_as_gb18030_reads_the_same(
    app: Container, tmp_path: Path, encoding: str
) -> None:
    summary = _import(app, write_csv(tmp_path / "c.csv", [WANG, ZHAO], encoding=encoding))

    assert summary.created == 2
    assert [c.name for c in _customers(app)] == ["王建国", "赵丽"]
    assert _customers(app)[0].region == "惠城区"


def test_rejects_of_a_gb18030_file_are_written_in_gb18030_so_excel_opens_them(app: Container, tmp_path: Path) -> None:
    summary = _import(app, write_csv(tmp_path / "c.csv", [BAD_PHONE], encoding="gb18030"))

    rows = read_csv(Path(summary.rejects_path or ""), encoding="gb18030")
    assert rows[0]["姓名"] == "钱多多"


def test_xlsx_with_real_date_cells_serial_numbers_and_numeric_phones_imports(app: Container, tmp_path: Path) -> None:
    row = [*WANG]
    row[2] = 13800138000  # Excel keeps phone numbers as numbers
    row[9] = datetime(2024, 3, 5)
    row[10] = 45359  # 2024-03-08 as an Excel serial number
    path = write_xlsx(tmp_path / "客户.xlsx", [row, BAD_PHONE])

    summary = _import(app, path)

    assert (summary.created, summary.rejected) == (1, 1)
    with app.uow() as uow:
        vehicle = uow.session.scalars(select(Vehicle)).one()
        assert (vehicle.purchase_date, vehicle.delivery_date) == (date(2024, 3, 5), date(2024, 3, 8))
    rejects = read_xlsx(Path(summary.rejects_path or ""))
    assert rejects[0]["行号"] == 3 and rejects[0]["姓名"] == "钱多多"


def test_a_changed_row_updates_the_customer_and_empty_cells_keep_what_is_stored(app: Container, tmp_path: Path) -> None:
    _import(app, write_csv(tmp_path / "a.csv", [WANG]))
    moved = ["王建国", "", "+86 138-0013-8000", "惠阳区", "", "", "", "", "", "", "", "", "", "", ""]

    summary = _import(app, write_csv(tmp_path / "b.csv", [moved]))

    assert (summary.created, summary.updated) == (0, 1)
    (wang,) = _customers(app)
    assert (wang.region, wang.industry, wang.honorific, wang.status) == ("惠阳区", "制造业", "先生", "owner")


def test_a_vin_seen_under_another_phone_moves_the_car_to_its_new_owner(app: Container, tmp_path: Path) -> None:
    _import(app, write_csv(tmp_path / "a.csv", [WANG]))
    buyer = [
        "刘备",
        "先生",
        "13500135000",
        "",
        "",
        "轻卡",
        "顺达 2.8T",
        "ljxcaa1b2c3d45678",
        "",
        "",
        "",
        "",
        "保有",
        "",
        "",
    ]

    _import(app, write_csv(tmp_path / "b.csv", [buyer]))

    with app.uow() as uow:
        vehicle = uow.session.scalars(select(Vehicle)).one()
        owner = uow.session.get(Customer, vehicle.customer_id)
        assert owner is not None and owner.name == "刘备"


def test_the_same_phone_twice_in_one_file_is_one_customer(app: Container, tmp_path: Path) -> None:
    second_car = [*WANG]
    second_car[7] = "LJXCAA1B2C3D45679"
    second_car[5] = "皮卡"

    summary = _import(app, write_csv(tmp_path / "a.csv", [WANG, second_car]))

    assert (summary.created, summary.updated, summary.vehicles_created) == (1, 1, 2)
    assert len(_customers(app)) == 1


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(app: Container, tmp_path: Path) -> None:
    summary = _import(app, write_csv(tmp_path / "a.csv", [WANG, ZHAO, BAD_PHONE]), dry_run=True)

    assert (summary.created, summary.rejected, summary.dry_run) == (2, 1, True)
    assert _customers(app) == []
    with app.uow() as uow:
        assert uow.session.scalars(select(Staff)).all() == []


def test_unknown_columns_are_reported_and_do_not_stop_the_import(app: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [[*WANG, "老客户"]], headers=[*HEADERS, "备注"])

    summary = _import(app, path)

    assert summary.unknown_columns == ("备注",)
    assert summary.created == 1


def test_english_headers_work_as_aliases(app: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["Li Lei", "mr", "13800138000", "prospect"]],
                     headers=["name", "gender", "mobile", "status"])  # fmt: skip

    assert _import(app, path).created == 1
    assert _customers(app)[0].honorific == "先生"


def test_a_file_without_a_phone_column_is_refused_as_a_whole(app: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["王建国", "惠城区"]], headers=["姓名", "区域"])

    with pytest.raises(ImportFailed, match="缺少必需的列：手机"):
        _import(app, path)


def test_dates_in_the_future_are_rejected(app: Container, tmp_path: Path) -> None:
    row = [*ZHAO]
    row[13] = "2026-12-01"

    summary = _import(app, write_csv(tmp_path / "a.csv", [row]))

    assert summary.rejected == 1
    assert "战败日期：日期 2026-12-01 在今天之后" in read_csv(Path(summary.rejects_path or ""))[0]["拒绝原因"]


def test_a_large_file_is_written_in_batches_and_every_row_is_counted(app: Container, tmp_path: Path) -> None:
    rows = [[f"客户{i}", "先生", f"1380000{i:04d}", "惠城区"] for i in range(2500)]
    path = write_csv(tmp_path / "big.csv", rows, headers=["姓名", "称呼", "手机", "区域"])
    seen: list[int] = []
    options = app.import_options(None, False)
    options = type(options)(**{**options.__dict__, "batch_size": 1000})

    summary = import_customers(app.uow, path, options, app.clock, lambda done, total: seen.append(done))

    assert summary.created == 2500
    assert len(seen) == 3 and seen[-1] == path.stat().st_size
    assert len(_customers(app)) == 2500


# --------------------------------------------------------------------------------------------------------------
# Rows of one file that collide, and the store they go to


def _rejects(summary) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return read_csv(Path(summary.rejects_path or ""))


def test_two_people_whose_phones_normalise_to_the_same_number_are_not_merged(app: Container, tmp_path: Path) -> None:
    rows = [["张三", "138 0013 8000", "2026-11-01"], ["李四", "+86-138-0013-8000", ""]]
    path = write_csv(tmp_path / "a.csv", rows, headers=["姓名", "手机", "试驾日期"])

    summary = _import(app, path)

    assert (summary.created, summary.updated, summary.rejected) == (1, 0, 1)
    (reject,) = _rejects(summary)
    assert (reject["姓名"], reject["行号"], reject["拒绝原因"]) == ("李四", "3", "手机：与第2行手机号重复")
    (zhang,) = _customers(app)
    assert zhang.name == "张三"
    with app.uow() as uow:
        drive = uow.session.scalars(select(LeadEvent)).one()
        assert (drive.customer_id, drive.kind) == (zhang.id, "test_drive")


def test_a_phone_repeated_under_another_name_is_caught_across_batches(app: Container, tmp_path: Path) -> None:
    rows = [["张三", "13800138000"], *[[f"客户{i}", f"1390000{i:04d}"] for i in range(7)], ["李四", "+8613800138000"]]
    path = write_csv(tmp_path / "a.csv", rows, headers=["姓名", "手机"])
    options = app.import_options(None, False)
    options = type(options)(**{**options.__dict__, "batch_size": 3})

    summary = import_customers(app.uow, path, options, app.clock)

    assert (summary.created, summary.rejected) == (8, 1)
    assert [(r["行号"], r["拒绝原因"]) for r in _rejects(summary)] == [("10", "手机：与第2行手机号重复")]
    assert "李四" not in {c.name for c in _customers(app)}


def test_a_vin_under_two_phones_in_one_file_keeps_the_car_with_the_first_row(app: Container, tmp_path: Path) -> None:
    other = [*ZHAO]
    other[7] = WANG[7]  # 赵丽's row carries 王建国's VIN
    path = write_csv(tmp_path / "a.csv", [WANG, other])

    summary = _import(app, path)

    assert (summary.created, summary.rejected, summary.vehicles_created) == (1, 1, 1)
    assert _rejects(summary)[0]["拒绝原因"] == "车架号：与第2行车架号重复"
    with app.uow() as uow:
        vehicle = uow.session.scalars(select(Vehicle)).one()
        owner = uow.session.get(Customer, vehicle.customer_id)
        assert owner is not None and owner.name == "王建国"


def test_a_rejected_row_does_not_count_as_the_first_use_of_its_phone(app: Container, tmp_path: Path) -> None:
    rows = [["张三", "13800138000", "2099-01-01"], ["李四", "13800138000", ""]]  # 张三's date is in the future
    path = write_csv(tmp_path / "a.csv", rows, headers=["姓名", "手机", "试驾日期"])

    summary = _import(app, path)

    assert (summary.created, summary.rejected) == (1, 1)
    assert [c.name for c in _customers(app)] == ["李四"]


def test_a_mistyped_store_is_refused_naming_the_known_stores_and_nothing_is_written(
    app: Container, tmp_path: Path
) -> None:
    _import(app, write_csv(tmp_path / "a.csv", [WANG]))
    path = write_csv(tmp_path / "b.csv", [ZHAO, BAD_PHONE])

    with pytest.raises(ImportFailed) as refused:
        import_customers(app.uow, path, app.import_options("惠州江铃4S点", False), app.clock)

    assert str(refused.value) == (
        "找不到门店“惠州江铃4S点”（已有门店：惠州江铃4S店）；如确要新建该门店，请加 --create-store"
    )
    assert [c.name for c in _customers(app)] == ["王建国"]
    assert not (tmp_path / "b.rejects.csv").exists()
    with app.uow() as uow:
        assert uow.stores.names() == ["惠州江铃4S店"]


def test_a_second_store_is_created_only_when_asked(app: Container, tmp_path: Path) -> None:
    _import(app, write_csv(tmp_path / "a.csv", [WANG]))

    summary = import_customers(
        app.uow, write_csv(tmp_path / "b.csv", [WANG]), app.import_options("惠阳店", False, True), app.clock
    )

    assert summary.created == 1
    with app.uow() as uow:
        assert uow.stores.names() == ["惠州江铃4S店", "惠阳店"]


def test_a_fresh_database_takes_its_first_import_only_into_the_default_store(app: Container, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="找不到门店“惠阳店”（系统中还没有门店）"):
        import_customers(app.uow, write_csv(tmp_path / "a.csv", [WANG]), app.import_options("惠阳店", False), app.clock)

    assert _import(app, write_csv(tmp_path / "b.csv", [WANG])).created == 1
