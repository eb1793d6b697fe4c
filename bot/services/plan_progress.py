"""The contact plan applied to surveys: where a new survey starts, and when a waiting one moves on.

A survey's ``channel`` is its current mode and ``plan_stage`` its stage in the purpose's plan
(``scripts_zh/contact_plans.yaml``, rules in ``bot.domain.contact_plan``). ``place_new`` picks the first mode
that can reach the customer; ``advance_plans`` moves every waiting survey whose mode's wait ran out (or whose
mode can no longer reach the customer: they blocked the bot) to its next usable mode with the lifecycle's
NEXT_MODE event, and ends it (PLAN_ENDED: expired, or non-contact if it was never offered) when no mode is
left. Modes that were skipped are counted with the reason, for the job's output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.domain.contact_plan import ContactPlan, Mode, Move, Place, Reach, SkipReason, Step, advance, may_try, start
from bot.domain.lifecycle import Event, EventKind
from bot.services.survey_status import move
from storage.models import Customer, Survey
from storage.unit_of_work import SqlUnitOfWork


@dataclass
class PlanReport:
    """What the plan did in one run: surveys started or moved per mode, ended, and modes skipped (and why)."""

    started: Counter[Mode] = field(default_factory=Counter)
    moved: Counter[Mode] = field(default_factory=Counter)
    ended: int = 0
    skipped: Counter[tuple[Mode, SkipReason]] = field(default_factory=Counter)
    summary: str = ""  # one Chinese line, rendered by the caller

    def __str__(self) -> str:
        return self.summary

    def note_skips(self, step: Step) -> None:
        for skip in step.skipped:
            self.skipped[(skip.mode, skip.reason)] += 1


def reach_of(customer: Customer, configured: frozenset[Mode]) -> Reach:
    """What decides which modes can reach this customer."""
    return Reach(
        configured=configured,
        chat_bound=customer.telegram_chat_id is not None,
        has_phone=bool(customer.phone),
        unreachable=frozenset({Mode.CHAT}) if customer.chat_unreachable_at is not None else frozenset(),
    )


def plan_for(plans: Mapping[str, ContactPlan], survey: Survey) -> ContactPlan:
    """The survey's plan (by questionnaire: ``lapsed:6`` and ``lapsed:12`` share the lapsed plan)."""
    return plans[survey.questionnaire_id]


def place_of(plan: ContactPlan, survey: Survey) -> Place:
    """Where the survey is in its plan. A survey not placed yet (made before plans existed) is at its current
    mode's stage, entered when it was created."""
    stage = survey.plan_stage
    if stage is None or not 0 <= stage < len(plan.stages):
        modes = [s.mode.value for s in plan.stages]
        stage = modes.index(survey.channel) if survey.channel in modes else 0
    entered = survey.stage_entered_at or survey.created_at
    return Place(stage, entered, survey.stage_attempts or 0)


def place_new(plan: ContactPlan, customer: Customer, configured: frozenset[Mode], now: datetime) -> Step:
    """Where a new survey starts (ENTER with its mode), or END when no mode can reach the customer."""
    return start(plan, reach_of(customer, configured), now)


def enter(survey: Survey, step: Step) -> None:
    """Put the survey in the stage ``step`` entered (its mode becomes the survey's channel)."""
    assert step.place is not None and step.mode is not None
    survey.channel = step.mode.value
    survey.plan_stage = step.place.stage
    survey.stage_entered_at = step.place.entered_at
    survey.stage_attempts = 0


def next_mode_after_giving_up(
    plans: Mapping[str, ContactPlan], survey: Survey, customer: Customer, configured: frozenset[Mode], now: datetime
) -> Step | None:
    """The stage to enter when the current mode's own rules gave up on the customer (a phone number that
    never answers), or None when no usable mode is left (the mode's own end stands)."""
    plan = plan_for(plans, survey)
    exhausted = replace(place_of(plan, survey), exhausted=True)
    step = advance(plan, exhausted, reach_of(customer, configured), now)
    return step if step.move is Move.ENTER else None


def answered_in(plans: Mapping[str, ContactPlan] | None, survey: Survey, mode: str, now: datetime) -> None:
    """The customer took the survey up in ``mode`` (开始 in chat on a survey the plan had moved on, a call):
    the survey's place in the plan becomes that mode's stage, so its wait runs from now."""
    survey.channel = mode
    if plans is None or survey.questionnaire_id not in plans:
        return
    modes = [s.mode.value for s in plan_for(plans, survey).stages]
    stage = survey.plan_stage
    if mode not in modes or (stage is not None and 0 <= stage < len(modes) and modes[stage] == mode):
        return
    survey.plan_stage = modes.index(mode)
    survey.stage_entered_at = now
    survey.stage_attempts = 0


def may_try_now(plans: Mapping[str, ContactPlan], survey: Survey) -> bool:
    """Whether the survey's current stage has a try left (an invitation, a reminder, a call)."""
    plan = plan_for(plans, survey)
    return may_try(plan, place_of(plan, survey))


def count_try(survey: Survey) -> None:
    """One more try in the current stage (an invitation or reminder sent, a number dialled)."""
    survey.stage_attempts = (survey.stage_attempts or 0) + 1


def move_plans_on(
    uow: SqlUnitOfWork, plans: Mapping[str, ContactPlan], configured: frozenset[Mode], now: datetime
) -> PlanReport:
    """``advance_plans`` as a job step of its own: under the reminders' lock (two runs at once move each survey
    once), and committed."""
    uow.serialise("remind_and_expire")
    report = advance_plans(uow, plans, configured, now)
    uow.commit()
    return report


def advance_plans(
    uow: SqlUnitOfWork, plans: Mapping[str, ContactPlan], configured: frozenset[Mode], now: datetime
) -> PlanReport:
    """Move every waiting survey whose mode's wait ran out (or whose mode cannot reach the customer any more)
    to its next usable mode, or end it when none is left. The caller commits."""
    report = PlanReport()
    for survey, customer in uow.surveys.in_plan():
        plan = plan_for(plans, survey)
        place = place_of(plan, survey)
        step = advance(plan, place, reach_of(customer, configured), now)
        if step.move is Move.STAY:
            continue
        report.note_skips(step)
        started = bool(survey.state)
        if step.move is Move.ENTER:
            move(uow, survey, Event(EventKind.NEXT_MODE, started=started), channel=survey.channel, now=now)
            enter(survey, step)
            survey.expires_at = None
            survey.next_try_at = None
            assert step.mode is not None
            report.moved[step.mode] += 1
        else:
            move(uow, survey, Event(EventKind.PLAN_ENDED), channel=survey.channel, now=now)
            report.ended += 1
    return report
