"""Every command-line text the code asks for is in ``scripts_zh/cli/labels.yaml`` and renders with the fields
the code passes (a missing key or field would turn an error line into a traceback)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.texts import CLI_LABELS, cli_text

ROOT = Path(__file__).resolve().parents[2]


def _calls() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "cli_text"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                fields = [k.arg for k in node.keywords if k.arg]
                found.append((path.relative_to(ROOT).as_posix(), str(node.args[0].value), fields))
    return found


def test_every_command_line_text_asked_for_exists_and_renders_with_the_fields_given() -> None:
    calls = _calls()
    assert len(calls) > 30  # the walk finds the command line's error lines

    raw = CLI_LABELS.read_text(encoding="utf-8")
    for path, key, fields in calls:
        # a field joined in the template (``names | join('、')``) is given as a list of one
        values = {name: [f"<{name}>"] if f"{name} | join" in raw else f"<{name}>" for name in fields}
        text = cli_text(key, **values)
        assert text and "{{" not in text, (path, key)
        assert all(f"<{name}>" in text for name in fields), (path, key, text)


def test_an_error_line_reads_as_before_with_its_values_in_place() -> None:
    assert cli_text("errors.database_busy", seconds="30") == (
        "数据库正忙（另一个进程占用写入锁超过 30 秒），请稍后重试（等待秒数可用 HUIFANG_SQLITE_BUSY_TIMEOUT 调整）"
    )
    assert cli_text("import.new_staff", names=["李明", "王芳"]) == "表中出现、系统中没有的销售顾问，已新建：李明、王芳"
    assert cli_text("errors.job_time", text="<b>明天</b>") == "无法识别的时间“<b>明天</b>”（例如 2026-11-30T09:00）"
