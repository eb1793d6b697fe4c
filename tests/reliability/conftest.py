"""The reliability suite: crashes, concurrency, two processes and hostile input, on the real bot process and
real databases (SQLite, or PostgreSQL with ``HUIFANG_TEST_DATABASE_URL``). Every test here is marked
``reliability``: ``pytest -m reliability`` runs just these, ``-m 'not reliability'`` skips them."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)
