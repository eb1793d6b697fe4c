from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Container
from bot.settings import Settings
from tests.e2e.harness import Harness, running


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name="惠州江铃4S店", link_secret="test-secret-0123456789abcdef")


@pytest.fixture
async def bot(app: Container) -> AsyncIterator[Harness]:
    async with running(app) as harness:
        yield harness
