"""Rendering a ``Report``: aligned text for a terminal, JSON, CSV, xlsx (one sheet per table), PNG bar charts.

Values arrive exact (``Fraction`` shares and percentage points, ``int`` counts); rounding happens here, half up,
with the report's ``percent_decimals``. JSON keys are stable and documented in ``docs/reports.md``.

Charts use Noto Sans SC from the ``pylopdf-fonts-zh-cn`` wheel, so Chinese labels render on any machine without
system fonts; ``chart_texts`` lists every string drawn, which the tests check against the font's character map.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.domain.statistics import percent_text, pp_text, round_half_up
from bot.services.reports import Column, Report, Table
from bot.tabular import append_row, csv_row
from bot.texts import report_text, report_value

FORMATS = ("table", "json", "csv", "xlsx", "png")
BINARY_FORMATS = ("xlsx", "png")
EMPTY_REPORT = report_text("report.empty")
CHART_MAX_BARS = 15


class OutputError(RuntimeError):
    """The report cannot be written in the requested form; the message is Chinese, for staff."""


# --------------------------------------------------------------------------------------------------------------
# Cell formatting


def format_cell(value: Any, column: Column, decimals: int = 1) -> str:
    """One value as people read it: 52.3%, +3.2, 1,234 stays 1234 (no separators: CSV-safe), '—' for none."""
    if value is None:
        return "—"
    if column.kind == "share":
        return percent_text(Fraction(value), decimals)
    if column.kind == "pp":
        return pp_text(Fraction(value), decimals)
    if column.kind == "number":
        return str(round_half_up(Fraction(value), decimals))
    return str(value)


def json_value(value: Any, column: Column) -> Any:
    """Values for JSON: shares as ratios with 6 decimals, percentage points and numbers with 4."""
    if value is None:
        return None
    if column.kind == "share":
        return float(round_half_up(Fraction(value), 6))
    if column.kind in ("pp", "number"):
        return float(round_half_up(Fraction(value), 4))
    if column.kind == "int":
        return int(value)
    return value


# --------------------------------------------------------------------------------------------------------------
# Text table


def display_width(text: str) -> int:
    """Terminal columns taken by ``text``: wide and full-width characters (Chinese) take two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    gap = " " * max(width - display_width(text), 0)
    return gap + text if right else text + gap


def _numeric(column: Column) -> bool:
    return column.kind in ("int", "share", "pp", "number")


def render_table_text(table: Table, decimals: int = 1) -> str:
    """One table as aligned text: title, header, a rule, rows; or a line saying it is empty."""
    lines = [f"■ {table.title}"]
    if table.empty:
        lines.append(f"  （{table.empty_text}）")
        return "\n".join(lines)
    cells = [[format_cell(row.get(c.key), c, decimals) for c in table.columns] for row in table.rows]
    widths = [
        max([display_width(c.header)] + [display_width(r[i]) for r in cells]) for i, c in enumerate(table.columns)
    ]
    lines.append("  ".join(pad(c.header, w, _numeric(c)) for c, w in zip(table.columns, widths, strict=True)))
    lines.append("  ".join("─" * w for w in widths))
    for r in cells:
        lines.append("  ".join(pad(v, w, _numeric(c)) for v, c, w in zip(r, table.columns, widths, strict=True)))
    if table.note:
        lines.append(report_text("report.note", note=table.note))
    return "\n".join(lines)


def _heading(report: Report) -> list[str]:
    lines = [report.title, report_text("report.period_with_zone", period=report.period.label, timezone=report.timezone)]
    if report.previous is not None:
        lines.append(report_text("report.previous", period=report.previous.label))
    at = report.generated_at.astimezone(_zone(report)).strftime("%Y-%m-%d %H:%M")
    lines.append(report_text("report.generated_at", at=at))
    return lines


def _zone(report: Report) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(report.timezone)


def render_text(report: Report) -> str:
    """The whole report as aligned text for a terminal."""
    parts = ["\n".join(_heading(report))]
    if report.empty:
        parts.append(EMPTY_REPORT)
    parts += [render_table_text(t, report.percent_decimals) for t in report.tables]
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------------------
# JSON and CSV


