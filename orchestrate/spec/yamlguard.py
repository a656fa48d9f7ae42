"""Refuse hostile YAML before ruamel builds a tree from it: limits and constructs we do not accept.

The checks run on the text and on ruamel's event stream, which is flat (no recursion) and holds
no constructed values, so nothing here can blow the stack, expand an alias bomb or run a YAML
tag's constructor. It must not build values or touch anything but the text it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    NodeEvent,
    ScalarEvent,
)

MAX_BYTES = 128 * 1024  # per spec file; real specs are a few KiB
MAX_DEPTH = 32  # nested mappings and sequences
MAX_NODES = 20_000  # per document, counting each use of an alias as a copy of what it names
MAX_NUMBER_CHARS = 100  # a plain scalar that looks like a number

# YAML 1.2's printable set (tab, line breaks, and what is not a control, surrogate or non-character).
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DIRECTIVE = re.compile(r"^%YAML\b[ \t]*(\S*)", re.MULTILINE)
# ruamel's scanner slows down on long runs of `[`/`{` (it looks ahead for a key each time):
# refuse a run deeper than MAX_DEPTH from the text alone.
_BRACKET_RUN = re.compile(r"[\[{](?:[ \t\r\n]*[\[{])" + f"{{{MAX_DEPTH}}}")
_NUMBER_LIKE = re.compile(r"[-+]?\.?[0-9][0-9a-fA-FxXoO_.:eE+-]*")


@dataclass(frozen=True)
class YamlRefusal(Exception):
    """A reason to refuse the text, at a 1-based line and column (0 when not known)."""

    line: int
    column: int
    message: str


def check_text(text: str) -> None:
    """Raise YamlRefusal for characters YAML forbids or a YAML version we cannot read."""
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line, column = _position(text, bad.start())
        raise YamlRefusal(line, column, f"control character U+{ord(bad.group()):04X} is not allowed in YAML")
    brackets = _BRACKET_RUN.search(text)
    if brackets:
        line, column = _position(text, brackets.start())
        raise YamlRefusal(line, column, f"nested deeper than {MAX_DEPTH} levels")
    for directive in _DIRECTIVE.finditer(text):
        if directive.group(1) not in ("1.1", "1.2"):
            line, column = _position(text, directive.start())
            raise YamlRefusal(line, column, f"unsupported YAML version {directive.group(1)!r} (use 1.2 or no %YAML line)")


def check_events(text: str) -> None:
    """Raise YamlRefusal for tags, collection keys, deep nesting, alias expansion or huge numbers."""
    walk = _Walk()
    try:
        for event in YAML(typ="rt").parse(text):
            walk.see(event)
    except MarkedYAMLError:
        raise  # a syntax error: the caller reports it with its own position
    except YAMLError as exc:
        raise YamlRefusal(0, 0, f"invalid YAML: {exc}") from None


@dataclass
class _Frame:
    is_mapping: bool
    anchor: str | None
    children: int = 0
    size: int = 1  # this node and everything under it, aliases expanded


@dataclass
class _Walk:
    stack: list[_Frame] = field(default_factory=list)
    anchors: dict[str, int] = field(default_factory=dict)  # anchor -> expanded size
    nodes: int = 0

    def see(self, event: object) -> None:
        if isinstance(event, DocumentStartEvent):
            self.nodes = 0
        if not isinstance(event, (NodeEvent, CollectionEndEvent)):
            return
        if isinstance(event, CollectionEndEvent):
            frame = self.stack.pop()
            self._add(frame.size, frame.anchor)
            return
        self._check_node(event)
        if isinstance(event, CollectionStartEvent):
            self._count(event, 1)
            self.stack.append(_Frame(event.__class__.__name__.startswith("Mapping"), event.anchor))
            if len(self.stack) > MAX_DEPTH:
                raise _refusal(event, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, AliasEvent):
            size = self.anchors.get(event.anchor, 1)
            self._count(event, size)
            self._add(size, None)
        else:
            self._count(event, 1)
            self._add(1, event.anchor)

    def _check_node(self, event: NodeEvent) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _refusal(event, f"YAML tags ({tag}) are not supported; write the value plainly, or quote it")
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_mapping and top.children % 2 == 0 and not isinstance(event, ScalarEvent):
            raise _refusal(event, "a mapping key must be a plain value, not a mapping, a list or an alias")
        long_plain = isinstance(event, ScalarEvent) and event.style is None and len(event.value) > MAX_NUMBER_CHARS
        if long_plain and _NUMBER_LIKE.fullmatch(getattr(event, "value", "")):
            raise _refusal(event, f"a number longer than {MAX_NUMBER_CHARS} characters; quote it if it is text")

    def _count(self, event: NodeEvent, size: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise _refusal(event, f"the document has more than {MAX_NODES} values (each use of an alias counts as a copy)")

    def _add(self, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = size
        if self.stack:
            parent = self.stack[-1]
            parent.children += 1
            parent.size += size


def _refusal(event: NodeEvent, message: str) -> YamlRefusal:
    mark = event.start_mark
    return YamlRefusal(mark.line + 1, mark.column + 1, message) if mark else YamlRefusal(0, 0, message)


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
