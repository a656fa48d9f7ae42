"""docker-compose file -> stateful v1 spec documents. Pure: plain data in, plain data out.

`translate` takes a parsed compose file (Compose v2 semantics) and returns one spec dict per
service, ready to be written as YAML, and a report with one line per thing that could not be
carried over faithfully. Nothing here reads files, talks to Docker or writes anything.

Data first: a named volume keeps the real Docker name compose gave it (`<project>_<volume>`, or
its `name:`, or the key of an external one), so `stateful apply` runs on the data compose left
behind. Services keep reaching each other by name: they join the same network, and an app whose
name differs from its service name carries the service name as an alias. `${VAR}` strings are
left as they are: the spec interpolates the same syntax.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.spec.names import app_name, volume_key
from orchestrate.spec.ports import check_port

# The spec's keys in the order a person reads them; a translated document follows it.
CANONICAL_ORDER = (
    "apiVersion", "kind", "name", "image", "command", "entrypoint", "env", "env_file", "ports", "volumes", "volumes_from",
    "shared_volumes", "network", "depends_on", "restart", "healthcheck", "stop_grace_period", "resources", "user", "labels",
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
class _Project:
    name: str
    volumes: Mapping[str, Any]
    networks: Mapping[str, Any]
    apps: dict[str, str] = field(default_factory=dict)  # service -> app name, for services translated
    skipped: set[str] = field(default_factory=set)
    networks_used: list[str] = field(default_factory=list)  # network keys, in first-use order
    on_default: list[str] = field(default_factory=list)  # apps put on the default network implicitly
    volumes_noted: set[str] = field(default_factory=set)


@dataclass
class _Service:
    project: _Project
    name: str
    app: str
    raw: Mapping[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def note(self, key: str, message: str) -> None:
        self.report.append(f"service {self.name}: {key}: {message}")

    def mount(self, target: str, entry: dict[str, Any]) -> str:
        volumes = self.spec.setdefault("volumes", {})
        key = volume_key(target, volumes)
        volumes[key] = {"target": target, **entry}
        return key


def translate(compose: Mapping[str, Any], *, project: str) -> Translation:
    """Translate a parsed compose file; `project` is the compose project name (`-p`), see `project_name`."""
    project = normalise_project(project)
    services = _mapping(compose.get("services"))
    context = _Project(project, _mapping(compose.get("volumes")), _mapping(compose.get("networks")))
    head = _file_notes(compose, project)
    skipped_lines = _name_apps(context, services)
    translated = [_translate_service(context, name, _mapping(raw)) for name, raw in services.items() if name in context.apps]
    _share_sources(translated)
    by_service = {s.name: s.report for s in translated}
    body = [line for name in services for line in skipped_lines.get(name, by_service.get(name, []))]
    tail = _network_notes(context) + _restart_notes(translated)
    return Translation(specs=[_ordered(s.spec) for s in _dependency_order(translated)], report=head + body + tail)


# --- the file and the names ------------------------------------------------------------------


def _file_notes(compose: Mapping[str, Any], project: str) -> list[str]:
    lines = []
    named = compose.get("name")
    if named and normalise_project(str(named)) != project:
        lines.append(f"name: the file names project {named!r}; volumes and networks are named for project {project!r}")
    if "include" in compose:
        lines.append("include: not translated (translate each included file on its own)")
    return lines


def _name_apps(context: _Project, services: Mapping[str, Any]) -> dict[str, list[str]]:
    """Give each service with an image its app name; return the report lines of the ones skipped.

    A `container_name` is the container's real name today, so those are named first: a service
    without one (compose called its container `<project>-<service>-1`) yields on a clash.
    """
    skipped: dict[str, list[str]] = {}
    for service, raw in services.items():
        raw = _mapping(raw)
        if not raw.get("image"):
            context.skipped.add(service)
            why = _no_image_reason(raw)
            skipped[service] = [f"service {service}: skipped: {why}"]
    named = [s for s in services if s not in context.skipped]
    for service in sorted(named, key=lambda s: not _mapping(services[s]).get("container_name")):
        context.apps[service] = _unique(app_name(_wanted_name(service, _mapping(services[service]))), set(context.apps.values()))
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


# --- one service ---------------------------------------------------------------------------------


def _translate_service(context: _Project, name: str, raw: Mapping[str, Any]) -> _Service:
    service = _Service(context, name, context.apps[name], raw)
    service.spec.update({"apiVersion": "stateful/v1", "kind": "App", "name": service.app})
    wanted = _wanted_name(name, raw)
    if service.app != wanted:
        why = "is taken" if app_name(wanted) == wanted else "is not a valid app name"
        service.note("name", f"{wanted!r} {why}; written as {service.app!r}")
    for key, handler in HANDLERS.items():
        if key in raw and raw[key] is not None:
            handler(service, raw[key])
    _network(service)
    for key, value in raw.items():
        if key not in HANDLERS and key not in NAMING_KEYS and not str(key).startswith("x-") and value not in UNSET:
            service.note(str(key), "not translated")
    return service


def _image(service: _Service, value: Any) -> None:
    service.spec["image"] = str(value)


def _build(service: _Service, value: Any) -> None:
    service.note("build", BUILD_NOTE)


def _argv_handler(key: str) -> Callable[[_Service, Any], None]:
    def handle(service: _Service, value: Any) -> None:
        service.spec[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)

    return handle


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _environment(service: _Service, value: Any) -> None:
    env: dict[str, str] = {}
    for key, item in _pairs(value):
        if item is None:
            service.note("environment", f"{key}: not translated (no value: compose takes it from its own environment; set it in env: or an env_file)")
        else:
            env[key] = _scalar(item)
    if env:
        service.spec["env"] = env


def _pairs(value: Any) -> list[tuple[str, Any]]:
    """`K=V` / `K` list items, or a mapping, as (key, value or None) pairs."""
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    pairs = []
    for item in _as_list(value):
        key, sep, rest = str(item).partition("=")
        pairs.append((key, rest if sep else None))
    return pairs


def _env_file(service: _Service, value: Any) -> None:
    files = []
    for item in _as_list(value):
        if isinstance(item, Mapping):
            path = str(item.get("path", ""))
            if item.get("required") is False:
                service.note("env_file", f"{path}: required: false not translated (the spec needs the file to exist)")
            if item.get("format"):
                service.note("env_file", f"{path}: format: {item['format']} not translated")
            files.append(path)
        else:
            files.append(str(item))
    if files:
        service.spec["env_file"] = files


def _ports(service: _Service, value: Any) -> None:
    ports = [port for item in _as_list(value) if (port := _port(service, item)) is not None]
    if ports:
        service.spec["ports"] = ports


def _port(service: _Service, item: Any) -> str | None:
    text = _long_port(item) if isinstance(item, Mapping) else str(item)
    if "$" in text:
        return text  # checked by the spec loader, after interpolation
    if PORT_RANGE.search(text):
        service.note("ports", f"{text!r}: port ranges not translated (list each port)")
        return None
    try:
        check_port(text)
    except ValueError as exc:
        service.note("ports", f"not translated: {exc}")
        return None
    return text


def _long_port(item: Mapping[str, Any]) -> str:
    ip, published = str(item.get("host_ip") or ""), str(item.get("published") or "")
    if ":" in ip and not ip.startswith("["):
        ip = f"[{ip}]"
    text = str(item.get("target", ""))
    if published or ip:
        text = f"{published}:{text}"
    if ip:
        text = f"{ip}:{text}"
    protocol = str(item.get("protocol") or "tcp")
    return text if protocol == "tcp" else f"{text}/{protocol}"


# --- volumes -------------------------------------------------------------------------------------


def _volumes(service: _Service, value: Any) -> None:
    for item in _as_list(value):
        if isinstance(item, Mapping):
            _long_volume(service, item)
        else:
            _short_volume(service, str(item))


def _short_volume(service: _Service, text: str) -> None:
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


def _long_volume(service: _Service, item: Mapping[str, Any]) -> None:
    target, source = str(item.get("target", "")), str(item.get("source") or "")
    kind = str(item.get("type") or "")
    if kind == "tmpfs":
        service.mount(target, {"tmpfs": _tmpfs_options(_mapping(item.get("tmpfs")))})
        return
    if kind not in ("", "volume", "bind"):
        service.note("volumes", f"{target}: type {kind} not translated")
        return
    for section, keys in (("bind", ("propagation", "selinux", "recursive")), ("volume", ("nocopy", "subpath"))):
        for key in keys:
            if key in _mapping(item.get(section)):
                service.note("volumes", f"{target}: {section}.{key} not translated")
    create = _mapping(item.get("bind")).get("create_host_path", True) is not False
    _mount(service, source, target, read_only=bool(item.get("read_only")), kind=kind or None, create=create)


def _mount(service: _Service, source: str, target: str, *, read_only: bool, kind: str | None, create: bool = True) -> None:
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


def _bind_path(service: _Service, source: str, target: str) -> str:
    if source == "~" or source.startswith("~/"):
        path = "${HOME}" + source[1:]
        service.note("volumes", f"{target}: {source} written as {path} (the home directory of whoever runs stateful)")
        return path
    if VARIABLE.fullmatch(source):
        service.note("volumes", f"{target}: source {source} is a variable; taken as a host path (bind mount), not a named volume")
    return source


def _named_volume(service: _Service, key: str) -> dict[str, Any]:
    context = service.project
    if key not in context.volumes:
        service.note("volumes", f"{key} is not declared under the top-level volumes:; taken as volume {context.name}_{key}")
    declared = _mapping(context.volumes.get(key))
    entry: dict[str, Any] = {"name": resource_name(context.name, key, declared)}
    if not declared.get("external"):
        if declared.get("driver"):
            entry["driver"] = str(declared["driver"])
        if declared.get("driver_opts"):
            entry["driver_opts"] = {str(k): _scalar(v) for k, v in _mapping(declared["driver_opts"]).items()}
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


def resource_name(project: str, key: str, declared: Mapping[str, Any]) -> str:
    """The Docker name compose gives a top-level volume or network: `name:`, an external's key, or `<project>_<key>`."""
    if declared.get("name"):
        return str(declared["name"])
    external = declared.get("external")
    if isinstance(external, Mapping) and external.get("name"):
        return str(external["name"])  # the old `external: {name: x}` form
    return key if external else f"{project}_{key}"


