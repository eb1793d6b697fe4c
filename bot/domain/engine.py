"""The questionnaire engine: state in, state + answer records + actions out. Pure and deterministic.

Every channel (Telegram chat, staff phone screen, voice) drives a survey through two calls::

    result = start(questionnaire, context, renderer)            # -> Result (state + first step)
    outcome = answer(questionnaire, result.state, Choose("agree", node_id="opening"), renderer)
    if isinstance(outcome, Rejection): ...                      # state unchanged, tell the person why
    else: store outcome.state.to_dict(); persist outcome.records; carry out outcome.actions; show outcome.step

``current_step(questionnaire, state, renderer)`` re-renders the question a stored state is waiting on
(after a restart, or after a rejection). The engine never reads a clock, a database or the network: a
callback time comes in with the input, rendering goes through the ``Renderer`` protocol
(``bot.rendering.TemplateRenderer``).

Inputs: ``Choose(code)`` (single choice), ``ChooseMany(codes)`` or ``Toggle(code)`` + ``Confirm()``
(multiple choice), ``FreeText(text)``, ``Rate(value)``, ``BookCallback(at)``. Each may carry the ``node_id``
it answers; an input for another node than the current one is rejected as stale (a double tap on an old
keyboard).

Piping context (the ``context`` mapping given to ``start``, kept in the state; every template sees it)::

    customer.title          称呼, e.g. 王先生
    customer.name           full name, e.g. 王建国
    customer.model          model bought or discussed, e.g. 全顺
    customer.series         vehicle series, e.g. 轻卡
    customer.delivery_date  delivery date as display text, e.g. 2024年5月20日
    consultant.name         the owning sales consultant, e.g. 小李
    store.name              the dealership, e.g. 某某4S店
    specialist.name         the customer-service specialist calling, e.g. 小王
    answers.<question_id>   label of an earlier answer (multi: labels joined by 、; text: the text itself;
                            rating: the number; callback: the time as 11月26日 14:00)

A missing key is an error (StrictUndefined), never a blank. Message nodes are passed through: their rendered
texts arrive as ``Step.preamble`` ahead of the next question.

Answer records: one per answered question, except a multiple choice, which yields one record per chosen option
so that reason tallies count every reason given. Actions are the declared ones of the node, of the chosen
option or band, plus ``add_score`` for declared score points and ``book_callback`` for a callback node, each
stamped with the question id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.questionnaire import Action, ActionKind, Node, NodeKind, Option, Questionnaire, Route, successors

STATE_FORMAT = 1
MAX_STEPS = 200  # a guard only: validated questionnaires have no cycles


class Renderer(Protocol):
    """Renders one template string with a context; raises on a missing field (StrictUndefined)."""

    def render(self, template: str, context: Mapping[str, Any]) -> str: ...


# --------------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Choose:
    """Pick one option of a single-choice node."""

    code: str
    node_id: str | None = None


@dataclass(frozen=True)
class ChooseMany:
    """Pick several options of a multiple-choice node at once (already confirmed)."""

    codes: tuple[str, ...]
    node_id: str | None = None


@dataclass(frozen=True)
class Toggle:
    """Select or unselect one option of a multiple-choice node; nothing is recorded until Confirm."""

    code: str
    node_id: str | None = None


@dataclass(frozen=True)
class Confirm:
    """Confirm the options toggled so far on a multiple-choice node."""

    node_id: str | None = None


@dataclass(frozen=True)
class FreeText:
    """Free text for a text node."""

    text: str
    node_id: str | None = None


@dataclass(frozen=True)
class Rate:
    """A rating on the node's scale (1-5 or 0-10)."""

    value: int
    node_id: str | None = None


@dataclass(frozen=True)
class BookCallback:
    """The time agreed for a callback (ISO string or datetime); the caller, not the engine, knows 'now'."""

    at: datetime | str
    node_id: str | None = None
    earliest: datetime | None = None  # the caller's "now" (same zone as ``at``): an earlier time is refused


Input = Choose | ChooseMany | Toggle | Confirm | FreeText | Rate | BookCallback


# --------------------------------------------------------------------------------------------------
# Outputs


