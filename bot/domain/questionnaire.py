"""The questionnaire model: nodes, options, routes, actions and kinds, as the engine walks them.

A questionnaire is one YAML file under ``scripts_zh/questionnaires/`` (format: ``docs/questionnaires.md``);
``bot.questionnaires`` loads it into the frozen :class:`Questionnaire` defined here, reporting problems as
:class:`Issue` (``file:line: message``). The checks live beside this module: the graph
(``bot.domain.questionnaire_graph``: reachability, cycles, dead ends, guaranteed answers, score maxima) and
the rules of one node (``bot.domain.questionnaire_checks``, whose ``validate`` runs both).

Versioning: a questionnaire's ``ref`` is ``<id>@<version>+<hash8>``, the explicit ``version:`` number of
the file plus the first 8 hex digits of the SHA-256 of the file's bytes. Any edit changes the ref, so a
survey that pinned a ref keeps the exact text it started with (storage keeps ``Questionnaire.text`` per
ref); bumping ``version:`` is how an author marks a meaningful change. Option ``code`` (and
``reason_code``) values are the stable keys reports tally by, and must keep their meaning across versions.

Plain Python: no I/O, no YAML, no Jinja2, no Telegram, no database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Telegram and keypad limits every rendered step must respect.
MESSAGE_TEXT_MAX = 4096  # Telegram message text, characters
BUTTON_LABEL_MAX = 40  # our own limit: longer labels wrap badly on phones
CALLBACK_DATA_MAX_BYTES = 64  # Telegram callback_data
KEYPAD_OPTIONS_MAX = 9  # voice: one keypad digit per option, 1..9
FREE_TEXT_MAX = 2000  # upper bound for any free-text node's max_length

ROLES = frozenset({"sales_consultant", "service_advisor", "cs_specialist", "manager"})
STATUSES = frozenset({"prospect", "quasi_defeated", "defeated", "owner", "lapsed"})
OUTCOMES = frozenset({"complete", "refusal", "appointment", "partial"})


# A stable key: option codes, reason codes, node and questionnaire ids, score names.
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SCALES = {"1-5": (1, 5), "0-10": (0, 10)}  # rating scales by the name written in a file


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
    synonyms: tuple[str, ...] = ()  # what a caller may say for it (voice), beside the label
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
# A node's ways out (the edges of the questionnaire's graph)


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
