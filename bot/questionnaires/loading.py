"""Loading questionnaire files: YAML text → the file format (pydantic) → the domain model, with lines.

``parse_questionnaire(text, source)`` returns the :class:`Questionnaire` (None if the file does not fit the
format) and the format's issues, each pointing at the line it is about (``file:line: node q1, option no:
unknown key 'colour' (allowed: ...)``): pydantic's error locations are mapped back to the YAML nodes' marks.
``load_text`` adds the rules and graph checks and raises :class:`QuestionnaireError` listing every issue;
it is also how storage rebuilds a pinned version from the text it kept, so a survey in flight finishes on
the version it started with. ``load_catalog()`` loads every shipped questionnaire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.domain.questionnaire import (
    Action,
    ActionKind,
    Issue,
    Node,
    NodeKind,
    Option,
    Questionnaire,
    QuestionnaireError,
    Route,
    ScoreDef,
    content_hash,
)
from bot.domain.questionnaire_checks import validate
from bot.questionnaires import schema as s
from bot.questionnaires.yaml_source import DataPath, Lines, read_yaml
from bot.rendering import SCRIPTS_DIR

QUESTIONNAIRES_DIR = SCRIPTS_DIR / "questionnaires"


@dataclass(frozen=True)
class Catalog:
    """Questionnaires by id (the current file) and by ref (every version loaded)."""

    by_id: dict[str, Questionnaire] = field(default_factory=dict)
    by_ref: dict[str, Questionnaire] = field(default_factory=dict)

    def get(self, questionnaire_id: str) -> Questionnaire:
        """The current version of a questionnaire (KeyError if unknown)."""
        return self.by_id[questionnaire_id]

    def add(self, q: Questionnaire) -> None:
        """Register an older pinned version (rebuilt with load_text) so in-flight surveys can finish on it."""
        self.by_ref.setdefault(q.ref, q)


def questionnaire_files(directory: Path = QUESTIONNAIRES_DIR) -> list[Path]:
    """The questionnaire files of a directory, sorted."""
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def parse_questionnaire(text: str, source: str = "<string>") -> tuple[Questionnaire | None, list[Issue]]:
    """Read YAML text in the questionnaire format; returns it (None if unusable) and the format issues found.

    The graph and the rules are not checked here (``load_text`` and ``check_file`` do).
    """
    data, lines, issues = read_yaml(text, source)
    if data is None and issues:
        return None, issues
    if not isinstance(data, dict):
        return None, [Issue(source, 1, f"questionnaire file must be a mapping, got {type(data).__name__}")]
    try:
        doc = s.QuestionnaireDoc.model_validate(data)
    except ValidationError as exc:
        issues += [_issue(error, data, lines, source) for error in exc.errors()]
        return None, sorted(issues, key=lambda i: i.line)
    return _questionnaire(doc, lines, text, source), issues


def load_text(text: str, source: str = "<string>", *, expected_id: str | None = None) -> Questionnaire:
    """Parse and validate questionnaire text; QuestionnaireError listing every issue if it is not usable."""
    q, issues = parse_questionnaire(text, source)
    if q is not None and not issues:
        issues = validate(q, expected_id=expected_id)
    if q is None or issues:
        raise QuestionnaireError(issues or [Issue(source, 1, "not a questionnaire")])
    return q


def load_file(path: Path) -> Questionnaire:
    """Load one questionnaire file (its id must equal the file name)."""
    return load_text(path.read_text(encoding="utf-8"), str(path), expected_id=path.stem)


def load_catalog(directory: Path = QUESTIONNAIRES_DIR) -> Catalog:
    """Load every questionnaire of a directory; QuestionnaireError with all issues of all files."""
    catalog = Catalog()
    issues: list[Issue] = []
    for path in questionnaire_files(directory):
        try:
            q = load_file(path)
        except QuestionnaireError as exc:
            issues.extend(exc.issues)
            continue
        catalog.by_id[q.id] = q
        catalog.by_ref[q.ref] = q
    if issues:
        raise QuestionnaireError(issues)
    return catalog


# --------------------------------------------------------------------------------------------------
# Format → model (the lines come from the YAML marks)


def _questionnaire(doc: s.QuestionnaireDoc, lines: Lines, text: str, source: str) -> Questionnaire:
    nodes = tuple(_node(n, ("nodes", i), lines) for i, n in enumerate(doc.nodes))
    return Questionnaire(
        id=doc.id,
        version=doc.version,
        title=doc.title,
        start=doc.start or nodes[0].id,
        nodes=nodes,
        scores=tuple(ScoreDef(name, sd.label or name, sd.max) for name, sd in doc.scores.items()),
        content_hash=content_hash(text),
        source=source,
        text=text,
    )


def _node(doc: s._NodeDoc, path: DataPath, lines: Lines) -> Node:
    kind = NodeKind(doc.kind)  # type: ignore[attr-defined]
    options: tuple[Option, ...] = ()
    if isinstance(doc, s.SingleDoc | s.MultiDoc):
        options = tuple(_option(o, (*path, "options", j), lines) for j, o in enumerate(doc.options))
    elif isinstance(doc, s.RatingDoc):
        options = tuple(_option(b, (*path, "bands", j), lines) for j, b in enumerate(doc.bands))
    return Node(
        id=doc.id,
        kind=kind,
        text=doc.text,
        options=options,
        next=_routes(getattr(doc, "next", None), path, lines),
        actions=_actions(getattr(doc, "actions", ())),
        tally=getattr(doc, "tally", False),
        max_length=doc.max_length if isinstance(doc, s.TextDoc) else None,
        min_length=doc.min_length if isinstance(doc, s.TextDoc) else 1,
        min_choices=doc.min_choices if isinstance(doc, s.MultiDoc) else 1,
        max_choices=doc.max_choices if isinstance(doc, s.MultiDoc) else None,
        scale=doc.scale if isinstance(doc, s.RatingDoc) else None,
        role=doc.role if isinstance(doc, s.CallbackDoc) else None,
        outcome=doc.outcome if isinstance(doc, s.EndDoc) else None,
        line=lines.start(path),
    )


def _option(doc: s.MultiOptionDoc | s.BandDoc, path: DataPath, lines: Lines) -> Option:
    low = high = None
    label = doc.label
    if isinstance(doc, s.BandDoc):
        low, high = doc.range
        if label is None:
            label = f"{low}分" if low == high else f"{low}–{high}分"
    assert label is not None
    return Option(
        code=doc.code,
        label=label,
        next=_routes(getattr(doc, "next", None), path, lines),
        reason_code=doc.reason_code or doc.code,
        reason=doc.reason,
        reason_group=doc.reason_group,
        tags=tuple(doc.tags),
        score=tuple(doc.score.items()),
        actions=_actions(doc.actions),
        low=low,
        high=high,
        synonyms=tuple(getattr(doc, "synonyms", ())),
        line=lines.start(path),
    )


def _routes(next_: str | list[s.RouteDoc] | None, owner: DataPath, lines: Lines) -> tuple[Route, ...]:
    if next_ is None:
        return ()
    if isinstance(next_, str):
        return (Route(next_, (), lines.at((*owner, "next"))),)
    return tuple(
        Route(r.goto, tuple((qid, tuple(codes)) for qid, codes in r.when.items()), lines.start((*owner, "next", k)))
        for k, r in enumerate(next_)
    )


def _actions(docs: Sequence[BaseModel]) -> tuple[Action, ...]:
    result = []
    for d in docs:
        match d:
            case s.CreateTaskDoc():
                result.append(Action(ActionKind.CREATE_TASK, role=d.role, task=d.task, due_hours=d.due_hours))
            case s.AlertManagerDoc():
                result.append(Action(ActionKind.ALERT_MANAGER, reason=d.reason))
            case s.SetStatusDoc():
                result.append(Action(ActionKind.SET_STATUS, status=d.status))
            case s.BookCallbackDoc():
                result.append(Action(ActionKind.BOOK_CALLBACK, role=d.role, after_hours=d.after_hours))
            case s.AddScoreDoc():
                result.append(Action(ActionKind.ADD_SCORE, score=d.score, points=d.points))
    return tuple(result)


# --------------------------------------------------------------------------------------------------
# Pydantic errors → `file:line: place: message`

_ITEM_NAMES = {"nodes": "node", "options": "option", "bands": "band", "next": "route", "actions": "action"}
_MISSING_HINTS = {("book_callback", "after_hours"): " (a callback node asks for a time)"}


def _issue(error: Any, data: dict[str, Any], lines: Lines, source: str) -> Issue:
    path = _data_path(tuple(error["loc"]), data)
    what, model, rest = _place(path, data)
    kind = error["type"]
    key = rest[0] if rest else None
    if kind == "missing":
        missing = error["loc"][-1]
        hint = _MISSING_HINTS.get((what.rsplit(": ", 1)[-1], missing), "")
        return Issue(source, lines.start(path), f"{what}: missing required key {missing!r}{hint}")
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(f.alias or name for name, f in model.model_fields.items()))
        return Issue(source, lines.at(path), f"{what}: unknown key {key!r} (allowed: {allowed})")
    if kind.startswith("questionnaire"):  # raised by the schema's validators, already in an author's words
        at = kind.partition("@")[2]
        return Issue(source, lines.at((*path, at) if at else path), f"{what}: {error['msg']}")
    name = _ITEM_NAMES.get(str(path[-2]), "value") if len(path) >= 2 and isinstance(path[-1], int) else repr(key)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        got = type(error["input"]).__name__
        message = f"{what}: {name} must be a mapping" if key is not None else f"{what} must be a mapping"
        return Issue(source, lines.at(path), f"{message}, got {got}")
    return Issue(source, lines.at(path), f"{what}: {name}: {error['msg']}")


def _data_path(loc: tuple[Any, ...], data: Any) -> DataPath:
    """The path in the file's data of an error location, as far as it exists there.

    Pydantic puts a union's tag after a node (its kind) and after ``next`` (``id`` or ``routes``); those are
    not in the file and are dropped. An action's tag is its one key, which is in the file.
    """
    path: list[str | int] = []
    here = data
    tag_follows = False
    for part in loc:
        if tag_follows:
            tag_follows = False
            continue
        in_mapping = isinstance(here, dict) and part in here
        in_list = isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        if not (in_mapping or in_list):
            break
        here = here[part]
        path.append(part)
        tag_follows = part == "next" or (len(path) == 2 and path[0] == "nodes")
    return tuple(path)


def _place(path: DataPath, data: dict[str, Any]) -> tuple[str, type[BaseModel], DataPath]:
    """Who an error is about (``node q1, option no: create_task``), its model and the rest of the path."""
    if len(path) >= 2 and path[0] == "scores":
        return f"score {path[1]!r}", s.ScoreDoc, path[2:]
    if not (len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int)):
        return "questionnaire", s.QuestionnaireDoc, path
    node = data["nodes"][path[1]]
    if not isinstance(node, dict):
        return "questionnaire", s.QuestionnaireDoc, path
    what = f"node {_name(node, 'id')}"
    kind = node.get("kind")
    model: type[BaseModel] = s.NODE_DOCS.get(kind, s.SingleDoc) if isinstance(kind, str) else s.SingleDoc
    rest, here = path[2:], node
    while len(rest) >= 2 and isinstance(rest[1], int):
        key, item = rest[0], here[rest[0]][rest[1]]
        if not isinstance(item, dict):
            break  # the item itself is wrong: "node q2: option must be a mapping"
        if key in ("options", "bands"):
            what += f", option {_name(item, 'code')}"
            model = s.BandDoc if key == "bands" else (s.MultiOptionDoc if model is s.MultiDoc else s.OptionDoc)
        elif key == "next":
            what += ": route"
            model = s.RouteDoc
        elif key == "actions":
            action = next(iter(item)) if len(item) == 1 else None
            if action not in s.ACTION_DOCS:
                return f"{what}: action" if len(rest) > 2 else what, model, rest[2:]
            what += f": {action}"
            return what, s.ACTION_DOCS[action], rest[3:]
        else:
            break
        rest, here = rest[2:], item
    return what, model, rest


def _name(item: Any, key: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) and value else "?"
