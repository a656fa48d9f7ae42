"""capture and adopt: turn containers started by hand into specs, and take them over.

capture reads containers through the engine and writes specs (and a 0600 secrets file) beside
where the user asked; adopt then replaces each container by a managed one on the same volumes,
with the safe, journaled recreate of every other run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.backends import Engine
from orchestrate.backends.docker.capture import Capture, capture
from orchestrate.errors import UsageError
from orchestrate.labels import APP, MANAGED
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
    managed = _managed_sources(engine, raw, ids)
    borrowed: dict[str, set[str]] = {}
    captures = []
    for name in _sources_first(raw, ids):
        container = raw[name]
        image = engine.raw_inspect("image", container["Image"]) or {}
        # Keyed as the container names its sources (a name or an id), for capture to match.
        refs = [s.split(":")[0] for s in _volumes_from(container)]
        sources = {ref: borrowed[ids[ref]] for ref in refs if ids.get(ref) in borrowed}
        sources |= {ref: managed[ref][1] for ref in refs if ref in managed and ref not in sources}
        captured = capture(container, image, borrowed=sources)
        _rename_sources(captured, ids | {ref: app for ref, (app, _) in managed.items()})
        captures.append(captured)
        borrowed[name] = _targets(container)
    _mark_shared(captures)
    return captures


def _targets(container: dict[str, Any]) -> set[str]:
    return {m["Destination"] for m in container.get("Mounts") or ()}


def _managed_sources(engine: Engine, raw: dict[str, dict[str, Any]], ids: dict[str, str]) -> dict[str, tuple[str, set[str]]]:
    """--volumes-from sources not captured in this run that are managed apps already (adopted
    earlier): referenced by app name, so that the borrower's spec says `volumes_from: [app]`
    rather than copying the app's volumes as its own. ref -> (app, its mount targets)."""
    found: dict[str, tuple[str, set[str]]] = {}
    for container in raw.values():
        for ref in (s.split(":")[0] for s in _volumes_from(container)):
            if ref in ids or ref in found:
                continue
            source = engine.raw_inspect("container", ref)
            labels = ((source or {}).get("Config") or {}).get("Labels") or {}
            if source is not None and labels.get(MANAGED) == "true" and labels.get(APP):
                found[ref] = (labels[APP], _targets(source))
    return found


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
