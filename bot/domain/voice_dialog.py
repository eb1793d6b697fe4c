"""The automated voice call as a dialog, independent of any provider: events in, actions out.

A provider adapter (TwiML today; Aliyun 智能外呼 would be another module of the same shape) turns its
webhook requests into the events below, asks ``read`` what the customer meant for the step the call is on,
and turns the actions ``ask`` / ``close`` / ``goodbye`` return into its own markup. The survey itself (the
answers, the status) is the service's business (``bot/services/voice.py``); this module only decides.

* ``Connected(machine=…)``: the call was answered, by a person or an answering machine.
* ``Keys(digits)``: keypad digits. ``*`` is the declared opt-out key (别再打了), ``0`` asks for a person.
* ``Speech(text, confidence)``: the recogniser's text; below ``min_confidence`` it counts as not understood.
* ``Silence``: the gather timed out with nothing.

Silence or an answer not understood is re-prompted (sorry + the question again) up to ``max_reprompts``
times; one more miss gives up (the service ends the call as partial and the plan moves the survey on).
Speech is read by ``bot.domain.speech.understand`` (one function for every adapter).

Every text the customer hears comes in: the step's voice view (``bot.domain.presentation.for_voice``) and
``Phrases`` (from ``scripts_zh/voice/phrases.yaml``, filled by the composition root). Plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.engine import Input, Step
from bot.domain.presentation import for_voice, keypad_input
from bot.domain.questionnaire import NodeKind
from bot.domain.speech import Intent, understand

OPT_OUT_KEY = "*"
PERSON_KEY = "0"


# ------------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Connected:
    """The call was answered (``machine``: by an answering machine)."""

    machine: bool = False


@dataclass(frozen=True)
class Keys:
    """Keypad digits the customer pressed (``#`` may end them)."""

    digits: str


@dataclass(frozen=True)
class Speech:
    """What the recogniser heard, with its confidence (0–1)."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Silence:
    """The customer said and pressed nothing before the gather timed out."""


VoiceEvent = Connected | Keys | Speech | Silence


# ------------------------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Say:
    """Speak a text (text-to-speech in the call's language)."""

    text: str


@dataclass(frozen=True)
class Play:
    """Play a recorded audio file."""

    url: str


@dataclass(frozen=True)
class Gather:
    """Speak ``prompt`` and collect keys and/or speech; the result comes back as the next event."""

    prompt: str
    digits: bool
    speech: bool
    hints: tuple[str, ...] = ()
    num_digits: int | None = None  # stop after this many keys (a single choice: 1)
    finish_on_key: str = "#"
    timeout: int = 5  # seconds of silence before the gather gives up (→ Silence)


@dataclass(frozen=True)
class Transfer:
    """Connect the customer to a person at ``number``."""

    number: str


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Action = Say | Play | Gather | Transfer | Hangup


# ---------------------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Phrases:
    """What the robot says besides the questionnaire (Chinese, from ``scripts_zh/voice/phrases.yaml``)."""

    keys_hint: str  # said once, after the opening: the opt-out and person keys
    sorry: str  # before a re-prompt
    give_up: str  # too many misses: a specialist will call
    opted_out: str  # after 别再打了
    transfer: str  # before connecting to a person
    callback: str  # a person was asked for and no transfer number is set: a specialist will call back
    machine: str  # the short message left on an answering machine
    robot: str = ""  # the robot's name where a script names the caller (``specialist.name``)


@dataclass(frozen=True)
class DialogRules:
    """The dialog's knobs (settings ``HUIFANG_VOICE_*``)."""

    max_reprompts: int = 2
    min_confidence: float = 0.5
    gather_timeout: int = 5
    transfer_number: str | None = None
    machine_message: bool = False


class Heard(StrEnum):
    """What one event means for the call."""

    ANSWER = "answer"  # ``given`` holds the engine input
    OPT_OUT = "opt_out"
    PERSON = "person"
    REPEAT = "repeat"  # say the question again (not a miss)
    MISS = "miss"  # silence or not understood: re-prompt
    GIVE_UP = "give_up"  # one miss too many


@dataclass(frozen=True)
class Reading:
    heard: Heard
    given: Input | None = None


def read(step: Step, event: Keys | Speech | Silence, misses: int, rules: DialogRules, now: datetime | None) -> Reading:
    """What ``event`` means at ``step`` after ``misses`` earlier misses on it (``now``: naive store-local time)."""
    reading = _read(step, event, rules, now)
    if reading.heard is Heard.MISS and misses >= rules.max_reprompts:
        return Reading(Heard.GIVE_UP)
    return reading


def _read(step: Step, event: Keys | Speech | Silence, rules: DialogRules, now: datetime | None) -> Reading:
    if isinstance(event, Keys):
        digits = event.digits.strip()
        if digits.startswith(OPT_OUT_KEY):
            return Reading(Heard.OPT_OUT)
        if digits.rstrip("#") == PERSON_KEY and step.kind is not NodeKind.RATING:
            return Reading(Heard.PERSON)
        given = keypad_input(step, digits)
        return Reading(Heard.ANSWER, given) if given is not None else Reading(Heard.MISS)
    if isinstance(event, Speech):
        if event.confidence < rules.min_confidence:
            return Reading(Heard.MISS)
        understood = understand(step, event.text, now)
        match understood.intent:
            case Intent.ANSWER if understood.given is not None:
                return Reading(Heard.ANSWER, understood.given)
            case Intent.OPT_OUT:
                return Reading(Heard.OPT_OUT)
            case Intent.PERSON:
                return Reading(Heard.PERSON)
            case Intent.REPEAT:
                return Reading(Heard.REPEAT)
            case _:
                return Reading(Heard.MISS)
    return Reading(Heard.MISS)


def ask(
    step: Step, phrases: Phrases, rules: DialogRules, *, sorry: bool = False, first: bool = False
) -> tuple[Action, ...]:
    """The actions that put ``step`` to the customer (a question), or close the call (the end node)."""
    if step.finished:
        return close(step)
    view = for_voice(step)
    prompt = view.prompt
    if first:
        prompt = f"{prompt} {phrases.keys_hint}"
    if sorry:
        prompt = f"{phrases.sorry} {prompt}"
    digits = step.kind in (NodeKind.SINGLE, NodeKind.MULTI, NodeKind.RATING)
    hints = tuple(o.label for o in step.options)
    num_digits = 1 if step.kind is NodeKind.SINGLE else None
    return (Gather(prompt, digits, True, hints, num_digits, "#", rules.gather_timeout),)


def close(step: Step) -> tuple[Action, ...]:
    """The closing words (the end node's text) and hang up."""
    return (Say(for_voice(step).prompt), Hangup())


def goodbye(text: str) -> tuple[Action, ...]:
    """Say one thing and hang up (opt-out, give up, callback booked, a message on a machine)."""
    return (Say(text), Hangup())


def answering_machine(phrases: Phrases, rules: DialogRules) -> tuple[Action, ...]:
    """An answering machine is not surveyed: leave the short message (if so set) and hang up."""
    return goodbye(phrases.machine) if rules.machine_message else (Hangup(),)


def person(phrases: Phrases, rules: DialogRules) -> tuple[Action, ...]:
    """A request for a person: transfer to the store's number, or say a specialist will call back."""
    if rules.transfer_number:
        return (Say(phrases.transfer), Transfer(rules.transfer_number))
    return goodbye(phrases.callback)


# ------------------------------------------------------------------------------------------ call statuses


def call_disposition(status: str, sip_code: int | None, answered_by: str | None, connected: bool) -> str | None:
    """The contact disposition of a call that ended with provider status ``status`` (TwiML's ``CallStatus``
    vocabulary: completed, busy, no-answer, failed, canceled) and SIP response code, or None when the call
    reached a person (the survey's own moves record what happened then)."""
    if answered_by is not None and answered_by.startswith("machine"):
        return "answering_machine"
    if connected:
        return None
    if status == "completed":  # answered, but our first webhook never answered (huifang was down)
        return "other"
    if sip_code in (404, 604):
        return "vacant"
    if sip_code == 410:
        return "suspended"
    if sip_code == 484:
        return "wrong_number"
    if sip_code == 603 or status == "canceled":
        return "rejected_call"
    if status == "busy" or sip_code in (486, 600):
        return "line_busy"
    if sip_code == 480:
        return "powered_off"
    if status == "no-answer" or sip_code == 408:
        return "no_answer"
    return "unreachable"  # failed, or anything else that did not connect
