"""Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GB18030) and xlsx, streamed row by row.

Readers yield ``(row_number, cells)`` with the row number as Excel shows it (the header is row 1), so
staff can find a rejected row. Writers produce a file of the same kind for rejects and exports.

Every cell we write may hold text from outside (a customer's free-text answer, a name in an imported list), so
this module owns keeping it inert in Excel and WPS: ``csv_cell`` quotes text a spreadsheet would read as a
formula (OWASP's rule), ``append_row`` writes an xlsx row whose text cells are strings, never formulas. Every
CSV and xlsx writer in the product goes through these two.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

_SNIFF_BYTES = 256 * 1024

# A cell starting with one of these is a formula (or the start of one) to Excel, WPS or LibreOffice.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ...except a plain number, which the reports themselves write: -3, +3.2, -12.5%.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?%?$")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell that no spreadsheet will run: text that would start a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_row(cells: list[Any]) -> list[Any]:
    """``csv_cell`` for every cell of a row."""
    return [csv_cell(c) for c in cells]


def _unquote(cell: str) -> str:
    """Undo ``csv_cell`` when reading a file we wrote (a rejects file sent back after fixing)."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


def append_row(sheet: Any, cells: list[Any]) -> None:
    """Append a row to an openpyxl sheet (normal or write-only) with every text cell stored as text.

    openpyxl turns a str starting with ``=`` into a formula; forcing the cell's type to string keeps what a
    customer typed as the text they typed.
    """
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in cells:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    sheet.append(row)


class NotATable(ValueError):
    """The file cannot be read as a table; the message says why, in Chinese."""


@dataclass
class TableReader:
    """An open table: its header row, an iterator of data rows, and progress as a fraction."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    kind: str  # "csv" or "xlsx"
    encoding: str | None
    total_hint: int  # bytes (csv) or rows (xlsx), for a progress bar
    _position: Any

    def position(self) -> int:
        """How far the reader has got, in the unit of ``total_hint`` (the end once it is closed)."""
        try:
            return int(self._position())
        except ValueError:  # the file was closed at the end of the rows
            return self.total_hint


def open_table(path: Path) -> TableReader:
    """Open a .csv or .xlsx file for streaming, or raise NotATable."""
    if not path.exists():
        raise NotATable(f"文件不存在：{path}")
    if not path.is_file():
        raise NotATable(f"不是文件：{path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _open_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path)
    raise NotATable(f"不支持的文件类型“{path.suffix}”：请使用 .csv 或 .xlsx（Excel 另存为）")


def _detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if b"\x00" in head:
        raise NotATable("文件不是文本表格（含有二进制内容）：请另存为 CSV 或 xlsx")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the sniff window is still UTF-8.
        if exc.start >= len(head) - 3 and len(head) == _SNIFF_BYTES:
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise NotATable("无法识别文件编码：请另存为 UTF-8 或 GB18030 编码的 CSV") from None


def _open_csv(path: Path) -> TableReader:
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    if not head.strip():
        raise NotATable("文件是空的")
    encoding = _detect_encoding(head)
    binary = path.open("rb")
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        headers = next(reader)
    except (StopIteration, UnicodeDecodeError, csv.Error) as exc:
        text.close()
        raise NotATable(f"无法读取表头：{exc}") from None
    if not any(h.strip() for h in headers):
        text.close()
        raise NotATable("第1行（表头）是空的")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield reader.line_num, [_unquote(c) for c in cells]
        except UnicodeDecodeError:
            raise NotATable(f"第{reader.line_num + 1}行附近有无法识别的字符（编码不是 {encoding}）") from None
        finally:
            text.close()

    size = path.stat().st_size
    return TableReader([h.strip() for h in headers], rows(), "csv", encoding, size, binary.tell)


def _open_xlsx(path: Path) -> TableReader:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if not zipfile.is_zipfile(path):
        with path.open("rb") as raw:
            magic = raw.read(8)
        if magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise NotATable("该 Excel 文件已加密或为旧版 .xls 格式：请取消密码保护并另存为 .xlsx")
        raise NotATable("文件不是有效的 xlsx 表格")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise NotATable(f"无法打开 xlsx 文件：{exc}") from None
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        headers = [str(h).strip() if h is not None else "" for h in next(iterator)]
    except StopIteration:
        workbook.close()
        raise NotATable("工作表是空的") from None
    if not any(headers):
        workbook.close()
        raise NotATable("第1行（表头）是空的")
    state = {"row": 1}

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(iterator, start=2):
                state["row"] = number
                if any(c is not None and str(c).strip() for c in cells):
                    yield number, list(cells)
        finally:
            workbook.close()

    total = max((sheet.max_row or 1) - 1, 1)
    return TableReader(headers, rows(), "xlsx", None, total, lambda: state["row"] - 1)


class TableWriter(Protocol):
    """Writes rows to a table file."""

    def write(self, cells: list[Any]) -> None: ...
    def close(self) -> None: ...


class _CsvWriter:
    def __init__(self, path: Path, headers: list[str], encoding: str) -> None:
        self._file = path.open("w", encoding=encoding, newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(csv_row(headers))

    def write(self, cells: list[Any]) -> None:
        self._writer.writerow(csv_row(cells))

    def close(self) -> None:
        self._file.close()


class _XlsxWriter:
    def __init__(self, path: Path, headers: list[str]) -> None:
        from openpyxl import Workbook

        self._path = path
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet()
        append_row(self._sheet, headers)

    def write(self, cells: list[Any]) -> None:
        append_row(self._sheet, cells)

    def close(self) -> None:
        self._book.save(self._path)


def create_table(path: Path, headers: list[str], encoding: str | None = None) -> TableWriter:
    """Create a table file of the kind its suffix names (CSV in UTF-8 with BOM unless told otherwise)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _XlsxWriter(path, headers)
    if encoding in (None, "utf-8"):
        encoding = "utf-8-sig"  # so Excel in China opens it without garbling
    return _CsvWriter(path, headers, encoding)


def rejects_path_for(path: Path) -> Path:
    """customers.csv -> customers.rejects.csv, beside the input."""
    return path.with_name(f"{path.stem}.rejects{path.suffix.lower()}")
