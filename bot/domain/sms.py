"""SMS rules that hold whatever the provider: how long a text is in billed parts, which upstream replies
opt a customer out, and what a delivery receipt says about the number.

China's carriers bill a text in 70-character parts; a longer text is sent as a concatenated message whose
parts carry 67 characters each (the other 3 hold the part header). Every character counts as one, Chinese
or not (a text with any Chinese is sent in UCS-2). The signature 【签名】 counts too.

Plain Python: no database, no HTTP.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SINGLE_PART = 70
MULTI_PART = 67


def sms_parts(text: str) -> int:
    """How many billed parts the text is sent as (0 for an empty text)."""
    length = len(text)
    if length == 0:
        return 0
    if length <= SINGLE_PART:
        return 1
    return math.ceil(length / MULTI_PART)


def normalise_reply(text: str) -> str:
    """An upstream reply as compared with the opt-out words: NFKC (full-width Ｔ is T), trimmed, lower case,
    trailing punctuation dropped."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return folded.rstrip("。.!！ ")


def is_opt_out_reply(text: str, words: Iterable[str]) -> bool:
    """Whether an upstream reply asks to stop (T, TD, 退订, N … as the label file lists them)."""
    return normalise_reply(text) in {normalise_reply(w) for w in words}


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt in provider-neutral form: delivered, or the disposition its failure maps to."""

    delivered: bool
    disposition: str | None  # a code of bot.domain.dispositions; None when delivered or still in flight
    final: bool = True  # False for interim states (queued, sent): nothing is recorded for those


def classify_failure(code: str, message: str, rules: Mapping[str, object]) -> str:
    """The disposition of a failed delivery: the provider's code looked up in ``rules["codes"]``, else the
    first keyword of ``rules["keywords"]`` found in the provider's message, else ``other``."""
    codes = rules.get("codes") or {}
    assert isinstance(codes, Mapping)
    if code in codes:
        return str(codes[code])
    keywords = rules.get("keywords") or {}
    assert isinstance(keywords, Mapping)
    for keyword, disposition in keywords.items():
        if keyword and str(keyword) in message:
            return str(disposition)
    return "other"
