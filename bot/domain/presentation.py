"""One engine Step, three ways to show it: chat (text + buttons), phone (script line + options), voice (按1…).

Also the way back: short Telegram callback data (``encode_callback`` / ``parse_callback`` /
``callback_input``), typed chat or terminal text (``text_input``) and keypad digits (``keypad_input``)
become engine inputs.

Callback data (at most 64 bytes, so it carries short ids, never labels)::

    a:<survey_ref>:<node_index>:<option_index>    choose one option
    t:<survey_ref>:<node_index>:<option_index>    toggle an option of a multiple choice
    c:<survey_ref>:<node_index>                   confirm the toggled options
    r:<survey_ref>:<node_index>:<value>           rating
    b:<survey_ref>:<node_index>:<YYYYMMDDHHMM>    callback time slot

``survey_ref`` is the caller's short id of the survey (``[A-Za-z0-9_-]``, at most 24 characters); node
and option indexes are positions in the pinned questionnaire version, so an old keyboard maps to its own
node and the engine rejects it as stale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.callback_time import parse_callback_time
from bot.domain.engine import (
    BookCallback,
    Choose,
    ChooseMany,
    Confirm,
    FreeText,
    Input,
    Rate,
    RejectReason,
    Step,
    Toggle,
)
from bot.domain.questionnaire import (
    BUTTON_LABEL_MAX,
    CALLBACK_DATA_MAX_BYTES,
    MESSAGE_TEXT_MAX,
    NodeKind,
    Questionnaire,
)

SURVEY_REF_MAX = 24
_SURVEY_REF_RE = re.compile(rf"^[A-Za-z0-9_-]{{1,{SURVEY_REF_MAX}}}$")
CONFIRM_LABEL = "确认"
SELECTED_MARK = "✅ "
_SLOT_FORMAT = "%Y%m%d%H%M"
_DIGITS = "123456789"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not storable (NUL on PostgreSQL) nor printable
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９－", "0123456789-")

# What to tell a customer in chat when an input is refused.
REJECTION_TEXT_ZH: dict[RejectReason, str] = {
    RejectReason.UNKNOWN_OPTION: "请点击下方的选项作答。",
    RejectReason.DUPLICATE_OPTION: "同一选项只能选择一次。",
    RejectReason.TOO_FEW_CHOICES: "请至少选择一项，再点“确认”。",
    RejectReason.TOO_MANY_CHOICES: "已达到可选数量上限。",
    RejectReason.TEXT_TOO_SHORT: "请输入您的回答。",
    RejectReason.TEXT_TOO_LONG: "内容太长了，请精简后再发送。",
    RejectReason.RATING_OUT_OF_RANGE: "请在给出的分数范围内打分。",
    RejectReason.BAD_TIME: "请选择一个回访时间。",
    RejectReason.PAST_TIME: "这个时间已经过去了，请选择或输入一个以后的时间。",
    RejectReason.TOO_FAR_AHEAD: "这个时间太远了，请选择60天以内的时间。",
    RejectReason.OUTSIDE_HOURS: "这个时间不在回访时段内，请换一个白天的时间。",
    RejectReason.WRONG_INPUT: "请按当前问题的提示作答。",
    RejectReason.STALE_QUESTION: "这个问题已经回答过了，请回答最新的问题。",
    RejectReason.FINISHED: "本次回访已经结束，感谢您的配合！",
    RejectReason.VERSION_MISMATCH: "问卷已更新，请联系我们的客服专员。",
}


@dataclass(frozen=True)
class Button:
    """An inline button: label and callback data."""

    label: str
    data: str


@dataclass(frozen=True)
class ChatView:
    """A Telegram message: text and rows of inline buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class PhoneView:
    """The staff call screen: the line to read, the options to tap (number, label, code), an instruction."""

    script: str
    options: tuple[tuple[str, str, str], ...]
    instruction: str


