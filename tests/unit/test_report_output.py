"""Report renderers: aligned Chinese text, stable JSON keys, CSV, xlsx sheets, PNG with every glyph present."""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from bot import report_output as out
from bot.domain.statistics import Period
from bot.services.reports import Column, Report, Table, referral_table

SEED_REFERRALS = [
    ("old_customer", 251),
    ("friends_family", 101),
    ("new_customer", 57),
    ("same_industry", 35),
    ("repeat", 23),
    ("same_region", 13),
]


def _reasons_table() -> Table:
    table = Table(
        key="reasons",
        title="原因统计（帕累托）",
        columns=(
            Column("question", "问题"),
            Column("reason", "原因"),
            Column("count", "次数", "int"),
            Column("share", "占比", "share"),
            Column("change_pp", "变化（百分点）", "pp"),
        ),
        chart=("reason", "count"),
    )
    table.rows = [
        {"question": "q2 原因", "reason": "价格高", "count": 3, "share": Fraction(3, 5), "change_pp": Fraction(10)},
        {"question": "q2 原因", "reason": "缺车", "count": 1, "share": Fraction(1, 5), "change_pp": Fraction(-30)},
        {"question": "q2 原因", "reason": "other", "count": 1, "share": Fraction(1, 5), "change_pp": None},
    ]
    return table


def _report(*tables: Table) -> Report:
    return Report(
        title="战败回访 · 统计报表",
        questionnaire="defeat",
        period=Period(date(2026, 11, 16), date(2026, 11, 23), "2026-W47"),
        previous=Period(date(2026, 11, 9), date(2026, 11, 16), "2026-W46"),
        timezone="Asia/Shanghai",
        generated_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        tables=list(tables),
    )


def _sample() -> Report:
    empty = Table(key="tracking_failures", title="跟踪失败", columns=(Column("label", "失败类型"),))
    return _report(_reasons_table(), referral_table(SEED_REFERRALS), empty)


def test_chinese_characters_take_two_terminal_columns() -> None:
    assert out.display_width("惠城区") == 6
    assert out.display_width("q2 价格高") == 9
    assert out.pad("惠城", 6) == "惠城  "


def test_every_line_of_a_text_table_has_the_same_display_width_so_columns_line_up() -> None:
    text = out.render_table_text(_reasons_table())
    lines = text.splitlines()[1:]  # after the title

    assert len({out.display_width(line) for line in lines}) == 1
    assert "60.0%" in text and "+10.0" in text and "-30.0" in text and "—" in text


def test_the_text_report_says_when_a_table_is_empty() -> None:
    text = out.render_text(_sample())

    assert "■ 跟踪失败\n  （本期无数据）" in text
    assert "对比期间：2026-W46" in text


def test_an_empty_report_says_so_in_every_format() -> None:
    report = _report(Table(key="reasons", title="原因统计", columns=(Column("reason", "原因"),)))

    assert report.empty
    assert out.EMPTY_REPORT in out.render_text(report)
    assert json.loads(out.render_json(report))["empty"] is True
    assert out.EMPTY_REPORT in out.render_csv(report)
    assert out.render_xlsx(report)[:2] == b"PK"
    assert out.render_png(report)[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_has_stable_keys_and_exact_values() -> None:
    data = json.loads(out.render_json(_sample()))

    assert list(data) == [
        "title",
        "questionnaire",
        "timezone",
        "period",
        "previous_period",
        "generated_at",
        "empty",
        "tables",
    ]
    assert data["period"] == {"label": "2026-W47", "from": "2026-11-16", "to": "2026-11-22"}
    referrals = next(t for t in data["tables"] if t["key"] == "referrals")
    assert list(referrals) == ["key", "title", "empty", "note", "columns", "rows"]
    assert [c["key"] for c in referrals["columns"]] == ["source", "count", "share"]
    assert referrals["rows"][0] == {"source": "老用户推荐", "count": 251, "share": 0.522917}
    assert referrals["rows"][-1] == {"source": "合计", "count": 480, "share": 1.0}


def test_the_seed_referral_table_comes_out_as_the_seed_printed_it() -> None:
    table = referral_table(SEED_REFERRALS)
    cells = [[out.format_cell(row[c.key], c, 0) for c in table.columns] for row in table.rows]

    assert cells == [
        ["老用户推荐", "251", "52%"],
        ["亲朋好友推荐", "101", "21%"],
        ["新用户推荐", "57", "12%"],
        ["同行业推荐", "35", "7%"],
        ["重复推荐", "23", "5%"],
        ["同区域推荐", "13", "3%"],
        ["合计", "480", "100%"],
    ]


def test_csv_has_a_title_and_a_chinese_header_row_per_table() -> None:
    lines = out.render_csv(_sample()).splitlines()

    assert "推荐成果（按推荐来源）" in lines
    assert lines[lines.index("推荐成果（按推荐来源）") + 1] == "推荐来源,推荐数,比例"


def test_xlsx_has_a_summary_sheet_and_one_sheet_per_table_with_chinese_headers() -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(out.render_xlsx(_sample())))

    assert workbook.sheetnames == ["概要", "原因统计（帕累托）", "推荐成果（按推荐来源）", "跟踪失败"]
    sheet = workbook["推荐成果（按推荐来源）"]
    assert [c.value for c in sheet[1]] == ["推荐来源", "推荐数", "比例"]
    assert sheet["C2"].value == pytest.approx(251 / 480)
    assert sheet["C2"].number_format == "0.0%"


def test_sheet_names_fit_excel_s_rules() -> None:
    names = out.sheet_names(["a/b:c", "x" * 40, "x" * 40])

    assert names[0] == "a_b_c"
    assert all(len(n) <= 31 for n in names)
    assert len(set(names)) == 3


def test_every_glyph_of_the_chart_labels_is_in_the_chinese_font() -> None:
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(out.font_path()), fontNumber=0).getBestCmap()
    texts = out.chart_texts(_sample())
    missing = sorted({ch for t in texts for ch in t if not ch.isspace() and ord(ch) not in cmap})

    assert "老用户推荐" in texts
    assert missing == []


def test_the_png_renders_without_any_missing_glyph_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = out.render_png(_sample())

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 10_000


def test_binary_formats_need_an_output_file() -> None:
    with pytest.raises(out.OutputError, match="--out"):
        out.write(_sample(), "xlsx", None)
