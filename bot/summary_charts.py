"""The weekly summary's three images, made for a phone: 1080 px wide, 1350 px high (Telegram shows a photo
at the screen's width, about 390 CSS px on a phone, so every text is drawn at 22 pt or more: 30 px in the
image, 11 px or more on the screen).

① the contact funnel (应访 → 联系上 → 完成, and who refused, opted out, could not be reached) overall and by
contact mode; ② the lost-sale reasons as a Pareto (bars largest first, cumulative share as a line on the
right axis) and where the customers went; ③ satisfaction scores (1–5) and tasks per person. Words come from
``scripts_zh/reports/summary.yaml``; question and reason labels from the questionnaires' ``short`` names.
Drawn with matplotlib (its object API, no pyplot state, so two threads can draw at once) in Noto Sans SC.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from bot.domain.dispositions import FunnelStage
from bot.report_output import font_path
from bot.services.summary import Pareto, WeekSummary
from bot.services.weekly import period_dates
from bot.texts import summary_label, summary_value

WIDTH_PX = 1080
HEIGHT_PX = 1350
DPI = 100
PHONE_PX = 390  # the width a phone shows the image at
TITLE_PT = 30
TEXT_PT = 24
SMALL_PT = 22  # the smallest text: 30.6 px in the image, 11 px at a phone's width

BLUE, LIGHT_BLUE, GREEN = "#2f6db5", "#8fb3e0", "#2e9b5f"
RED, ORANGE, GREY = "#c8453b", "#e39a35", "#9a9a9a"
SCORE_COLOURS = ("#c8453b", "#ec8a5b", "#d9d9d9", "#8cc79b", "#2e9b5f")

# (stage, colour) of the per-mode bars, left to right.
MODE_SEGMENTS = (
    (FunnelStage.COMPLETED, GREEN),
    (FunnelStage.REACHED, LIGHT_BLUE),
    (FunnelStage.REFUSED, RED),
    (FunnelStage.OPTED_OUT, ORANGE),
    (FunnelStage.UNREACHABLE, GREY),
)
STAGE_WORDS = {
    FunnelStage.COMPLETED: "completed",
    FunnelStage.REACHED: "reached",
    FunnelStage.REFUSED: "refused",
    FunnelStage.OPTED_OUT: "opted_out",
    FunnelStage.UNREACHABLE: "unreachable",
    FunnelStage.NOT_TRIED: "pending",
}


def _words(key: str, **context: Any) -> str:
    return summary_label(f"charts.{key}", **context)


def font_family() -> str:
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def _figure(summary: WeekSummary, title: str) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    heading = _words("heading", title=title, period=summary.period.label, dates=period_dates(summary.period))
    figure.suptitle(heading, fontsize=TITLE_PT, x=0.04, y=0.975, ha="left")
    return figure


def no_data(ax: Any, title: str) -> None:
    """An empty panel says 无数据 instead of drawing an axis around nothing."""
    ax.set_axis_off()
    ax.set_title(title, fontsize=TEXT_PT, loc="left")
    ax.text(0.5, 0.5, _words("no_data"), ha="center", va="center", fontsize=TEXT_PT, color=GREY)


def _plain(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=SMALL_PT)


def _key(figure: Any, text: str) -> None:
    figure.text(0.04, 0.015, text, fontsize=SMALL_PT, color="#444444", ha="left", va="bottom", wrap=True)


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


# --------------------------------------------------------------------------------------------------------------
# ① the contact funnel


def funnel_figure(summary: WeekSummary) -> Any:
    figure = _figure(summary, _words("funnel.title"))
    top, bottom = figure.subplots(2, 1, height_ratios=(1.25, 1))
    total = summary.total
    stages = summary_value("charts.funnel.stages")
    if total.due == 0:
        no_data(top, "")
        no_data(bottom, _words("funnel.modes_title"))
        figure.subplots_adjust(left=0.2, right=0.95, top=0.9, bottom=0.12, hspace=0.4)
        return figure
    bars = [
        (stages["due"], total.due, BLUE),
        (stages["reached"], total.reached, BLUE),
        (stages["completed"], total.count(FunnelStage.COMPLETED), GREEN),
        (stages["refused"], total.count(FunnelStage.REFUSED), RED),
        (stages["opted_out"], total.count(FunnelStage.OPTED_OUT), ORANGE),
        (stages["unreachable"], total.count(FunnelStage.UNREACHABLE), GREY),
    ]
    if total.count(FunnelStage.NOT_TRIED):
        bars.append((stages["pending"], total.count(FunnelStage.NOT_TRIED), GREY))
    positions = list(range(len(bars)))[::-1]
    top.barh(positions, [n for _, n, _ in bars], color=[c for _, _, c in bars], height=0.7)
    top.set_yticks(positions, labels=[label for label, _, _ in bars])
    for y, (_, n, _) in zip(positions, bars, strict=True):
        top.text(n, y, "  " + _words("funnel.value", count=n, pct=_pct(n, total.due)), va="center", fontsize=SMALL_PT)
    top.set_xlim(0, total.due * 1.6)
    top.set_xticks([])
    top.spines[["top", "right", "bottom"]].set_visible(False)
    top.tick_params(labelsize=TEXT_PT, length=0)

    modes = summary.funnels[:-1]
    if not modes:
        no_data(bottom, _words("funnel.modes_title"))
    else:
        positions = list(range(len(modes)))[::-1]
        left = [0.0] * len(modes)
        for stage, colour in MODE_SEGMENTS:
            widths = [100 * f.count(stage) / f.due if f.due else 0 for f in modes]
            bottom.barh(positions, widths, left=left, color=colour, height=0.6, label=stages[STAGE_WORDS[stage]])
            for y, x0, w, f in zip(positions, left, widths, modes, strict=True):
                if w >= 9:
                    bottom.text(x0 + w / 2, y, str(f.count(stage)), ha="center", va="center", fontsize=SMALL_PT)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        bottom.set_yticks(positions, labels=[f"{f.label}\n{f.due} 人" for f in modes])
        bottom.set_xlim(0, 100)
        bottom.set_xticks([0, 50, 100], labels=["0%", "50%", "100%"])
        bottom.set_title(_words("funnel.modes_title"), fontsize=TEXT_PT, loc="left")
        bottom.legend(loc="upper center", bbox_to_anchor=(0.42, -0.12), ncol=3, fontsize=SMALL_PT, frameon=False)
        _plain(bottom)
        bottom.tick_params(axis="y", labelsize=TEXT_PT)
    _key(figure, _words("funnel.key"))
    figure.subplots_adjust(left=0.2, right=0.94, top=0.91, bottom=0.2, hspace=0.3)
    return figure


# --------------------------------------------------------------------------------------------------------------
# ② the lost-sale reasons


def draw_pareto(ax: Any, pareto: Pareto, title: str) -> None:
    """Bars largest first and the cumulative share as a line on a right-hand 0–100% axis."""
    if not pareto.bars:
        no_data(ax, title)
        return
    labels = [b.label for b in pareto.bars]
    counts = [b.count for b in pareto.bars]
    positions = list(range(len(labels)))
    ax.bar(positions, counts, color=BLUE, width=0.65)
    for x, n in zip(positions, counts, strict=True):
        ax.text(x, n, str(n), ha="center", va="bottom", fontsize=SMALL_PT)
    ax.set_xticks(positions, labels=_stacked(labels))
    ax.set_ylim(0, max(counts) * 1.2)
    ax.set_xlim(-0.6, max(len(labels), 4) - 0.4)  # one or two bars stay bar-wide, not page-wide
    ax.set_title(title, fontsize=TEXT_PT, loc="left")
    ax.set_ylabel(_words("reasons.count"), fontsize=SMALL_PT)
    _plain(ax)
    ax.yaxis.get_major_locator().set_params(integer=True)
    line = ax.twinx()
    running, cumulative = 0, []
    for n in counts:
        running += n
        cumulative.append(100 * running / pareto.answered)
    line.plot(positions, cumulative, color=ORANGE, marker="o", linewidth=3, markersize=10)
    line.set_ylim(0, 110)
    line.set_yticks([0, 50, 80, 100], labels=["0%", "50%", "80%", "100%"])
    line.tick_params(labelsize=SMALL_PT, colors=ORANGE)
    line.set_ylabel(_words("reasons.cumulative"), fontsize=SMALL_PT, color=ORANGE)
    line.spines[["top"]].set_visible(False)


def _stacked(labels: Sequence[str]) -> list[str]:
    """Labels of more than three characters over two lines, so neighbouring bars' labels never touch."""
    return [
        label if len(label) <= 3 else f"{label[: (len(label) + 1) // 2]}\n{label[(len(label) + 1) // 2 :]}"
        for label in labels
    ]