def _period_json(report: Report, previous: bool = False) -> dict[str, str] | None:
    from datetime import timedelta

    period = report.previous if previous else report.period
    if period is None:
        return None
    return {"label": period.label, "from": period.start.isoformat(), "to": (period.end - timedelta(days=1)).isoformat()}


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data with stable keys (see docs/reports.md)."""
    return {
        "title": report.title,
        "questionnaire": report.questionnaire,
        "timezone": report.timezone,
        "period": _period_json(report),
        "previous_period": _period_json(report, previous=True),
        "generated_at": report.generated_at.isoformat(),
        "empty": report.empty,
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "empty": t.empty,
                "note": t.note,
                "columns": [{"key": c.key, "header": c.header, "kind": c.kind} for c in t.columns],
                "rows": [{c.key: json_value(row.get(c.key), c) for c in t.columns} for row in t.rows],
            }
            for t in report.tables
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Report) -> str:
    """Every table in one CSV: a title row, the Chinese header row, the rows, a blank line."""
    buffer = io.StringIO()
    # RFC 4180 line ends: the csv module then quotes a cell holding a bare CR (a customer's text), which a
    # "\n"-terminated file would leave unquoted and every reader would split into two rows.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in _heading(report):
        _writerow(writer, [line])
    if report.empty:
        _writerow(writer, [EMPTY_REPORT])
    for t in report.tables:
        _writerow(writer, [])
        _writerow(writer, [t.title])
        _writerow(writer, [c.header for c in t.columns])
        if t.empty:
            _writerow(writer, [t.empty_text])
        for row in t.rows:
            _writerow(writer, [format_cell(row.get(c.key), c, report.percent_decimals) for c in t.columns])
    return buffer.getvalue()


def _writerow(writer: Any, cells: list[Any]) -> None:
    writer.writerow(csv_row(cells))  # free text (a customer's reason) must not become a live formula


# --------------------------------------------------------------------------------------------------------------
# xlsx


_SHEET_FORBIDDEN = str.maketrans({ch: "_" for ch in "[]:*?/\\"})


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Unique sheet names of at most 31 characters without the characters Excel forbids."""
    names: list[str] = []
    for title in titles:
        base = title.translate(_SHEET_FORBIDDEN)[:31] or report_text("workbook.untitled_sheet")
        name, n = base, 2
        while name in names:
            suffix = f"({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def render_xlsx(report: Report) -> bytes:
    """A workbook: a 概要 sheet, then one sheet per table with Chinese headers in row 1."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    summary = workbook.active
    summary.title = report_text("workbook.summary_sheet")
    for line in _heading(report):
        append_row(summary, [line])
    if report.empty:
        append_row(summary, [EMPTY_REPORT])
    append_row(summary, [])
    append_row(summary, [str(h) for h in report_value("workbook.summary_header")])
    names = sheet_names(t.title for t in report.tables)
    percent_format = "0." + "0" * report.percent_decimals + "%" if report.percent_decimals else "0%"
    number_format = "0." + "0" * report.percent_decimals if report.percent_decimals else "0"
    for table, name in zip(report.tables, names, strict=True):
        append_row(summary, [name, len(table.rows), table.note or (table.empty_text if table.empty else "")])
        sheet = workbook.create_sheet(name)
        append_row(sheet, [c.header for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            append_row(sheet, [_xlsx_value(row.get(c.key), c) for c in table.columns])
        for col_index, column in enumerate(table.columns, start=1):
            fmt = {"share": percent_format, "pp": number_format, "number": number_format}.get(column.kind)
            if fmt:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=col_index, max_col=col_index):
                    cell.number_format = fmt
            letter = sheet.cell(row=1, column=col_index).column_letter
            widest = max(
                [display_width(column.header)]
                + [display_width(format_cell(r.get(column.key), column)) for r in table.rows]
            )
            sheet.column_dimensions[letter].width = min(widest + 2, 60)
        if table.empty:
            append_row(sheet, [table.empty_text])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind in ("share", "pp", "number"):
        return float(Decimal(Fraction(value).numerator) / Decimal(Fraction(value).denominator))
    return value


# --------------------------------------------------------------------------------------------------------------
# PNG bar charts


def font_path() -> Path:
    """The Simplified Chinese font the charts use (Noto Sans SC, shipped by the pylopdf-fonts-zh-cn wheel)."""
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:  # pragma: no cover - the dependency is declared; this is for a broken install
        raise OutputError(report_text("errors.no_font_package")) from None
    path = Path(sans_path())
    if not path.exists():  # pragma: no cover
        raise OutputError(report_text("errors.no_font_file", path=path))
    return path


def _chart_label(table: Table, row: dict[str, Any]) -> str:
    assert table.chart is not None
    label = str(row.get(table.chart[0]) or "")
    prefix = row.get("channel") or (str(row["question"]).split(" ")[0] if row.get("question") else "")
    return f"{prefix} {label}".strip()


def chart_data(report: Report) -> list[tuple[str, list[str], list[float]]]:
    """(title, labels, values) of every chart: non-empty tables with a chart, total rows left out."""
    charts = []
    for table in report.tables:
        if table.chart is None or table.empty:
            continue
        rows = table.rows[:-1] if table.total_row else table.rows
        rows = [r for r in rows if r.get(table.chart[1]) is not None][:CHART_MAX_BARS]
        if not rows:
            continue
        labels = [_chart_label(table, r) for r in rows]
        values = [float(r[table.chart[1]]) for r in rows]
        value_header = next(c.header for c in table.columns if c.key == table.chart[1])
        charts.append((f"{table.title} · {value_header}", labels, values))
    return charts


def chart_texts(report: Report) -> set[str]:
    """Every string the PNG draws (titles, labels, the heading), for the glyph-coverage test."""
    texts = {report.title, report_text("report.period", period=report.period.label), EMPTY_REPORT}
    for title, labels, values in chart_data(report):
        texts.add(title)
        texts.update(labels)
        texts.update(f"{v:g}" for v in values)
    return texts


def render_png(report: Report) -> bytes:
    """Horizontal bar charts, one per table, stacked in one image; an empty report says so in the image."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    charts = chart_data(report)
    heights = [max(1.6, 0.32 * len(labels) + 1.0) for _, labels, _ in charts] or [1.5]
    with matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}):
        figure = Figure(figsize=(10, sum(heights) + 0.8), dpi=110)
        period = report_text("report.period", period=report.period.label)
        figure.suptitle(f"{report.title}\n{period}", fontsize=12)
        if not charts:
            figure.text(0.5, 0.4, EMPTY_REPORT, ha="center", va="center", fontsize=14)
        else:
            axes = figure.subplots(len(charts), 1, squeeze=False, height_ratios=heights)[:, 0]
            for ax, (title, labels, values) in zip(axes, charts, strict=True):
                positions = list(range(len(labels)))[::-1]
                ax.barh(positions, values, color="#3b6ea5")
                ax.set_yticks(positions, labels=labels, fontsize=9)
                ax.set_title(title, fontsize=10, loc="left")
                for y, v in zip(positions, values, strict=True):
                    ax.text(v, y, f" {v:g}", va="center", fontsize=8)
                ax.margins(x=0.12)
                if all(float(v).is_integer() for v in values):
                    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.spines[["top", "right"]].set_visible(False)
        figure.tight_layout(rect=(0, 0, 1, 0.97))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------------
# Entry point


def render(report: Report, fmt: str) -> str | bytes:
    """The report in ``fmt``: text formats return str, xlsx and png return bytes."""
    if fmt == "table":
        return render_text(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "xlsx":
        return render_xlsx(report)
    if fmt == "png":
        return render_png(report)
    raise OutputError(report_text("errors.unknown_format", fmt=fmt))


def write(report: Report, fmt: str, out: Path | None) -> str | None:
    """Write the report to ``out`` (text to stdout's caller when None); returns the text to print, if any."""
    data = render(report, fmt)
    if out is None:
        if isinstance(data, bytes):
            raise OutputError(report_text("errors.needs_out", fmt=fmt))
        return data
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        # Excel opens a CSV as UTF-8 only with a byte-order mark.
        if fmt == "csv":
            out.write_text(data, encoding="utf-8-sig", newline="")  # line ends exactly as the csv module wrote them
        else:
            out.write_text(data, encoding="utf-8")
    return None
