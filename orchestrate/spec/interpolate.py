"""Compose-style variable interpolation in spec values.

`${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
`${VAR:?message}` / `${VAR?message}` (required), and `$$` for a literal dollar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PATTERN = re.compile(
    r"""\$(?:
        (?P<escaped>\$) |
        (?P<named>[A-Za-z_][A-Za-z0-9_]*) |
        \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\} |
        (?P<invalid>)
    )""",
    re.VERBOSE,
)


class InterpolationError(ValueError):
    pass


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace variables in `text`; raise InterpolationError for a required one that is unset."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "$"
        if match.group("named") is not None:
            return environ.get(match.group("named"), "")
        name = match.group("braced")
        if name is None:
            raise InterpolationError(f"invalid interpolation in {text!r}: use $$ for a literal $")
        return _resolve(name, match.group("op"), match.group("arg") or "", environ)

    return _PATTERN.sub(replace, text)


def _resolve(name: str, op: str | None, arg: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    missing = value is None or (op is not None and op.startswith(":") and value == "")
    if op is None or not missing:
        return value or ""
    if op.endswith("-"):
        return arg
    raise InterpolationError(arg or f"required variable {name} is not set")
