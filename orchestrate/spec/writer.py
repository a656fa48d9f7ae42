"""Write spec documents: new files, or into existing ones keeping their comments and layout.

ruamel.yaml's round trip keeps comments, key order and formatting; a field whose value did not
change is not touched at all, so it stays byte-identical. Secrets go to their own 0600 file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

# Fields a capture speaks for: when the container no longer has one of them, it goes from the doc.
CONTAINER_FIELDS = (
    "image", "command", "entrypoint", "env", "env_file", "ports", "volumes", "volumes_from",
    "network", "networks", "restart", "healthcheck", "stop_grace_period", "resources", "user", "labels",
)  # fmt: skip


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def render(doc: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    out = io.StringIO()
    for line in comments:
        out.write(f"# {line}\n")
    _yaml().dump(_commented(doc), out)
    return out.getvalue()


def write_new(path: Path, doc: Mapping[str, Any], comments: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(doc, comments))


def merge_into(path: Path, doc: Mapping[str, Any], comments: list[str]) -> str:
    """Update the document with the same `name` in `path` (or append one); return what was done."""
    yaml = _yaml()
    documents = list(yaml.load_all(path.read_text())) if path.exists() else []
    target = next((d for d in documents if isinstance(d, CommentedMap) and d.get("name") == doc["name"]), None)
    if target is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text() if path.exists() else ""
        separator = "" if not text.strip() else ("---\n" if text.endswith("\n") else "\n---\n")
        path.write_text(text + separator + render(doc, comments))
        return "appended"
    _merge(target, doc, removable=CONTAINER_FIELDS)
    out = io.StringIO()
    yaml.dump_all(documents, out)
    path.write_text(out.getvalue())
    return "updated"


def _merge(target: CommentedMap, doc: Mapping[str, Any], *, removable: tuple[str, ...] | None = None) -> None:
    """Make `target` equal `doc`, touching only what differs: the comments on (and between) the
    other entries stay, including those inside a mapping of which one entry changed."""
    for key, value in doc.items():
        if key in target and _plain(target[key]) == _plain(value):
            continue  # unchanged: leave the node (and its formatting) alone
        if key in target and isinstance(target[key], CommentedMap) and isinstance(value, Mapping):
            _merge(target[key], value)
        else:
            target[key] = _commented(value)
    for key in list(target):
        if key not in doc and (removable is None or key in removable):
            del target[key]


def write_secrets(path: Path, secrets: Mapping[str, str]) -> None:
    """KEY="value" lines, 0600 from the first byte (never world-readable, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# written by `stateful capture`: secret env values, kept out of the spec\n")
        for key, value in sorted(secrets.items()):
            out.write(f"{key}={_quote(value)}\n")


def _quote(value: str) -> str:
    """dotenv quoting: single quotes are literal; double quotes when the value has a single quote."""
    if re.fullmatch(r"[A-Za-z0-9_./:@+-]*", value):
        return value
    if "'" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _commented(value: Any) -> Any:
    if isinstance(value, Mapping):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_commented(v) for v in value)
        if all(isinstance(v, (str, int, float)) for v in value):
            seq.fa.set_flow_style()  # short lists of scalars read best inline: [a, b]
        return seq
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
