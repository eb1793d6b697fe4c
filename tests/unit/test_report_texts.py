"""The reports hold no Chinese in Python: every title, header, note and word is in scripts_zh/reports/labels.yaml."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.rendering import RenderError
from bot.texts import REPORT_LABELS, report_text

ROOT = Path(__file__).resolve().parents[2]
REPORT_MODULES = [
    *sorted((ROOT / "bot" / "services" / "reports").glob("*.py")),
    ROOT / "bot" / "report_output.py",
    ROOT / "bot" / "services" / "weekly.py",
]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


@pytest.mark.parametrize("path", REPORT_MODULES, ids=lambda p: p.name)
def test_report_code_has_no_chinese_string_literals(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)

    chinese = [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and CJK.search(node.value)
    ]

    assert chinese == []


def test_report_texts_fill_their_fields_from_the_report() -> None:
    assert report_text("tables.lapse_stages.title", as_of="2026-11-22") == "流失客户（按阶段，截至 2026-11-22）"
    assert report_text("words.total") == "合计"
    assert REPORT_LABELS.is_file()


def test_a_report_text_missing_a_field_raises_instead_of_printing_a_blank() -> None:
    with pytest.raises(RenderError):
        report_text("tables.lapse_stages.title")
