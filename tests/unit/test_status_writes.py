"""Nothing but the lifecycle's applier (``bot/services/survey_status.py``) writes a survey's status.

The product code is read as Python syntax trees (not run), and every way of writing a ``status`` is looked at:
an assignment to ``<something>.status``, a ``status=`` keyword on a statement about ``Survey``, a
``"status"`` key in a mapping of row values, ``setattr(…, "status", …)`` and hand-written SQL updating the
survey table. Tasks, outbox messages and customers have statuses of their own, written by their
repositories and services; those receivers are named below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "scheduler", "storage")
APPLIER = Path("bot/services/survey_status.py")
# ``<name>.status = …`` on rows that are not surveys.
OTHER_ROWS = {"customer", "task", "self"}
# Packages whose plain mappings may carry a ``"status"`` key that is not a survey's (the domain's import rows).
MAPPINGS_ALLOWED = ("bot/domain/",)
RAW_SQL = re.compile(r"update\s+survey\s+set\b[^;]*\bstatus\b", re.IGNORECASE | re.DOTALL)


def _product_files() -> list[Path]:
    files: list[Path] = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == APPLIER or "migrations" in relative.parts or ".venv" in relative.parts:
                continue
            files.append(relative)
    return files


def _mentions_survey(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "Survey" for n in ast.walk(node))


def status_writes(source: str, where: str) -> list[str]:
    """Every place in ``source`` that writes a survey's status (``where`` names the file in the findings)."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and part.attr == "status" and isinstance(part.ctx, ast.Store):
                    receiver = part.value.id if isinstance(part.value, ast.Name) else ast.unparse(part.value)
                    if receiver not in OTHER_ROWS:
                        found.append(f"{where}:{node.lineno}: assigns {receiver}.status")
        if isinstance(node, ast.Call):
            if any(k.arg == "status" for k in node.keywords) and _mentions_survey(node.func):
                found.append(f"{where}:{node.lineno}: passes status= for Survey")
            if (
                isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
            ):
                found.append(f"{where}:{node.lineno}: setattr(…, 'status', …)")
        if (
            isinstance(node, ast.Dict)
            and not where.startswith(MAPPINGS_ALLOWED)
            and any(isinstance(k, ast.Constant) and k.value == "status" for k in node.keys)
        ):
            found.append(f"{where}:{node.lineno}: a mapping with a 'status' key")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_SQL.search(node.value):
            found.append(f"{where}:{node.lineno}: SQL updating survey.status")
    return found


def test_no_module_but_the_lifecycle_applier_writes_a_surveys_status() -> None:
    found = [hit for path in _product_files() for hit in status_writes(path.read_text("utf-8"), str(path))]
    assert found == [], "survey status written outside bot/services/survey_status.py:\n" + "\n".join(found)


def test_the_applier_itself_is_where_the_status_is_written() -> None:
    assert status_writes((ROOT / APPLIER).read_text("utf-8"), str(APPLIER)), "the check finds nothing to check"


@pytest.mark.parametrize(
    "snippet",
    [
        'survey.status = "expired"',
        'survey.status, survey.outcome = "expired", "no_response"',
        "s.status = SurveyStatus.CANCELLED",
        'session.execute(update(Survey).where(Survey.id == 1).values(status="cancelled"))',
        'Survey(customer_id=1, status="pending")',
        'repo.add_unless_active({"customer_id": 1, "status": "pending"})',
        'setattr(survey, "status", "refused")',
        "session.execute(text(\"UPDATE survey SET status = 'cancelled' WHERE id = 1\"))",
    ],
)
def test_each_way_of_writing_a_status_directly_is_caught(snippet: str) -> None:
    assert status_writes(snippet, "bot/services/example.py")


def test_statuses_of_customers_and_tasks_are_not_mistaken_for_a_surveys() -> None:
    assert status_writes('customer.status = "owner"\ntask.status = TaskStatus.DONE', "bot/services/x.py") == []
