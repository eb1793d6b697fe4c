"""Questionnaires as data: the model, parsing from YAML text, and structural validation.

A questionnaire is one YAML file under ``scripts_zh/questionnaires/`` (format: ``docs/questionnaires.md``).
``parse_questionnaire(text, source)`` turns its text into a frozen :class:`Questionnaire` plus a list of
:class:`Issue` (``file:line: message``); ``validate(q)`` adds the graph checks (unknown targets, unreachable
nodes, dead ends, cycles, tallies without reasons, score maxima, keypad and button limits).

Versioning: a questionnaire's ``ref`` is ``<id>@<version>+<hash8>``, the explicit ``version:`` number of
the file plus the first 8 hex digits of the SHA-256 of the file's bytes. Any edit changes the ref, so a
survey that pinned a ref keeps the exact text it started with (storage keeps ``Questionnaire.text`` per
ref); bumping ``version:`` is how an author marks a meaningful change. Option ``code`` (and
``reason_code``) values are the stable keys reports tally by, and must keep their meaning across versions.

Plain Python: no I/O (callers read the file), no Jinja2, no Telegram, no database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml

# Telegram and keypad limits every rendered step must respect.
MESSAGE_TEXT_MAX = 4096  # Telegram message text, characters
BUTTON_LABEL_MAX = 40  # our own limit: longer labels wrap badly on phones
CALLBACK_DATA_MAX_BYTES = 64  # Telegram callback_data
KEYPAD_OPTIONS_MAX = 9  # voice: one keypad digit per option, 1..9
FREE_TEXT_MAX = 2000  # upper bound for any free-text node's max_length

ROLES = frozenset({"sales_consultant", "service_advisor", "cs_specialist", "manager"})
STATUSES = frozenset({"prospect", "quasi_defeated", "defeated", "owner", "lapsed"})
OUTCOMES = frozenset({"complete", "refusal", "appointment", "partial"})

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class NodeKind(StrEnum):
    """What a node asks for."""

    MESSAGE = "message"  # text only; the engine passes through it to the next node
    SINGLE = "single"  # one option
    MULTI = "multi"  # several options, confirmed together
    TEXT = "text"  # free text with a length limit
    RATING = "rating"  # an integer on a 1-5 or 0-10 scale
    CALLBACK = "callback"  # choose a time to be called back
    END = "end"  # the last node; carries the outcome

    @property
    def is_question(self) -> bool:
        """True for nodes that wait for an answer."""
        return self not in (NodeKind.MESSAGE, NodeKind.END)


class ActionKind(StrEnum):
    """What the surrounding services should do after an answer."""

    CREATE_TASK = "create_task"
    ALERT_MANAGER = "alert_manager"
    SET_STATUS = "set_status"
    BOOK_CALLBACK = "book_callback"
    ADD_SCORE = "add_score"


@dataclass(frozen=True)
class Issue:
    """One problem found in a questionnaire file, printed as ``file:line: message``."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class QuestionnaireError(ValueError):
    """Raised by loaders when a questionnaire has errors; ``issues`` lists them all."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(frozen=True)
class Action:
    """A declared (or, once emitted by the engine, resolved) side effect of an answer.

    Fields used per kind: create_task(role, task, due_hours), alert_manager(reason), set_status(status),
    book_callback(role, at | after_hours), add_score(score, points). ``question_id`` is set when emitted.
    """

    kind: ActionKind
    role: str | None = None
    task: str | None = None
    due_hours: int | None = None
    reason: str | None = None
    status: str | None = None
    score: str | None = None
    points: int | None = None
    at: str | None = None  # ISO datetime of a booked callback, from the answer
    after_hours: int | None = None  # callback relative to when the answer was given
    question_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form without the empty fields."""
        return {k: (str(v) if k == "kind" else v) for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Route:
    """Where to go next: ``goto`` if every ``when`` condition (question id -> any of codes) holds."""

    goto: str
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    line: int = 0

    def matches(self, answered: Mapping[str, Sequence[str]]) -> bool:
        """True when each referenced question was answered with one of the listed codes."""
        return all(set(answered.get(q, ())) & set(codes) for q, codes in self.when)


@dataclass(frozen=True)
class Option:
    """A choice in a single/multi node, or a score band (``low``..``high``) of a rating node."""

    code: str
    label: str
    next: tuple[Route, ...] = ()  # empty: the node's ``next``
    reason_code: str | None = None
    reason: str | None = None
    reason_group: str | None = None
    tags: tuple[str, ...] = ()
    score: tuple[tuple[str, int], ...] = ()
    actions: tuple[Action, ...] = ()
    low: int | None = None
    high: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Node:
    """One step of a questionnaire; which fields matter depends on ``kind``."""

    id: str
    kind: NodeKind
    text: str
    options: tuple[Option, ...] = ()
    next: tuple[Route, ...] = ()
    actions: tuple[Action, ...] = ()
    tally: bool = False
    max_length: int | None = None
    min_length: int = 1
    min_choices: int = 1
    max_choices: int | None = None
    scale: tuple[int, int] | None = None
    role: str | None = None
    outcome: str | None = None
    line: int = 0

    def option(self, code: str) -> Option | None:
        """The option (or band) with this code, if any."""
        return next((o for o in self.options if o.code == code), None)

    def band_for(self, value: int) -> Option | None:
        """The rating band containing ``value``, if any."""
        return next((o for o in self.options if o.low is not None and o.low <= value <= (o.high or 0)), None)


@dataclass(frozen=True)
class ScoreDef:
    """A score the questionnaire adds to (e.g. loyalty, max 10)."""

    name: str
    label: str
    max: int


@dataclass(frozen=True)
class Questionnaire:
    """A parsed questionnaire: nodes in file order (their index is used in callback data)."""

    id: str
    version: int
    title: str
    start: str
    nodes: tuple[Node, ...]
    scores: tuple[ScoreDef, ...] = ()
    content_hash: str = ""
    source: str = "<string>"
    text: str = field(default="", repr=False)
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # First occurrence wins so that a duplicate id (reported by validate) cannot shadow the original.
        index: dict[str, int] = {}
        for i, n in enumerate(self.nodes):
            index.setdefault(n.id, i)
        object.__setattr__(self, "_index", index)

    @property
    def ref(self) -> str:
        """The pinned version a survey records: ``<id>@<version>+<hash8>``."""
        return f"{self.id}@{self.version}+{self.content_hash}"

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if unknown)."""
        return self.nodes[self._index[node_id]]

    def has_node(self, node_id: str) -> bool:
        """True if a node with this id exists."""
        return node_id in self._index

    def index_of(self, node_id: str) -> int:
        """Position of the node in the file (used in short callback data)."""
        return self._index[node_id]

    def score_max(self, name: str) -> int | None:
        """Declared maximum of a score, None if undeclared."""
        return next((s.max for s in self.scores if s.name == name), None)


def content_hash(text: str) -> str:
    """The 8-hex-digit content hash used in a questionnaire ref."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


