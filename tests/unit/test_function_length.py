"""No product function is longer than 60 lines, from ``def`` to its last line (docstring included; decorators,
such as a command's click options, are declarations and not counted; migrations exempt).

A long function is several steps without names: split it into named steps. The code is read as Python syntax
trees (not run); nested functions count on their own and inside the function that holds them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "storage", "scheduler")
LIMIT = 60


def _product_files() -> list[Path]:
    files: list[Path] = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" not in relative.parts:
                files.append(relative)
    return files


def _long_functions(source: str, limit: int = LIMIT) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function in ``source`` longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.name, node.lineno, length))
    return found


def test_no_product_function_is_longer_than_sixty_lines() -> None:
    files = _product_files()
    assert any(path.parts[0] == "scheduler" for path in files) and len(files) > 50  # the walk finds the code
    too_long = [
        f"{path}:{line} {name} ({length} lines)"
        for path in files
        for name, line, length in _long_functions((ROOT / path).read_text(encoding="utf-8"))
    ]
    assert not too_long, "split these into named steps:\n" + "\n".join(too_long)


def test_the_check_finds_a_long_function_a_long_method_and_a_long_nested_one() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    source = (
        f"def long_one():\n{body}\n"
        f"class C:\n    async def long_method(self):\n{body.replace('    ', '        ')}\n"
        f"def short():\n    def inner():\n{body.replace('    ', '        ')}\n"
        f"def fits():\n{body[: -len('    x59 = 59') - 1]}\n"
    )

    names = sorted(name for name, _, _ in _long_functions(source))

    assert names == ["inner", "long_method", "long_one", "short"]
