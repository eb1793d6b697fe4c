"""The speech table: what callers say at every question of every shipped questionnaire, and what it must mean.

The table is ``fixtures/speech_table.yaml`` (see its header); every question node of every questionnaire in
``scripts_zh/questionnaires`` must have rows, so a new question cannot ship without showing what is heard.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.engine import BookCallback, ChooseMany, FreeText, Input, Rate, Step, StepOption
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.domain.speech import Intent, understand
from bot.questionnaires.loading import load_catalog

TABLE = Path(__file__).parent / "fixtures" / "speech_table.yaml"
HEARD_AT = datetime(2026, 11, 24, 10, 0)  # a Tuesday morning, store time
CATALOG = load_catalog()


def step_of(q: Questionnaire, node_id: str) -> Step:
    """The step a caller hears at this node, as the engine shows it."""
    n = q.node(node_id)
    choices = n.kind in (NodeKind.SINGLE, NodeKind.MULTI)
    options = tuple(StepOption(i, o.code, o.label, o.synonyms) for i, o in enumerate(n.options)) if choices else ()
    return Step(n.id, q.index_of(n.id), n.kind, n.text, options=options, scale=n.scale, max_length=n.max_length)


def rows() -> list[tuple[str, str, str, str]]:
    """(questionnaire, node, expected, utterance) for every row of the table."""
    table: dict[str, Any] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return [
        (qid, node_id, str(expected), str(utterance))
        for qid, nodes in table.items()
        if qid in CATALOG.by_id
        for node_id, expectations in nodes.items()
        for expected, utterances in expectations.items()
        for utterance in utterances
    ]


ROWS = rows()


def meaning(given: Input | None, intent: Intent, utterance: str) -> str:
    """What was understood, written as the table writes expectations."""
    if intent is not Intent.ANSWER:
        return f"@{intent}"
    match given:
        case ChooseMany(codes=codes):
            return "+".join(codes)
        case Rate(value=value):
            return str(value)
        case FreeText(text=text):
            return "text" if text == utterance.strip() else f"text changed: {text}"
        case BookCallback(at=at):
            return at.isoformat(timespec="minutes") if isinstance(at, datetime) else str(at)
        case _:
            return str(getattr(given, "code", given))


def test_the_table_has_more_than_five_hundred_utterances_and_rows_for_every_question_of_every_questionnaire() -> None:
    assert len(ROWS) >= 500
    covered = {(qid, node_id) for qid, node_id, _, _ in ROWS}
    questions = {(q.id, n.id) for q in CATALOG.by_id.values() for n in q.nodes if n.kind.is_question}
    assert questions - covered == set()
    for qid in CATALOG.by_id:
        assert sum(1 for row in ROWS if row[0] == qid) >= 100, qid


@pytest.mark.parametrize(("qid", "node_id", "expected", "utterance"), ROWS)
def test_what_a_caller_says_is_understood_as_the_table_says(
    qid: str, node_id: str, expected: str, utterance: str
) -> None:
    heard = understand(step_of(CATALOG.get(qid), node_id), utterance, HEARD_AT)
    assert meaning(heard.given, heard.intent, utterance) == expected
