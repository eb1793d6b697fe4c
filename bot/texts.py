"""Every text staff and customers read in chat, rendered from ``scripts_zh/messages`` (one Jinja2 environment).

Handlers never hold Chinese literals: they ask ``Texts`` for a message by name or a label by key.
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from bot.rendering import SCRIPTS_DIR, render_file, render_string

MESSAGES_DIR = SCRIPTS_DIR / "messages"
WEB_DIR = SCRIPTS_DIR / "web"
REPORT_LABELS = SCRIPTS_DIR / "reports" / "labels.yaml"
CALL_SHEET_LABELS = SCRIPTS_DIR / "calls" / "labels.yaml"
SUMMARY_LABELS = SCRIPTS_DIR / "reports" / "summary.yaml"


class Texts:
    """Messages (``messages/<name>.j2``) and labels (``messages/labels.yaml``)."""

    def message(self, template: str, /, **context: Any) -> str:
        """Render one message template; a missing field raises, never prints a blank."""
        return render_file(f"messages/{template}.j2", context)

    @cached_property
    def _labels(self) -> dict[str, Any]:
        return dict(yaml.safe_load((MESSAGES_DIR / "labels.yaml").read_text(encoding="utf-8")))

    def label(self, key: str) -> str:
        return str(self._labels[key])

    def task_kind(self, kind: str) -> str:
        return str(self._labels["task_kinds"].get(kind, kind))

    def mode(self, mode: str) -> str:
        """A contact mode's name (聊天, 人工电话 …)."""
        return str(self._labels["modes"].get(mode, mode))

    def skip_reason(self, reason: str) -> str:
        """Why a contact mode was skipped (未配置, 未绑定聊天, 无手机号 …)."""
        return str(self._labels["skip_reasons"].get(reason, reason))

    def purpose(self, questionnaire_id: str | None) -> str:
        return str(self._labels["purposes"].get(questionnaire_id or "", ""))

    def commands(self, *names: str) -> list[tuple[str, str]]:
        """(command, description) pairs for Telegram's command menu."""
        return [(name, str(self._labels["commands"][name])) for name in names]

    @cached_property
    def opt_out_words(self) -> frozenset[str]:
        return frozenset(str(w).strip().lower() for w in self._labels["opt_out_words"])

    def message_names(self) -> list[str]:
        return sorted(p.stem for p in MESSAGES_DIR.glob("*.j2"))


@cache
def _label_file(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def _value(path: Path, key: str) -> Any:
    value: Any = _label_file(path)
    for part in key.split("."):
        value = value[part]
    return value


def _text(path: Path, key: str, context: dict[str, Any]) -> str:
    text = str(_value(path, key))
    return render_string(text, context) if "{{" in text else text


def web_page(template: str, /, **context: Any) -> str:
    """One page of the web survey (``scripts_zh/web/<template>.html``, autoescaped; a missing field raises)."""
    return render_file(f"web/{template}.html", context)


def web_text(path: str, /, **context: Any) -> str:
    """One text of the web survey page by dotted path in ``scripts_zh/web/labels.yaml``."""
    return _text(WEB_DIR / "labels.yaml", path, context)


def report_value(path: str) -> Any:
    """A raw entry of ``scripts_zh/reports/labels.yaml`` by dotted path (a text, a list or a mapping)."""
    return _value(REPORT_LABELS, path)


def report_text(path: str, /, **context: Any) -> str:
    """One text of the reports by dotted path (``tables.reasons.title``); a text with ``{{ field }}`` is
    rendered with ``context`` through the one Jinja2 environment (a missing field raises)."""
    return _text(REPORT_LABELS, path, context)


def call_sheet_value(path: str) -> Any:
    """A raw entry of ``scripts_zh/calls/labels.yaml`` by dotted path (a text, a list or a mapping)."""
    return _value(CALL_SHEET_LABELS, path)


def call_sheet_text(path: str, /, **context: Any) -> str:
    """One text of the call sheet by dotted path (``errors.not_filled``); a text with ``{{ field }}`` is
    rendered with ``context`` through the one Jinja2 environment (a missing field raises)."""
    return _text(CALL_SHEET_LABELS, path, context)


def summary_value(path: str) -> Any:
    """A raw entry of ``scripts_zh/reports/summary.yaml`` (the weekly summary's words) by dotted path."""
    return _value(SUMMARY_LABELS, path)


def summary_label(path: str, /, **context: Any) -> str:
    """One text of the weekly summary's lines and images by dotted path, rendered with ``context``."""
    return _text(SUMMARY_LABELS, path, context)


CLI_LABELS = SCRIPTS_DIR / "cli" / "labels.yaml"


def cli_text(path: str, /, **context: Any) -> str:
    """One text of the command line by dotted path (``errors.token_missing``); a text with ``{{ field }}`` is
    rendered with ``context`` through the one Jinja2 environment (a missing field raises)."""
    return _text(CLI_LABELS, path, context)
