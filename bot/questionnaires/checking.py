"""``huifang scripts check``: every check of questionnaire files, every issue at once.

``check_paths(paths)`` checks files and directories: the file format (``bot.questionnaires.loading``), the
rules and the graph (``bot.domain.questionnaire_checks``), templates rendered with ``SAMPLE_CONTEXT``
(compile, render, pipe only answers given on every path, fit Telegram) and callback data sizes. A file that
does not fit the format reports its format issues only: the graph of a file that cannot be read is not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes as jnodes

from bot.domain.presentation import SURVEY_REF_MAX, encode_callback
from bot.domain.questionnaire import MESSAGE_TEXT_MAX, Issue, NodeKind, Questionnaire
from bot.domain.questionnaire_checks import validate
from bot.domain.questionnaire_graph import guaranteed_answers
from bot.questionnaires.loading import parse_questionnaire, questionnaire_files
from bot.rendering import RenderError, TemplateRenderer, default_environment

# The fixed sample used by `scripts check` and `scripts try`, and by tests.
SAMPLE_CONTEXT: dict[str, Any] = {
    "customer": {
        "title": "王先生",
        "name": "王建国",
        "model": "全顺",
        "series": "轻客",
        "delivery_date": "2024年5月20日",
    },
    "consultant": {"name": "小李"},
    "store": {"name": "某某4S店"},
    "specialist": {"name": "小王"},
}


def check_paths(paths: Iterable[Path]) -> tuple[list[Questionnaire], list[Issue]]:
    """Check files and directories of questionnaires; returns the good ones and every issue found."""
    good: list[Questionnaire] = []
    issues: list[Issue] = []
    seen_ids: dict[str, str] = {}
    for path in paths:
        files = questionnaire_files(path) if path.is_dir() else [path]
        for f in files:
            q, found = check_file(f)
            issues.extend(found)
            if q is None:
                continue
            if q.id in seen_ids:
                issues.append(Issue(str(f), 1, f"questionnaire id {q.id!r} also used by {seen_ids[q.id]}"))
            seen_ids[q.id] = str(f)
            if not found:
                good.append(q)
    return good, issues


def check_file(path: Path) -> tuple[Questionnaire | None, list[Issue]]:
    """All checks on one file: schema, graph, templates, limits."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Issue(str(path), 1, f"cannot read: {exc}")]
    q, issues = parse_questionnaire(text, str(path))
    if q is None:
        return None, issues
    issues = issues + validate(q, expected_id=path.stem)
    issues += check_templates(q)
    issues += check_callback_sizes(q)
    return q, sorted(set(issues), key=lambda i: (i.line, i.message))


def answer_references(template: str, env: jinja2.Environment | None = None) -> set[str]:
    """Question ids a template pipes in as ``answers.<id>`` (or ``answers['<id>']``)."""
    ast = (env or default_environment()).parse(template)
    refs: set[str] = set()
    for node in ast.find_all((jnodes.Getattr, jnodes.Getitem)):
        assert isinstance(node, jnodes.Getattr | jnodes.Getitem)
        if not (isinstance(node.node, jnodes.Name) and node.node.name == "answers"):
            continue
        if isinstance(node, jnodes.Getattr):
            refs.add(node.attr)
        elif isinstance(node.arg, jnodes.Const) and isinstance(node.arg.value, str):
            refs.add(node.arg.value)
    return refs


def sample_answers(q: Questionnaire) -> dict[str, str]:
    """A plausible label for every question, for rendering later texts in checks."""
    result = {}
    for n in q.nodes:
        if n.kind in (NodeKind.SINGLE, NodeKind.MULTI) and n.options:
            result[n.id] = n.options[0].label
        elif n.kind is NodeKind.RATING:
            result[n.id] = str(n.scale[1] if n.scale else 5)
        elif n.kind is NodeKind.CALLBACK:
            result[n.id] = "11月26日 14:00"
        elif n.kind is NodeKind.TEXT:
            result[n.id] = "（客户原话）"
    return result


def check_templates(q: Questionnaire, context: Mapping[str, Any] = SAMPLE_CONTEXT) -> list[Issue]:
    """Each text compiles, pipes only answers given on every path to it, renders, and fits Telegram."""
    issues: list[Issue] = []
    env = default_environment()
    renderer = TemplateRenderer(env)
    guaranteed = guaranteed_answers(q)
    answers = sample_answers(q)
    for n in q.nodes:
        where = f"node {n.id}"
        if not n.text:
            continue  # a missing text is already a schema issue
        try:
            refs = answer_references(n.text, env)
        except jinja2.TemplateSyntaxError as exc:
            issues.append(Issue(q.source, n.line, f"{where}: template syntax error: {exc.message}"))
            continue
        for ref in sorted(refs):
            if ref not in answers:
                issues.append(Issue(q.source, n.line, f"{where}: pipes answers.{ref}, which is not a question"))
            elif n.id in guaranteed and ref not in guaranteed[n.id]:
                issues.append(
                    Issue(
                        q.source,
                        n.line,
                        f"{where}: pipes answers.{ref}, which is not answered on every path to it",
                    )
                )
        try:
            rendered = renderer.render(n.text, {**context, "answers": answers})
        except RenderError as exc:
            issues.append(Issue(q.source, n.line, f"{where}: template does not render with the sample context: {exc}"))
            continue
        if not rendered:
            issues.append(Issue(q.source, n.line, f"{where}: text renders empty"))
        if len(rendered) > MESSAGE_TEXT_MAX:
            issues.append(
                Issue(
                    q.source,
                    n.line,
                    f"{where}: text renders to {len(rendered)} characters, more than Telegram's {MESSAGE_TEXT_MAX}",
                )
            )
    return issues


def check_callback_sizes(q: Questionnaire) -> list[Issue]:
    """Callback data for the longest survey ref still fits Telegram's 64 bytes for every button."""
    issues = []
    ref = "x" * SURVEY_REF_MAX
    for index, n in enumerate(q.nodes):
        values: list[tuple[str, str | int | None]] = []
        if n.kind in (NodeKind.SINGLE, NodeKind.MULTI):
            values = [("a", len(n.options) - 1), ("t", len(n.options) - 1), ("c", None)]
        elif n.kind is NodeKind.RATING:
            values = [("r", 10)]
        elif n.kind is NodeKind.CALLBACK:
            values = [("b", "202612312359")]
        for action, value in values:
            try:
                encode_callback(action, ref, index, value)
            except ValueError as exc:
                issues.append(Issue(q.source, n.line, f"node {n.id}: {exc}"))
    return issues
