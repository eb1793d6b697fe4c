"""The domain core stays plain Python, so every channel can reuse it and its tests stay fast."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.domain

FORBIDDEN = ("telegram", "sqlalchemy", "apscheduler", "storage", "alembic", "httpx", "jinja2", "yaml", "pydantic")


def test_no_domain_module_imports_telegram_the_database_the_scheduler_or_a_file_format_library() -> None:
    offenders = []
    for path in Path(bot.domain.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]

    assert offenders == []
