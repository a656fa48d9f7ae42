"""capture and adopt: turn containers started by hand into specs, and take them over.

capture asks the backend for containers as specs (it never reads an engine's own documents),
marks what they shared, and writes the specs (and a 0600 secrets file) where the user asked;
adopt then replaces each container by a managed one on the same volumes, with the safe,
journaled recreate of every other run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.backends import Engine
from orchestrate.model.capture import Capture
from orchestrate.spec import writer


@dataclass(frozen=True)
class Written:
    app: str
    spec: Path | None  # None: printed
    how: str  # written | updated | appended | printed
    secrets: Path | None


def capture_containers(engine: Engine, names: list[str]) -> list[Capture]:
    """Capture each container (sources of --volumes-from first), then mark what they shared."""
    captures = engine.capture(names)
    _mark_shared(captures)
    return captures


def _mark_shared(captures: list[Capture]) -> None:
    """Containers captured together that write to one bind dir or volume were sharing it: each
    spec lists its key in shared_volumes (the spec rule for two writers; without it the specs are
    refused, and adopting one is blocked while the other runs). A source whose volumes another
    captured container writes through --volumes-from lists them too, for the same reason."""
    writers: dict[tuple[str, str], list[tuple[Capture, str | None]]] = {}
    by_name = {c.name: c for c in captures}
    for item in captures:
        for key, volume in (item.spec.get("volumes") or {}).items():
            if source := _writable_source(volume):
                writers.setdefault(source, []).append((item, key))
    for item in captures:
        for entry in item.spec.get("volumes_from") or ():
            ref, _, mode = entry.partition(":")
            if mode == "ro" or ref not in by_name:
                continue
            for volume in (by_name[ref].spec.get("volumes") or {}).values():
                if source := _writable_source(volume):
                    writers.setdefault(source, []).append((item, None))
    for (kind, path), users in writers.items():
        names = sorted({item.name for item, _ in users})
        if len(names) < 2:
            continue
        for item, key in users:
            if key is None:
                continue
            shared = item.spec.setdefault("shared_volumes", [])
            if key not in shared:
                shared.append(key)
            others = ", ".join(n for n in names if n != item.name)
            item.report.append(f"shared_volumes: {key}: {kind} {path} is also written by {others}; listed as shared (as it was)")


def _writable_source(volume: dict[str, Any]) -> tuple[str, str] | None:
    if volume.get("read_only"):
        return None
    if "bind" in volume:
        return ("bind", volume["bind"])
    if "name" in volume:
        return ("volume", volume["name"])
    return None


def write_captures(captures: list[Capture], *, output: Path | None, into: Path | None) -> tuple[list[Written], str]:
    """Write specs where asked; return what was written, and the text when printing to stdout."""
    written, printed = [], []
    for item in captures:
        comments = [f"captured by `stateful capture {item.name}`", *(f"fidelity: {line}" for line in item.report)]
        target = _target(item.name, output=output, into=into)
        if target is None:
            printed.append(writer.render(item.spec, comments))
            secrets = _write_secrets(Path.cwd(), item)
            written.append(Written(item.name, None, "printed", secrets))
            continue
        how = writer.merge_into(target, item.spec, comments) if target.exists() else _new(target, item.spec, comments)
        written.append(Written(item.name, target, how, _write_secrets(target.parent, item)))
    return written, "---\n".join(printed)


def _target(name: str, *, output: Path | None, into: Path | None) -> Path | None:
    if into is not None:
        return into / f"{name}.yaml" if into.is_dir() or not into.suffix else into
    return output


def _new(target: Path, spec: dict[str, Any], comments: list[str]) -> str:
    writer.write_new(target, spec, comments)
    return "written"


def _write_secrets(directory: Path, item: Capture) -> Path | None:
    if not item.secrets:
        return None
    path = directory / f"{item.name}.secrets.env"
    writer.write_secrets(path, item.secrets)
    return path
