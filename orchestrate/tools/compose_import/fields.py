"""Every other compose key of a service -> its spec field: image, command, env, ports, order, health,
restart, resources, labels, and the service's network."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrate.model.desired import SECRETS_DIR
from orchestrate.spec.ports import check_port
from orchestrate.tools.compose_import.model import (
    BUILD_NOTE,
    HEALTHCHECK_KEYS,
    NETWORK_KEYS_KEPT,
    PLAIN_NETWORK_NOTE,
    PORT_RANGE,
    RESTART,
    Project,
    Service,
    as_list,
    host_path,
    mapping,
    resource_name,
    scalar,
)


def _image(service: Service, value: Any) -> None:
    service.spec["image"] = str(value)


def _build(service: Service, value: Any) -> None:
    service.note("build", BUILD_NOTE)


def _argv_handler(key: str) -> Callable[[Service, Any], None]:
    def handle(service: Service, value: Any) -> None:
        service.spec[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)

    return handle


def _environment(service: Service, value: Any) -> None:
    env: dict[str, str] = {}
    for key, item in _pairs(value):
        if item is None:
            service.note("environment", f"{key}: not translated (no value: compose takes it from its own environment; set it in env: or an env_file)")
        else:
            env[key] = scalar(item)
    if env:
        service.spec["env"] = env


def _pairs(value: Any) -> list[tuple[str, Any]]:
    """`K=V` / `K` list items, or a mapping, as (key, value or None) pairs."""
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    pairs = []
    for item in as_list(value):
        key, sep, rest = str(item).partition("=")
        pairs.append((key, rest if sep else None))
    return pairs


def _env_file(service: Service, value: Any) -> None:
    files = []
    for item in as_list(value):
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
        service.spec["env_file"] = [host_path(service.project, f) for f in files]


def _secrets(service: Service, value: Any) -> None:
    """File secrets become spec secrets, mounted where compose mounts them; the file is referenced, never read."""
    secrets: dict[str, dict[str, str]] = {}
    for item in as_list(value):
        options = mapping(item)
        source = str(options.get("source", "")) if options else str(item)
        declared = mapping(service.project.secrets.get(source))
        if not declared.get("file"):
            why = "it is not declared under the top-level secrets:" if source not in service.project.secrets else "only file secrets are"
            service.note("secrets", f"{source}: not translated ({why})")
            continue
        entry = {"file": host_path(service.project, str(declared["file"]))}
        target = str(options.get("target") or source)
        if target != source:
            entry["target"] = target if target.startswith("/") else f"{SECRETS_DIR}/{target}"
        for key in ("uid", "gid", "mode"):
            if key in options:
                service.note(f"secrets.{source}.{key}", "not translated (the file is mounted read-only as it is)")
        secrets[source] = entry
    if secrets:
        service.spec["secrets"] = secrets


def _ports(service: Service, value: Any) -> None:
    ports = [port for item in as_list(value) if (port := _port(service, item)) is not None]
    if ports:
        service.spec["ports"] = ports


def _port(service: Service, item: Any) -> str | None:
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


def _depends_on(service: Service, value: Any) -> None:
    entries = value.items() if isinstance(value, Mapping) else [(item, None) for item in as_list(value)]
    apps = []
    for other, options in entries:
        options = mapping(options)
        condition = options.get("condition", "service_started")
        if condition == "service_completed_successfully":
            service.note(f"depends_on.{other}", f"condition {condition} not translated (stateful waits for {other} to be healthy)")
        if options.get("restart"):
            service.note(f"depends_on.{other}", "restart: true not translated")
        if options.get("required") is False:
            service.note(f"depends_on.{other}", f"required: false not translated (stateful always applies {other} first)")
        app = service.reference("depends_on", str(other))
        if app is not None and app != service.app:
            apps.append(app)
    if apps:
        service.spec["depends_on"] = apps


def _healthcheck(service: Service, value: Any) -> None:
    value = mapping(value)
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


def _restart(service: Service, value: Any) -> None:
    policy = "no" if value is False else str(value)  # YAML 1.1 reads a bare `no` as false
    if RESTART.match(policy):
        service.spec["restart"] = policy
    else:
        service.note("restart", f"{policy!r} is not a restart policy; not translated")


def _stop_grace_period(service: Service, value: Any) -> None:
    service.spec["stop_grace_period"] = _duration(value)


def _duration(value: Any) -> str | int | float:
    """Compose durations (`1m30s`, `500ms`) are spec durations; a bare number stays a number of seconds."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _integer(value: Any) -> int | str:
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)  # a ${VAR}: the spec loader reads it after interpolation