def reasons_figure(summary: WeekSummary) -> Any:
    figure = _figure(summary, _words("reasons.title"))
    top, bottom = figure.subplots(2, 1, height_ratios=(1.6, 1))
    reasons = summary.reasons
    draw_pareto(top, reasons, _words("reasons.pareto_title", question=reasons.title, answered=reasons.answered))
    where = summary.destinations
    title = _words("reasons.destinations_title", question=where.title, answered=where.answered)
    if not where.bars:
        no_data(bottom, title)
    else:
        positions = list(range(len(where.bars)))[::-1]
        bottom.barh(positions, [b.count for b in where.bars], color=LIGHT_BLUE, height=0.6)
        bottom.set_yticks(positions, labels=[b.label for b in where.bars])
        for y, b in zip(positions, where.bars, strict=True):
            bottom.text(b.count, y, f"  {b.count}（{_pct(b.count, where.answered)}）", va="center", fontsize=SMALL_PT)
        bottom.set_xlim(0, max(b.count for b in where.bars) * 1.5)
        bottom.set_xticks([])
        bottom.set_title(title, fontsize=TEXT_PT, loc="left")
        bottom.spines[["top", "right", "bottom"]].set_visible(False)
        bottom.tick_params(labelsize=TEXT_PT, length=0)
    _key(figure, _words("reasons.key"))
    figure.subplots_adjust(left=0.2, right=0.86, top=0.88, bottom=0.09, hspace=0.5)
    return figure