def _tmpfs(service: _Service, value: Any) -> None:
    for item in _as_list(value):
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


def _volumes_from(service: _Service, value: Any) -> None:
    entries = []
    for item in _as_list(value):
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


def _reference(service: _Service, key: str, other: str) -> str | None:
    """The app name of another service, or None (reported) when it was skipped or does not exist."""
    context = service.project
    if other in context.apps:
        return context.apps[other]
    why = "it was skipped" if other in context.skipped else "no such service"
    service.note(key, f"{other}: not translated ({why})")
    return None


def _share_sources(services: list[_Service]) -> None:
    """A volume or host dir that several apps mount writable goes into each one's shared_volumes."""
    users: dict[tuple[str, str], list[tuple[_Service, str]]] = {}
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


# --- order, health, restart, resources, labels -----------------------------------------------------


def _depends_on(service: _Service, value: Any) -> None:
    entries = value.items() if isinstance(value, Mapping) else [(item, None) for item in _as_list(value)]
    apps = []
    for other, options in entries:
        options = _mapping(options)
        condition = options.get("condition", "service_started")
        if condition == "service_completed_successfully":
            service.note(f"depends_on.{other}", f"condition {condition} not translated (stateful waits for {other} to be healthy)")
        if options.get("restart"):
            service.note(f"depends_on.{other}", "restart: true not translated")
        if options.get("required") is False:
            service.note(f"depends_on.{other}", f"required: false not translated (stateful always applies {other} first)")
        app = _reference(service, "depends_on", str(other))
        if app is not None and app != service.app:
            apps.append(app)
    if apps:
        service.spec["depends_on"] = apps


