"""Compose volumes, tmpfs and volumes_from -> spec volumes: named volumes keep compose's real names."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from orchestrate.tools.compose_import.model import (
    CAPTURE_HINT,
    VARIABLE,
    VOLUME_KEYS_KEPT,
    VOLUME_MODES,
    Service,
    as_list,
    host_path,
    mapping,
    resource_name,
    scalar,
)


def _volumes(service: Service, value: Any) -> None:
    for item in as_list(value):
        if isinstance(item, Mapping):
            _long_volume(service, item)
        else:
            _short_volume(service, str(item))


def _short_volume(service: Service, text: str) -> None:
    parts = split_colons(text)
    if len(parts) == 1:
        parts = ["", parts[0]]
    if len(parts) not in (2, 3):
        service.note("volumes", f"{text!r}: not a volume (expected [source:]target[:mode])")
        return
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    for mode in modes:
        if mode not in VOLUME_MODES:
            service.note("volumes", f"{target}: option {mode} not translated")
    _mount(service, source, target, read_only="ro" in modes, kind=None)


def _long_volume(service: Service, item: Mapping[str, Any]) -> None:
    target, source = str(item.get("target", "")), str(item.get("source") or "")
    kind = str(item.get("type") or "")
    if kind == "tmpfs":
        service.mount(target, {"tmpfs": _tmpfs_options(mapping(item.get("tmpfs")))})
        return
    if kind not in ("", "volume", "bind"):
        service.note("volumes", f"{target}: type {kind} not translated")
        return
    for section, keys in (("bind", ("propagation", "selinux", "recursive")), ("volume", ("nocopy", "subpath"))):
        for key in keys:
            if key in mapping(item.get(section)):
                service.note("volumes", f"{target}: {section}.{key} not translated")
    create = mapping(item.get("bind")).get("create_host_path", True) is not False
    _mount(service, source, target, read_only=bool(item.get("read_only")), kind=kind or None, create=create)


def _mount(service: Service, source: str, target: str, *, read_only: bool, kind: str | None, create: bool = True) -> None:
    """One volume or bind mount; `kind` None: guessed from the source the way compose's short syntax does."""
    flags: dict[str, Any] = {"read_only": True} if read_only else {}
    if not source:
        key = service.mount(target, flags)
        volume = f"{service.app}-{key}"
        service.note("volumes", f"{target}: anonymous volume: its data is not carried over (the spec names a new volume {volume}); {CAPTURE_HINT}")
    elif kind == "bind" or (kind is None and _is_path(source)):
        service.mount(target, {"bind": _bind_path(service, source, target), **flags, **({} if create else {"create": False})})
    else:
        service.mount(target, {**_named_volume(service, source), **flags})


def _is_path(source: str) -> bool:
    """Compose's short syntax: a source that looks like a path is a bind; anything else names a volume."""
    return source.startswith(("/", ".", "~", "$"))


def _bind_path(service: Service, source: str, target: str) -> str:
    if source == "~" or source.startswith("~/"):
        path = "${HOME}" + source[1:]
        service.note("volumes", f"{target}: {source} written as {path} (the home directory of whoever runs stateful)")
        return path
    if VARIABLE.fullmatch(source):
        service.note(
            "volumes",
            f"{target}: source {source} is a variable; taken as a host path (bind mount), not a named volume; "
            "give it an absolute value (a relative one resolves against the spec's folder, not the compose file's)",
        )
    return host_path(service.project, source)


def _named_volume(service: Service, key: str) -> dict[str, Any]:
    context = service.project
    if key not in context.volumes:
        service.note("volumes", f"{key} is not declared under the top-level volumes:; taken as volume {context.name}_{key}")
    declared = mapping(context.volumes.get(key))
    entry: dict[str, Any] = {"name": resource_name(context.name, key, declared)}
    if not declared.get("external"):
        if declared.get("driver"):
            entry["driver"] = str(declared["driver"])
        if declared.get("driver_opts"):
            entry["driver_opts"] = {str(k): scalar(v) for k, v in mapping(declared["driver_opts"]).items()}
    if key not in context.volumes_noted:
        context.volumes_noted.add(key)
        service.report.extend(_volume_notes(key, declared))
    return entry


