"""Map a field path in a parsed YAML document back to its line and column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from orchestrate.errors import SpecProblem


@dataclass(frozen=True)
class Locator:
    """Where one document lives: its file and its ruamel tree (which remembers positions)."""

    file: str
    root: Any

    def resolve(self, loc: Sequence[str | int], *, at_key: bool = False) -> tuple[str, int, int]:
        """The dotted path made of the parts of `loc` found in the document, and their position.

        Parts that are not in the document (pydantic's union branch tags, a missing field's own
        name) are left out of the path; the position is that of the deepest node found.
        """
        node, kept = self.root, []
        line, col = _position(node)
        for index, part in enumerate(loc):
            last = index == len(loc) - 1
            if isinstance(node, CommentedMap) and part in node:
                key_line, key_col = node.lc.key(part)
                value_line, value_col = node.lc.value(part)
                child = node[part]
                use_key = (at_key and last) or isinstance(child, (CommentedMap, CommentedSeq))
                line, col = (key_line, key_col) if use_key else (value_line, value_col)
                node = child
                kept.append(str(part))
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line, col = node.lc.item(part)
                node = node[part]
                kept.append(str(part))
            elif last and isinstance(node, CommentedMap):
                # A missing required field: point at the mapping that lacks it.
                kept.append(str(part))
        return ".".join(kept), line + 1, col + 1

    def problem(self, loc: Sequence[str | int], message: str, *, at_key: bool = False) -> SpecProblem:
        field, line, col = self.resolve(loc, at_key=at_key)
        return SpecProblem(self.file, line, col, field, message)


def _position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return 0, 0
    return lc.line, lc.col
