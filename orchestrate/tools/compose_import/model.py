"""The translation's own model: constants, the two working records, and small shared helpers."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.spec.names import volume_key

# The spec's keys in the order a person reads them; a translated document follows it.
CANONICAL_ORDER = (
    "apiVersion", "kind", "name", "image", "command", "entrypoint", "env", "env_file", "secrets", "ports", "volumes",
    "volumes_from", "shared_volumes", "network", "networks", "depends_on", "restart", "healthcheck", "stop_grace_period",
    "resources", "user", "labels",
)  # fmt: skip

BUILD_NOTE = "not translated (stateful runs images; build and tag it first)"
CAPTURE_HINT = "to keep it, `stateful capture` the running container instead"
PLAIN_NETWORK_NOTE = "not translated (stateful creates a plain bridge network if it is missing)"
NETWORK_KEYS_KEPT = ("name", "external")
VOLUME_KEYS_KEPT = ("name", "external", "driver", "driver_opts")
HEALTHCHECK_KEYS = ("test", "disable", "interval", "timeout", "retries", "start_period")
VOLUME_MODES = {"ro", "rw", "cached", "delegated", "consistent"}  # ro is translated; the others change nothing on Linux
RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
PORT_RANGE = re.compile(r"\d-\d")
VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
NAMING_KEYS = ("container_name", "networks", "network_mode")  # read for the app's name and network
UNSET: tuple[object, ...] = (None, False, "", [], {})  # a key set to one of these asks for nothing beyond the defaults


@dataclass(frozen=True)
class Translation:
    """The spec documents, in dependency order, and what a reader must know about what was lost."""

    specs: list[dict[str, Any]]  # one per app, keys in CANONICAL_ORDER, only keys with a value
    report: list[str]  # one line per thing not translated faithfully


def normalise_project(name: str) -> str:
    """Compose's own normalisation: lower case, only [a-z0-9_-], no leading _ or -."""
    cleaned = "".join(re.findall(r"[a-z0-9_-]", name.lower())).lstrip("_-")
    if not cleaned:
        raise ValueError(f"{name!r} gives an empty compose project name")
    return cleaned


def project_name(compose: Mapping[str, Any], directory: str) -> str:
    """The project compose uses without `-p`/`COMPOSE_PROJECT_NAME`: the file's `name:`, else its directory's name."""
    return normalise_project(str(compose.get("name") or posixpath.basename(directory.rstrip("/"))))


@dataclass
class Project:
    name: str
    directory: str  # the compose file's folder, absolute: compose resolves relative host paths against it
    volumes: Mapping[str, Any]
    networks: Mapping[str, Any]
    secrets: Mapping[str, Any] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)  # service -> app name, for services translated
    skipped: set[str] = field(default_factory=set)
    networks_used: list[str] = field(default_factory=list)  # network keys, in first-use order
    on_default: list[str] = field(default_factory=list)  # apps put on the default network implicitly
    volumes_noted: set[str] = field(default_factory=set)


@dataclass
class Service:
    project: Project
    name: str
    app: str
    raw: Mapping[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def note(self, key: str, message: str) -> None:
        self.report.append(f"service {self.name}: {key}: {message}")

    def reference(self, key: str, other: str) -> str | None:
        """The app name of another service, or None (reported) when it was skipped or does not exist."""
        if other in self.project.apps:
            return self.project.apps[other]
        why = "it was skipped" if other in self.project.skipped else "no such service"
        self.note(key, f"{other}: not translated ({why})")
        return None

    def mount(self, target: str, entry: dict[str, Any]) -> str:
        volumes = self.spec.setdefault("volumes", {})
        key = volume_key(target, volumes)
        volumes[key] = {"target": target, **entry}
        return key


def host_path(project: Project, path: str) -> str:
    """A host path as compose resolves it, made absolute: the spec resolves a relative one against its
    own folder, which is not the compose file's, and the data would be looked for in the wrong place."""
    if path.startswith("/") or path.startswith("$"):
        return path  # absolute, or a variable: the spec interpolates it the same way
    return posixpath.normpath(posixpath.join(project.directory, path))


def resource_name(project: str, key: str, declared: Mapping[str, Any]) -> str:
    """The Docker name compose gives a top-level volume or network: `name:`, an external's key, or `<project>_<key>`."""
    if declared.get("name"):
        return str(declared["name"])
    external = declared.get("external")
    if isinstance(external, Mapping) and external.get("name"):
        return str(external["name"])  # the old `external: {name: x}` form
    return key if external else f"{project}_{key}"


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
