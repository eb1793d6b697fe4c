"""What a customer said on a voice call, understood for the current step.

``understand(step, utterance, now)`` turns the speech recogniser's text into one of: an answer (an engine
``Input``), a request to stop calling (opt-out), a request for a person, a request to repeat, or "unclear"
(the dialog re-prompts). Every voice adapter (TwiML, Aliyun, …) calls this one function.

This first version understands an option's label or code said exactly (or contained in the utterance),
a key number said as a digit, a rating as a digit, free text as said, and a callback time as a typed time
would be read. Synonyms, negation, Chinese numerals and homophones are the voice issue's next step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.callback_time import parse_callback_time
from bot.domain.engine import BookCallback, Choose, FreeText, Input, Rate, Step
from bot.domain.questionnaire import NodeKind


class Intent(StrEnum):
    ANSWER = "answer"  # ``given`` holds the engine input
    OPT_OUT = "opt_out"  # 别再打了 / 不要打了: never call or message again
    PERSON = "person"  # 转人工: hand over to a person
    REPEAT = "repeat"  # 再说一遍: say the question again
    UNCLEAR = "unclear"  # nothing this step accepts: re-prompt


@dataclass(frozen=True)
class Understood:
    intent: Intent
    given: Input | None = None


# Vocabulary the recogniser's text is matched against (what customers say), not text shown to anyone.
_OPT_OUT = ("别再打", "不要再打", "不要打了", "别打了", "退订", "拉黑")
_PERSON = ("人工", "转人工", "真人", "客服")
_REPEAT = ("再说一遍", "没听清", "重复一遍", "什么意思")
_PUNCTUATION = re.compile(r"[\s，。！？、,.!?…~～]+")


def understand(step: Step, utterance: str, now: datetime | None = None) -> Understood:
    """The customer's intent for ``step`` from recognised speech (``now``: naive store-local time, for
    callback times)."""
    said = _PUNCTUATION.sub("", utterance)
    if not said:
        return Understood(Intent.UNCLEAR)
    if any(p in said for p in _OPT_OUT):
        return Understood(Intent.OPT_OUT)
    if any(p in said for p in _PERSON):
        return Understood(Intent.PERSON)
    if any(p in said for p in _REPEAT):
        return Understood(Intent.REPEAT)
    given = _answer(step, said, utterance.strip(), now)
    return Understood(Intent.ANSWER, given) if given is not None else Understood(Intent.UNCLEAR)


def _answer(step: Step, said: str, raw: str, now: datetime | None) -> Input | None:
    match step.kind:
        case NodeKind.SINGLE:
            for option in step.options:
                if said in (option.label, option.code, str(option.index + 1)) or option.label in said:
                    return Choose(option.code, step.node_id)
            return None
        case NodeKind.RATING:
            digits = re.fullmatch(r"(\d{1,2})分?", said)
            return Rate(int(digits.group(1)), step.node_id) if digits else None
        case NodeKind.TEXT:
            return FreeText(raw, step.node_id)
        case NodeKind.CALLBACK if now is not None:
            at = parse_callback_time(said, now.date())
            return BookCallback(at, step.node_id, earliest=now) if at is not None else None
        case _:
            return None
