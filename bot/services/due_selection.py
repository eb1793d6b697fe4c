"""Due selection: create the surveys and follow-up tasks that are due now, each survey in its plan's first mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.contact_plan import ContactPlan, Mode, Move
from bot.domain.due import DueRules, one_per_customer
from bot.services.plan_progress import PlanReport, enter, place_new
from bot.services.surveys import SurveyKit, create_survey
from storage.queries.due import survey_candidates, task_candidates
from storage.unit_of_work import SqlUnitOfWork


@dataclass
class DueReport:
    surveys: int = 0
    chat: int = 0
    phone: int = 0
    tasks: int = 0
    unreachable: int = 0  # due, but no mode of the plan can reach the customer: not created
    plan: PlanReport = field(default_factory=PlanReport)
    summary: str = ""  # one Chinese line, rendered by the caller

    def __str__(self) -> str:
        return self.summary


def select_due(
    uow: SqlUnitOfWork,
    kit: SurveyKit,
    rules: DueRules,
    plans: Mapping[str, ContactPlan],
    configured: frozenset[Mode],
    now: datetime,
) -> DueReport:
    """Create the surveys (at most one per customer) and follow-up tasks that are due now, and commit.

    Safe in two processes at once: the second waits for the first's lock, then finds its work done (the
    partial unique index on active surveys and the tasks' schedule key back this up)."""
    report = DueReport()
    today = now.astimezone(kit.tz).date()
    uow.serialise("select_due")
    chosen = one_per_customer(survey_candidates(uow.session, now, today, rules), rules.purpose_order)
    customers = uow.people.many(c.customer_id for c in chosen) if chosen else {}
    for candidate in chosen[: rules.batch_limit]:
        customer = customers[candidate.customer_id]
        step = place_new(plans[candidate.questionnaire_id], customer, configured, now)
        report.plan.note_skips(step)
        if step.move is not Move.ENTER or step.mode is None:
            report.unreachable += 1
            continue
        survey = create_survey(
            uow, kit, customer.id, candidate.questionnaire_id, candidate.purpose, step.mode.value, now
        )
        if survey is None:  # another process created it a moment ago: already done
            continue
        enter(survey, step)
        report.surveys += 1
        report.plan.started[step.mode] += 1
        report.chat += step.mode is Mode.CHAT
        report.phone += step.mode is Mode.PHONE
    for due in task_candidates(uow.session, now, today, rules):
        report.tasks += uow.tasks.add_scheduled(due.staff_id, due.customer_id, due.kind, due.due_at, due.key, now)
    uow.commit()
    return report