# --------------------------------------------------------------------------------------------------
# YAML with line numbers


class _Map(dict[str, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are :class:`_Map`; reports duplicate keys instead of dropping them."""

    duplicate_keys: list[tuple[int, str]]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            loader.duplicate_keys.append((line, f"duplicate key {key!r}"))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = line
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str, source: str) -> tuple[Any, list[Issue]]:
    loader = _LineLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem = f"{problem} ({context} at line {context_mark.line + 1})"
        return None, [Issue(source, line, f"YAML syntax error: {problem}")]
    finally:
        loader.dispose()
    return data, [Issue(source, line, msg) for line, msg in loader.duplicate_keys]


# --------------------------------------------------------------------------------------------------
# Parsing


_Q_KEYS = {"id", "version", "title", "start", "scores", "nodes", "description", "population"}
_NODE_KEYS: dict[NodeKind, set[str]] = {
    NodeKind.MESSAGE: {"next"},
    NodeKind.SINGLE: {"options", "next", "actions", "tally"},
    NodeKind.MULTI: {"options", "next", "actions", "tally", "min_choices", "max_choices"},
    NodeKind.TEXT: {"next", "actions", "max_length", "min_length"},
    NodeKind.RATING: {"scale", "bands", "next", "actions", "tally"},
    NodeKind.CALLBACK: {"next", "actions", "role"},
    NodeKind.END: {"outcome"},
}
_OPTION_KEYS = {"code", "label", "next", "reason", "reason_code", "reason_group", "tags", "score", "actions"}
_BAND_KEYS = _OPTION_KEYS | {"range"}
_SCALES = {"1-5": (1, 5), "0-10": (0, 10)}


class _Parser:
    """Builds the model from YAML data, collecting every schema issue instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []

    def error(self, line: int, message: str) -> None:
        self.issues.append(Issue(self.source, line, message))

    def line_of(self, m: _Map, key: str) -> int:
        return m.key_lines.get(key, m.line)

    def expect_map(self, value: Any, line: int, what: str) -> _Map | None:
        if isinstance(value, _Map):
            return value
        self.error(line, f"{what} must be a mapping, got {type(value).__name__}")
        return None

    def unknown_keys(self, m: _Map, allowed: set[str], what: str) -> None:
        for key in m:
            if key not in allowed:
                self.error(
                    self.line_of(m, key),
                    f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                )

    def str_field(self, m: _Map, key: str, what: str, *, required: bool = True, code: bool = False) -> str | None:
        if key not in m:
            if required:
                self.error(m.line, f"{what}: missing required key {key!r}")
            return None
        value = m[key]
        if isinstance(value, int | float) and not isinstance(value, bool) and not code:
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.error(self.line_of(m, key), f"{what}: {key!r} must be a non-empty string")
            return None
        if code and not _CODE_RE.match(value):
            self.error(self.line_of(m, key), f"{what}: {key!r} {value!r} must be a snake_case code (a-z, 0-9, _)")
            return None
        return value

    def int_field(self, m: _Map, key: str, what: str, *, default: int | None = None, minimum: int = 0) -> int | None:
        if key not in m:
            return default
        value = m[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.error(self.line_of(m, key), f"{what}: {key!r} must be an integer >= {minimum}")
            return default
        return value

    def parse(self, data: Any, text: str) -> Questionnaire | None:
        top = self.expect_map(data, 1, "questionnaire file")
        if top is None:
            return None
        self.unknown_keys(top, _Q_KEYS, "questionnaire")
        qid = self.str_field(top, "id", "questionnaire", code=True) or "unknown"
        version = self.int_field(top, "version", "questionnaire", minimum=1)
        if version is None:
            if "version" not in top:
                self.error(top.line, "questionnaire: missing required key 'version'")
            version = 0
        title = self.str_field(top, "title", "questionnaire") or qid
        scores = self.parse_scores(top)
        nodes: list[Node] = []
        raw_nodes = top.get("nodes")
        if not isinstance(raw_nodes, list) or not raw_nodes:
            self.error(self.line_of(top, "nodes"), "questionnaire: 'nodes' must be a non-empty list")
        else:
            for raw in raw_nodes:
                node = self.parse_node(raw, self.line_of(top, "nodes"))
                if node is not None:
                    nodes.append(node)
        start = self.str_field(top, "start", "questionnaire", required=False, code=True)
        if start is None:
            start = nodes[0].id if nodes else ""
        return Questionnaire(
            id=qid,
            version=version,
            title=title,
            start=start,
            nodes=tuple(nodes),
            scores=scores,
            content_hash=content_hash(text),
            source=self.source,
            text=text,
        )

    def parse_scores(self, top: _Map) -> tuple[ScoreDef, ...]:
        raw = top.get("scores")
        if raw is None:
            return ()
        m = self.expect_map(raw, self.line_of(top, "scores"), "scores")
        if m is None:
            return ()
        result = []
        for name, spec in m.items():
            line = self.line_of(m, name)
            sm = self.expect_map(spec, line, f"score {name!r}")
            if sm is None:
                continue
            self.unknown_keys(sm, {"label", "max"}, f"score {name!r}")
            if not isinstance(name, str) or not _CODE_RE.match(name):
                self.error(line, f"score name {name!r} must be a snake_case code")
                continue
            maximum = self.int_field(sm, "max", f"score {name!r}", minimum=1)
            if maximum is None:
                self.error(line, f"score {name!r}: missing required key 'max'")
                continue
            result.append(ScoreDef(name, str(sm.get("label", name)), maximum))
        return tuple(result)

    def parse_node(self, raw: Any, line: int) -> Node | None:
        m = self.expect_map(raw, line, "node")
        if m is None:
            return None
        nid = self.str_field(m, "id", "node", code=True)
        what = f"node {nid or '?'}"
        kind_raw = m.get("kind")
        try:
            kind = NodeKind(kind_raw)
        except ValueError:
            self.error(
                self.line_of(m, "kind"),
                f"{what}: unknown kind {kind_raw!r} (one of: {', '.join(k.value for k in NodeKind)})",
            )
            return None
        self.unknown_keys(m, _NODE_KEYS[kind] | {"id", "kind", "text"}, what)
        text = self.str_field(m, "text", what) or ""
        if nid is None:
            return None
        options: tuple[Option, ...] = ()
        scale = None
        if kind in (NodeKind.SINGLE, NodeKind.MULTI):
            raw_opts = m.get("options")
            if not isinstance(raw_opts, list) or not raw_opts:
                self.error(self.line_of(m, "options"), f"{what}: 'options' must be a non-empty list")
            else:
                options = tuple(o for o in (self.parse_option(r, m.line, what, kind) for r in raw_opts) if o)
        if kind is NodeKind.RATING:
            raw_scale = str(m.get("scale", ""))
            scale = _SCALES.get(raw_scale)
            if scale is None:
                self.error(self.line_of(m, "scale"), f"{what}: 'scale' must be one of {', '.join(_SCALES)}")
            raw_bands = m.get("bands", [])
            if not isinstance(raw_bands, list):
                self.error(self.line_of(m, "bands"), f"{what}: 'bands' must be a list")
            else:
                options = tuple(o for o in (self.parse_option(r, m.line, what, kind) for r in raw_bands) if o)
        max_length = None
        if kind is NodeKind.TEXT:
            max_length = self.int_field(m, "max_length", what, default=500, minimum=1)
            if max_length is not None and max_length > FREE_TEXT_MAX:
                self.error(self.line_of(m, "max_length"), f"{what}: max_length must be <= {FREE_TEXT_MAX}")
        role = None
        if kind is NodeKind.CALLBACK:
            role = self.str_field(m, "role", what, required=False) or "cs_specialist"
            if role not in ROLES:
                self.error(self.line_of(m, "role"), f"{what}: unknown role {role!r}")
        outcome = None
        if kind is NodeKind.END:
            outcome = self.str_field(m, "outcome", what)
            if outcome is not None and outcome not in OUTCOMES:
                self.error(
                    self.line_of(m, "outcome"),
                    f"{what}: unknown outcome {outcome!r} (one of: {', '.join(sorted(OUTCOMES))})",
                )
        tally = m.get("tally", False)
        if not isinstance(tally, bool):
            self.error(self.line_of(m, "tally"), f"{what}: 'tally' must be true or false")
            tally = False
        return Node(
            id=nid,
            kind=kind,
            text=text,
            options=options,
            next=self.parse_next(m, what),
            actions=self.parse_actions(m, what),
            tally=tally,
            max_length=max_length,
            min_length=self.int_field(m, "min_length", what, default=1, minimum=0) or 0,
            min_choices=self.int_field(m, "min_choices", what, default=1, minimum=1) or 1,
            max_choices=self.int_field(m, "max_choices", what, default=None, minimum=1),
            scale=scale,
            role=role,
            outcome=outcome,
            line=m.line,
        )

    def parse_option(self, raw: Any, line: int, where: str, kind: NodeKind) -> Option | None:
        is_band = kind is NodeKind.RATING
        m = self.expect_map(raw, line, f"{where}: {'band' if is_band else 'option'}")
        if m is None:
            return None
        code = self.str_field(m, "code", f"{where}: option", code=True)
        what = f"{where}, option {code or '?'}"
        allowed = _BAND_KEYS if is_band else _OPTION_KEYS
        if kind is NodeKind.MULTI:
            allowed = allowed - {"next"}  # a multiple choice moves on by the node's next, once confirmed
        self.unknown_keys(m, allowed, what)
        low = high = None
        if is_band:
            rng = m.get("range")
            if (
                not isinstance(rng, list)
                or len(rng) != 2
                or not all(isinstance(x, int) for x in rng)
                or rng[0] > rng[1]
            ):
                self.error(self.line_of(m, "range"), f"{what}: 'range' must be [low, high] integers, low <= high")
            else:
                low, high = rng
        label = self.str_field(m, "label", what, required=not is_band)
        if label is None and is_band and low is not None:
            label = f"{low}分" if low == high else f"{low}–{high}分"
        if code is None or label is None:
            return None
        tags = m.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.error(self.line_of(m, "tags"), f"{what}: 'tags' must be a list of strings")
            tags = []
        return Option(
            code=code,
            label=label,
            next=self.parse_next(m, what),
            reason_code=self.str_field(m, "reason_code", what, required=False, code=True) or code,
            reason=self.str_field(m, "reason", what, required=False),
            reason_group=self.str_field(m, "reason_group", what, required=False),
            tags=tuple(tags),
            score=self.parse_score_points(m, what),
            actions=self.parse_actions(m, what),
            low=low,
            high=high,
            line=m.line,
        )

    def parse_score_points(self, m: _Map, what: str) -> tuple[tuple[str, int], ...]:
        raw = m.get("score")
        if raw is None:
            return ()
        sm = self.expect_map(raw, self.line_of(m, "score"), f"{what}: score")
        if sm is None:
            return ()
        points = []
        for name, value in sm.items():
            if not isinstance(value, int) or isinstance(value, bool):
                self.error(self.line_of(sm, name), f"{what}: score {name!r} points must be an integer")
                continue
            points.append((str(name), value))
        return tuple(points)

    def parse_next(self, m: _Map, what: str) -> tuple[Route, ...]:
        if "next" not in m:
            return ()
        raw = m["next"]
        line = self.line_of(m, "next")
        if isinstance(raw, str):
            return (Route(raw, (), line),)
        if not isinstance(raw, list) or not raw:
            self.error(line, f"{what}: 'next' must be a node id or a list of {{if: ..., goto: ...}} routes")
            return ()
        routes = []
        for item in raw:
            rm = self.expect_map(item, line, f"{what}: route")
            if rm is None:
                continue
            self.unknown_keys(rm, {"if", "goto"}, f"{what}: route")
            goto = self.str_field(rm, "goto", f"{what}: route")
            when: list[tuple[str, tuple[str, ...]]] = []
            cond = rm.get("if", {})
            cm = self.expect_map(cond, self.line_of(rm, "if"), f"{what}: route 'if'") if cond != {} else None
            for qid, codes in (cm or {}).items():
                codes_list = [codes] if isinstance(codes, str) else codes
                if not isinstance(codes_list, list) or not all(isinstance(c, str) for c in codes_list):
                    self.error(self.line_of(cm, qid) if cm else line, f"{what}: route 'if' {qid!r} needs codes")
                    continue
                when.append((str(qid), tuple(codes_list)))
            if goto is not None:
                routes.append(Route(goto, tuple(when), rm.line))
        return tuple(routes)

    def parse_actions(self, m: _Map, what: str) -> tuple[Action, ...]:
        if "actions" not in m:
            return ()
        raw = m["actions"]
        line = self.line_of(m, "actions")
        if not isinstance(raw, list):
            self.error(line, f"{what}: 'actions' must be a list")
            return ()
        actions = []
        for item in raw:
            am = self.expect_map(item, line, f"{what}: action")
            if am is None:
                continue
            if len(am) != 1:
                self.error(am.line, f"{what}: an action is one key (its kind), e.g. '- set_status: defeated'")
                continue
            ((kind_raw, args),) = am.items()
            action = self.parse_action(str(kind_raw), args, am.line, what)
            if action is not None:
                actions.append(action)
        return tuple(actions)

    def parse_action(self, kind_raw: str, args: Any, line: int, what: str) -> Action | None:
        try:
            kind = ActionKind(kind_raw)
        except ValueError:
            self.error(
                line,
                f"{what}: unknown action {kind_raw!r} (one of: {', '.join(k.value for k in ActionKind)})",
            )
            return None
        where = f"{what}: {kind.value}"
        if kind is ActionKind.SET_STATUS:
            if args not in STATUSES:
                self.error(line, f"{where}: unknown status {args!r} (one of: {', '.join(sorted(STATUSES))})")
                return None
            return Action(kind, status=args)
        if kind is ActionKind.ALERT_MANAGER:
            if isinstance(args, str) and args:
                return Action(kind, reason=args)
            am = self.expect_map(args, line, where)
            reason = self.str_field(am, "reason", where, code=True) if am is not None else None
            if am is not None:
                self.unknown_keys(am, {"reason"}, where)
            return Action(kind, reason=reason) if reason else None
        am = self.expect_map(args if args is not None else _Map(), line, where)
        if am is None:
            return None
        if kind is ActionKind.CREATE_TASK:
            self.unknown_keys(am, {"role", "task", "due_hours"}, where)
            role = self.str_field(am, "role", where)
            task = self.str_field(am, "task", where, code=True)
            due = self.int_field(am, "due_hours", where, minimum=0)
            if due is None:
                self.error(am.line, f"{where}: missing required key 'due_hours'")
            if role is not None and role not in ROLES:
                self.error(self.line_of(am, "role"), f"{where}: unknown role {role!r}")
                role = None
            if role is None or task is None or due is None:
                return None
            return Action(kind, role=role, task=task, due_hours=due)
        if kind is ActionKind.BOOK_CALLBACK:
            self.unknown_keys(am, {"role", "after_hours"}, where)
            role = self.str_field(am, "role", where, required=False) or "cs_specialist"
            if role not in ROLES:
                self.error(self.line_of(am, "role"), f"{where}: unknown role {role!r}")
                return None
            after = self.int_field(am, "after_hours", where, minimum=1)
            if after is None:
                self.error(am.line, f"{where}: missing required key 'after_hours' (a callback node asks for a time)")
                return None
            return Action(kind, role=role, after_hours=after)
        # ADD_SCORE
        self.unknown_keys(am, {"score", "points"}, where)
        score = self.str_field(am, "score", where, code=True)
        points = self.int_field(am, "points", where, minimum=-100)
        if score is None or points is None:
            if points is None:
                self.error(am.line, f"{where}: missing required key 'points'")
            return None
        return Action(kind, score=score, points=points)


def parse_questionnaire(text: str, source: str = "<string>") -> tuple[Questionnaire | None, list[Issue]]:
    """Parse YAML text into a questionnaire; returns it (None if unusable) and the schema issues found."""
    data, issues = _load_yaml(text, source)
    if data is None and issues:
        return None, issues
    parser = _Parser(source)
    q = parser.parse(data, text)
    return q, sorted(issues + parser.issues, key=lambda i: i.line)


# --------------------------------------------------------------------------------------------------
# Graph helpers


def routes_of(node: Node) -> list[tuple[Option | None, tuple[Route, ...]]]:
    """Every way out of a node: (option, routes) pairs; option None for the node's own ``next``."""
    if node.kind in (NodeKind.SINGLE, NodeKind.RATING) and node.options:
        pairs: list[tuple[Option | None, tuple[Route, ...]]] = [(o, o.next or node.next) for o in node.options]
        if node.kind is NodeKind.RATING and node.next:
            pairs.append((None, node.next))  # values outside every band
        return pairs
    return [(None, node.next)]


def successors(node: Node) -> list[str]:
    """Ids of every node a node can lead to, in declaration order, without duplicates."""
    seen: dict[str, None] = {}
    for _, routes in routes_of(node):
        for r in routes:
            seen.setdefault(r.goto, None)
    return list(seen)


def reachable(q: Questionnaire) -> set[str]:
    """Ids of nodes reachable from the start node."""
    if not q.has_node(q.start):
        return set()
    seen = {q.start}
    stack = [q.start]
    while stack:
        for nxt in successors(q.node(stack.pop())):
            if q.has_node(nxt) and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def find_cycles(q: Questionnaire) -> list[list[str]]:
    """Each cycle found by a depth-first search, as a list of node ids (first id repeated at the end)."""
    white, grey, black = 0, 1, 2
    color = {n.id: white for n in q.nodes}
    cycles: list[list[str]] = []
    path: list[str] = []

    def visit(nid: str) -> None:
        color[nid] = grey
        path.append(nid)
        for nxt in successors(q.node(nid)):
            if nxt not in color:
                continue
            if color[nxt] == grey:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif color[nxt] == white:
                visit(nxt)
        path.pop()
        color[nid] = black

    for n in q.nodes:
        if color[n.id] == white:
            visit(n.id)
    return cycles


def guaranteed_answers(q: Questionnaire) -> dict[str, frozenset[str]]:
    """For each reachable node, the questions answered on every path from the start to it.

    Piping ``answers.<id>`` into a node's text is only safe for ids in this set.
    """
    everything = frozenset(n.id for n in q.nodes if n.kind.is_question)
    preds: dict[str, list[str]] = {n.id: [] for n in q.nodes}
    for n in q.nodes:
        for nxt in successors(n):
            if nxt in preds:
                preds[nxt].append(n.id)
    live = reachable(q)
    result: dict[str, frozenset[str]] = {nid: everything for nid in live}
    if q.start in result:
        result[q.start] = frozenset()
    changed = True
    while changed:  # a forward must-analysis; converges because sets only shrink
        changed = False
        for n in q.nodes:
            if n.id not in live or n.id == q.start:
                continue
            sets = [result[p] | ({p} if q.node(p).kind.is_question else set()) for p in preds[n.id] if p in live]
            new = frozenset.intersection(*sets) if sets else frozenset()
            if new != result[n.id]:
                result[n.id] = new
                changed = True
    return result


def max_scores(q: Questionnaire) -> dict[str, int]:
    """The most points of each score any path from the start can collect (cycles are ignored)."""
    names = {s.name for s in q.scores} | {name for n in q.nodes for o in n.options for name, _ in o.score}
    memo: dict[tuple[str, str], int] = {}

    def best(nid: str, name: str, on_path: frozenset[str]) -> int:
        if not q.has_node(nid) or nid in on_path:
            return 0
        key = (nid, name)
        if key in memo:
            return memo[key]
        node = q.node(nid)
        here = on_path | {nid}
        if node.kind is NodeKind.MULTI:
            gains = sorted((p for o in node.options for s, p in o.score if s == name and p > 0), reverse=True)
            gain = sum(gains[: node.max_choices or len(gains)])
            value = gain + max((best(r.goto, name, here) for r in node.next), default=0)
        else:
            value = 0
            for option, routes in routes_of(node):
                gain = sum(p for s, p in option.score if s == name) if option else 0
                value = max(value, gain + max((best(r.goto, name, here) for r in routes), default=0))
        memo[key] = value
        return value

    return {name: best(q.start, name, frozenset()) for name in sorted(names)}


# --------------------------------------------------------------------------------------------------
# Validation


def validate(q: Questionnaire, *, expected_id: str | None = None) -> list[Issue]:
    """Structural checks beyond the schema. ``expected_id``: the file name stem, which must equal the id."""
    issues: list[Issue] = []

    def err(line: int, message: str) -> None:
        issues.append(Issue(q.source, line, message))

    if expected_id is not None and q.id != expected_id:
        err(1, f"questionnaire id {q.id!r} must match the file name {expected_id!r}")
    seen_ids: dict[str, int] = {}
    for n in q.nodes:
        if n.id in seen_ids:
            err(n.line, f"duplicate node id {n.id!r} (first at line {seen_ids[n.id]})")
        else:
            seen_ids[n.id] = n.line
    if not q.has_node(q.start):
        err(1, f"start node {q.start!r} does not exist")
    score_names = {s.name for s in q.scores}

    for n in q.nodes:
        where = f"node {n.id}"
        _check_node_codes(n, where, err)
        for option, routes in routes_of(n):
            owner = f"{where}, option {option.code}" if option else where
            _check_routes(q, routes, owner, err)
            if not routes and n.kind is not NodeKind.END:
                line = option.line if option else n.line
                err(line, f"{owner}: dead end, no 'next' (a non-end node needs a way on)")
        for option in n.options:
            if n.tally and not (option.reason and option.reason_group):
                err(
                    option.line,
                    f"{where}, option {option.code}: tallied question needs 'reason' and 'reason_group'",
                )
            for name, _ in option.score:
                if name not in score_names:
                    err(
                        option.line,
                        f"{where}, option {option.code}: unknown score {name!r} (declare it in 'scores')",
                    )
            for a in option.actions:
                _check_action(a, score_names, f"{where}, option {option.code}", option.line, err)
            if len(option.label) > BUTTON_LABEL_MAX:
                err(
                    option.line,
                    f"{where}, option {option.code}: label longer than {BUTTON_LABEL_MAX} characters",
                )
            if "{{" in option.label or "{%" in option.label:
                err(option.line, f"{where}, option {option.code}: labels are plain text, not templates")
        for a in n.actions:
            _check_action(a, score_names, where, n.line, err)
        if n.kind in (NodeKind.SINGLE, NodeKind.MULTI) and len(n.options) > KEYPAD_OPTIONS_MAX:
            err(n.line, f"{where}: more than {KEYPAD_OPTIONS_MAX} options cannot be offered on a keypad")
        if n.kind is NodeKind.MULTI:
            top = n.max_choices if n.max_choices is not None else len(n.options)
            if not n.min_choices <= top <= len(n.options):
                err(n.line, f"{where}: need 1 <= min_choices <= max_choices <= number of options")
        if n.kind is NodeKind.TEXT and n.max_length is not None and n.min_length > n.max_length:
            err(n.line, f"{where}: min_length is greater than max_length")
        if n.kind is NodeKind.RATING and n.scale is not None:
            _check_bands(n, where, err)

    live = reachable(q)
    for n in q.nodes:
        if n.id not in live and q.has_node(q.start):
            err(n.line, f"node {n.id}: unreachable from the start node {q.start!r}")
    for cycle in find_cycles(q):
        err(
            q.node(cycle[0]).line,
            f"cycle: {' -> '.join(cycle)} (a questionnaire must always move towards an end)",
        )
    if not find_cycles(q):
        for name, most in max_scores(q).items():
            declared = q.score_max(name)
            if declared is not None and most > declared:
                err(1, f"score {name!r}: a path can collect {most} points, more than its max {declared}")
    if not any(n.kind is NodeKind.END for n in q.nodes):
        err(1, "questionnaire has no end node")
    return sorted(issues, key=lambda i: i.line)


def _check_node_codes(n: Node, where: str, err: Any) -> None:
    seen: dict[str, int] = {}
    for o in n.options:
        if o.code in seen:
            err(o.line, f"{where}: duplicate option code {o.code!r} (first at line {seen[o.code]})")
        else:
            seen[o.code] = o.line


def _check_routes(q: Questionnaire, routes: Iterable[Route], owner: str, err: Any) -> None:
    routes = tuple(routes)
    for r in routes:
        if not q.has_node(r.goto):
            err(r.line, f"{owner}: next target {r.goto!r} does not exist")
        for qid, codes in r.when:
            if not q.has_node(qid) or not q.node(qid).kind.is_question:
                err(r.line, f"{owner}: route condition refers to unknown question {qid!r}")
                continue
            known = {o.code for o in q.node(qid).options}
            for c in codes:
                if c not in known:
                    err(r.line, f"{owner}: route condition refers to unknown code {c!r} of {qid!r}")
    if routes and routes[-1].when:
        err(routes[-1].line, f"{owner}: the last route must have no 'if' so that some route always applies")


def _check_action(a: Action, score_names: set[str], owner: str, line: int, err: Any) -> None:
    if a.kind is ActionKind.ADD_SCORE and a.score not in score_names:
        err(line, f"{owner}: add_score to undeclared score {a.score!r}")


def _check_bands(n: Node, where: str, err: Any) -> None:
    assert n.scale is not None
    lo, hi = n.scale
    covered: dict[int, str] = {}
    for b in n.options:
        if b.low is None or b.high is None:
            continue
        if b.low < lo or b.high > hi:
            err(b.line, f"{where}, band {b.code}: range outside the scale {lo}-{hi}")
        for v in range(b.low, b.high + 1):
            if v in covered:
                err(b.line, f"{where}, band {b.code}: overlaps band {covered[v]} at {v}")
                break
            covered[v] = b.code
    gaps = [v for v in range(lo, hi + 1) if v not in covered]
    if gaps and not n.next:
        err(n.line, f"{where}: values {gaps} fall in no band and the node has no 'next'")
