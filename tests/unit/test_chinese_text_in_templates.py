"""Chinese text lives in ``scripts_zh/`` (message templates and label files), not in Python string literals.

Every ``.py`` file of the product is read as a syntax tree (not run); its string literals, f-string parts
included, are searched for Chinese characters (CJK ideographs; punctuation such as ``、`` used as a joiner is
not text). Comments and docstrings are not looked at. Two lists say where Chinese may still be found:

* ``VOCABULARY``: words a parser must recognise in what people type (input, not output), kept beside the
  parser as an explicit allow-list, each with why it stays.
* ``NOT_YET_MOVED``: files whose texts have not been moved to ``scripts_zh/`` yet, with how many literals they
  hold today. The count may only go down (a test fails if a file gains one, or holds fewer than listed, so
  the list is lowered as texts move); a file not listed may hold none.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "storage", "scheduler")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

VOCABULARY = {
    # Typed and spoken callback times (明天下午三点半, 十二月三日): the parser's words and patterns.
    "bot/domain/callback_time.py": "the callback-time parser's relative days, periods of the day and numerals",
    # What a customer says on an automated call (别再打了, 转人工, 再说一遍): the speech reader's phrases.
    "bot/domain/speech.py": "the speech reader's opt-out, ask-for-a-person and say-again phrases",
    # An applied migration is history: its CHECK constraint names the stored honorifics.
    "storage/migrations/versions/0001_initial_schema.py": "the first migration's CHECK on honorific values",
}

# Texts still to move to scripts_zh/ (label YAML read through bot/texts.py), literals per file today.
NOT_YET_MOVED = {
    "bot/cli/__init__.py": 1,
    "bot/cli/calls.py": 2,
    "bot/cli/demo.py": 2,
    "bot/cli/erase.py": 1,
    "bot/cli/import_.py": 6,
    "bot/cli/jobs.py": 1,
    "bot/cli/links.py": 13,
    "bot/cli/report.py": 10,
    "bot/cli/scripts.py": 19,
    "bot/domain/customer_import.py": 78,
    "bot/domain/dates.py": 5,
    "bot/domain/dispositions.py": 32,
    "bot/domain/engine.py": 2,
    "bot/domain/lapse.py": 3,
    "bot/domain/lifecycle.py": 12,
    "bot/domain/people.py": 44,
    "bot/domain/phone.py": 3,
    "bot/domain/presentation.py": 35,
    "bot/domain/statistics.py": 34,
    "bot/qr.py": 1,
    "bot/questionnaires/checking.py": 10,
    "bot/questionnaires/loading.py": 2,
    "bot/sandbox/demo.py": 49,
    "bot/sandbox/fake_telegram.py": 3,
    "bot/services/importing.py": 8,
    "bot/services/links.py": 8,
    "bot/services/surveys.py": 14,
    "bot/services/web_links.py": 2,
    "bot/settings.py": 14,
    "bot/summary_charts.py": 1,
    "bot/tabular.py": 16,
    "bot/telegram/handlers.py": 1,
    "bot/telegram/phone_handlers.py": 1,
    "bot/web/pages.py": 2,
    "storage/schema.py": 6,
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def chinese_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in ``source`` holding Chinese, docstrings and comments aside."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and HAN.search(node.value)
    ]


def _product_files() -> list[str]:
    return [path.relative_to(ROOT).as_posix() for package in PRODUCT for path in sorted((ROOT / package).rglob("*.py"))]


def test_no_python_file_holds_chinese_text_outside_the_lists() -> None:
    files = _product_files()
    assert len(files) > 50 and "bot/cli/support.py" in files  # the walk finds the code
    found = {path: chinese_literals((ROOT / path).read_text(encoding="utf-8")) for path in files}

    unexpected = {
        path: [f"{line}: {text[:40]!r}" for line, text in literals]
        for path, literals in found.items()
        if literals and path not in VOCABULARY and len(literals) > NOT_YET_MOVED.get(path, 0)
    }
    assert not unexpected, f"put these texts in scripts_zh/ (a template or a label file): {unexpected}"


def test_the_list_of_files_not_yet_moved_only_goes_down() -> None:
    stale = {
        path: (allowed, len(chinese_literals((ROOT / path).read_text(encoding="utf-8"))))
        for path, allowed in NOT_YET_MOVED.items()
        if (ROOT / path).exists()
    }
    lower = {path: counts for path, counts in stale.items() if counts[1] < counts[0]}
    gone = [path for path in NOT_YET_MOVED if not (ROOT / path).exists()]
    assert not lower and not gone, f"lower NOT_YET_MOVED to today's counts (listed, found): {lower} {gone}"


def test_the_scan_sees_literals_and_f_strings_but_not_docstrings_comments_or_punctuation() -> None:
    source = (
        '"""模块说明。"""\n'
        "def f(n):\n"
        '    """函数说明。"""\n'
        "    # 注释\n"
        '    joined = "、".join(["a", "b"])\n'
        '    return f"共 {n} 行" + "完成"\n'
    )

    assert sorted(text for _, text in chinese_literals(source)) == sorted(["共 ", " 行", "完成"])
