"""The contact plan: per purpose, the ordered modes a survey is offered in, each with a wait and an attempt cap.

A survey starts in the first mode that can reach its customer (chat needs a bound chat, SMS and calls a phone
number, and every mode but a specialist's call an adapter that is configured); when a mode's wait runs out,
or its attempts are used up, without the survey ending, the plan moves it to the next usable mode; when no mode
is left the survey ends as non-contact. A mode that cannot be used is *skipped*, and the plan says which and why,
so the job output and the weekly figures can show it. A refusal or an opt-out ends the survey in the lifecycle
(``bot.domain.lifecycle``), and the plan is never asked about a survey that has ended.

The plan is data: ``plan_from_mapping`` reads one purpose's list of ``{mode, wait, attempts}`` (as written in
``scripts_zh/contact_plans.yaml``) and says exactly what is wrong with a bad entry.

Plain Python: no database, no Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """A way of reaching a customer."""

    CHAT = "chat"  # Telegram chat (needs a bound chat)
    WEB = "web"  # an SMS with a link to the mobile web survey
    VOICE = "voice"  # an automated voice call
    PHONE = "phone"  # a customer-service specialist's call


class SkipReason(StrEnum):
    NOT_CONFIGURED = "not_configured"  # the channel's adapter is not set up in this installation
    NO_CHAT = "no_chat"  # the customer has not bound a Telegram chat
    NO_PHONE = "no_phone"  # the customer has no usable phone number
    UNREACHABLE = "unreachable"  # the channel said the customer cannot be reached there (blocked the bot …)


@dataclass(frozen=True)
class Stage:
    """One mode of a plan: how long it may go without a result, and how many tries it gets."""

    mode: Mode
    wait: timedelta
    attempts: int = 1


@dataclass(frozen=True)
class ContactPlan:
    purpose: str
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError(f"contact plan for {self.purpose!r} has no modes")


@dataclass(frozen=True)
class Reach:
    """What decides which modes can reach one customer in this installation."""

    configured: frozenset[Mode]  # modes whose adapter is set up (a specialist's call needs none)
    chat_bound: bool = False
    has_phone: bool = True
    unreachable: frozenset[Mode] = frozenset()

    def why_not(self, mode: Mode) -> SkipReason | None:
        """None if ``mode`` can reach the customer, else why not."""
        if mode is not Mode.PHONE and mode not in self.configured:
            return SkipReason.NOT_CONFIGURED
        if mode in self.unreachable:
            return SkipReason.UNREACHABLE
        if mode is Mode.CHAT and not self.chat_bound:
            return SkipReason.NO_CHAT
        if mode in (Mode.WEB, Mode.VOICE, Mode.PHONE) and not self.has_phone:
            return SkipReason.NO_PHONE
        return None


@dataclass(frozen=True)
class Skip:
    mode: Mode
    reason: SkipReason


@dataclass(frozen=True)
class Place:
    """Where a survey is in its plan: the stage it is in, since when, how many tries that stage has had, and
    whether the mode's own rules gave up on it (e.g. a phone number that never answers)."""

    stage: int
    entered_at: datetime
    attempts: int = 0
    exhausted: bool = False


class Move(StrEnum):
    STAY = "stay"  # keep trying in the current mode
    ENTER = "enter"  # go to (or start in) ``place.stage``
    END = "end"  # no usable mode is left: the survey ends as non-contact


@dataclass(frozen=True)
class Step:
    """The plan's answer: stay, enter a stage, or end; with the modes skipped on the way."""

    move: Move
    place: Place | None = None
    mode: Mode | None = None
    skipped: tuple[Skip, ...] = ()


def _enter_from(plan: ContactPlan, index: int, reach: Reach, now: datetime) -> Step:
    skipped: list[Skip] = []
    for i in range(index, len(plan.stages)):
        stage = plan.stages[i]
        reason = reach.why_not(stage.mode)
        if reason is None:
            return Step(Move.ENTER, Place(i, now, 0), stage.mode, tuple(skipped))
        skipped.append(Skip(stage.mode, reason))
    return Step(Move.END, skipped=tuple(skipped))


def start(plan: ContactPlan, reach: Reach, now: datetime) -> Step:
    """The first mode a new survey is offered in (ENTER), or END if no mode can reach the customer."""
    return _enter_from(plan, 0, reach, now)


def advance(plan: ContactPlan, place: Place, reach: Reach, now: datetime) -> Step:
    """What a still-active survey does next: stay in its mode until the mode's wait runs out (or the mode gave up
    on the customer), then move to the next usable mode, or END when none is left.

    A mode that has become unusable (the customer blocked the bot, the adapter was switched off) is left at once.
    """
    stage = plan.stages[place.stage]
    waited = now >= place.entered_at + stage.wait
    if reach.why_not(stage.mode) is None and not waited and not place.exhausted:
        return Step(Move.STAY, place, stage.mode)
    return _enter_from(plan, place.stage + 1, reach, now)


def unconfigured(plans: Iterable[ContactPlan], configured: frozenset[Mode]) -> tuple[Mode, ...]:
    """The modes the plans name that this installation has not set up (skipped for everyone), in plan order."""
    found: list[Mode] = []
    for plan in plans:
        for stage in plan.stages:
            if stage.mode is not Mode.PHONE and stage.mode not in configured and stage.mode not in found:
                found.append(stage.mode)
    return tuple(found)


def may_try(plan: ContactPlan, place: Place) -> bool:
    """Whether the current stage has a try left (asked before an invitation, reminder, SMS or call goes out)."""
    return not place.exhausted and place.attempts < plan.stages[place.stage].attempts


# --- reading a plan from data ----------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class PlanError(ValueError):
    """A contact plan entry is malformed; the message says where and what."""


def parse_wait(text: object, where: str) -> timedelta:
    """'3d', '12h' or '30m' → a timedelta."""
    if isinstance(text, int) and not isinstance(text, bool):
        return timedelta(days=text)
    match = _DURATION.match(str(text))
    if match is None:
        raise PlanError(f"{where}: wait {text!r} should look like 3d, 12h or 30m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def plan_from_mapping(purpose: str, entries: Sequence[Mapping[str, Any]] | Any) -> ContactPlan:
    """One purpose's plan from a list of ``{mode, wait, attempts}``; raises ``PlanError`` naming the bad entry."""
    if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
        raise PlanError(f"{purpose}: a plan is a non-empty list of modes")
    stages: list[Stage] = []
    for n, entry in enumerate(entries, start=1):
        where = f"{purpose}[{n}]"
        if not isinstance(entry, Mapping):
            raise PlanError(f"{where}: expected mode, wait and attempts")
        unknown = set(entry) - {"mode", "wait", "attempts"}
        if unknown:
            raise PlanError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        try:
            mode = Mode(str(entry.get("mode")))
        except ValueError:
            raise PlanError(
                f"{where}: mode {entry.get('mode')!r} is not one of {', '.join(m.value for m in Mode)}"
            ) from None
        if mode in (s.mode for s in stages):
            raise PlanError(f"{where}: mode {mode.value} appears twice")
        attempts = entry.get("attempts", 1)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 20:
            raise PlanError(f"{where}: attempts should be a whole number from 1 to 20")
        stages.append(Stage(mode, parse_wait(entry.get("wait", "1d"), where), attempts))
    return ContactPlan(purpose, tuple(stages))
