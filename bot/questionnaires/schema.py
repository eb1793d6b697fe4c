"""The questionnaire file format as pydantic models: what a file may say, and nothing more.

One model per place in the file (the questionnaire, a score, a node of each kind, an option, a band, a
route, an action of each kind), ``extra="forbid"`` everywhere. Nodes are a union discriminated on ``kind``;
actions (``- set_status: defeated``) on their one key. Values are checked strictly (no ``"2"`` for 2, no
``1`` for true); numbers written where text is expected are taken as text. Validators raise
``PydanticCustomError`` with the message a questionnaire author reads; ``bot.questionnaires.loading`` adds
the file, the line and the place (``node q1, option no``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.domain.questionnaire import (
    CODE_RE,
    FREE_TEXT_MAX,
    OUTCOMES,
    ROLES,
    SCALES,
    STATUSES,
    ActionKind,
    NodeKind,
)


def _fail(message: str, *, at: str = "") -> PydanticCustomError:
    """An author's mistake; ``at``: the key of the mapping the line should point at. No context is passed, so
    braces in the author's values are never taken for placeholders."""
    return PydanticCustomError(f"questionnaire{'@' if at else ''}{at}", message)


def _key(info: ValidationInfo) -> str:
    return "if" if info.field_name == "when" else str(info.field_name)


def _text(value: Any, info: ValidationInfo) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{_key(info)!r} must be a non-empty string")
    return value


