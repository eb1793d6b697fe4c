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
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.domain.statistics import percent_text, pp_text, round_half_up
from bot.services.reports import Column, Report, Table
from bot.tabular import append_row, csv_row
from bot.texts import report_text, report_value, summary_label

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
        if table.note:  # what the figures mean, under them (the AAPOR rates explained in words)
            append_row(sheet, [])
            append_row(sheet, [report_text("report.note", note=table.note).strip()])
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


# Tables whose rows fall into parts charted apart (a question's reasons are shares of their own whole, a
# channel's dispositions of its own cases), so no panel mixes parts and no two bars share a label.
CHART_PARTS: dict[str, tuple[str, ...]] = {
    "reasons": ("question",),
    "reason_groups": ("question",),
    "reasons_by": ("bucket", "question"),
    "dispositions": ("channel",),
    "tracking_failures": ("channel",),
    "lapse_reasons": ("group",),
}
PARETO_TABLES = ("reasons", "reasons_by")
SORTED_TABLES = ("lapse_reasons",)  # bars largest first, without a cumulative line (too many for one)
CHART_CHARTED_BY = {"reasons_by": ("reason", "count")}  # tables drawn though they declare no chart
SUBTOTAL_CODES = ("total",)  # a row that sums its neighbours (跟踪失败合计) is never drawn beside its parts


@dataclass(frozen=True)
class Panel:
    """One chart of the report's PNG: a title, an optional key line, bars (label, value); ``pareto``: bars
    largest first with the cumulative share as a line."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    key: str = ""
    pareto: bool = False

    @property
    def empty(self) -> bool:
        return not self.values or all(v == 0 for v in self.values)


def _base_key(table: Table) -> str:
    """The table's kind: its key, or the known key it ends with (reason tables may carry a prefix)."""
    known = (*CHART_PARTS, *CHART_CHARTED_BY)
    if table.key in known:
        return table.key
    return next((k for k in known if table.key.endswith(f"_{k}")), table.key)


def _bar_label(table: Table, row: dict[str, Any], label_key: str) -> str:
    if label_key == "reason" and row.get("reason_short"):
        return str(row["reason_short"])
    return str(row.get(label_key) or "")


def _part_name(row: dict[str, Any], part_keys: tuple[str, ...]) -> str:
    names = []
    for key in part_keys:
        if key == "question":
            names.append(str(row.get("question_short") or row.get("question_text") or ""))
        else:
            names.append(str(row.get(key) or ""))
    return " · ".join(n for n in names if n)


def chart_panels(report: Report) -> list[Panel]:
    """Every chart of the report: one per table, or per question / channel / bucket for tables with parts;
    totals and subtotals left out, labels from the questionnaires' short names."""
    panels: list[Panel] = []
    for table in report.tables:
        base = _base_key(table)
        chart = table.chart or CHART_CHARTED_BY.get(base)
        if chart is None or table.empty:
            continue
        label_key, value_key = chart
        rows = table.rows[:-1] if table.total_row else table.rows
        rows = [r for r in rows if r.get(value_key) is not None and r.get("code") not in SUBTOTAL_CODES]
        parts: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            parts.setdefault(_part_name(row, CHART_PARTS.get(base, ())), []).append(row)
        value_header = next(c.header for c in table.columns if c.key == value_key)
        for part, part_rows in parts.items():
            pairs = [(_bar_label(table, r, label_key), float(r[value_key])) for r in part_rows]
            pareto = base in PARETO_TABLES
            if pareto or base in SORTED_TABLES:
                pairs.sort(key=lambda p: -p[1])
            pairs = pairs[:CHART_MAX_BARS]
            title = summary_label("report_png.chart", table=table.title, value=value_header)
            if part:
                title = summary_label("report_png.panel", table=title, part=part)
            text = str(part_rows[0].get("question_text") or "")
            key = summary_label("report_png.key", text=text) if text else ""
            if pareto:
                key = "\n".join(k for k in (key, summary_label("report_png.pareto_key")) if k)
            panels.append(Panel(title, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), key=key, pareto=pareto))
    return panels


def chart_texts(report: Report) -> set[str]:
    """Every string the PNG draws (titles, keys, labels, the heading), for the glyph-coverage test."""
    texts = {report.title, report_text("report.period", period=report.period.label), EMPTY_REPORT}
    texts.add(summary_label("report_png.page", title=report.title, period=report.period.label, page=1, pages=1))
    texts.add(summary_label("charts.no_data"))
    for panel in chart_panels(report):
        texts.update((panel.title, panel.key))
        texts.update(panel.labels)
        texts.update(f"{v:g}" for v in panel.values)
    return texts


def _text_lines(panel: Panel) -> int:
    """Lines above a panel's chart: its title and its key."""
    return 1 + (1 + panel.key.count("\n") if panel.key else 0)


def _panel_height(panel: Panel) -> float:
    """Inches a panel takes on a page: its title and key lines, then a Pareto's fixed block, or 0.62 in a bar."""
    head = 0.45 * _text_lines(panel) + 0.3
    if panel.empty:
        return head + 0.9
    if panel.pareto:
        return head + 4.5
    return head + 0.7 + 0.62 * len(panel.labels)


