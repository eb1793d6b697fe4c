"""The rules a questionnaire must keep beyond its file format; ``validate`` runs them and the graph checks.

Rules of one node or option: the id matches the file name, unique node ids and option codes, an existing
start node, tallied options with a reason and its group, scores declared before use, button labels that
fit (plain text, at most ``BUTTON_LABEL_MAX`` characters), at most ``KEYPAD_OPTIONS_MAX`` options (the voice
keypad), sound ``min_choices``/``max_choices`` and text lengths, rating bands inside the scale without
overlap. The graph (targets, dead ends, reachability, cycles, score maxima, an end node) is
``bot.domain.questionnaire_graph``.

Plain Python, like the model it reads.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.questionnaire import (
    BUTTON_LABEL_MAX,
    KEYPAD_OPTIONS_MAX,
    Action,
    ActionKind,
    Issue,
    Node,
    NodeKind,
    Questionnaire,
)
from bot.domain.questionnaire_graph import graph_issues
from bot.domain.speech import number, spoken_phrases

_Report = Callable[[int, str], None]


def validate(q: Questionnaire, *, expected_id: str | None = None) -> list[Issue]:
    """Every issue of a loaded questionnaire, sorted by line. ``expected_id``: the file name stem, which must
    equal the id."""
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
        _check_node(n, score_names, err)
    issues += graph_issues(q)
    return sorted(issues, key=lambda i: i.line)


def _check_node(n: Node, score_names: set[str], err: _Report) -> None:
    where = f"node {n.id}"
    _check_node_codes(n, where, err)
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
    _check_synonyms(n, where, err)


def _check_synonyms(n: Node, where: str, err: _Report) -> None:
    """A synonym names one option of its node: no other option may say it (by a synonym or a label part),
    and it must be something a caller can say (not only filler words, not a number: numbers pick options
    by their position)."""
    said_for: dict[tuple[str, bool], tuple[str, int]] = {}
    shared: set[tuple[str, bool]] = set()  # a label part several options share names none of them
    for o in n.options:
        for phrase in spoken_phrases(o.label):
            if said_for.setdefault(phrase, (o.code, o.line))[0] != o.code:
                shared.add(phrase)
    for phrase in shared:
        del said_for[phrase]
    for o in n.options:
        for word in o.synonyms:
            phrases = spoken_phrases("", (word,))
            if not phrases:
                err(o.line, f"{where}, option {o.code}: synonym {word!r} is only filler words")
                continue
            if number(phrases[0][0]) is not None:
                err(
                    o.line, f"{where}, option {o.code}: synonym {word!r} is a number (numbers pick options by position)"
                )
                continue
            owner = said_for.setdefault(phrases[0], (o.code, o.line))
            if owner[0] != o.code:
                err(
                    o.line,
                    f"{where}, option {o.code}: synonym {word!r} is also said for option {owner[0]} (line {owner[1]})",
                )


def _check_node_codes(n: Node, where: str, err: _Report) -> None:
    seen: dict[str, int] = {}
    for o in n.options:
        if o.code in seen:
            err(o.line, f"{where}: duplicate option code {o.code!r} (first at line {seen[o.code]})")
        else:
            seen[o.code] = o.line


def _check_action(a: Action, score_names: set[str], owner: str, line: int, err: _Report) -> None:
    if a.kind is ActionKind.ADD_SCORE and a.score not in score_names:
        err(line, f"{owner}: add_score to undeclared score {a.score!r}")


def _check_bands(n: Node, where: str, err: _Report) -> None:
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
