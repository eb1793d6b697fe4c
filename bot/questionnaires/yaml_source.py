"""YAML text to plain Python data, remembering the line every value was written on.

``read_yaml(text, source)`` composes the document (PyYAML's node tree keeps each node's position), builds
plain dicts, lists and scalars from it (the safe loader's types; merge keys ``<<`` work) and returns them with
a :class:`Lines` index from a path (``("nodes", 2, "options", 0)``) to the line of that value. Duplicate keys
are reported, not silently dropped; a syntax error is one ``Issue`` at the line the parser stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.domain.questionnaire import Issue

DataPath = tuple[str | int, ...]  # keys and list indexes from the document root

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Lines:
    """Where each value of the document was written (1-based lines).

    ``at(path)``: the line naming the value (a mapping member's key, a list item's start); ``start(path)``: the
    line the value itself starts on (a block mapping under a key starts on the next line). An unknown path
    falls back to its nearest known ancestor.
    """

    keys: dict[DataPath, int] = field(default_factory=dict)
    values: dict[DataPath, int] = field(default_factory=dict)

    def at(self, path: DataPath) -> int:
        return self._nearest(self.keys, path)

    def start(self, path: DataPath) -> int:
        return self._nearest(self.values, path)

    @staticmethod
    def _nearest(table: dict[DataPath, int], path: DataPath) -> int:
        while path not in table and path:
            path = path[:-1]
        return table.get(path, 1)


def read_yaml(text: str, source: str) -> tuple[Any, Lines, list[Issue]]:
    """The document's data (None if it does not parse), where its values are, and syntax issues found."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        lines = Lines()
        duplicates: list[Issue] = []
        if root is None:
            return None, lines, []
        data = _build(loader, root, (), lines, duplicates, source)
    except yaml.YAMLError as exc:
        return None, Lines(), [_syntax_issue(exc, source)]
    finally:
        loader.dispose()
    return data, lines, duplicates


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: DataPath, lines: Lines, duplicates: list[Issue], source: str
) -> Any:
    lines.keys.setdefault(path, node.start_mark.line + 1)
    lines.values[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        written = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)  # merged keys (<<: *anchor) come first; keys written here override them
        merged = len(node.value) - written
        result: dict[Any, Any] = {}
        seen: set[Any] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(None, None, "found an unhashable key", key_node.start_mark)
            if i >= merged:
                if key in seen:
                    duplicates.append(Issue(source, key_node.start_mark.line + 1, f"duplicate key {key!r}"))
                seen.add(key)
            lines.keys[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, (*path, key), lines, duplicates, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, duplicates, source) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _syntax_issue(exc: yaml.YAMLError, source: str) -> Issue:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem = f"{problem} ({context} at line {context_mark.line + 1})"
    return Issue(source, line, f"YAML syntax error: {problem}")
