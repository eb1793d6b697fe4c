"""Writing real spreadsheet files for tests, the way Excel in China saves them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

HEADERS = [
    "姓名", "称呼", "手机", "区域", "行业", "车系", "车型", "车架号", "车牌",
    "购车日期", "交车日期", "销售顾问", "客户类型", "战败日期", "战败原因",
]  # fmt: skip


def write_csv(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def read_csv(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def read_xlsx(path: Path) -> list[dict[str, Any]]:
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]
