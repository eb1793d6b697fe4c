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

    logging.basicConfig(level=logging.WARNING)
    redaction.install([])  # simulated customers have phone numbers too
    quiet_http_logs()
    started = time.monotonic()
    result = asyncio.run(run_demo(out, seed))
    click.echo(result["weekly_summary"] or "（没有生成周报）")
    click.echo("")
    counts = sorted(result["by_status"].items(), key=lambda kv: list(SurveyStatus).index(SurveyStatus(kv[0])))
    statuses = "，".join(f"{SurveyStatus(k).label} {v}" for k, v in counts)
    click.echo(
        f"客户 {result['customers']} 位；回访 {result['surveys']} 次（{statuses}）；消息 {result['messages']} 条"
        f"；智能外呼 {result['voice_calls']} 通"
    )
    web = result.get("on_the_web", {})
    click.echo(
        f"回访网页：{sum(web.values())} 位客户打开短信里的链接，{web.get('answered', 0)} 位答完，"
        f"{web.get('later', 0)} 位稍后，{web.get('opted_out', 0)} 位退订"
    )
    if result.get("sms"):
        click.echo(f"短信邀请 {result['sms']} 条（本地短信服务），例：{result['sms_example']}")
    click.echo(f"图表与报表已写入：{result['folder']}（reasons.png、report.xlsx、weekly-*.png）")
    click.echo(f"用时 {time.monotonic() - started:.1f} 秒")
