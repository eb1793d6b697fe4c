"""The managers' weekly summary as data, made for a phone: the funnel by contact mode, the lost-sale reasons as
a Pareto with where the customers went, satisfaction scores and tasks per person, each with last week's figure
and whether the change is more than noise (``bot.domain.statistics.share_change`` / ``count_change``).

``bot.services.weekly`` renders it as a short text (``scripts_zh/messages/weekly_summary.j2``) and
``bot.summary_charts`` as phone-sized images. AAPOR rates are not here: they stay in ``huifang report``.
Reads in one unit of work (one snapshot); labels come from the questionnaires' ``short`` names.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from bot.domain import dispositions as disp
from bot.domain.clock import Clock
from bot.domain.dispositions import FunnelStage
from bot.domain.questionnaire import Questionnaire
from bot.domain.statistics import Change, Period, ReportSettings, count_change, share, share_change
from bot.services.reports.facts import QuestionFacts, default_catalog, question_facts
from bot.services.reports.rates import CHANNEL_LABELS, CHANNELS, case_codes
from storage.queries import reports as q
from storage.unit_of_work import SqlUnitOfWork

DEFEAT = "defeat"
REASON_QUESTION = "q2"  # 不选择从我公司购买的主要原因 (seed 000, Q2): the Pareto
DESTINATION_QUESTION = "q1"  # 最后买了哪个品牌: where they went
SCORED = ("delivery_3day", "owner_care")  # questionnaires whose 1–5 scores the summary shows
TOP_STAFF = 8


@dataclass(frozen=True)
class Funnel:
    """One contact mode's cases (``mode`` None: every case once, its best result across modes) by stage."""

    mode: str | None
    label: str
    stages: dict[FunnelStage, int]

    @property
    def due(self) -> int:
        return sum(self.stages.values())

    @property
    def reached(self) -> int:
        return sum(n for stage, n in self.stages.items() if stage.contacted)

    def count(self, stage: FunnelStage) -> int:
        return self.stages.get(stage, 0)


@dataclass(frozen=True)
class RateChange:
    """A share this week and last week (percentages of ``due``), the change in points and what it means."""

    key: str  # contact | completion | refusal
    now: Fraction | None
    before: Fraction | None
    verdict: Change

    @property
    def points(self) -> Fraction | None:
        return None if self.now is None or self.before is None else (self.now - self.before) * 100


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    before: int = 0
    verdict: Change = Change.NONE  # this bar's share against last week's share


@dataclass(frozen=True)
class Pareto:
    """A tallied question's answers, largest first (其他 last among equals), labels from ``short``."""

    title: str
    bars: list[Bar]
    answered_before: int = 0

    @property
    def answered(self) -> int:
        return sum(b.count for b in self.bars)


@dataclass(frozen=True)
class Score:
    """A 1–5 rating question: how many gave each score this week, the mean, and last week's."""

    label: str
    counts: tuple[int, int, int, int, int]
    mean_before: Fraction | None
    good_verdict: Change  # the share of 4–5 against last week's

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> Fraction | None:
        return Fraction(sum((i + 1) * c for i, c in enumerate(self.counts)), self.n) if self.n else None


@dataclass(frozen=True)
class StaffTasks:
    name: str
    created: int
    open_at_end: int
    overdue: int


@dataclass
class WeekSummary:
    """Everything the text and the images show."""

    period: Period
    previous: Period
    as_of: datetime  # overdue and open tasks are counted at this moment (the week's end, or now)
    funnels: list[Funnel]  # per mode, then the total
    total_before: Funnel
    due_verdict: Change
    rates: list[RateChange]
    reasons: Pareto
    destinations: Pareto
    scores: list[Score]
    tasks: list[StaffTasks]
    recovered: tuple[int, int]  # (准战败 surveyed, bought since)
    current: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> Funnel:
        return self.funnels[-1]

    @property
    def empty(self) -> bool:
        return self.total.due == 0 and not self.reasons.bars and not any(s.n for s in self.scores)


def _funnels(cases: list[q.CaseAttempts]) -> list[Funnel]:
    by_mode: dict[str, Counter[FunnelStage]] = defaultdict(Counter)
    for case in cases:
        per_mode: dict[str, list[str]] = defaultdict(list)
        for mode, code in case.attempts:
            per_mode[mode].append(code)
        for mode, codes in per_mode.items():
            by_mode[mode][disp.funnel_stage(disp.case_result(codes))] += 1
    order = {ch: i for i, (ch, _) in enumerate(CHANNELS)}
    funnels = [
        Funnel(mode, CHANNEL_LABELS.get(mode, mode), dict(by_mode[mode]))
        for mode in sorted(by_mode, key=lambda m: (order.get(m, 99), m))
    ]
    total = Counter(disp.funnel_stage(disp.case_result(case_codes(case))) for case in cases)
    return [*funnels, Funnel(None, "", dict(total))]