@dataclass(frozen=True)
class VoiceView:
    """An IVR prompt, the keypad digit -> option code map, and what it ``expects`` (digit, speech, …)."""

    prompt: str
    keys: tuple[tuple[str, str], ...]
    expects: str


@dataclass(frozen=True)
class CallbackData:
    """Decoded callback data."""

    action: str
    survey_ref: str
    node_index: int
    value: str | None


# --------------------------------------------------------------------------------------------------
# Callback data codec


def encode_callback(action: str, survey_ref: str, node_index: int, value: str | int | None = None) -> str:
    """Build callback data; ValueError if the ref is malformed or the result exceeds 64 bytes."""
    if action not in "atcrb" or len(action) != 1:
        raise ValueError(f"unknown callback action {action!r}")
    if not _SURVEY_REF_RE.match(survey_ref):
        raise ValueError(f"survey ref {survey_ref!r} must match {_SURVEY_REF_RE.pattern}")
    parts = [action, survey_ref, str(node_index)] + ([] if value is None else [str(value)])
    data = ":".join(parts)
    if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        raise ValueError(f"callback data {data!r} exceeds {CALLBACK_DATA_MAX_BYTES} bytes")
    return data


def parse_callback(data: str) -> CallbackData | None:
    """Decode callback data made by encode_callback; None if it is not ours or malformed."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] not in ("a", "t", "c", "r", "b"):
        return None
    if not re.fullmatch(r"[0-9]{1,4}", parts[2]):  # ASCII only: "²".isdigit() is True, int("²") fails
        return None
    if (parts[0] == "c") != (len(parts) == 3) or not _SURVEY_REF_RE.match(parts[1]):
        return None
    return CallbackData(parts[0], parts[1], int(parts[2]), parts[3] if len(parts) == 4 else None)


def parse_slot(value: str) -> datetime | None:
    """A time slot of callback data (``YYYYMMDDHHMM``, ASCII digits only); None if malformed."""
    if not re.fullmatch(r"[0-9]{12}", value):
        return None
    try:
        return datetime.strptime(value, _SLOT_FORMAT)
    except ValueError:
        return None


def callback_input(questionnaire: Questionnaire, data: CallbackData) -> Input | None:
    """Turn decoded callback data into an engine input (with the node id, so stale taps are rejected)."""
    if not 0 <= data.node_index < len(questionnaire.nodes):
        return None
    node = questionnaire.nodes[data.node_index]
    if data.action == "c":
        return Confirm(node.id)
    value = data.value or ""
    if data.action == "b":
        at = parse_slot(value)
        return BookCallback(at, node.id) if at is not None else None
    if not re.fullmatch(r"-?[0-9]{1,3}", value):
        return None
    number = int(value)
    if data.action == "r":
        return Rate(number, node.id)
    if not 0 <= number < len(node.options):
        return None
    code = node.options[number].code
    return Choose(code, node.id) if data.action == "a" else Toggle(code, node.id)


# --------------------------------------------------------------------------------------------------
# Views


def _full_text(step: Step) -> str:
    return "\n\n".join([*step.preamble, step.text])


def for_chat(step: Step, survey_ref: str, slots: Sequence[datetime] = ()) -> ChatView:
    """Telegram view. ``slots``: callback times to offer (the caller computes them from its clock)."""
    text = _full_text(step)
    if len(text) > MESSAGE_TEXT_MAX:
        raise ValueError(f"step {step.node_id} text is {len(text)} characters, more than {MESSAGE_TEXT_MAX}")
    rows: list[tuple[Button, ...]] = []
    idx = step.node_index
    if step.kind is NodeKind.SINGLE:
        rows = [(Button(_label(o.label), encode_callback("a", survey_ref, idx, o.index)),) for o in step.options]
    elif step.kind is NodeKind.MULTI:
        rows = [
            (
                Button(
                    _label((SELECTED_MARK if o.code in step.selected else "") + o.label),
                    encode_callback("t", survey_ref, idx, o.index),
                ),
            )
            for o in step.options
        ]
        rows.append((Button(CONFIRM_LABEL, encode_callback("c", survey_ref, idx)),))
    elif step.kind is NodeKind.RATING and step.scale is not None:
        lo, hi = step.scale
        values = [Button(str(v), encode_callback("r", survey_ref, idx, v)) for v in range(lo, hi + 1)]
        width = 6 if len(values) > 6 else len(values)  # 0-10 as two rows: 0-5 and 6-10
        rows = [tuple(values[i : i + width]) for i in range(0, len(values), width)]
    elif step.kind is NodeKind.CALLBACK:
        rows = [
            (
                Button(
                    f"{s.month}月{s.day}日 {s:%H:%M}",
                    encode_callback("b", survey_ref, idx, s.strftime(_SLOT_FORMAT)),
                ),
            )
            for s in slots
        ]
    return ChatView(text, tuple(rows))


def for_phone(step: Step) -> PhoneView:
    """Staff screen: the script line to read and the options to tap, numbered from 1."""
    options = tuple((str(o.index + 1), o.label, o.code) for o in step.options)
    if step.kind is NodeKind.RATING and step.scale is not None:
        options = tuple((str(v), f"{v}分", str(v)) for v in range(step.scale[0], step.scale[1] + 1))
    return PhoneView(_full_text(step), options, _phone_instruction(step))


def _phone_instruction(step: Step) -> str:
    match step.kind:
        case NodeKind.SINGLE:
            return "请根据客户的回答点选一项。"
        case NodeKind.MULTI:
            return "可多选，选完请点“确认”。"
        case NodeKind.TEXT:
            return f"请如实记录客户原话（不超过{step.max_length}字）。"
        case NodeKind.RATING:
            lo, hi = step.scale or (0, 0)
            return f"请记录客户的打分（{lo}–{hi}分）。"
        case NodeKind.CALLBACK:
            return "请与客户约定下次回访时间并记录。"
        case _:
            # The seed's phone etiquette: thank the customer and let them hang up first.
            return "回访结束：表示感谢，请等客户先挂断电话。"


def for_voice(step: Step) -> VoiceView:
    """Voice prompt: the text followed by the keypad instructions (按1…)."""
    text = _full_text(step)
    keys: tuple[tuple[str, str], ...] = ()
    match step.kind:
        case NodeKind.SINGLE | NodeKind.MULTI:
            keys = tuple((_DIGITS[o.index], o.code) for o in step.options)
            menu = "，".join(f"{o.label}请按{_DIGITS[o.index]}" for o in step.options)
            if step.kind is NodeKind.SINGLE:
                return VoiceView(f"{text} {menu}。", keys, "digit")
            return VoiceView(f"{text} 可选择多项：{menu}，选完请按井号键。", keys, "digits")
        case NodeKind.RATING:
            lo, hi = step.scale or (0, 0)
            return VoiceView(f"{text} 请按{lo}到{hi}之间的数字打分，然后按井号键。", keys, "number")
        case NodeKind.TEXT:
            return VoiceView(f"{text} 请在提示音后说出您的意见，说完请按井号键。", keys, "speech")
        case NodeKind.CALLBACK:
            return VoiceView(f"{text} 请在提示音后说出方便回访的时间。", keys, "speech")
        case _:
            return VoiceView(text, keys, "none")


def _label(label: str) -> str:
    # validate() keeps labels within the limit; this guards the keyboard against an unchecked file.
    return label if len(label) <= BUTTON_LABEL_MAX else label[: BUTTON_LABEL_MAX - 1] + "…"


# --------------------------------------------------------------------------------------------------
# Typed input


def text_input(step: Step, text: str, now: datetime | None = None) -> Input | None:
    """Interpret typed text (chat or terminal) for a step: option numbers from 1, a rating, free text, a time.

    ``now`` (naive, store-local) lets a typed time leave out the year or say 明天, and refuses past times;
    without it only full ISO times are read. Returns None when the text cannot be read for this step.
    """
    raw = text.strip()
    digits = raw.translate(_WIDE_DIGITS)  # full-width digits, as Chinese IMEs type them, are read as digits
    if step.kind is NodeKind.SINGLE:
        for o in step.options:
            if digits == str(o.index + 1) or raw == o.label or raw == o.code:
                return Choose(o.code, step.node_id)
        return None
    if step.kind is NodeKind.MULTI:
        parts = [p for p in re.split(r"[\s,，、;；]+", digits) if p]
        if not parts or not all(re.fullmatch(r"[0-9]{1,3}", p) and 1 <= int(p) <= len(step.options) for p in parts):
            return None
        return ChooseMany(tuple(step.options[int(p) - 1].code for p in parts), step.node_id)
    if step.kind is NodeKind.RATING:
        return Rate(int(digits), step.node_id) if re.fullmatch(r"-?[0-9]{1,3}", digits) else None
    if step.kind is NodeKind.TEXT:
        return FreeText(_CONTROL.sub("", text), step.node_id)
    if step.kind is NodeKind.CALLBACK:
        if now is not None:
            at = parse_callback_time(raw, now.date())
            return BookCallback(at, step.node_id, earliest=now) if at is not None else None
        try:
            return BookCallback(datetime.fromisoformat(raw.replace("/", "-")), step.node_id)
        except ValueError:
            return None
    return None


def keypad_input(step: Step, keys: str) -> Input | None:
    """Interpret keypad digits from a voice call (``#`` ends multi-digit entries); None if unreadable."""
    digits = keys.rstrip("#")
    if step.kind is NodeKind.SINGLE and len(digits) == 1:
        return next((Choose(c, step.node_id) for d, c in for_voice(step).keys if d == digits), None)
    if step.kind is NodeKind.MULTI and digits:
        table = dict(for_voice(step).keys)
        if not all(d in table for d in digits):
            return None
        return ChooseMany(tuple(dict.fromkeys(table[d] for d in digits)), step.node_id)
    if step.kind is NodeKind.RATING and digits.isdigit():
        return Rate(int(digits), step.node_id)
    return None


# --------------------------------------------------------------------------------------------------
# Web form fields


def form_input(step: Step, fields: Mapping[str, Sequence[str]], now: datetime | None = None) -> Input | None:
    """Interpret the fields of the web page's form for a step; None when they cannot be read for it.

    ``choice``: an option's 0-based position (several for a multiple choice), ``rating``: the score,
    ``text``: free text, ``slot``: an offered callback time (``YYYYMMDDHHMM``) or ``when``: a typed one
    (read like a chat message; ``now`` is store-local and naive, as in ``text_input``).
    """

    def first(name: str) -> str:
        values = fields.get(name) or ()
        return values[0] if values else ""

    if step.kind is NodeKind.SINGLE:
        index = _option_index(step, first("choice"))
        return Choose(step.options[index].code, step.node_id) if index is not None else None
    if step.kind is NodeKind.MULTI:
        indexes = [_option_index(step, v) for v in fields.get("choice") or ()]
        if any(i is None for i in indexes):
            return None
        chosen = dict.fromkeys(step.options[i].code for i in indexes if i is not None)
        return ChooseMany(tuple(chosen), step.node_id)
    if step.kind is NodeKind.RATING:
        value = first("rating").translate(_WIDE_DIGITS).strip()
        return Rate(int(value), step.node_id) if re.fullmatch(r"-?[0-9]{1,3}", value) else None
    if step.kind is NodeKind.TEXT:
        return FreeText(_CONTROL.sub("", first("text")), step.node_id)
    if step.kind is NodeKind.CALLBACK:
        slot = parse_slot(first("slot")) if first("slot") else None
        if slot is not None:
            return BookCallback(slot, step.node_id, earliest=now)
        typed = first("when").strip()
        return text_input(step, typed, now) if typed else None
    return None


def _option_index(step: Step, value: str) -> int | None:
    if not re.fullmatch(r"[0-9]{1,3}", value):
        return None
    index = int(value)
    return index if index < len(step.options) else None