class RejectReason(StrEnum):
    """Why an input was refused; the state is unchanged."""

    UNKNOWN_OPTION = "unknown_option"
    DUPLICATE_OPTION = "duplicate_option"
    TOO_FEW_CHOICES = "too_few_choices"
    TOO_MANY_CHOICES = "too_many_choices"
    TEXT_TOO_SHORT = "text_too_short"
    TEXT_TOO_LONG = "text_too_long"
    RATING_OUT_OF_RANGE = "rating_out_of_range"
    BAD_TIME = "bad_time"
    PAST_TIME = "past_time"
    TOO_FAR_AHEAD = "too_far_ahead"  # a callback more than callback_time.HORIZON ahead
    OUTSIDE_HOURS = "outside_hours"  # a callback outside calling hours
    WRONG_INPUT = "wrong_input"
    STALE_QUESTION = "stale_question"
    FINISHED = "finished"
    VERSION_MISMATCH = "version_mismatch"


@dataclass(frozen=True)
class StepOption:
    """An option as shown: 0-based position, stable code, label."""

    index: int
    code: str
    label: str
    synonyms: tuple[str, ...] = ()  # what a caller may say for it (bot.domain.speech)


@dataclass(frozen=True)
class Step:
    """What to show now: the rendered question (or closing text) and what it accepts."""

    node_id: str
    node_index: int
    kind: NodeKind
    text: str
    preamble: tuple[str, ...] = ()
    options: tuple[StepOption, ...] = ()
    selected: tuple[str, ...] = ()
    scale: tuple[int, int] | None = None
    max_length: int | None = None
    min_choices: int = 1
    max_choices: int | None = None
    outcome: str | None = None

    @property
    def finished(self) -> bool:
        """True when this is the end node."""
        return self.kind is NodeKind.END


@dataclass(frozen=True)
class Answer:
    """An answer kept in the state, for piping and route conditions."""

    question_id: str
    codes: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class AnswerRecord:
    """One row for storage and reason tallies."""

    question_id: str
    kind: NodeKind
    option_code: str | None = None
    option_label: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    reason_group: str | None = None
    tags: tuple[str, ...] = ()
    text: str | None = None
    rating: int | None = None
    at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        d = {k: v for k, v in self.__dict__.items() if v is not None}
        d["kind"] = str(self.kind)
        d["tags"] = list(self.tags)
        return d


@dataclass(frozen=True)
class State:
    """Everything needed to resume a survey; JSON-able through to_dict/from_dict."""

    questionnaire_id: str
    version: int
    content_hash: str
    node_id: str
    context: Mapping[str, Any] = field(default_factory=dict, hash=False)
    answers: tuple[Answer, ...] = ()
    scores: tuple[tuple[str, int], ...] = ()
    steps: int = 0
    selected: tuple[str, ...] = ()
    finished: bool = False
    outcome: str | None = None

    @property
    def ref(self) -> str:
        """The questionnaire version this survey is pinned to."""
        return f"{self.questionnaire_id}@{self.version}+{self.content_hash}"

    def answered(self) -> dict[str, tuple[str, ...]]:
        """Question id -> chosen codes (route conditions look at these)."""
        return {a.question_id: a.codes for a in self.answers}

    def score(self, name: str) -> int:
        """Points collected so far for a score (0 if none)."""
        return dict(self.scores).get(name, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (round-trips through json.dumps/loads and from_dict)."""
        return {
            "format": STATE_FORMAT,
            "questionnaire": self.questionnaire_id,
            "version": self.version,
            "hash": self.content_hash,
            "node": self.node_id,
            "context": json.loads(json.dumps(self.context, ensure_ascii=False)),
            "answers": [{"q": a.question_id, "codes": list(a.codes), "label": a.label} for a in self.answers],
            "scores": dict(self.scores),
            "steps": self.steps,
            "selected": list(self.selected),
            "finished": self.finished,
            "outcome": self.outcome,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        """Rebuild a state stored with to_dict (ValueError on an unknown format)."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown survey state format {data.get('format')!r}")
        return cls(
            questionnaire_id=data["questionnaire"],
            version=int(data["version"]),
            content_hash=data["hash"],
            node_id=data["node"],
            context=dict(data.get("context", {})),
            answers=tuple(Answer(a["q"], tuple(a["codes"]), a["label"]) for a in data.get("answers", [])),
            scores=tuple(sorted((str(k), int(v)) for k, v in data.get("scores", {}).items())),
            steps=int(data.get("steps", 0)),
            selected=tuple(data.get("selected", [])),
            finished=bool(data.get("finished", False)),
            outcome=data.get("outcome"),
        )


