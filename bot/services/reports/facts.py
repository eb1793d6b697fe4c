"""What reports need from a questionnaire's current version: labels, order, recoverable options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.texts import report_text

# --------------------------------------------------------------------------------------------------------------
# Questionnaire facts used for labels


@dataclass(frozen=True)
class QuestionFacts:
    """What reports need from a questionnaire's current version."""

    order: dict[str, int]
    titles: dict[str, str]
    reasons: dict[tuple[str, str], tuple[str, str]]  # (question, reason code) → (label, group)
    recoverable: tuple[tuple[str, str], ...]  # (question, option code) tagged 'recoverable'
    other_text_questions: tuple[str, ...]  # free-text nodes reached from an 其他 option
    short_titles: dict[str, str] = field(default_factory=dict)  # question → its declared ``short`` name
    short_reasons: dict[tuple[str, str], str] = field(default_factory=dict)  # (question, code) → short label

    @classmethod
    def empty(cls) -> QuestionFacts:
        return cls({}, {}, {}, (), ())


def question_facts(qn: Questionnaire | None) -> QuestionFacts:
    """Labels, order, recoverable options and the 其他 free-text nodes of a questionnaire."""
    if qn is None:
        return QuestionFacts.empty()
    order: dict[str, int] = {}
    titles: dict[str, str] = {}
    reasons: dict[tuple[str, str], tuple[str, str]] = {}
    recoverable: list[tuple[str, str]] = []
    other_text: list[str] = []
    short_titles: dict[str, str] = {}
    short_reasons: dict[tuple[str, str], str] = {}
    for index, node in enumerate(qn.nodes):
        order[node.id] = index
        titles[node.id] = _short_text(node.text)
        if node.short:
            short_titles[node.id] = node.short
        for option in node.options:
            if node.tally and (option.reason or option.reason_group):
                code = option.reason_code or option.code
                reasons.setdefault((node.id, code), (option.reason or option.label, option.reason_group or ""))
                short_reasons.setdefault((node.id, code), option.short or option.reason or option.label)
            if "recoverable" in option.tags:
                recoverable.append((node.id, option.code))
            if (
                option.code == "other"
                or (option.reason_code or "").startswith("other")
                or option.label == report_text("words.other")
            ):
                for route in option.next:
                    if qn.has_node(route.goto) and qn.node(route.goto).kind is NodeKind.TEXT:
                        other_text.append(route.goto)
    return QuestionFacts(
        order, titles, reasons, tuple(recoverable), tuple(dict.fromkeys(other_text)), short_titles, short_reasons
    )


def _short_text(template: str, limit: int = 24) -> str:
    """A question's text without template tags, cut to ``limit`` characters."""
    plain = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", template).strip()
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


_catalog_cache: dict[tuple[tuple[str, int], ...], dict[str, Questionnaire]] = {}


def default_catalog(questionnaire_id: str) -> Questionnaire | None:
    """The current version of a shipped questionnaire; parsed once per change of the files (reports are
    built every few seconds by /stats, parsing and validating the YAML costs more than a weekly query)."""
    from bot.questionnaires import QUESTIONNAIRES_DIR, load_catalog, questionnaire_files

    try:
        key = tuple((str(p), p.stat().st_mtime_ns) for p in questionnaire_files(QUESTIONNAIRES_DIR))
        if key not in _catalog_cache:
            _catalog_cache.clear()
            _catalog_cache[key] = dict(load_catalog().by_id)
        return _catalog_cache[key].get(questionnaire_id)
    except Exception:  # a broken file elsewhere must not stop the report; labels fall back to codes
        return None