def _code(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{_key(info)!r} must be a non-empty string")
    if not CODE_RE.match(value):
        raise _fail(f"{_key(info)!r} {value!r} must be a snake_case code (a-z, 0-9, _)")
    return value


def _int_at_least(minimum: int, maximum: int | None = None) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise _fail(f"{_key(info)!r} must be an integer >= {minimum}")
        if maximum is not None and value > maximum:
            raise _fail(f"{_key(info)!r} must be <= {maximum}")
        return value

    return BeforeValidator(check)


def _one_of(allowed: frozenset[str], what: str, *, listed: bool) -> BeforeValidator:
    def check(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or value not in allowed:
            hint = f" (one of: {', '.join(sorted(allowed))})" if listed else ""
            raise _fail(f"unknown {what} {value!r}{hint}")
        return value

    return BeforeValidator(check)


def _bool(value: Any, info: ValidationInfo) -> bool:
    if not isinstance(value, bool):
        raise _fail(f"{_key(info)!r} must be true or false")
    return value


Text = Annotated[str, BeforeValidator(_text)]
Code = Annotated[str, BeforeValidator(_code)]
Role = Annotated[str, _one_of(ROLES, "role", listed=False)]
Flag = Annotated[bool, BeforeValidator(_bool)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------------
# Actions: `- kind: arguments`, one key each


class _ActionDoc(_Doc):
    kind: ClassVar[ActionKind]
    bare: ClassVar[str | None] = None  # the field a bare value fills (`- set_status: defeated`)

    @model_validator(mode="before")
    @classmethod
    def _arguments(cls, value: Any) -> Any:
        """``{kind: arguments}`` as written in the file → the arguments."""
        args = value[cls.kind.value] if isinstance(value, dict) and cls.kind.value in value else value
        if args is None:
            return {}
        if cls.bare is not None and not isinstance(args, dict | list):
            return {cls.bare: args}
        if not isinstance(args, dict):
            raise _fail(f"arguments must be a mapping, got {type(args).__name__}")
        return args


class CreateTaskDoc(_ActionDoc):
    kind = ActionKind.CREATE_TASK
    role: Role
    task: Code
    due_hours: Annotated[int, _int_at_least(0)]


class AlertManagerDoc(_ActionDoc):
    kind = ActionKind.ALERT_MANAGER
    reason: Code
    bare = "reason"


class SetStatusDoc(_ActionDoc):
    kind = ActionKind.SET_STATUS
    status: Annotated[str, _one_of(STATUSES, "status", listed=True)]
    bare = "status"


class BookCallbackDoc(_ActionDoc):
    kind = ActionKind.BOOK_CALLBACK
    role: Role = "cs_specialist"
    after_hours: Annotated[int, _int_at_least(1)]


class AddScoreDoc(_ActionDoc):
    kind = ActionKind.ADD_SCORE
    score: Code
    points: Annotated[int, _int_at_least(-100)]


ACTION_DOCS: dict[str, type[_ActionDoc]] = {
    d.kind.value: d for d in (CreateTaskDoc, AlertManagerDoc, SetStatusDoc, BookCallbackDoc, AddScoreDoc)
}


def _action_shape(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _fail(f"action must be a mapping, got {type(value).__name__}")
    if len(value) != 1:
        raise _fail("an action is one key (its kind), e.g. '- set_status: defeated'")
    ((kind, _),) = value.items()
    if kind not in ACTION_DOCS:
        raise _fail(f"unknown action {kind!r} (one of: {', '.join(k.value for k in ActionKind)})")
    return value


ActionDocs = Annotated[
    Annotated[CreateTaskDoc, Tag("create_task")]
    | Annotated[AlertManagerDoc, Tag("alert_manager")]
    | Annotated[SetStatusDoc, Tag("set_status")]
    | Annotated[BookCallbackDoc, Tag("book_callback")]
    | Annotated[AddScoreDoc, Tag("add_score")],
    Discriminator(lambda value: next(iter(value)) if isinstance(value, dict) and value else None),
    BeforeValidator(_action_shape),
]


def _list(what: str, *, non_empty: bool = False) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list) or (non_empty and not value):
            raise _fail(f"{_key(info)!r} must be a {'non-empty ' if non_empty else ''}list{what}")
        return value

    return BeforeValidator(check)


Actions = Annotated[list[ActionDocs], _list("")]


# ---------------------------------------------------------------------------------------------------
# Routes: `next: node_id` or a list of `{if: {question: [codes]}, goto: node_id}`


def _conditions(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise _fail(f"route 'if' must be a mapping, got {type(value).__name__}")
    result = {}
    for qid, codes in value.items():
        codes_list = [codes] if isinstance(codes, str) else codes
        if not isinstance(codes_list, list) or not all(isinstance(c, str) for c in codes_list):
            raise _fail(f"route 'if' {qid!r} needs codes")
        result[str(qid)] = codes_list
    return result


class RouteDoc(_Doc):
    when: Annotated[dict[str, list[str]], BeforeValidator(_conditions)] = Field(default_factory=dict, alias="if")
    goto: Text


def _next_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "id"
    if isinstance(value, list) and value:
        return "routes"
    return None


Next = Annotated[
    Annotated[str, Tag("id")] | Annotated[list[RouteDoc], Tag("routes")],
    Discriminator(
        _next_shape,
        custom_error_type="questionnaire",
        custom_error_message="'next' must be a node id or a list of {if: ..., goto: ...} routes",
    ),
]


# ---------------------------------------------------------------------------------------------------
# Options and bands


def _points(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise _fail(f"score must be a mapping, got {type(value).__name__}")
    for name, points in value.items():
        if not isinstance(points, int) or isinstance(points, bool):
            raise _fail(f"score {name!r} points must be an integer")
    return {str(k): v for k, v in value.items()}


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _fail("'tags' must be a list of strings")
    return value


class _ChoiceDoc(_Doc):
    code: Code
    reason_code: Code | None = None
    reason: Text | None = None
    reason_group: Text | None = None
    tags: Annotated[list[str], BeforeValidator(_tags)] = Field(default_factory=list)
    score: Annotated[dict[str, int], BeforeValidator(_points)] = Field(default_factory=dict)
    actions: Actions = Field(default_factory=list)


def _synonyms(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _fail("'synonyms' must be a non-empty list of words a customer may say for this option")
    words = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    if not all(isinstance(w, str) and w.strip() for w in words):
        raise _fail("'synonyms' must be non-empty strings")
    return words


class MultiOptionDoc(_ChoiceDoc):
    """An option of a multiple choice: it moves on by the node's ``next``, once confirmed."""

    label: Text
    # What callers say for this option on a voice call (bot.domain.speech), beside the label itself.
    synonyms: Annotated[list[str], BeforeValidator(_synonyms)] = Field(default_factory=list)


class OptionDoc(MultiOptionDoc):
    next: Next | None = None


def _range(value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)
        or value[0] > value[1]
    ):
        raise _fail("'range' must be [low, high] integers, low <= high")
    return value[0], value[1]


class BandDoc(_ChoiceDoc):
    range: Annotated[tuple[int, int], BeforeValidator(_range)]
    label: Text | None = None  # default: "low–high分"
    next: Next | None = None


# ---------------------------------------------------------------------------------------------------
# Nodes, discriminated on `kind`


class _NodeDoc(_Doc):
    id: Code
    text: Text


class MessageDoc(_NodeDoc):
    kind: Literal["message"]
    next: Next | None = None


class SingleDoc(_NodeDoc):
    kind: Literal["single"]
    options: Annotated[list[OptionDoc], _list("", non_empty=True)]
    next: Next | None = None
    actions: Actions = Field(default_factory=list)
    tally: Flag = False


class MultiDoc(_NodeDoc):
    kind: Literal["multi"]
    options: Annotated[list[MultiOptionDoc], _list("", non_empty=True)]
    next: Next | None = None
    actions: Actions = Field(default_factory=list)
    tally: Flag = False
    min_choices: Annotated[int, _int_at_least(1)] = 1
    max_choices: Annotated[int, _int_at_least(1)] | None = None


class TextDoc(_NodeDoc):
    kind: Literal["text"]
    next: Next | None = None
    actions: Actions = Field(default_factory=list)
    max_length: Annotated[int, _int_at_least(1, FREE_TEXT_MAX)] = 500
    min_length: Annotated[int, _int_at_least(0)] = 1


def _scale(value: Any) -> tuple[int, int]:
    scale = SCALES.get(str(value))
    if scale is None:
        raise _fail(f"'scale' must be one of {', '.join(SCALES)}")
    return scale


class RatingDoc(_NodeDoc):
    kind: Literal["rating"]
    scale: Annotated[tuple[int, int], BeforeValidator(_scale)]
    bands: Annotated[list[BandDoc], _list("")] = Field(default_factory=list)
    next: Next | None = None
    actions: Actions = Field(default_factory=list)
    tally: Flag = False


class CallbackDoc(_NodeDoc):
    kind: Literal["callback"]
    next: Next | None = None
    actions: Actions = Field(default_factory=list)
    role: Role = "cs_specialist"


class EndDoc(_NodeDoc):
    kind: Literal["end"]
    outcome: Annotated[str, _one_of(OUTCOMES, "outcome", listed=True)]


NODE_DOCS: dict[str, type[_NodeDoc]] = {
    "message": MessageDoc,
    "single": SingleDoc,
    "multi": MultiDoc,
    "text": TextDoc,
    "rating": RatingDoc,
    "callback": CallbackDoc,
    "end": EndDoc,
}
assert set(NODE_DOCS) == {k.value for k in NodeKind}


def _node_shape(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _fail(f"node must be a mapping, got {type(value).__name__}")
    if "kind" not in value:
        raise _fail("missing required key 'kind'")
    if not isinstance(value["kind"], str) or value["kind"] not in NODE_DOCS:
        raise _fail(f"unknown kind {value['kind']!r} (one of: {', '.join(k.value for k in NodeKind)})", at="kind")
    return value


NodeDocs = Annotated[
    MessageDoc | SingleDoc | MultiDoc | TextDoc | RatingDoc | CallbackDoc | EndDoc,
    Field(discriminator="kind"),
    BeforeValidator(_node_shape),
]


# ---------------------------------------------------------------------------------------------------
# The questionnaire


class ScoreDoc(_Doc):
    label: Text | None = None  # default: the score's name
    max: Annotated[int, _int_at_least(1)]


def _score_name(value: Any) -> str:
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise _fail("name must be a snake_case code")
    return value


def _mapping(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, dict):
        raise _fail(f"{_key(info)!r} must be a mapping, got {type(value).__name__}")
    return value


class QuestionnaireDoc(_Doc):
    id: Code
    version: Annotated[int, _int_at_least(1)]
    title: Text
    start: Code | None = None  # default: the first node
    description: Any = None  # for people
    population: Any = None  # informational
    scores: Annotated[dict[Annotated[str, BeforeValidator(_score_name)], ScoreDoc], BeforeValidator(_mapping)] = Field(
        default_factory=dict
    )
    nodes: Annotated[list[NodeDocs], _list("", non_empty=True)]
