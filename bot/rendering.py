"""The one Jinja2 environment of the product, over the ``scripts_zh`` package.

StrictUndefined everywhere: a template that uses a field the context lacks raises :class:`RenderError`
instead of printing a blank (a customer must never read "您好，，"). Autoescape is on for ``.html`` templates
only (the web survey page: every value from outside is escaped); the other texts are plain Chinese for
Telegram (sent without parse mode), the phone screen and the voice prompt, not HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

import scripts_zh

SCRIPTS_DIR = Path(scripts_zh.__file__).resolve().parent


class RenderError(ValueError):
    """A template failed to compile or render (syntax error, missing field)."""


def make_environment(directory: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment over ``scripts_zh`` (or ``directory``): StrictUndefined, autoescape for .html only."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or SCRIPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # texts are read once per process; checking file times on every render costs
    )


@lru_cache(maxsize=1)
def default_environment() -> jinja2.Environment:
    """The shared environment (templates are compiled once and cached by Jinja2)."""
    return make_environment()


def render_string(template: str, context: Mapping[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render a template given as a string; raises RenderError on any template problem."""
    return _render((env or default_environment()).from_string, template, context)


def render_file(name: str, context: Mapping[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render a template file under scripts_zh (e.g. ``messages/invitation.j2``); RenderError on problems."""
    return _render((env or default_environment()).get_template, name, context)


def _render(load: Callable[[str], jinja2.Template], template: str, context: Mapping[str, Any]) -> str:
    try:
        return load(template).render(**context).strip()
    except jinja2.TemplateError as exc:
        first_line = template.strip().splitlines()[0] if template.strip() else ""
        raise RenderError(f"{exc.__class__.__name__}: {exc} (in {first_line[:40]!r})") from exc


class TemplateRenderer:
    """The engine's ``Renderer``: renders questionnaire texts, compiling each text once."""

    def __init__(self, env: jinja2.Environment | None = None) -> None:
        self._env = env or default_environment()
        self._compiled: dict[str, jinja2.Template] = {}

    def _load(self, template: str) -> jinja2.Template:
        compiled = self._compiled.get(template)
        if compiled is None:
            compiled = self._compiled[template] = self._env.from_string(template)
        return compiled

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        """Render ``template`` with ``context``; RenderError on a missing field or bad syntax."""
        return _render(self._load, template, context)