PAGE_CONTENT_INCHES = 12.6  # of 13.5: the rest is the page's heading


def paginate(panels: list[Panel]) -> list[list[Panel]]:
    """Panels packed in order onto phone-sized pages; a panel taller than a page gets a page of its own."""
    pages: list[list[Panel]] = []
    used = PAGE_CONTENT_INCHES
    for panel in panels:
        height = _panel_height(panel)
        if used + height > PAGE_CONTENT_INCHES:
            pages.append([])
            used = 0.0
        pages[-1].append(panel)
        used += height
    return pages


def _draw_bars(ax: Any, panel: Panel) -> None:
    from matplotlib.ticker import MaxNLocator

    from bot.summary_charts import BLUE, SMALL_PT

    positions = list(range(len(panel.labels)))[::-1]
    ax.barh(positions, panel.values, color=BLUE, height=0.65)
    ax.set_yticks(positions, labels=list(panel.labels))
    for y, v in zip(positions, panel.values, strict=True):
        ax.text(v, y, f" {v:g}", va="center", fontsize=SMALL_PT)
    ax.set_xlim(0, max(panel.values) * 1.25)
    if all(float(v).is_integer() for v in panel.values):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=SMALL_PT)


def _page_figure(report: Report, page: list[Panel], number: int, pages: int) -> Any:
    from matplotlib.figure import Figure

    from bot.services.summary import Bar, Pareto
    from bot.summary_charts import DPI, HEIGHT_PX, SMALL_PT, TEXT_PT, WIDTH_PX, draw_pareto, no_data

    inch = DPI / HEIGHT_PX  # one inch as a share of the page's height
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    heading = summary_label("report_png.page", title=report.title, period=report.period.label, page=number, pages=pages)
    figure.text(0.03, 0.99, heading, fontsize=TEXT_PT, va="top", ha="left", color="#444444")
    if not page:
        figure.text(0.5, 0.5, EMPTY_REPORT, ha="center", va="center", fontsize=TEXT_PT)
        return figure
    y = 1 - (HEIGHT_PX / DPI - PAGE_CONTENT_INCHES) * inch
    for panel in page:
        height = _panel_height(panel) * inch
        figure.text(0.03, y, panel.title, fontsize=TEXT_PT, va="top", ha="left")
        if panel.key:
            figure.text(0.03, y - 0.45 * inch, panel.key, fontsize=SMALL_PT, va="top", ha="left", color="#444444")
        head = (0.45 * _text_lines(panel) + 0.3) * inch
        foot = (1.0 if panel.pareto else 0.5) * inch
        # Bars start right of their widest label (22 pt: about 15 px a column, a Chinese character two).
        label_share = (
            (max(display_width(label) for label in panel.labels) * 15 + 45) / WIDTH_PX if panel.labels else 0.2
        )
        left, width = (0.14, 0.72) if panel.pareto else (min(max(label_share, 0.12), 0.5), 0.0)
        width = width or 0.92 - left
        ax = figure.add_axes((left, y - height + foot, width, max(height - head - foot, 0.02)))
        if panel.empty:
            no_data(ax, "")
        elif panel.pareto:
            bars = [Bar(label, int(v)) for label, v in zip(panel.labels, panel.values, strict=True)]
            draw_pareto(ax, Pareto("", bars), "")
        else:
            _draw_bars(ax, panel)
        y -= height
    return figure


def page_figures(report: Report) -> list[Any]:
    """The report's charts as matplotlib figures, one per phone-sized page (1080 × 1350 px), in order; an
    empty report is one page that says so."""
    import matplotlib

    from bot.summary_charts import font_family

    pages = paginate(chart_panels(report)) or [[]]
    with matplotlib.rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        return [_page_figure(report, page, n, len(pages)) for n, page in enumerate(pages, start=1)]


def render_png_pages(report: Report) -> list[bytes]:
    """The report's charts as PNG pages (``page_figures``)."""
    import matplotlib

    from bot.summary_charts import DPI, font_family

    images = []
    with matplotlib.rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        for figure in page_figures(report):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI)
            images.append(buffer.getvalue())
    return images


def render_png(report: Report) -> bytes:
    """The first page of the report's charts (``write`` writes every page)."""
    return render_png_pages(report)[0]


def page_paths(out: Path, pages: int) -> list[Path]:
    """Where the pages of a PNG report go: ``out`` itself, then ``out-2.png``, ``out-3.png``, …"""
    return [out if n == 1 else out.with_name(f"{out.stem}-{n}{out.suffix or '.png'}") for n in range(1, pages + 1)]


def write_png(report: Report, out: Path) -> list[Path]:
    """Every page of the report's charts, written to ``page_paths``; the files written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pages = render_png_pages(report)
    paths = page_paths(out, len(pages))
    for path, data in zip(paths, pages, strict=True):
        path.write_bytes(data)
    return paths


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
    if fmt == "png" and out is not None:
        write_png(report, out)
        return None
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
