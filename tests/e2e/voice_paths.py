"""Paths through a questionnaire that together take every branch, as a voice customer would answer them
(by keys or by speech), with what the engine itself records for the same answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.engine import BookCallback, Choose, ChooseMany, FreeText, Input, Rate, Rejection, answer, start
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.questionnaires import SAMPLE_CONTEXT
from bot.rendering import TemplateRenderer
from bot.sandbox.fake_voice import Press, Reply, Speak

CALLBACK_SAID = "明天下午3点"
TEXT_SAID = "服务还可以再热情一些"


def _distinct(label: str, options) -> bool:
    """A label no other option's label contains or is contained in (有 / 没有 is the speech reader's next step:
    negation; those options are keyed in the speech paths), without punctuation (today's reader strips it from
    what was said but not from the label: 没有，去了别的地方处理 is not matched yet)."""
    if any(mark in label for mark in "，,、。？！"):
        return False
    return not any(o.label != label and (o.label in label or label in o.label) for o in options)


@dataclass(frozen=True)
class VoicePath:
    replies: tuple[Reply, ...]
    answered: tuple[tuple[str, str], ...]  # (question id, option code or '') the engine records, in order
    outcome: str


def covering_paths(q: Questionnaire, by: str, callback_at: datetime) -> list[VoicePath]:
    """Paths taking every option of every question at least once; ``by`` = "keys" or "speech" (free text and
    callback times are always spoken, a multiple choice always keyed)."""
    renderer = TemplateRenderer()
    covered: set[tuple[str, str]] = set()
    paths: list[VoicePath] = []

    def choices(node_id: str) -> list[tuple[str, Input, Reply]]:
        node = q.node(node_id)
        match node.kind:
            case NodeKind.SINGLE:
                return [
                    (
                        o.code,
                        Choose(o.code, node_id),
                        Speak(o.label) if by == "speech" and _distinct(o.label, node.options) else Press(str(i + 1)),
                    )
                    for i, o in enumerate(node.options)
                ]
            case NodeKind.RATING:
                return [
                    (o.code, Rate(o.low or 0, node_id), Press(f"{o.low}#") if by == "keys" else Speak(f"{o.low}分"))
                    for o in node.options
                ]
            case NodeKind.MULTI:
                return [(node.options[0].code, ChooseMany((node.options[0].code,), node_id), Press("1#"))]
            case NodeKind.TEXT:
                return [("", FreeText(TEXT_SAID, node_id), Speak(TEXT_SAID))]
            case _:
                return [("", BookCallback(callback_at, node_id), Speak(CALLBACK_SAID))]

    def walk(result, replies: tuple[Reply, ...]) -> None:
        if result.step.finished:
            answered = tuple((a.question_id, a.codes[0] if a.codes else "") for a in result.state.answers)
            paths.append(VoicePath(replies, answered, result.state.outcome or "complete"))
            return
        node_id = result.step.node_id
        options = choices(node_id)
        fresh = [c for c in options if (node_id, c[0]) not in covered]
        for code, given, reply in fresh or options[:1]:
            covered.add((node_id, code))
            outcome = answer(q, result.state, given, renderer)
            assert not isinstance(outcome, Rejection), (node_id, code, outcome)
            walk(outcome, (*replies, reply))

    walk(start(q, SAMPLE_CONTEXT, renderer), ())
    return paths
