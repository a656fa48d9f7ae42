"""docker-compose file -> stateful v1 spec documents. Pure: plain data in, plain data out.

`translate` takes a parsed compose file (Compose v2 semantics) and returns one spec dict per
service, ready to be written as YAML, and a report with one line per thing that could not be
carried over faithfully. Nothing here reads files, talks to Docker or writes anything.

Data first: a named volume keeps the real Docker name compose gave it (`<project>_<volume>`, or
its `name:`, or the key of an external one), so `stateful apply` runs on the data compose left
behind. A relative host path (bind, env file, secret file) is written absolute, resolved against the
compose file's folder as compose resolves it: the spec would resolve it against its own folder, and
an apply would mount new empty folders where the data should be. Services keep reaching each
other by name: they join the same networks, and an app whose name differs from its service name
carries the service name as an alias. `${VAR}` strings are
left as they are: the spec interpolates the same syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrate.spec.names import app_name, volume_key
from orchestrate.tools.compose_import import fields, volumes
from orchestrate.tools.compose_import.fields import network, network_notes, restart_notes
from orchestrate.tools.compose_import.model import (
    CANONICAL_ORDER,
    NAMING_KEYS,
    UNSET,
    Project,
    Service,
    Translation,
    mapping,
    normalise_project,
    project_name,
    resource_name,
)
from orchestrate.tools.compose_import.volumes import share_sources, split_colons

__all__ = [
    "CANONICAL_ORDER", "Translation", "app_name", "normalise_project", "project_name", "resource_name", "split_colons", "translate",
    "volume_key",
]  # fmt: skip


def translate(compose: Mapping[str, Any], *, project: str, directory: str) -> Translation:
    """Translate a parsed compose file; `project` is the compose project name (`-p`), see `project_name`;
    `directory` the compose file's folder, absolute (relative host paths are written absolute)."""
    project = normalise_project(project)
    services = mapping(compose.get("services"))
    volumes, networks, secrets = (mapping(compose.get(key)) for key in ("volumes", "networks", "secrets"))
    context = Project(project, directory, volumes, networks, secrets)
    head = _file_notes(compose, project)
    skipped_lines = _name_apps(context, services)
    translated = [_translate_service(context, name, mapping(raw)) for name, raw in services.items() if name in context.apps]
    share_sources(translated)
    by_service = {s.name: s.report for s in translated}
    body = [line for name in services for line in skipped_lines.get(name, by_service.get(name, []))]
    tail = network_notes(context) + restart_notes(translated)
    return Translation(specs=[_ordered(s.spec) for s in _dependency_order(translated)], report=head + body + tail)


def _file_notes(compose: Mapping[str, Any], project: str) -> list[str]:
    lines = []
    named = compose.get("name")
    if named and normalise_project(str(named)) != project:
        lines.append(f"name: the file names project {named!r}; volumes and networks are named for project {project!r}")
    if "include" in compose:
        lines.append("include: not translated (translate each included file on its own)")
    return lines


def _name_apps(context: Project, services: Mapping[str, Any]) -> dict[str, list[str]]:
    """Give each service with an image its app name; return the report lines of the ones skipped.

    A `container_name` is the container's real name today, so those are named first: a service
    without one (compose called its container `<project>-<service>-1`) yields on a clash.
    """
    skipped: dict[str, list[str]] = {}
    for service, raw in services.items():
        raw = mapping(raw)
        if not raw.get("image"):
            context.skipped.add(service)
            why = _no_image_reason(raw)
            skipped[service] = [f"service {service}: skipped: {why}"]
    named = [s for s in services if s not in context.skipped]
    for service in sorted(named, key=lambda s: not mapping(services[s]).get("container_name")):
        context.apps[service] = _unique(app_name(_wanted_name(service, mapping(services[service]))), set(context.apps.values()))
    context.apps = {s: context.apps[s] for s in named}  # back to file order
    return skipped


def _no_image_reason(raw: Mapping[str, Any]) -> str:
    if "build" in raw:
        return "it has build: but no image: (stateful runs images; build and tag it first)"
    if "extends" in raw:
        return "it has no image: of its own; extends: is not translated (translate the output of `docker compose config` instead)"
    return "it has no image:"


def _wanted_name(service: str, raw: Mapping[str, Any]) -> str:
    return str(raw.get("container_name") or service)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _translate_service(context: Project, name: str, raw: Mapping[str, Any]) -> Service:
    service = Service(context, name, context.apps[name], raw)
    service.spec.update({"apiVersion": "stateful/v1", "kind": "App", "name": service.app})
    wanted = _wanted_name(name, raw)
    if service.app != wanted:
        why = "is taken" if app_name(wanted) == wanted else "is not a valid app name"
        service.note("name", f"{wanted!r} {why}; written as {service.app!r}")
    for key, handler in HANDLERS.items():
        if key in raw and raw[key] is not None:
            handler(service, raw[key])
    network(service)
    for key, value in raw.items():
        if key not in HANDLERS and key not in NAMING_KEYS and not str(key).startswith("x-") and value not in UNSET:
            service.note(str(key), "not translated")
    return service


# Compose keys translated, in the order they are handled (volumes before tmpfs: keys stay stable).
ORDER = (
    "image", "build", "command", "entrypoint", "environment", "env_file", "secrets", "ports", "volumes", "tmpfs", "volumes_from",
    "depends_on", "restart", "healthcheck", "stop_grace_period", "deploy", "mem_limit", "cpus", "user", "labels",
)  # fmt: skip
HANDLERS: dict[str, Callable[[Service, Any], None]] = {key: {**fields.HANDLERS, **volumes.HANDLERS}[key] for key in ORDER}


def _dependency_order(services: list[Service]) -> list[Service]:
    """File order, except that each app comes after its depends_on and volumes_from sources."""
    by_app = {s.app: s for s in services}
    ordered: list[Service] = []
    seen: set[str] = set()

    def visit(service: Service) -> None:
        if service.app in seen:
            return  # done, or a cycle (which compose refuses, and the spec loader reports)
        seen.add(service.app)
        sources = [*service.spec.get("depends_on", []), *(e.partition(":")[0] for e in service.spec.get("volumes_from", []))]
        for source in sources:
            if source in by_app:
                visit(by_app[source])
        ordered.append(service)

    for service in services:
        visit(service)
    return ordered


def _ordered(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {key: spec[key] for key in CANONICAL_ORDER if spec.get(key) not in (None, [], {}, "")}
