"""Contact dispositions (跟踪结果): every outcome of a call or a chat invitation, in ONE table.

Each disposition has a stable ASCII code (stored in ``contact_attempt.disposition``), the Chinese label staff
pick on screen, the channels it applies to, and its AAPOR group, so response, cooperation, refusal and contact
rates (``bot.domain.statistics``) come straight from counts. ``tracking_failure`` marks the seed's 跟踪失败
kinds (停机 · 空号 · 号码有误 · 人在外地 · 无法接通 · 无人接听 · 关机 · 呼转 · 忙/有事 · 拒接 · 其他).
The rationale of each mapping is in ``docs/reports.md``; the short form is in ``aapor_code`` below.

Plain Python: no database, no Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AaporGroup(StrEnum):
    """AAPOR Standard Definitions outcome groups used by the rate formulas."""

    I = "I"  # noqa: E741 - AAPOR's own letter: complete interview
    P = "P"  # partial interview
    R = "R"  # refusal and break-off
    NC = "NC"  # non-contact (eligible)
    O = "O"  # noqa: E741 - other eligible non-interview
    UH = "UH"  # unknown if the number reaches the customer
    UO = "UO"  # unknown eligibility, other
    NE = "NE"  # not eligible (the number does not reach the customer)

    @property
    def label(self) -> str:
        return _GROUP_LABELS[self]


_GROUP_LABELS = {
    AaporGroup.I: "完成",
    AaporGroup.P: "部分完成",
    AaporGroup.R: "拒绝",
    AaporGroup.NC: "未接触",
    AaporGroup.O: "其他（合格）",
    AaporGroup.UH: "资格未知（号码）",
    AaporGroup.UO: "资格未知（其他）",
    AaporGroup.NE: "不合格",
}

CHAT = "chat"
PHONE = "phone"
VOICE = "voice"  # the automated call (智能外呼): every call outcome a specialist's call has, and 答录机
WEB = "web"  # an SMS with a link to the web page: its delivery receipts record these
BOTH = frozenset({CHAT, PHONE, VOICE})
CALLS = frozenset({PHONE, VOICE})
CALLS_AND_SMS = CALLS | {WEB}


@dataclass(frozen=True)
class Disposition:
    """One outcome of a contact attempt."""

    code: str
    label: str
    group: AaporGroup
    aapor_code: str  # the closest AAPOR final disposition code, for the record
    channels: frozenset[str]
    tracking_failure: bool = False


# The one table. Order is the order staff see the buttons in and reports list rows in.
DISPOSITIONS: tuple[Disposition, ...] = (
    Disposition("completed", "接通/完成", AaporGroup.I, "1.1", BOTH),
    Disposition("partial", "中途挂断", AaporGroup.P, "1.2", BOTH),
    Disposition("refused", "拒访", AaporGroup.R, "2.112", BOTH),
    Disposition("appointment", "预约回访", AaporGroup.O, "2.35", BOTH),
    Disposition("busy_now", "忙/有事", AaporGroup.O, "2.35", CALLS, True),
    Disposition("rejected_call", "拒接", AaporGroup.NC, "2.20", CALLS, True),
    Disposition("away", "人在外地", AaporGroup.NC, "2.21", CALLS, True),
    Disposition("no_answer", "无人接听", AaporGroup.UH, "3.13", CALLS, True),
    Disposition("line_busy", "占线", AaporGroup.UH, "3.12", CALLS, True),
    Disposition("powered_off", "关机", AaporGroup.UH, "3.16", CALLS_AND_SMS, True),
    Disposition("unreachable", "无法接通", AaporGroup.UH, "3.16", CALLS_AND_SMS, True),
    Disposition("forwarded", "呼转", AaporGroup.UH, "3.10", CALLS, True),
    Disposition("answering_machine", "答录机", AaporGroup.UH, "3.14", frozenset({VOICE}), True),
    Disposition("suspended", "停机", AaporGroup.NE, "4.33", CALLS_AND_SMS, True),
    Disposition("vacant", "空号", AaporGroup.NE, "4.31", CALLS_AND_SMS, True),
    Disposition("wrong_number", "号码有误", AaporGroup.NE, "4.70", CALLS_AND_SMS, True),
    Disposition("no_reply", "未回复", AaporGroup.UO, "3.19", frozenset({CHAT, WEB}), True),
    Disposition("opted_out", "已退订", AaporGroup.R, "2.112", frozenset({CHAT, VOICE, WEB})),
    Disposition("blocked", "被屏蔽", AaporGroup.R, "2.111", frozenset({CHAT}), True),
    Disposition("sms_refused", "拒收", AaporGroup.R, "2.111", frozenset({WEB}), True),  # carrier blacklist, STOP
    Disposition("other", "其他", AaporGroup.UO, "3.90", BOTH | {WEB}, True),
)

BY_CODE: dict[str, Disposition] = {d.code: d for d in DISPOSITIONS}
BY_LABEL: dict[str, Disposition] = {d.label: d for d in DISPOSITIONS}

# A case that was never tried (AAPOR 3.11 "not attempted"): counted as UH so it still weighs on the rates.
NOT_ATTEMPTED = Disposition("not_attempted", "未联系", AaporGroup.UH, "3.11", BOTH)

# Survey outcomes written by the questionnaire engine at an end node take precedence over call results.
OUTCOME_DISPOSITION: dict[str, str] = {
    "complete": "completed",
    "partial": "partial",
    "refusal": "refused",
    "appointment": "appointment",
}


def disposition(code: str) -> Disposition:
    """The disposition with this code; an unknown code is reported as 其他 with its own code as label."""
    if code == NOT_ATTEMPTED.code:
        return NOT_ATTEMPTED
    found = BY_CODE.get(code)
    if found is not None:
        return found
    return Disposition(code, code, AaporGroup.UO, "3.90", BOTH, True)


def for_channel(channel: str) -> tuple[Disposition, ...]:
    """The dispositions staff (or the bot) can record on ``channel``, in display order."""
    return tuple(d for d in DISPOSITIONS if channel in d.channels)


def group_counts(counts: dict[str, int]) -> dict[AaporGroup, int]:
    """Fold case counts by disposition code into counts by AAPOR group (every group present)."""
    result = dict.fromkeys(AaporGroup, 0)
    for code, n in counts.items():
        result[disposition(code).group] += n
    return result


# Most to least informative about the case: an interview beats a refusal beats a contact without one beats
# not reaching anyone; "not eligible" is last because it is about one number or one mode, not the customer.
_CASE_RANK = (
    AaporGroup.I,
    AaporGroup.P,
    AaporGroup.R,
    AaporGroup.O,
    AaporGroup.NC,
    AaporGroup.UH,
    AaporGroup.UO,
    AaporGroup.NE,
)


def case_result(codes: list[str] | tuple[str, ...]) -> Disposition:
    """A case's one result from all its attempts in every mode: the most informative, the latest among equals."""
    if not codes:
        return NOT_ATTEMPTED
    found = [disposition(code) for code in codes]
    return min(reversed(found), key=lambda d: _CASE_RANK.index(d.group))