def _volume_notes(key: str, declared: Mapping[str, Any]) -> list[str]:
    """What a top-level volume asks for that its spec entries do not carry; said once per volume."""
    lines = []
    if declared.get("external"):
        lines.append(f"volume {key}: external: stateful creates it, empty, if it is missing (compose refused to start without it)")
    extra = [k for k in declared if k not in VOLUME_KEYS_KEPT]
    if extra:
        lines.append(f"volume {key}: {', '.join(extra)}: not translated")
    return lines


def _tmpfs(service: Service, value: Any) -> None:
    for item in as_list(value):
        target, _, options = str(item).partition(":")
        settings: dict[str, Any] = {}
        ignored = []
        for option in filter(None, options.split(",")):
            name, _, setting = option.partition("=")
            if name in ("size", "mode") and setting:
                settings[name] = setting
            elif name != "rw":
                ignored.append(option)
        if ignored:
            service.note("tmpfs", f"{target}: {', '.join(ignored)} not translated")
        service.mount(target, {"tmpfs": settings})


def _tmpfs_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: options[k] if isinstance(options[k], int) else str(options[k]) for k in ("size", "mode") if options.get(k) is not None}


def split_colons(text: str) -> list[str]:
    """Split on `:` outside `${...}`, so `${DATA:-./data}:/data` is two parts."""
    parts, current, depth, i = [], "", 0, 0
    while i < len(text):
        if text.startswith("${", i):
            depth, current, i = depth + 1, current + "${", i + 2
            continue
        char = text[i]
        if char == ":" and not depth:
            parts.append(current)
            current = ""
        else:
            if char == "}" and depth:
                depth -= 1
            current += char
        i += 1
    return [*parts, current]


def _volumes_from(service: Service, value: Any) -> None:
    entries = []
    for item in as_list(value):
        text = str(item)
        if text.startswith("container:"):
            service.note("volumes_from", f"{text}: not translated (stateful mounts the volumes of apps, not of containers)")
            continue
        source, _, mode = text.partition(":")
        app = _reference(service, "volumes_from", source)
        if app is not None:
            entries.append(f"{app}:ro" if mode == "ro" else app)
    if entries:
        service.spec["volumes_from"] = entries


def _reference(service: Service, key: str, other: str) -> str | None:
    """The app name of another service, or None (reported) when it was skipped or does not exist."""
    context = service.project
    if other in context.apps:
        return context.apps[other]
    why = "it was skipped" if other in context.skipped else "no such service"
    service.note(key, f"{other}: not translated ({why})")
    return None


def share_sources(services: list[Service]) -> None:
    """A volume or host dir that several apps mount writable goes into each one's shared_volumes."""
    users: dict[tuple[str, str], list[tuple[Service, str]]] = {}
    for service in services:
        for key, entry in service.spec.get("volumes", {}).items():
            source = _data_source(entry)
            if source and not entry.get("read_only"):
                users.setdefault(source, []).append((service, key))
    for owners in users.values():
        if len({s.app for s, _ in owners}) > 1:
            for service, key in owners:
                service.spec.setdefault("shared_volumes", []).append(key)


def _data_source(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """What two apps must both name to share data: a named volume or a host path (anonymous and tmpfs: nothing)."""
    if "name" in entry:
        return ("volume", entry["name"])
    if "bind" in entry:
        return ("bind", posixpath.normpath(entry["bind"]))
    return None


# The compose keys this module translates.
HANDLERS: dict[str, Callable[[Service, Any], None]] = {"volumes": _volumes, "tmpfs": _tmpfs, "volumes_from": _volumes_from}
