"""Phone rules as plain functions: calling hours, and what each call outcome means for the next try.

Defaults follow the phone issue (every number is a field of ``RetryRules``; the calling hours come from settings,
built once in ``bot/app.py``): no answer / unreachable → again after 2 h,
at most 3 such tries on different half-days, then the survey ends as non-contact; line busy → 30 min;
phone off / away → next day; forwarded → once more, then as no answer; vacant / suspended / wrong
number → no more calls and a task to correct the number; rejected call / refusal → no more calls.
Times here are the store's local wall-clock times (naive datetimes); callers convert to and from UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.due import PURPOSE_ORDER

# The times of day a callback is offered at on the next calling day (moved inside the calling hours if need be).
SLOT_MORNING = time(10, 0)
SLOT_AFTERNOON = time(15, 0)
EXAMPLE_TIME = time(14, 0)  # the time shown as an example of what may be typed (on the next calling day)


@dataclass(frozen=True)
class CallingHours:
    """When customers may be called: a daily window, optionally not on weekends or public holidays."""

    start: time = time(9, 0)
    end: time = time(20, 0)
    weekends: bool = True
    holidays: frozenset[date] = frozenset()

    def is_open(self, local: datetime) -> bool:
        """True if a call may be made at this local time."""
        return self._day_allowed(local.date()) and self.start <= local.time() < self.end

    def next_open(self, local: datetime) -> datetime:
        """The first moment at or after ``local`` inside calling hours."""
        moment = local
        for _ in range(400):
            if self._day_allowed(moment.date()):
                if moment.time() < self.start:
                    return datetime.combine(moment.date(), self.start)
                if moment.time() < self.end:
                    return moment
            moment = datetime.combine(moment.date() + timedelta(days=1), self.start)
        raise ValueError("no calling hours in the next 400 days")

    def callback_slots(self, local: datetime) -> list[datetime]:
        """Callback times to offer at local time ``local`` (naive, store-local): two hours on, on the hour, if
        that is still today and inside calling hours; then a morning and an afternoon time (10:00 and 15:00,
        moved inside the daily window if it excludes them) on the next day calls may be made. Never on a
        holiday or a non-calling weekend, never outside the daily window."""
        slots: list[datetime] = []
        later = (local + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        if later.date() == local.date() and self.is_open(later):
            slots.append(later)
        for wanted in (SLOT_MORNING, SLOT_AFTERNOON):
            slot = self._next_day_at(local, wanted)
            if slot not in slots:
                slots.append(slot)
        return slots

    def example_callback(self, local: datetime) -> datetime:
        """A callback time to show as an example of what may be typed: 14:00 (or the nearest time inside the
        daily window) on the next day calls may be made, so typing it books it."""
        return self._next_day_at(local, EXAMPLE_TIME)

    def _next_day_at(self, local: datetime, wanted: time) -> datetime:
        day = self.next_open(datetime.combine(local.date() + timedelta(days=1), time.min)).date()
        return datetime.combine(day, self._inside(wanted, day))

    def _inside(self, wanted: time, day: date) -> time:
        """``wanted``, or the nearest time inside the daily window (the last whole hour before the end)."""
        if wanted < self.start:
            return self.start
        if wanted >= self.end:
            last_hour = (datetime.combine(day, self.end) - timedelta(minutes=1)).replace(minute=0).time()
            return max(self.start, last_hour)
        return wanted

    def _day_allowed(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return self.weekends or day.weekday() < 5


class Next(StrEnum):
    """What follows an attempt."""

    RETRY = "retry"  # try again at ``at``
    CALLBACK = "callback"  # the customer named a time
    CONNECTED = "connected"  # go on with the questionnaire
    END = "end"  # no more calls for this survey


@dataclass(frozen=True)
class RetryRules:
    no_answer_delay: timedelta = timedelta(hours=2)
    no_answer_max: int = 3
    line_busy_delay: timedelta = timedelta(minutes=30)
    busy_now_delay: timedelta = timedelta(hours=2)
    forwarded_retries: int = 1
    max_attempts: int = 6


@dataclass(frozen=True)
class Decision:
    """The consequence of one call outcome."""

    next: Next
    at: datetime | None = None  # local time of the next try
    outcome: str | None = None  # the survey's final outcome when it ends
    task: str | None = None  # a task for the customer's owner (e.g. correct the number)
    opt_out: bool = False  # the customer asked never to be called again


NO_ANSWER_KINDS = frozenset({"no_answer", "unreachable", "answering_machine"})  # 答录机: as no answer
BAD_NUMBER = frozenset({"vacant", "suspended", "wrong_number"})


def half_day(local: datetime) -> tuple[date, bool]:
    """(day, afternoon?) — the seeds' unit for spreading unanswered calls."""
    return local.date(), local.time() >= time(12, 0)


def decide(
    disposition: str,
    now: datetime,
    earlier: list[tuple[str, datetime]],
    hours: CallingHours,
    rules: RetryRules = RetryRules(),
) -> Decision:
    """What to do after a call ended with ``disposition`` at local time ``now``.

    ``earlier``: the survey's previous phone attempts as (disposition, local time), oldest first.
    """
    history = [*earlier, (disposition, now)]
    if disposition == "connected":
        return Decision(Next.CONNECTED)
    if disposition in BAD_NUMBER:
        return Decision(Next.END, outcome="not_eligible", task="fix_phone")
    if disposition in ("rejected_call", "refused"):
        return Decision(Next.END, outcome="refusal")
    if disposition == "do_not_call":
        return Decision(Next.END, outcome="refusal", opt_out=True)
    if len(history) >= rules.max_attempts:
        return Decision(Next.END, outcome="non_contact")
    if disposition == "forwarded":
        forwarded = sum(1 for d, _ in history if d == "forwarded")
        if forwarded <= rules.forwarded_retries:
            return Decision(Next.RETRY, at=hours.next_open(now + rules.no_answer_delay))
        disposition = "no_answer"
    if disposition in NO_ANSWER_KINDS:
        tries = [t for d, t in history if d in NO_ANSWER_KINDS or d == "forwarded"]
        if len(tries) >= rules.no_answer_max:
            return Decision(Next.END, outcome="non_contact")
        return Decision(Next.RETRY, at=_unused_half_day(now + rules.no_answer_delay, tries, hours))
    if disposition == "line_busy":
        return Decision(Next.RETRY, at=hours.next_open(now + rules.line_busy_delay))
    if disposition in ("powered_off", "away"):
        return Decision(Next.RETRY, at=hours.next_open(datetime.combine(now.date() + timedelta(days=1), hours.start)))
    return Decision(Next.RETRY, at=hours.next_open(now + rules.busy_now_delay))  # busy_now, other


def _unused_half_day(earliest: datetime, tries: list[datetime], hours: CallingHours) -> datetime:
    used = {half_day(t) for t in tries}
    moment = hours.next_open(earliest)
    for _ in range(60):
        if half_day(moment) not in used:
            return moment
        day, afternoon = half_day(moment)
        moment = (
            datetime.combine(day + timedelta(days=1), hours.start) if afternoon else datetime.combine(day, time(12))
        )
        moment = hours.next_open(moment)
    return moment


@dataclass(frozen=True)
class PhoneSettings:
    """The phone channel's knobs, gathered from settings."""

    hours: CallingHours = field(default_factory=CallingHours)
    rules: RetryRules = field(default_factory=RetryRules)
    claim_timeout: timedelta = timedelta(minutes=15)
    purpose_order: tuple[str, ...] = PURPOSE_ORDER