def _user(service: Service, value: Any) -> None:
    service.spec["user"] = str(value)


def _labels(service: Service, value: Any) -> None:
    labels = {}
    for key, item in _pairs(value):
        if key.startswith("io.stateful."):
            service.note("labels", f"{key}: not translated (the io.stateful. prefix is reserved)")
        else:
            labels[key] = "" if item is None else scalar(item)
    if labels:
        service.spec["labels"] = labels


def _memory(service: Service, value: Any) -> None:
    service.spec.setdefault("resources", {})["memory"] = value if isinstance(value, int) else str(value)


def _cpus(service: Service, value: Any) -> None:
    try:
        cpus: float | str = float(value)
    except (TypeError, ValueError):
        cpus = str(value)  # a ${VAR}: the spec loader reads it after interpolation
    service.spec.setdefault("resources", {})["cpus"] = cpus


def _deploy(service: Service, value: Any) -> None:
    for key, item in mapping(value).items():
        if key == "resources":
            _deploy_resources(service, mapping(item))
        elif key == "restart_policy":
            service.note("deploy.restart_policy", "not translated (set restart: instead)")
        else:
            service.note(f"deploy.{key}", "not translated")


def _deploy_resources(service: Service, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if key != "limits":
            service.note(f"deploy.resources.{key}", "not translated")
            continue
        for limit, amount in mapping(item).items():
            if limit == "memory" and "mem_limit" not in service.raw:
                _memory(service, amount)
            elif limit == "cpus" and "cpus" not in service.raw:
                _cpus(service, amount)
            elif limit not in ("memory", "cpus"):
                service.note(f"deploy.resources.limits.{limit}", "not translated")


def network(service: Service) -> None:
    raw, context = service.raw, service.project
    if raw.get("network_mode") is not None:
        mode = str(raw["network_mode"])
        if mode != "bridge":  # the engine's default bridge is also the spec's default
            service.note("network_mode", f"{mode}: not translated (not supported)")
        return
    declared = raw.get("networks")
    networks = mapping(declared) if isinstance(declared, Mapping) else {str(n): None for n in as_list(declared)}
    if not networks:
        networks = {"default": None}
        context.on_default.append(service.app)
    entries = [_network_entry(service, key, mapping(options)) for key, options in networks.items()]
    if len(entries) == 1:
        service.spec["network"] = entries[0]
    else:
        service.spec["networks"] = entries


def _network_entry(service: Service, key: str, options: Mapping[str, Any]) -> str | dict[str, Any]:
    """One network of a service, by its Docker name, with the aliases compose gives it there."""
    context = service.project
    for option in options:
        if option != "aliases":
            service.note(f"networks.{key}.{option}", "not translated")
    aliases = [str(a) for a in as_list(options.get("aliases"))]
    if service.app != service.name and service.name not in aliases:
        aliases.insert(0, service.name)  # compose makes the service name resolvable on each of its networks
    if key not in context.networks_used:
        context.networks_used.append(key)
    name = resource_name(context.name, key, mapping(context.networks.get(key)))
    return {"name": name, "aliases": aliases} if aliases else name


def network_notes(context: Project) -> list[str]:
    lines = []
    for key in context.networks_used:
        declared = mapping(context.networks.get(key))
        extra = [k for k in declared if k not in NETWORK_KEYS_KEPT and not (k == "driver" and declared[k] == "bridge")]
        if extra and not declared.get("external"):
            lines.append(f"network {key}: {', '.join(extra)}: {PLAIN_NETWORK_NOTE}")
    if context.on_default:
        name = resource_name(context.name, "default", mapping(context.networks.get("default")))
        lines.append(
            f"networks: compose put {', '.join(context.on_default)} on its default network {name}, where services reach each other by name; "
            f"their specs join network {name} for the same"
        )
    return lines


def restart_notes(services: list[Service]) -> list[str]:
    unset = [s.app for s in services if "restart" not in s.spec]
    if not unset:
        return []
    return [f"restart: compose does not restart {', '.join(unset)} (no restart:); their specs get stateful's default, unless-stopped"]


# The compose keys this module translates.
HANDLERS: dict[str, Callable[[Service, Any], None]] = {
    "image": _image,
    "build": _build,
    "command": _argv_handler("command"),
    "entrypoint": _argv_handler("entrypoint"),
    "environment": _environment,
    "env_file": _env_file,
    "secrets": _secrets,
    "ports": _ports,
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