@dataclass(frozen=True)
class Result:
    """An accepted input: the new state, the step to show, what to record and what to do."""

    state: State
    step: Step
    records: tuple[AnswerRecord, ...] = ()
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A refused input: why (``reason``, plus a detail for logs); ``state`` is the unchanged state."""

    reason: RejectReason
    detail: str
    state: State


# --------------------------------------------------------------------------------------------------
# The two calls


def start(questionnaire: Questionnaire, context: Mapping[str, Any], renderer: Renderer) -> Result:
    """Begin a survey: pin the questionnaire version, pass through leading messages, return the first step."""
    if "answers" in context:
        raise ValueError("'answers' is reserved for earlier answers; do not pass it in the context")
    # A JSON round trip both checks that the context can be stored and detaches it from the caller's objects.
    frozen_context = json.loads(json.dumps(dict(context), ensure_ascii=False, default=str))
    state = State(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        content_hash=questionnaire.content_hash,
        node_id=questionnaire.start,
        context=frozen_context,
    )
    return _arrive(questionnaire, state, renderer)


def current_step(questionnaire: Questionnaire, state: State, renderer: Renderer) -> Step:
    """Render the step a stored state is waiting on (no preamble: it was shown when the state was reached)."""
    _check_version(questionnaire, state)
    return _render_step(questionnaire, questionnaire.node(state.node_id), state, renderer, ())


def step_with_messages(questionnaire: Questionnaire, state: State, renderer: Renderer) -> Step:
    """The step a stored state waits on, with the texts of the message nodes passed on the way to it: for a
    channel that draws each screen anew (the web page) rather than keeping earlier messages on screen.

    The way in is found again from the last question answered (or the start): a chain of message nodes from one
    of its successors that arrives at the current node."""
    step = current_step(questionnaire, state, renderer)
    last = state.answers[-1].question_id if state.answers else None
    entries = successors(questionnaire.node(last)) if last else [questionnaire.start]
    answered = state.answered()
    for entry in entries:
        node, texts = questionnaire.node(entry), list[str]()
        while node.kind is NodeKind.MESSAGE and len(texts) <= MAX_STEPS:
            texts.append(renderer.render(node.text, _render_context(state)))
            node = questionnaire.node(_pick_route(node.next, answered, node.id))
        if texts and node.id == state.node_id:
            return replace(step, preamble=tuple(texts))
    return step


def answer(questionnaire: Questionnaire, state: State, given: Input, renderer: Renderer) -> Result | Rejection:
    """Apply one input. Returns the next Result, or a Rejection leaving ``state`` as it was."""
    if state.ref != questionnaire.ref:
        return Rejection(
            RejectReason.VERSION_MISMATCH, f"state is pinned to {state.ref}, got {questionnaire.ref}", state
        )
    if state.finished:
        return Rejection(RejectReason.FINISHED, "the survey has already ended", state)
    node = questionnaire.node(state.node_id)
    if given.node_id is not None and given.node_id != node.id:
        return Rejection(RejectReason.STALE_QUESTION, f"input for {given.node_id!r}, waiting on {node.id!r}", state)
    handler = _HANDLERS.get((node.kind, type(given)))
    if handler is None:
        return Rejection(RejectReason.WRONG_INPUT, f"{type(given).__name__} does not answer a {node.kind} node", state)
    outcome: Result | Rejection = handler(questionnaire, node, state, given, renderer)
    return outcome


# --------------------------------------------------------------------------------------------------
# Handlers, one per (node kind, input type)

_Outcome = Result | Rejection


def _choose(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    option = node.option(given.code)
    if option is None:
        return Rejection(RejectReason.UNKNOWN_OPTION, f"{given.code!r} is not an option of {node.id!r}", state)
    record = _record(node, option)
    return _move(
        q,
        node,
        state,
        Answer(node.id, (option.code,), option.label),
        [record],
        [option],
        option.next or node.next,
        [],
        renderer,
    )


def _choose_many(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    codes = tuple(given.codes)
    if len(set(codes)) != len(codes):
        return Rejection(RejectReason.DUPLICATE_OPTION, f"an option was chosen twice: {codes}", state)
    unknown = [c for c in codes if node.option(c) is None]
    if unknown:
        return Rejection(RejectReason.UNKNOWN_OPTION, f"{unknown} are not options of {node.id!r}", state)
    top = node.max_choices or len(node.options)
    if len(codes) < node.min_choices:
        return Rejection(RejectReason.TOO_FEW_CHOICES, f"choose at least {node.min_choices}", state)
    if len(codes) > top:
        return Rejection(RejectReason.TOO_MANY_CHOICES, f"choose at most {top}", state)
    # Keep the questionnaire's order so that records do not depend on the order of taps.
    options = [o for o in node.options if o.code in codes]
    label = "、".join(o.label for o in options)
    records = [_record(node, o) for o in options]
    return _move(
        q,
        node,
        state,
        Answer(node.id, tuple(o.code for o in options), label),
        records,
        options,
        node.next,
        [],
        renderer,
    )


def _toggle(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    if node.option(given.code) is None:
        return Rejection(RejectReason.UNKNOWN_OPTION, f"{given.code!r} is not an option of {node.id!r}", state)
    if given.code in state.selected:
        selected = tuple(c for c in state.selected if c != given.code)
    else:
        if len(state.selected) >= (node.max_choices or len(node.options)):
            return Rejection(RejectReason.TOO_MANY_CHOICES, "no more options can be selected", state)
        selected = (*state.selected, given.code)
    new_state = replace(state, selected=selected)
    return Result(new_state, _render_step(q, node, new_state, renderer, ()))


def _confirm(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    return _choose_many(q, node, state, ChooseMany(state.selected, node.id), renderer)


def _free_text(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    text = given.text.strip()
    if len(text) < node.min_length:
        return Rejection(RejectReason.TEXT_TOO_SHORT, f"at least {node.min_length} characters", state)
    if node.max_length is not None and len(text) > node.max_length:
        return Rejection(RejectReason.TEXT_TOO_LONG, f"{len(text)} characters, at most {node.max_length}", state)
    record = AnswerRecord(node.id, node.kind, text=text)
    return _move(q, node, state, Answer(node.id, (), text), [record], [], node.next, [], renderer)


def _rate(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    assert node.scale is not None
    lo, hi = node.scale
    value = given.value
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        return Rejection(RejectReason.RATING_OUT_OF_RANGE, f"{value!r} is outside {lo}-{hi}", state)
    band = node.band_for(value)
    record = replace(_record(node, band) if band else AnswerRecord(node.id, node.kind), rating=value)
    codes = (band.code,) if band else ()
    return _move(
        q,
        node,
        state,
        Answer(node.id, codes, str(value)),
        [record],
        [band] if band else [],
        (band.next if band else ()) or node.next,
        [],
        renderer,
    )


def _book(q: Questionnaire, node: Node, state: State, given: Any, renderer: Renderer) -> _Outcome:
    at = given.at
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return Rejection(RejectReason.BAD_TIME, f"{given.at!r} is not an ISO date and time", state)
    if not isinstance(at, datetime):
        return Rejection(RejectReason.BAD_TIME, f"{given.at!r} is not a datetime", state)
    earliest = given.earliest
    if earliest is not None and (at.tzinfo is None) != (earliest.tzinfo is None):
        raise ValueError("a callback time and its earliest must both carry a zone or both be local")
    if earliest is not None and at <= earliest:
        return Rejection(RejectReason.PAST_TIME, f"{at.isoformat()} is not after {earliest.isoformat()}", state)
    iso = at.isoformat(timespec="minutes")
    label = f"{at.month}月{at.day}日 {at:%H:%M}"
    record = AnswerRecord(node.id, node.kind, at=iso)
    booking = Action(ActionKind.BOOK_CALLBACK, role=node.role or "cs_specialist", at=iso)
    return _move(q, node, state, Answer(node.id, (), label), [record], [], node.next, [booking], renderer)


_HANDLERS: dict[tuple[NodeKind, type], Any] = {
    (NodeKind.SINGLE, Choose): _choose,
    (NodeKind.MULTI, ChooseMany): _choose_many,
    (NodeKind.MULTI, Toggle): _toggle,
    (NodeKind.MULTI, Confirm): _confirm,
    (NodeKind.TEXT, FreeText): _free_text,
    (NodeKind.RATING, Rate): _rate,
    (NodeKind.CALLBACK, BookCallback): _book,
}


# --------------------------------------------------------------------------------------------------
# Moving on


def _record(node: Node, option: Option) -> AnswerRecord:
    return AnswerRecord(
        question_id=node.id,
        kind=node.kind,
        option_code=option.code,
        option_label=option.label,
        reason_code=option.reason_code if (option.reason or option.reason_group) else None,
        reason=option.reason,
        reason_group=option.reason_group,
        tags=option.tags,
    )


def _move(
    q: Questionnaire,
    node: Node,
    state: State,
    given: Answer,
    records: Sequence[AnswerRecord],
    chosen: Sequence[Option],
    routes: Sequence[Route],
    extra_actions: Sequence[Action],
    renderer: Renderer,
) -> Result:
    """Record an accepted answer, collect its actions and scores, and arrive at the next node."""
    actions: list[Action] = [*node.actions, *extra_actions]
    scores = dict(state.scores)
    for option in chosen:
        actions.extend(option.actions)
        for name, points in option.score:
            actions.append(Action(ActionKind.ADD_SCORE, score=name, points=points))
    for a in actions:
        if a.kind is ActionKind.ADD_SCORE and a.score is not None and a.points is not None:
            scores[a.score] = scores.get(a.score, 0) + a.points
    answers = (*(a for a in state.answers if a.question_id != node.id), given)
    moved = replace(
        state,
        answers=answers,
        scores=tuple(sorted(scores.items())),
        steps=state.steps + 1,
        selected=(),
        node_id=_pick_route(routes, {a.question_id: a.codes for a in answers}, node.id),
    )
    arrived = _arrive(q, moved, renderer)
    stamped = tuple(replace(a, question_id=node.id) for a in actions)
    return replace(arrived, records=tuple(records), actions=stamped)


def _pick_route(routes: Sequence[Route], answered: Mapping[str, Sequence[str]], from_id: str) -> str:
    for route in routes:
        if route.matches(answered):
            return route.goto
    # validate() forbids this (the last route must be unconditional); reaching it means an unchecked file.
    raise ValueError(f"node {from_id!r}: no route applies")


def _arrive(q: Questionnaire, state: State, renderer: Renderer) -> Result:
    """Pass through message nodes (collecting their texts) and stop at a question or an end."""
    preamble: list[str] = []
    node = q.node(state.node_id)
    hops = 0
    while node.kind is NodeKind.MESSAGE:
        preamble.append(renderer.render(node.text, _render_context(state)))
        hops += 1
        if hops > MAX_STEPS:
            raise ValueError(f"message nodes loop at {node.id!r}")
        state = replace(state, node_id=_pick_route(node.next, state.answered(), node.id))
        node = q.node(state.node_id)
    if state.steps > MAX_STEPS:
        raise ValueError(f"survey exceeded {MAX_STEPS} steps at {node.id!r}")
    if node.kind is NodeKind.END:
        state = replace(state, finished=True, outcome=node.outcome)
    return Result(state, _render_step(q, node, state, renderer, tuple(preamble)))


def _render_context(state: State) -> dict[str, Any]:
    return {**state.context, "answers": {a.question_id: a.label for a in state.answers}}


def _render_step(q: Questionnaire, node: Node, state: State, renderer: Renderer, preamble: tuple[str, ...]) -> Step:
    show_options = node.kind in (NodeKind.SINGLE, NodeKind.MULTI)
    return Step(
        node_id=node.id,
        node_index=q.index_of(node.id),
        kind=node.kind,
        text=renderer.render(node.text, _render_context(state)),
        preamble=preamble,
        options=tuple(StepOption(i, o.code, o.label, o.synonyms) for i, o in enumerate(node.options))
        if show_options
        else (),
        selected=state.selected,
        scale=node.scale,
        max_length=node.max_length,
        min_choices=node.min_choices,
        max_choices=(node.max_choices or len(node.options)) if node.kind is NodeKind.MULTI else None,
        outcome=node.outcome,
    )


def _check_version(q: Questionnaire, state: State) -> None:
    if state.ref != q.ref:
        raise ValueError(f"state is pinned to {state.ref}, got {q.ref}")
