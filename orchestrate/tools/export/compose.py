"""DesiredApps -> one compose file that runs the same apps on the same data. Pure: nothing is read,
written or printed here.

The data stays where it is: every named volume is declared `external` under its real name, so
compose never creates an empty one in its place; host dirs stay binds. Secret env values go to a
private env file per app, never into the compose file; `secrets:` files are referenced by path.
Each service keeps the app's container name, so compose cannot start a second writer beside a
container that still holds it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from orchestrate.model.desired import DesiredApp, Healthcheck, Mount
from orchestrate.tools.export.report import NANOSECONDS, Export, Notes, OutputFile, is_secret_file, plain_env, render, secret_env

COMPOSE_FILE = "compose.yaml"
NETWORK_MODES = {"bridge", "host", "none"}  # the engine's own networks: a network_mode, not a network


def translate(apps: Sequence[DesiredApp]) -> Export:
    notes = Notes()
    files: list[OutputFile] = []
    top: dict[str, dict[str, Any]] = {"volumes": {}, "networks": {}, "secrets": {}}
    services = {}
    by_name = {a.name: a for a in apps}
    for app in apps:
        services[app.name] = _service(app, by_name, top, notes)
        hidden = secret_env(app)
        if hidden:
            files.append(OutputFile(env_file_name(app), env_file_text(hidden), private=True))
    notes.add("all", "safety", "compose recreates without stateful's data guard, health gate with rollback and version guard")
    document = _escaped({"services": services, **{k: v for k, v in top.items() if v}})
    comments = ["exported by stateful; the volumes are the apps' own (external): `docker compose down` without -v keeps them"]
    return Export((OutputFile(COMPOSE_FILE, render([document], comments)), *files), tuple(notes.lines))


def env_file_name(app: DesiredApp) -> str:
    return f"{app.name}.secret.env"


def env_file_text(values: dict[str, str]) -> str:
    return "".join(f"{k}={_dotenv_quote(v)}\n" for k, v in sorted(values.items()))


def _dotenv_quote(value: str) -> str:
    # Compose's env file reader expands ${VAR} except in single quotes; a value holding a single
    # quote is double-quoted with \, ", $ and newlines escaped.
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{escaped}"'


def _service(app: DesiredApp, by_name: dict[str, DesiredApp], top: dict[str, dict[str, Any]], notes: Notes) -> dict[str, Any]:
    service: dict[str, Any] = {"image": app.image, "container_name": app.name}
    if app.entrypoint is not None:
        service["entrypoint"] = list(app.entrypoint)
    if app.command is not None:
        service["command"] = list(app.command)
    if plain_env(app):
        service["environment"] = plain_env(app)
    if secret_env(app):
        service["env_file"] = [f"./{env_file_name(app)}"]
    if app.ports:
        service["ports"] = [_port(p.container_port, p.protocol, p.host_ip, p.host_port) for p in app.ports]
    volumes, secrets = _mounts(app, top, notes)
    if volumes:
        service["volumes"] = volumes
    if secrets:
        service["secrets"] = secrets
    service.update(_network(app, top))
    if app.healthcheck is not None:
        service["healthcheck"] = _healthcheck(app.healthcheck)
    service["stop_grace_period"] = f"{app.stop_grace_seconds}s"
    service["restart"] = f"on-failure:{app.restart_retries}" if app.restart == "on-failure" and app.restart_retries else app.restart
    if app.memory:
        service["mem_limit"] = app.memory
    if app.nano_cpus:
        service["cpus"] = app.nano_cpus / NANOSECONDS
    if app.user:
        service["user"] = app.user
    if app.labels:
        service["labels"] = dict(sorted(app.labels.items()))
    if app.depends_on:
        service["depends_on"] = {d: {"condition": _condition(by_name[d]) if d in by_name else "service_started"} for d in app.depends_on}
    return service


def _port(container: int, protocol: str, host_ip: str, host_port: int | None) -> dict[str, Any]:
    port: dict[str, Any] = {"target": container, "protocol": protocol}
    if host_port:
        port["published"] = str(host_port)
    if host_ip:
        port["host_ip"] = host_ip
    return port


def _mounts(app: DesiredApp, top: dict[str, dict[str, Any]], notes: Notes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = []
    secrets: list[dict[str, Any]] = []
    create = {d.key: d.create for d in app.bind_dirs}
    for mount in app.mounts:
        if is_secret_file(mount):
            source = _secret_source(app, mount)
            top["secrets"][source] = {"file": mount.source}
            secrets.append({"source": source, "target": mount.target})
        elif mount.kind == "tmpfs":
            volumes.append({"type": "tmpfs", "target": mount.target, **_tmpfs(mount)})
        elif mount.kind == "bind":
            entry = {"type": "bind", "source": mount.source, "target": mount.target, "read_only": mount.read_only}
            volumes.append({**entry, "bind": {"create_host_path": create.get(mount.key, False)}})
        else:
            top["volumes"][mount.source] = {"external": True, "name": mount.source}
            volumes.append({"type": "volume", "source": mount.source, "target": mount.target, "read_only": mount.read_only})
    for bind in app.bind_dirs:
        if bind.owner or bind.mode is not None:
            notes.add(app.name, f"volumes.{bind.key}", "owner/mode of the host dir not translated: compose creates a missing dir as root")
    return volumes, secrets


def _secret_source(app: DesiredApp, mount: Mount) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{app.name}_{mount.target.rsplit('/', 1)[-1]}")


def _tmpfs(mount: Mount) -> dict[str, Any]:
    options = {k: v for k, v in (("size", mount.tmpfs_size), ("mode", mount.tmpfs_mode)) if v is not None}
    return {"tmpfs": options} if options else {}


def _network(app: DesiredApp, top: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if app.network in NETWORK_MODES and not app.more_networks:
        return {"network_mode": app.network}
    networks: dict[str, Any] = {}
    for network, aliases in app.networks:
        # stateful made the network; external keeps compose from making a `<project>_` copy of it.
        top["networks"][network] = {"external": True, "name": network}
        networks[network] = {"aliases": list(aliases)} if aliases else None
    return {"networks": networks}


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    if not check.test or check.test[0] == "NONE":
        return {"disable": True}
    body: dict[str, Any] = {"test": list(check.test)}
    for field, ns in (("interval", check.interval_ns), ("timeout", check.timeout_ns), ("start_period", check.start_period_ns)):
        if ns:
            body[field] = _duration(ns)
    if check.retries:
        body["retries"] = check.retries
    return body


def _duration(ns: int) -> str:
    return f"{ns // NANOSECONDS}s" if ns % NANOSECONDS == 0 else f"{ns // 1_000_000}ms"


def _condition(dependency: DesiredApp) -> str:
    check = dependency.healthcheck
    return "service_healthy" if check is not None and check.test[:1] != ("NONE",) else "service_started"


def _escaped(value: Any) -> Any:
    """Compose interpolates `$` in every string of the file; `$$` is a literal dollar."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value
