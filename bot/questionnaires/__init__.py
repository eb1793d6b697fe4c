"""The questionnaire files of ``scripts_zh/questionnaires/``: loading them and checking them.

- ``loading``: YAML text → the file format (``schema``, pydantic) → the domain model
  (``bot.domain.questionnaire``), issues mapped back to file lines (``yaml_source``); the catalog, and
  ``load_text`` that rebuilds a pinned version from the text storage kept.
- ``checking``: what ``huifang scripts check`` runs (format, rules, graph, templates, Telegram limits).
"""

from bot.questionnaires.checking import (
    SAMPLE_CONTEXT,
    answer_references,
    check_callback_sizes,
    check_file,
    check_paths,
    check_templates,
    sample_answers,
)
from bot.questionnaires.loading import (
    QUESTIONNAIRES_DIR,
    Catalog,
    load_catalog,
    load_file,
    load_text,
    parse_questionnaire,
    questionnaire_files,
)

__all__ = [
    "QUESTIONNAIRES_DIR",
    "SAMPLE_CONTEXT",
    "Catalog",
    "answer_references",
    "check_callback_sizes",
    "check_file",
    "check_paths",
    "check_templates",
    "load_catalog",
    "load_file",
    "load_text",
    "parse_questionnaire",
    "questionnaire_files",
    "sample_answers",
]