# --------------------------------------------------------------------------------------------------------------
# ③ satisfaction and tasks


def people_figure(summary: WeekSummary) -> Any:
    figure = _figure(summary, _words("people.title"))
    top, bottom = figure.subplots(2, 1, height_ratios=(1, 1))
    scores = [s for s in summary.scores if s.n]
    title = _words("people.scores_title", n=sum(s.n for s in scores))
    if not scores:
        no_data(top, title)
    else:
        positions = list(range(len(scores)))[::-1]
        left = [0.0] * len(scores)
        legend = summary_value("charts.people.score_legend")
        for i in range(5):
            widths = [100 * s.counts[i] / s.n for s in scores]
            top.barh(positions, widths, left=left, color=SCORE_COLOURS[i], height=0.6, label=legend[i])
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for y, s in zip(positions, scores, strict=True):
            mean = f"{float(s.mean or 0):.1f}"
            top.text(102, y, _words("people.score_value", mean=mean, n=s.n), va="center", fontsize=SMALL_PT)
        top.set_yticks(positions, labels=[s.label for s in scores])
        top.set_xlim(0, 100)
        top.set_xticks([0, 50, 100], labels=["0%", "50%", "100%"])
        top.set_title(title, fontsize=TEXT_PT, loc="left")
        top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=5, fontsize=SMALL_PT, frameon=False)
        _plain(top)
        top.tick_params(axis="y", labelsize=TEXT_PT)
    as_of = _words("people.as_of_current" if summary.current else "people.as_of_end")
    title = _words("people.tasks_title", as_of=as_of)
    tasks = summary.tasks
    if not tasks:
        no_data(bottom, title)
    else:
        unassigned = _words("people.unassigned")
        positions = list(range(len(tasks)))[::-1]
        bottom.barh([p + 0.2 for p in positions], [t.open_at_end for t in tasks], height=0.38, color=LIGHT_BLUE,
                    label=_words("people.open"))  # fmt: skip
        bottom.barh([p - 0.2 for p in positions], [t.overdue for t in tasks], height=0.38, color=RED,
                    label=_words("people.overdue"))  # fmt: skip
        for y, t in zip(positions, tasks, strict=True):
            bottom.text(t.open_at_end, y + 0.2, f" {t.open_at_end}", va="center", fontsize=SMALL_PT)
            if t.overdue:
                bottom.text(t.overdue, y - 0.2, f" {t.overdue}", va="center", fontsize=SMALL_PT, color=RED)
        bottom.set_yticks(positions, labels=[t.name or unassigned for t in tasks])
        widest = max(max(t.open_at_end, t.overdue) for t in tasks)
        bottom.set_xlim(0, max(widest, 1) * 1.25)
        bottom.set_xticks([])
        bottom.set_title(title, fontsize=TEXT_PT, loc="left")
        bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=SMALL_PT, frameon=False)
        bottom.spines[["top", "right", "bottom"]].set_visible(False)
        bottom.tick_params(labelsize=TEXT_PT, length=0)
    figure.subplots_adjust(left=0.22, right=0.78, top=0.88, bottom=0.04, hspace=0.6)
    return figure


# --------------------------------------------------------------------------------------------------------------
# Entry points


def summary_figures(summary: WeekSummary) -> list[tuple[str, Any]]:
    """(name, matplotlib Figure) of the three images, in the order they are sent."""
    import matplotlib

    with matplotlib.rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        return [
            ("funnel", funnel_figure(summary)),
            ("reasons", reasons_figure(summary)),
            ("people", people_figure(summary)),
        ]


def png(figure: Any) -> bytes:
    """A figure as PNG bytes, exactly WIDTH_PX × HEIGHT_PX."""
    import matplotlib

    with matplotlib.rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def summary_images(summary: WeekSummary) -> list[tuple[str, bytes]]:
    """(name, PNG bytes) of the three images."""
    return [(name, png(figure)) for name, figure in summary_figures(summary)]