def _healthcheck(service: _Service, value: Any) -> None:
    value = _mapping(value)
    test = value.get("test")
    if value.get("disable") or (isinstance(test, (list, tuple)) and list(test) == ["NONE"]):
        service.spec["healthcheck"] = {"disable": True}
        return
    check: dict[str, Any] = {}
    if test:
        check["test"] = [str(t) for t in test] if isinstance(test, (list, tuple)) else str(test)
    for key in ("interval", "timeout", "retries", "start_period"):
        if value.get(key) is not None:
            check[key] = _integer(value[key]) if key == "retries" else _duration(value[key])
    for key in value:
        if key not in HEALTHCHECK_KEYS:
            service.note(f"healthcheck.{key}", "not translated")
    if check:
        service.spec["healthcheck"] = check


def _restart(service: _Service, value: Any) -> None:
    policy = "no" if value is False else str(value)  # YAML 1.1 reads a bare `no` as false
    if RESTART.match(policy):
        service.spec["restart"] = policy
    else:
        service.note("restart", f"{policy!r} is not a restart policy; not translated")


def _stop_grace_period(service: _Service, value: Any) -> None:
    service.spec["stop_grace_period"] = _duration(value)


def _duration(value: Any) -> str | int | float:
    """Compose durations (`1m30s`, `500ms`) are spec durations; a bare number stays a number of seconds."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _integer(value: Any) -> int | str:
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)  # a ${VAR}: the spec loader reads it after interpolation


def _user(service: _Service, value: Any) -> None:
    service.spec["user"] = str(value)


def _labels(service: _Service, value: Any) -> None:
    labels = {}
    for key, item in _pairs(value):
        if key.startswith("io.stateful."):
            service.note("labels", f"{key}: not translated (the io.stateful. prefix is reserved)")
        else:
            labels[key] = "" if item is None else _scalar(item)
    if labels:
        service.spec["labels"] = labels


def _memory(service: _Service, value: Any) -> None:
    service.spec.setdefault("resources", {})["memory"] = value if isinstance(value, int) else str(value)


def _cpus(service: _Service, value: Any) -> None:
    try:
        cpus: float | str = float(value)
    except (TypeError, ValueError):
        cpus = str(value)  # a ${VAR}: the spec loader reads it after interpolation
    service.spec.setdefault("resources", {})["cpus"] = cpus


def _deploy(service: _Service, value: Any) -> None:
    for key, item in _mapping(value).items():
        if key == "resources":
            _deploy_resources(service, _mapping(item))
        elif key == "restart_policy":
            service.note("deploy.restart_policy", "not translated (set restart: instead)")
        else:
            service.note(f"deploy.{key}", "not translated")


def _deploy_resources(service: _Service, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if key != "limits":
            service.note(f"deploy.resources.{key}", "not translated")
            continue
        for limit, amount in _mapping(item).items():
            if limit == "memory" and "mem_limit" not in service.raw:
                _memory(service, amount)
            elif limit == "cpus" and "cpus" not in service.raw:
                _cpus(service, amount)
            elif limit not in ("memory", "cpus"):
                service.note(f"deploy.resources.limits.{limit}", "not translated")


# --- networks ------------------------------------------------------------------------------------


def _network(service: _Service) -> None:
    raw, context = service.raw, service.project
    if raw.get("network_mode") is not None:
        mode = str(raw["network_mode"])
        if mode != "bridge":  # the engine's default bridge is also the spec's default
            service.note("network_mode", f"{mode}: not translated (not supported)")
        return
    declared = raw.get("networks")
    networks = _mapping(declared) if isinstance(declared, Mapping) else {str(n): None for n in _as_list(declared)}
    if not networks:
        networks = {"default": None}
        context.on_default.append(service.app)
    first, *others = networks
    for other in others:
        service.note("networks", f"{other}: not translated (an app joins one network; kept {first})")
    options = _mapping(networks[first])
    for key in options:
        if key != "aliases":
            service.note(f"networks.{first}.{key}", "not translated")
    aliases = [str(a) for a in _as_list(options.get("aliases"))]
    if service.app != service.name and service.name not in aliases:
        aliases.insert(0, service.name)  # compose makes the service name resolvable on its networks
    name = resource_name(context.name, first, _mapping(context.networks.get(first)))
    service.spec["network"] = {"name": name, "aliases": aliases} if aliases else name
    if first not in context.networks_used:
        context.networks_used.append(first)


def _network_notes(context: _Project) -> list[str]:
    lines = []
    for key in context.networks_used:
        declared = _mapping(context.networks.get(key))
        extra = [k for k in declared if k not in NETWORK_KEYS_KEPT and not (k == "driver" and declared[k] == "bridge")]
        if extra and not declared.get("external"):
            lines.append(f"network {key}: {', '.join(extra)}: {PLAIN_NETWORK_NOTE}")
    if context.on_default:
        name = resource_name(context.name, "default", _mapping(context.networks.get("default")))
        lines.append(
            f"networks: compose put {', '.join(context.on_default)} on its default network {name}, where services reach each other by name; "
            f"their specs join network {name} for the same"
        )
    return lines


def _restart_notes(services: list[_Service]) -> list[str]:
    unset = [s.app for s in services if "restart" not in s.spec]
    if not unset:
        return []
    return [f"restart: compose does not restart {', '.join(unset)} (no restart:); their specs get stateful's default, unless-stopped"]


# --- the table and the helpers ---------------------------------------------------------------------

# Compose keys translated, in the order they are handled (volumes before tmpfs: keys stay stable).
HANDLERS: dict[str, Callable[[_Service, Any], None]] = {
    "image": _image,
    "build": _build,
    "command": _argv_handler("command"),
    "entrypoint": _argv_handler("entrypoint"),
    "environment": _environment,
    "env_file": _env_file,
    "ports": _ports,
    "volumes": _volumes,
    "tmpfs": _tmpfs,
    "volumes_from": _volumes_from,
    "depends_on": _depends_on,
    "restart": _restart,
    "healthcheck": _healthcheck,
    "stop_grace_period": _stop_grace_period,
    "deploy": _deploy,
    "mem_limit": _memory,
    "cpus": _cpus,
    "user": _user,
    "labels": _labels,
}


def _dependency_order(services: list[_Service]) -> list[_Service]:
    """File order, except that each app comes after its depends_on and volumes_from sources."""
    by_app = {s.app: s for s in services}
    ordered: list[_Service] = []
    seen: set[str] = set()

    def visit(service: _Service) -> None:
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


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