def _rate(key: str, stage_count: Callable[[Funnel], int], now: Funnel, before: Funnel) -> RateChange:
    x1, x2 = stage_count(now), stage_count(before)
    return RateChange(key, share(x1, now.due), share(x2, before.due), share_change(x1, now.due, x2, before.due))


def _pareto(facts: QuestionFacts, question: str, now: list[q.ReasonCount], before: list[q.ReasonCount]) -> Pareto:
    counts: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    for c in now:
        if c.question_id == question:
            counts[c.reason_code] += c.count
    for c in before:
        if c.question_id == question:
            previous[c.reason_code] += c.count
    total, total_before = sum(counts.values()), sum(previous.values())
    codes = sorted(counts, key=lambda code: (-counts[code], code.startswith("other"), code))
    bars = [
        Bar(
            facts.short_reasons.get((question, code), code),
            counts[code],
            previous[code],
            share_change(counts[code], total, previous[code], total_before),
        )
        for code in codes
    ]
    return Pareto(facts.short_titles.get(question, question), bars, total_before)


def _scores(
    catalog: Callable[[str], Questionnaire | None], now: list[q.RatingCount], before: list[q.RatingCount]
) -> list[Score]:
    scores = []
    for questionnaire_id in SCORED:
        qn = catalog(questionnaire_id)
        if qn is None:
            continue
        for node in qn.nodes:
            if node.scale != (1, 5):
                continue
            got = [0] * 5
            had = [0] * 5
            for rows, into in ((now, got), (before, had)):
                for r in rows:
                    if r.questionnaire_id == questionnaire_id and r.question_id == node.id and 1 <= r.rating <= 5:
                        into[r.rating - 1] += r.count
            n_before = sum(had)
            mean_before = Fraction(sum((i + 1) * c for i, c in enumerate(had)), n_before) if n_before else None
            verdict = share_change(got[3] + got[4], sum(got), had[3] + had[4], n_before)
            scores.append(Score(node.short or node.id, (got[0], got[1], got[2], got[3], got[4]), mean_before, verdict))
    return scores


def week_summary(
    uow_factory: Callable[[], SqlUnitOfWork],
    settings: ReportSettings,
    clock: Clock,
    period: Period,
    *,
    current: bool = False,
    catalog: Callable[[str], Questionnaire | None] = default_catalog,
) -> WeekSummary:
    """The summary of ``period`` against the week before it. Overdue tasks are counted as of the period's end
    (or now, for the week still running), so a past week's summary is the same whatever day it is made."""
    tz = settings.tz
    now = clock.now()
    previous = period.previous()
    start, end = period.utc_bounds(tz)
    before_start, before_end = previous.utc_bounds(tz)
    as_of = min(now, end)
    facts = question_facts(catalog(DEFEAT))
    with uow_factory() as uow:
        session = uow.session
        cases = q.case_attempts(session, start, end)
        cases_before = q.case_attempts(session, before_start, before_end)
        reasons = q.reason_counts(session, DEFEAT, start, end)
        reasons_before = q.reason_counts(session, DEFEAT, before_start, before_end)
        ratings = q.rating_counts(session, SCORED, start, end)
        ratings_before = q.rating_counts(session, SCORED, before_start, before_end)
        discipline = q.task_discipline(session, start, end, now, as_of)
        recovered = q.recovery_total(session, DEFEAT, facts.recoverable, start, end)
    funnels = _funnels(cases)
    total, total_before = funnels[-1], _funnels(cases_before)[-1]
    rates = [
        _rate("contact", lambda f: f.reached, total, total_before),
        _rate("completion", lambda f: f.count(FunnelStage.COMPLETED), total, total_before),
        _rate("refusal", lambda f: f.count(FunnelStage.REFUSED), total, total_before),
    ]
    tasks = sorted(
        (StaffTasks(r.name, r.created, r.open_at_end, r.open_overdue) for r in discipline if r.created),
        key=lambda t: (-t.overdue, -t.open_at_end, t.name),
    )[:TOP_STAFF]
    return WeekSummary(
        period=period,
        previous=previous,
        as_of=as_of,
        funnels=funnels,
        total_before=total_before,
        due_verdict=count_change(total.due, total_before.due),
        rates=rates,
        reasons=_pareto(facts, REASON_QUESTION, reasons, reasons_before),
        destinations=_pareto(facts, DESTINATION_QUESTION, reasons, reasons_before),
        scores=_scores(catalog, ratings, ratings_before),
        tasks=tasks,
        recovered=recovered,
        current=current,
    )
