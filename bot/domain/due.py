"""Who is due for what, as rules over a "now" (every number is a ``DueRules`` field, defaults from the seeds; the
lapse stages, the survey gap and the purpose order come from settings, wired in ``bot/app.py``).

Surveys: 战败 defeat survey 1 day after the defeat (not for defeats older than 30 days), 交车三日 3 days after
delivery, 基盘关怀 once a month, 流失 once per stage (6 / 12 / 24 months without a workshop visit; the stages
are ``bot.domain.lapse.LapseStages``).
Tasks for the owning consultant: intent level A within 72 h of a test drive, B twice a week, C once a
month, a first reply to a new intent customer within 24 h, a home visit to owners every three months.
Contact policy: one survey per customer per 30 days across purposes (the most important due one wins),
never to an opted-out customer, never a second copy of the same survey.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.dates import months_before as months_before  # re-exported: callers of the old home
from bot.domain.lapse import LapseStage, LapseStages

# The order purposes win in when a customer is due for several (and the phone queue's order).
PURPOSE_ORDER: tuple[str, ...] = ("defeat", "delivery_3day", "lapsed", "owner_care")
SURVEY_GAP_DAYS = 30  # at most one survey per customer in this many days


@dataclass(frozen=True)
class DueRules:
    defeat_after_days: int = 1
    defeat_max_age_days: int = 30
    delivery_after_days: int = 3
    delivery_window_days: int = 14  # a delivery survey not sent within two weeks is no longer "三日"
    owner_care_every_days: int = 30
    home_visit_every_days: int = 90
    lapse: LapseStages = field(default_factory=LapseStages)
    intent_a_hours: int = 72
    intent_b_every_hours: int = 84  # twice a week
    intent_c_every_days: int = 30
    first_reply_hours: int = 24
    survey_gap_days: int = SURVEY_GAP_DAYS
    purpose_order: tuple[str, ...] = PURPOSE_ORDER
    batch_limit: int = 5000  # surveys created per pass; the rest are picked up by the next pass


@dataclass(frozen=True)
class Candidate:
    """A customer due for a survey, as the database found them."""

    customer_id: int
    questionnaire_id: str
    purpose: str  # e.g. "defeat", "lapsed:12" (once per lapse stage)
    since: datetime  # when it became due (older waits longer)


def lapsed_purpose(stage: LapseStage, lapse: LapseStages) -> str:
    """The purpose a lapsed survey is kept under, one per stage: ``lapsed:<months of the stage>``."""
    return f"lapsed:{lapse.months(stage)}"


def one_per_customer(candidates: Iterable[Candidate], order: tuple[str, ...]) -> list[Candidate]:
    """The most important due survey of each customer (purpose order, then who has waited longest)."""
    rank = {q: i for i, q in enumerate(order)}
    best: dict[int, Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.customer_id)
        key = (rank.get(candidate.questionnaire_id, len(order)), candidate.since)
        if current is None or key < (rank.get(current.questionnaire_id, len(order)), current.since):
            best[candidate.customer_id] = candidate
    return sorted(best.values(), key=lambda c: (rank.get(c.questionnaire_id, len(order)), c.since, c.customer_id))
