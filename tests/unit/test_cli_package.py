"""The command line as a package: quick to start, and no command commits a unit of work itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bot.cli

CLI_DIR = Path(bot.cli.__file__).parent

HEAVY = ("sqlalchemy", "telegram", "pydantic", "jinja2", "alembic", "aiohttp", "httpx", "apscheduler", "openpyxl",
         "storage", "bot.app", "bot.settings", "bot.services")  # fmt: skip


def test_help_lists_every_command_without_loading_database_telegram_or_settings_code() -> None:
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))\n"
        "print('LOADED', ' '.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)

    for command in ("calls", "db", "demo", "import", "jobs", "link", "links", "report", "run", "scripts", "staff"):
        assert f"  {command} " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "LOADED"


def test_python_dash_m_bot_is_the_huifang_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "--help"], capture_output=True, text=True, timeout=60, check=True
    )

    assert "upgrade" in result.stdout and "status" in result.stdout


def test_no_command_commits_a_unit_of_work_itself() -> None:
    commits = [
        f"{path.name}:{node.lineno}"
        for path in sorted(CLI_DIR.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]

    assert commits == [], "commands call one service, which commits its own unit of work"
