"""The offline demo runs the whole cycle through the real bot and leaves its results in a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.sandbox.demo import run_demo

pytestmark = pytest.mark.once  # the demo makes its own SQLite database


async def test_the_demo_surveys_customers_by_chat_and_phone_and_pushes_the_weekly_summary(tmp_path: Path) -> None:
    result = await run_demo(tmp_path / "demo", days=8)

    assert result["customers"] == 297
    assert result["by_status"].get("completed", 0) > 50  # answered in chat and on the phone
    assert result["by_status"].get("refused", 0) > 0 and result["by_status"].get("cancelled", 0) > 0  # opt-outs
    assert result["weekly_summary"].startswith("📊 上周回访汇总（2026-W48，11/23–11/29）")
    assert "战败原因" in result["weekly_summary"] and "RR1" not in result["weekly_summary"]
    assert result["voice_calls"] > 20  # customers without a chat are called by the robot
    folder = Path(result["folder"])
    for image in ("funnel", "reasons", "people"):
        assert (folder / f"weekly-2026-W48-{image}.png").stat().st_size > 10_000
    assert (folder / "reasons.png").stat().st_size > 10_000
    assert len(load_workbook(folder / "report.xlsx", read_only=True).sheetnames) >= 5
    # Customers not reached in chat get the SMS invitation from the local provider, with their page's link.
    assert result["sms"] > 20
    assert result["sms_example"].startswith("【江铃汽车】") and "/s/" in result["sms_example"]
    assert result["sms_example"].endswith("回T退订")
    # Customers open the link their SMS carried and finish on the page; the weekly figures count them in that mode.
    assert result["on_the_web"].get("answered", 0) > 20 and not result["on_the_web"].get("refused")
    web_line = next(line for line in result["weekly_summary"].splitlines() if line.startswith("按方式"))
    assert "短信网页 完成 0/" not in web_line and "语音" in web_line
