"""Compose-style variable interpolation in spec values, with Compose's rules.

`$VAR` and `${VAR}`; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset);
`${VAR:?message}` and `${VAR?message}` (required: an error naming VAR); `${VAR:+other}` (set and
non-empty) and `${VAR+other}` (set); `$$` for a literal dollar. Defaults, messages and
alternatives may hold variables themselves, and are expanded only when used. Anything else after
a `$` is an error, as in Compose. Pure: reads only the mapping it is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
MAX_NESTING = 16  # `${A:-${B:-…}}`: deeper than this is refused, not recursed into


_FORMS = "expected $VAR, ${VAR}, ${VAR:-default}, ${VAR:?message} or ${VAR:+other}; write $$ for a literal $"


class InterpolationError(ValueError):
    pass


@dataclass(frozen=True)
class _Variable:
    name: str
    operator: str  # "" for a plain `$VAR` / `${VAR}`
    argument: tuple[_Variable | str, ...]


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace variables in `text`; InterpolationError for a bad template or a required unset variable."""
    parts, _ = _parse(text, 0, depth=0)
    return _render(parts, environ)


def _parse(text: str, pos: int, *, depth: int) -> tuple[tuple[_Variable | str, ...], int]:
    """Parts from `pos` up to the end, or (when nested) up to the `}` that closes the variable."""
    parts: list[_Variable | str] = []
    literal: list[str] = []
    while pos < len(text):
        dollar = _next_special(text, pos, nested=depth > 0)
        literal.append(text[pos:dollar])
        pos = dollar
        if pos >= len(text) or text[pos] == "}":
            break
        if text.startswith("$$", pos):
            literal.append("$")
            pos += 2
            continue
        variable, pos = _variable(text, pos, depth)
        parts.append("".join(literal))
        literal = []
        parts.append(variable)
    parts.append("".join(literal))
    return tuple(p for p in parts if p != ""), pos


def _next_special(text: str, pos: int, *, nested: bool) -> int:
    found = [i for i in (text.find("$", pos), text.find("}", pos) if nested else -1) if i >= 0]
    return min(found) if found else len(text)


def _variable(text: str, pos: int, depth: int) -> tuple[_Variable, int]:
    """The variable at text[pos] == "$", and the position after it."""
    if not text.startswith("${", pos):
        name = _NAME.match(text, pos + 1)
        if name is None:
            raise _invalid(text)
        return _Variable(name.group(), "", ()), name.end()
    name = _NAME.match(text, pos + 2)
    if name is None:
        raise _invalid(text)
    after = name.end()
    if text.startswith("}", after):
        return _Variable(name.group(), "", ()), after + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, after)), None)
    if operator is None:
        raise _invalid(text)
    if depth + 1 > MAX_NESTING:
        raise InterpolationError(f"variables nested more than {MAX_NESTING} deep in {text!r}")
    argument, end = _parse(text, after + len(operator), depth=depth + 1)
    if end >= len(text):  # no closing brace
        raise _invalid(text)
    return _Variable(name.group(), operator, argument), end + 1


def _render(parts: tuple[_Variable | str, ...], environ: Mapping[str, str]) -> str:
    return "".join(part if isinstance(part, str) else _value(part, environ) for part in parts)


def _value(variable: _Variable, environ: Mapping[str, str]) -> str:
    value = environ.get(variable.name)
    operator = variable.operator
    empty_counts = operator.startswith(":")
    missing = value is None or (empty_counts and value == "")
    if operator.endswith("-"):
        return _render(variable.argument, environ) if missing else value or ""
    if operator.endswith("+"):
        return "" if missing else _render(variable.argument, environ)
    if operator.endswith("?") and missing:
        message = _render(variable.argument, environ)
        raise InterpolationError(f"required variable {variable.name} is missing a value" + (f": {message}" if message else ""))
    return value or ""


def _invalid(text: str) -> InterpolationError:
    return InterpolationError(f"invalid interpolation in {text!r}: {_FORMS}")
