"""capture and adopt: turn containers started by hand into specs, and take them over.

capture reads containers through the engine and writes specs (and a 0600 secrets file) beside
where the user asked; adopt then replaces each container by a managed one on the same volumes,
with the safe, journaled recreate of every other run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.capture import Capture, capture
from orchestrate.engine import Engine
from orchestrate.errors import UsageError
from orchestrate.spec import writer


@dataclass(frozen=True)
class Written:
    app: str
    spec: Path | None  # None: printed
    how: str  # written | updated | appended | printed
    secrets: Path | None


def capture_containers(engine: Engine, names: list[str]) -> list[Capture]:
    """Capture each container, sources of --volumes-from before the containers that use them."""
    raw = {}
    for name in names:
        found = engine.raw_inspect("container", name)
        if found is None:
            raise UsageError(f"no container named {name!r} on {engine.endpoint}")
        raw[found["Name"].lstrip("/")] = found
    ids = {c["Id"]: n for n, c in raw.items()} | {n: n for n in raw}
    borrowed: dict[str, set[str]] = {}
    captures = []
    for name in _sources_first(raw, ids):
        container = raw[name]
        image = engine.raw_inspect("image", container["Image"]) or {}
        # Keyed as the container names its sources (a name or an id), for capture to match.
        sources = {ref: borrowed[ids[ref]] for ref in (s.split(":")[0] for s in _volumes_from(container)) if ids.get(ref) in borrowed}
        captured = capture(container, image, borrowed=sources)
        _rename_sources(captured, ids)
        captures.append(captured)
        borrowed[name] = {m["Destination"] for m in container.get("Mounts") or ()}
    return captures


def _volumes_from(container: dict[str, Any]) -> list[str]:
    return list((container.get("HostConfig") or {}).get("VolumesFrom") or ())


def _sources_first(raw: dict[str, dict[str, Any]], ids: dict[str, str]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for source in _volumes_from(raw[name]):
            other = ids.get(source.split(":")[0])
            if other and other != name:
                visit(other)
        order.append(name)

    for name in raw:
        visit(name)
    return order


def _rename_sources(captured: Capture, ids: dict[str, str]) -> None:
    """Sources named by id become app names (`name[:ro]`)."""
    if "volumes_from" in captured.spec:
        renamed = []
        for entry in captured.spec["volumes_from"]:
            ref, _, mode = entry.partition(":")
            renamed.append(ids.get(ref, ref) + (":ro" if mode == "ro" else ""))
        captured.spec["volumes_from"] = renamed


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
