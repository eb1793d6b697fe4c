"""`huifang demo`: the offline fortnight (see bot/sandbox/demo.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import click


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("huifang-demo"), help="结果目录")
@click.option("--seed", type=int, default=7, help="随机种子（模拟客户与专员的选择）")
def demo(out: Path, seed: int) -> None:
    """离线演示：模拟两周的回访全流程（无需令牌、无需联网）。"""
    from bot import redaction
    from bot.domain.lifecycle import SurveyStatus
    from bot.sandbox.demo import run_demo
    from bot.telegram.application import quiet_http_logs
    from bot.texts import cli_text

    logging.basicConfig(level=logging.WARNING)
    redaction.install([])  # simulated customers have phone numbers too
    quiet_http_logs()
    started = time.monotonic()
    result = asyncio.run(run_demo(out, seed))
    click.echo(result["weekly_summary"] or cli_text("demo.no_summary"))
    click.echo("")
    counts = sorted(result["by_status"].items(), key=lambda kv: list(SurveyStatus).index(SurveyStatus(kv[0])))
    statuses = "，".join(f"{SurveyStatus(k).label} {v}" for k, v in counts)
    click.echo(
        cli_text(
            "demo.totals",
            customers=result["customers"],
            surveys=result["surveys"],
            statuses=statuses,
            messages=result["messages"],
            calls=result["voice_calls"],
        )
    )
    if result.get("sms"):
        click.echo(cli_text("demo.sms", count=result["sms"], example=result["sms_example"]))
    web = result.get("on_the_web", {})
    click.echo(
        cli_text(
            "demo.web",
            opened=sum(web.values()),
            answered=web.get("answered", 0),
            later=web.get("later", 0),
            opted_out=web.get("opted_out", 0),
        )
    )
    click.echo(cli_text("demo.written", folder=result["folder"]))
    click.echo(cli_text("demo.took", seconds=f"{time.monotonic() - started:.1f}"))
