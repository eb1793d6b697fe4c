"""The call sheet holds no Chinese in Python: every column, label and reason is in scripts_zh/calls/labels.yaml."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.domain.engine import RejectReason
from bot.rendering import RenderError
from bot.texts import CALL_SHEET_LABELS, call_sheet_text, call_sheet_value

ROOT = Path(__file__).resolve().parents[2]
CALL_SHEET_MODULES = sorted((ROOT / "bot" / "services" / "call_sheet").glob("*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _string_literals(path: Path) -> list[ast.Constant]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_call_sheet_is_split_into_one_module_per_concept() -> None:
    assert {p.stem for p in CALL_SHEET_MODULES} >= {"columns", "export", "reading", "import_"}


@pytest.mark.parametrize("path", CALL_SHEET_MODULES, ids=lambda p: p.name)
def test_call_sheet_code_has_no_chinese_string_literals(path: Path) -> None:
    chinese = [f"{path.name}:{n.lineno}: {n.value!r}" for n in _string_literals(path) if CJK.search(n.value)]

    assert chinese == []


def test_every_reason_the_import_names_is_in_the_labels_file() -> None:
    source = (ROOT / "bot" / "services" / "call_sheet" / "import_.py").read_text(encoding="utf-8")
    named = set(re.findall(r'_rejected\(\s*[\w.]+,\s*"(\w+)"', source))
    named |= set(re.findall(r'call_sheet_text\(\s*"errors\.(\w+)"', source))

    assert named, "the pattern no longer finds the reasons"
    assert sorted(named - set(call_sheet_value("errors"))) == []


def test_the_words_for_refused_answers_name_reasons_the_engine_gives() -> None:
    words = call_sheet_value("rejections")

    assert sorted(set(words) - {r.value for r in RejectReason} - {"other"}) == []
    assert RejectReason.OUTSIDE_HOURS in words and words["other"] == "无法记录"


def test_call_sheet_texts_fill_their_fields() -> None:
    assert call_sheet_text("errors.unknown_survey", survey=42) == "找不到回访编号 42"
    assert call_sheet_text("columns.dialled_at") == "拨打时间"
    assert CALL_SHEET_LABELS.is_file()


def test_a_call_sheet_text_missing_a_field_raises_instead_of_printing_a_blank() -> None:
    with pytest.raises(RenderError):
        call_sheet_text("errors.unknown_survey")
