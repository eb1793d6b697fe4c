"""The SQL behind ``huifang report``, one module per report section (``reasons``, ``contacts``, ``discipline``,
``recovery``, ``owners``, ``lapsed``; ``common``: the portable pieces; ``rollup``: the reason roll-up).

Every count is a GROUP BY in the database, never a loop over rows here; the one exception is
``contacts.case_attempts``, which returns each case of the period with its attempts so that the service picks
each case's result with ``bot.domain.dispositions.case_result`` (the rule lives in one place).

Rules that keep SQLite and PostgreSQL identical:

* periods arrive as half-open UTC intervals computed in Python from the store's time zone; week and month
  buckets are a CASE over those bounds, never a database date function;
* only integer counts and sums come back; shares, averages and medians are divided in Python;
* the one database-specific expression, seconds since the epoch, is compiled per dialect (``epoch_seconds``).

Reason tallies read whole UTC days from ``reason_rollup`` (kept exact by triggers, see migration 0002) and the
partial days at a period's edges from ``answer``, so a week and ten years cost about the same.
"""

from storage.queries.reports.common import OWNER_STATUSES, bucket_case, epoch_seconds, whole_utc_days
from storage.queries.reports.contacts import CaseAttempts, DispositionCount, case_attempts
from storage.queries.reports.discipline import DisciplineRow, overall_median_delay, task_discipline
from storage.queries.reports.lapsed import LapseCount, lapse_counts
from storage.queries.reports.owners import (
    ConcentrationCount,
    TierRule,
    TierSummary,
    owner_concentration,
    referral_counts,
    tier_expression,
    tier_summary,
)
from storage.queries.reports.reasons import (
    BREAKDOWNS,
    FreeText,
    ReasonCount,
    free_texts,
    reason_counts,
    reason_counts_by,
)
from storage.queries.reports.recovery import RecoveryRow, recovery, recovery_total
from storage.queries.reports.rollup import rebuild_reason_rollup
from storage.queries.reports.satisfaction import RatingCount, rating_counts

__all__ = [
    "BREAKDOWNS",
    "OWNER_STATUSES",
    "CaseAttempts",
    "ConcentrationCount",
    "DisciplineRow",
    "DispositionCount",
    "FreeText",
    "LapseCount",
    "RatingCount",
    "ReasonCount",
    "RecoveryRow",
    "TierRule",
    "TierSummary",
    "bucket_case",
    "case_attempts",
    "epoch_seconds",
    "free_texts",
    "lapse_counts",
    "overall_median_delay",
    "owner_concentration",
    "rating_counts",
    "reason_counts",
    "reason_counts_by",
    "rebuild_reason_rollup",
    "recovery",
    "recovery_total",
    "referral_counts",
    "task_discipline",
    "tier_expression",
    "tier_summary",
    "whole_utc_days",
]
