"""`huifang report` end to end through click, on the test database."""

from __future__ import annotations

import json
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner, Result

from bot.app import Container
from bot.cli.report import report
from storage.database import make_engine
from tests.integration.test_reports import Seed, _seed_cases_across_two_modes, _seed_two_weeks


@click.group()
@click.option("--database-url")
@click.pass_context
def cli(ctx: click.Context, database_url: str) -> None:
    ctx.ensure_object(dict)
    ctx.obj["overrides"] = {"database_url": database_url}


cli.add_command(report)


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--database-url", url, "report", *args], catch_exceptions=False)


@pytest.fixture
def seeded(app: Container, database_url: str) -> str:
    _seed_two_weeks(Seed(app))
    return database_url


def test_the_weekly_reason_report_prints_as_json(seeded: str) -> None:
    result = run(seeded, "--week", "2026-W47", "--section", "reasons", "--format", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    reasons = next(t for t in data["tables"] if t["key"] == "reasons")
    assert [(r["reason_code"], r["count"], r["share"]) for r in reasons["rows"]] == [
        ("price_value", 3, 0.6),
        ("no_stock", 1, 0.2),
        ("other", 1, 0.2),
    ]


def test_the_table_format_is_chinese_and_aligned(seeded: str) -> None:
    result = run(seeded, "--from", "2026-11-16", "--to", "2026-11-22", "--section", "reasons")

    assert result.exit_code == 0
    assert "原因统计（帕累托）" in result.output and "价格高" in result.output


@pytest.mark.parametrize("fmt", ["xlsx", "png", "csv"])
def test_file_formats_are_written_to_the_out_path(seeded: str, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"

    result = run(seeded, "--week", "2026-W47", "--format", fmt, "--out", str(target))

    assert result.exit_code == 0
    assert target.stat().st_size > 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-W99"], "没有第 99 周"),
        (["--week", "2026-W47", "--from", "2026-11-01", "--to", "2026-11-30"], "不能与"),
        (["--from", "2026-11-01"], "同时给出"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "不能早于"),
        (["--format", "xlsx"], "--out"),
        (["--questionnaire", "nope"], "找不到问卷"),
    ],
)
def test_bad_arguments_exit_2_with_a_chinese_message(seeded: str, args: list[str], message: str) -> None:
    result = run(seeded, *args)

    assert result.exit_code == 2
    assert message in result.output


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    make_engine(url).dispose()

    result = run(url, "--week", "2026-W47")

    assert result.exit_code == 2
    assert "huifang db upgrade" in result.output


@pytest.fixture
def two_modes(app: Container, database_url: str) -> str:
    _seed_cases_across_two_modes(Seed(app))
    return database_url


def test_contact_figures_per_mode_are_in_every_format(two_modes: str, tmp_path: Path) -> None:
    week = ("--week", "2026-W47", "--section", "contacts")

    table = run(two_modes, *week, "--format", "table").output
    data = json.loads(run(two_modes, *week, "--format", "json").output)
    csv_text = run(two_modes, *week, "--format", "csv").output
    run(two_modes, *week, "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"))

    assert "按联系方式" in table and "接触率（CON1）" in table
    modes = next(t for t in data["tables"] if t["key"] == "contact_modes")
    assert [(r["mode"], r["tried"], r["completed"]) for r in modes["rows"]] == [
        ("聊天", 3, 0),
        ("电话", 3, 1),
        ("全部", 4, 1),
    ]
    assert "按联系方式\n联系方式,联系次数,尝试个案,接触个案,完成个案" in csv_text
    assert "全部,7,4,3,1,60.0%,20.0%" in csv_text
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["按联系方式"]
    assert [c.value for c in sheet[1]][:3] == ["联系方式", "联系次数", "尝试个案"]
