"""The managers' weekly summary text (the Monday push and /stats): about fifteen plain lines for a phone.

How many were due, reached, completed, refused, opted out (said as such) and unreachable, with the change
against last week in words that say when a change is not distinguishable from noise; the top lost-sale
reasons and where the customers went, satisfaction scores, recovered prospects and overdue tasks. The data is
``bot.services.summary.WeekSummary``; the images are ``bot.summary_charts``. AAPOR rates stay in
``huifang report``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from bot.domain.clock import Clock
from bot.domain.contact_plan import Mode
from bot.domain.dispositions import FunnelStage
from bot.domain.statistics import Period, ReportSettings, percent_text, round_half_up, week_period
from bot.services.summary import WeekSummary, week_summary
from bot.texts import Texts, summary_label, summary_value
from storage.unit_of_work import SqlUnitOfWork

TOP_REASONS = 3
TOP_OVERDUE = 5
IMAGES = ("funnel", "reasons", "people")


def this_week_text(
    uow_factory: Callable[[], SqlUnitOfWork],
    texts: Texts,
    settings: ReportSettings,
    clock: Clock,
    today: date,
    skipped: Sequence[Mode] = (),
) -> str:
    """/stats: the current ISO week so far, in the weekly summary's shape, compared with last week."""
    summary = week_summary(uow_factory, settings, clock, week_period(today), current=True)
    return summary_text(texts, summary, skipped=skipped, images=False)


def period_dates(period: Period) -> str:
    """11/23–11/29: the days of a period as a manager reads them."""
    last = period.end - timedelta(days=1)
    return summary_label("dates", start=f"{period.start.month}/{period.start.day}", end=f"{last.month}/{last.day}")


def _pct(value: Fraction | None) -> str:
    return percent_text(value, 0)


def _points(value: Fraction | None) -> str:
    return "—" if value is None else str(abs(round_half_up(value, 0)))


def summary_text(texts: Texts, summary: WeekSummary, *, skipped: Sequence[Mode] = (), images: bool = True) -> str:
    """The summary as a short text (``images``: it goes out with the three images, and says so)."""
    total = summary.total
    before = summary.total_before
    stage = total.count
    rate_labels = summary_value("rates")
    unassigned = summary_label("charts.people.unassigned")
    context: dict[str, Any] = {
        "current": summary.current,
        "period": summary.period.label,
        "dates": period_dates(summary.period),
        "empty": summary.empty,
        "due": total.due,
        "due_before": before.due,
        "due_change": summary.due_verdict.value,
        "reached": total.reached,
        "reached_pct": _pct(_share(total.reached, total.due)),
        "completed": stage(FunnelStage.COMPLETED),
        "completed_pct": _pct(_share(stage(FunnelStage.COMPLETED), total.due)),
        "refused": stage(FunnelStage.REFUSED),
        "opted_out": stage(FunnelStage.OPTED_OUT),
        "unreachable": stage(FunnelStage.UNREACHABLE),
        "pending": stage(FunnelStage.NOT_TRIED),
        "rates": [
            {
                "label": rate_labels[r.key],
                "now": _pct(r.now),
                "points": _points(r.points),
                "verdict": r.verdict.value,
            }
            for r in summary.rates
            if r.now is not None
        ],
        "modes": [
            {"label": f.label, "completed": f.count(FunnelStage.COMPLETED), "due": f.due} for f in summary.funnels[:-1]
        ],
        "reasons": [{"label": b.label, "count": b.count} for b in summary.reasons.bars[:TOP_REASONS]],
        "answered": summary.reasons.answered,
        "destinations": [{"label": b.label, "count": b.count} for b in summary.destinations.bars],
        "scores": [
            {"label": s.label, "mean": round_half_up(s.mean, 1), "n": s.n} for s in summary.scores if s.mean is not None
        ],
        "recovered": (
            {"surveyed": summary.recovered[0], "bought": summary.recovered[1]} if summary.recovered[0] else None
        ),
        "overdue": [{"name": t.name or unassigned, "overdue": t.overdue} for t in summary.tasks if t.overdue][
            :TOP_OVERDUE
        ],
        "skipped": [texts.mode(m.value) for m in skipped],
        "images": [summary_label(f"images.{key}") for key in IMAGES] if images and not summary.empty else [],
    }
    return texts.message("weekly_summary", **context)[:4000]


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None
