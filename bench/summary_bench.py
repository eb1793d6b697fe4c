"""How long the weekly summary and the report's PNG pages take to make, on the demo's fortnight.

    python bench/summary_bench.py                  # runs the demo first (about a minute), then measures
    python bench/summary_bench.py --db huifang-demo/demo.db

Prints: the summary's data (its queries), its three images, the full report and its PNG pages, each the best of
``--repeat`` runs (default 3). Goal: the Monday push well under 10 s of work, /stats (data + text) well under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def _best(repeat: int, work: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, help="a demo database (default: run the demo into a temporary folder)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from bot.app import build
    from bot.domain.clock import FixedClock
    from bot.domain.statistics import parse_week
    from bot.report_output import render_png_pages
    from bot.services.reports import ReportParams, build_report
    from bot.services.summary import week_summary
    from bot.services.weekly import summary_text
    from bot.settings import Settings
    from bot.summary_charts import summary_images
    from bot.texts import Texts

    db = args.db
    if db is None:
        from bot.sandbox.demo import run_demo

        folder = Path(tempfile.mkdtemp(prefix="summary-bench-"))
        asyncio.run(run_demo(folder / "demo", days=8))
        db = folder / "demo" / "demo.db"
    app = build(Settings(database_url=f"sqlite:///{db}"), clock=FixedClock(datetime(2026, 11, 30, 1, tzinfo=UTC)))
    week = parse_week("2026-W48")
    settings = app.report_settings()
    data_s, summary = _best(args.repeat, lambda: week_summary(app.uow, settings, app.clock, week))
    text_s, text = _best(args.repeat, lambda: summary_text(Texts(), summary))  # type: ignore[arg-type]
    images_s, images = _best(args.repeat, lambda: summary_images(summary))  # type: ignore[arg-type]
    report_s, report = _best(args.repeat, lambda: build_report(app.uow, ReportParams(period=week), settings, app.clock))
    pages_s, pages = _best(args.repeat, lambda: render_png_pages(report))  # type: ignore[arg-type]
    app.close()
    print(f"summary data (queries)      {data_s * 1000:8.0f} ms")
    print(f"summary text                {text_s * 1000:8.0f} ms   {len(str(text).splitlines())} lines")
    print(f"summary images (3)          {images_s * 1000:8.0f} ms   {sum(len(d) for _, d in images) // 1024} KiB")  # type: ignore[attr-defined]
    print(f"report (all sections)       {report_s * 1000:8.0f} ms")
    print(f"report PNG pages            {pages_s * 1000:8.0f} ms   {len(pages)} pages of 1080x1350")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
