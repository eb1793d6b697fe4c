"""Lapse stages (准流失 / 流失 / 彻底流失): how long an owner has stayed away from the workshop.

One definition for everything that needs it: due selection (the lapsed survey, once per stage) and the
reports' lapse section. A customer has reached the stage of ``m`` months when ``m`` whole calendar months
(``bot.domain.dates.months_between``) have passed since the last workshop visit; the SQL compares the visit
with ``cutoffs(today)``, the latest visit date that has reached each stage. The months come from settings
(``HUIFANG_LAPSE_PRE_MONTHS``, ``HUIFANG_LAPSE_MONTHS``, ``HUIFANG_LAPSE_FULL_MONTHS``), built in the
composition root.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.domain.dates import latest_day_months_before, months_between


class LapseStage(StrEnum):
    """How long a service customer has stayed away (流失阶段)."""

    PRE = "pre_lapsed"
    LAPSED = "lapsed"
    FULL = "fully_lapsed"

    @property
    def label(self) -> str:
        return {"pre_lapsed": "准流失", "lapsed": "流失", "fully_lapsed": "彻底流失"}[self.value]


@dataclass(frozen=True)
class LapseStages:
    """The months without a workshop visit after which a customer is 准流失, 流失 and 彻底流失."""

    pre: int = 6
    lapsed: int = 12
    full: int = 24

    def __post_init__(self) -> None:
        if not 0 < self.pre < self.lapsed < self.full:
            raise ValueError("lapse months must increase: pre < lapsed < fully lapsed")

    def months(self, stage: LapseStage) -> int:
        """The months away that ``stage`` starts at."""
        return {LapseStage.PRE: self.pre, LapseStage.LAPSED: self.lapsed, LapseStage.FULL: self.full}[stage]

    def cutoffs(self, today: date) -> dict[LapseStage, date]:
        """Last visit on or before the date → at least that stage (SQL compares dates with these)."""
        return {stage: latest_day_months_before(today, self.months(stage)) for stage in LapseStage}

    def stage_of(self, last_visit: date, today: date) -> LapseStage | None:
        """The stage a customer last seen in the workshop on ``last_visit`` has reached by ``today``; None while
        still active."""
        return self.stage_after(months_between(last_visit, today))

    def stage_after(self, months_away: int) -> LapseStage | None:
        """The stage after ``months_away`` whole months without a visit; None while still active."""
        reached = None
        for stage in LapseStage:
            if months_away >= self.months(stage):
                reached = stage
        return reached
