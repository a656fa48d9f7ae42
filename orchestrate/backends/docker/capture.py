"""Docker containers -> specs: what was chosen for a container, without what its image brings.

Reads the engine's inspect documents (through the `Inspect` function it is given; it makes no
call of its own and changes nothing) and returns, per container, a v1 spec document, the env
values that look secret (for a 0600 file, never for the spec or the screen), and a fidelity
report of everything the spec cannot express. Volumes are referenced by their real names,
anonymous ones included, so the data the container runs on is the data the spec names. Docker's
JSON never leaves this module: callers get `Capture` values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from orchestrate.backends.docker.inspect import env_dict, healthcheck_from_config
from orchestrate.errors import UsageError
from orchestrate.labels import APP, MANAGED
from orchestrate.model.capture import Capture
from orchestrate.model.desired import EVERY_ADDRESS, looks_secret
from orchestrate.model.observed import ENGINE_DEFAULT_STOP_S
from orchestrate.spec.names import app_name, volume_key
from orchestrate.spec.units import format_duration

ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")

# HostConfig / Config fields we cannot express, and their "nothing chosen" values.
UNSUPPORTED_HOST = {
    "Privileged": False, "CapAdd": None, "CapDrop": None, "Devices": None, "ExtraHosts": None, "Dns": None, "DnsSearch": None,
    "DnsOptions": None, "Links": None, "Ulimits": None, "Sysctls": None, "SecurityOpt": None, "PidMode": "", "IpcMode": "",
    "GroupAdd": None, "ReadonlyRootfs": False, "Init": None, "ShmSize": 67108864, "CpuShares": 0, "CpusetCpus": "", "PortBindings_ranges": None,
}

Inspect = Callable[[str, str], dict[str, Any] | None]  # (container | image, reference) -> inspect document, None if absent


def capture_containers(inspect: Inspect, names: list[str], *, endpoint: str) -> list[Capture]:
    """Capture each container, sources of --volumes-from before the containers that use them."""
    raw = {}
    for name in names:
        found = inspect("container", name)
        if found is None:
            raise UsageError(f"no container named {name!r} on {endpoint}")
        raw[found["Name"].lstrip("/")] = found
    ids = {c["Id"]: n for n, c in raw.items()} | {n: n for n in raw}
    managed = _managed_sources(inspect, raw, ids)
    borrowed: dict[str, set[str]] = {}
    captures = []
    for name in _sources_first(raw, ids):
        container = raw[name]
        image = inspect("image", container["Image"]) or {}
        # Keyed as the container names its sources (a name or an id), for capture to match.
        refs = [s.split(":")[0] for s in _volumes_from(container)]
        sources = {ref: borrowed[ids[ref]] for ref in refs if ids.get(ref) in borrowed}
        sources |= {ref: managed[ref][1] for ref in refs if ref in managed and ref not in sources}
        captured = capture(container, image, borrowed=sources)
        _rename_sources(captured, ids | {ref: app for ref, (app, _) in managed.items()})
        captures.append(captured)
        borrowed[name] = _targets(container)
    return captures


def _targets(container: Mapping[str, Any]) -> set[str]:
    return {m["Destination"] for m in container.get("Mounts") or ()}


def _managed_sources(inspect: Inspect, raw: dict[str, dict[str, Any]], ids: dict[str, str]) -> dict[str, tuple[str, set[str]]]:
    """--volumes-from sources not captured in this run that are managed apps already (adopted
    earlier): referenced by app name, so that the borrower's spec says `volumes_from: [app]`
    rather than copying the app's volumes as its own. ref -> (app, its mount targets)."""
    found: dict[str, tuple[str, set[str]]] = {}
    for container in raw.values():
        for ref in (s.split(":")[0] for s in _volumes_from(container)):
            if ref in ids or ref in found:
                continue
            source = inspect("container", ref)
            labels = ((source or {}).get("Config") or {}).get("Labels") or {}
            if source is not None and labels.get(MANAGED) == "true" and labels.get(APP):
                found[ref] = (labels[APP], _targets(source))
    return found


def _volumes_from(container: Mapping[str, Any]) -> list[str]:
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


def capture(container: Mapping[str, Any], image: Mapping[str, Any], *, borrowed: Mapping[str, set[str]] | None = None) -> Capture:
    """One container and its image (inspect documents) as a spec. `borrowed`: for --volumes-from
    sources captured in the same run, source name -> its mount targets."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    image_config = image.get("Config") or {}
    name = container["Name"].lstrip("/")
    result = Capture(name=app_name(name), spec={})
    if result.name != name:
        result.report.append(f"name: {name!r} is not a valid app name; written as {result.name!r}")
    spec = result.spec
    spec.update({"apiVersion": "stateful/v1", "kind": "App", "name": result.name, "image": config.get("Image", "")})
    _argv(spec, config, image_config)
    _env(result, config, image_config)
    _ports(spec, host)
    _volumes(result, container, host, borrowed or {})
    _network(result, container, host)
    _restart(spec, host)
    _healthcheck(spec, config, image_config)
    stop = config.get("StopTimeout")
    spec["stop_grace_period"] = format_duration(stop if stop is not None else ENGINE_DEFAULT_STOP_S)
    _resources(result, host)
    if (user := config.get("User") or "") and user != (image_config.get("User") or ""):
        spec["user"] = user
    _labels(result, config, image_config)
    _unsupported(result, config, host, image_config)
    result.spec = _escape_dollars(spec)
    return result


def _escape_dollars(value: Any) -> Any:
    """Spec values are interpolated when loaded (`${VAR}`, `$VAR`): a literal `$` is written `$$`."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_dollars(v) for v in value]
    return value


def _argv(spec: dict[str, Any], config: Mapping[str, Any], image: Mapping[str, Any]) -> None:
    entrypoint, cmd = config.get("Entrypoint") or [], config.get("Cmd") or []
    if entrypoint != (image.get("Entrypoint") or []):
        spec["entrypoint"] = list(entrypoint)
        if cmd:
            spec["command"] = list(cmd)
    elif cmd != (image.get("Cmd") or []):
        spec["command"] = list(cmd)


def _env(result: Capture, config: Mapping[str, Any], image: Mapping[str, Any]) -> None:
    defaults = env_dict(image.get("Env"))
    chosen = {k: v for k, v in env_dict(config.get("Env")).items() if defaults.get(k) != v}
    result.secrets = {k: v for k, v in chosen.items() if looks_secret(k)}
    plain = {k: v for k, v in chosen.items() if k not in result.secrets}
    if plain:
        result.spec["env"] = plain
    if result.secrets:
        result.spec["env_file"] = [f"./{result.name}.secrets.env"]
        result.report.append(f"env: {', '.join(sorted(result.secrets))} moved to ./{result.name}.secrets.env (0600); values never printed")


def _ports(spec: dict[str, Any], host: Mapping[str, Any]) -> None:
    ports = []
    for key, bindings in sorted((host.get("PortBindings") or {}).items()):
        port, _, proto = key.partition("/")
        suffix = "" if proto in ("", "tcp") else f"/{proto}"
        for binding in bindings or [{}]:
            ip, published = binding.get("HostIp") or "", binding.get("HostPort") or ""
            ip = "" if ip in EVERY_ADDRESS else ip
            text = f"{ip}:{published}:{port}" if ip else (f"{published}:{port}" if published else port)
            ports.append(text + suffix)
    if ports:
        spec["ports"] = ports


def _volumes(result: Capture, container: Mapping[str, Any], host: Mapping[str, Any], borrowed: Mapping[str, set[str]]) -> None:
    entries = list(host.get("VolumesFrom") or ())
    sources = [e.split(":")[0] for e in entries]
    taken = set().union(*(borrowed[s] for s in sources if s in borrowed)) if sources else set()
    volumes: dict[str, dict[str, Any]] = {}
    for mount in sorted(container.get("Mounts") or (), key=lambda m: m["Destination"]):
        target = mount["Destination"]
        if target in taken:
            continue
        volumes[volume_key(target, volumes)] = _volume(result, mount)
    for target, options in (host.get("Tmpfs") or {}).items():
        volumes[volume_key(target, volumes)] = {"target": target, "tmpfs": _tmpfs(options)}
    for spec_mount in host.get("Mounts") or ():
        if spec_mount.get("Type") == "tmpfs":
            size = (spec_mount.get("TmpfsOptions") or {}).get("SizeBytes")
            volumes[volume_key(spec_mount["Target"], volumes)] = {"target": spec_mount["Target"], "tmpfs": {"size": size} if size else {}}
    if volumes:
        result.spec["volumes"] = volumes
    captured = [e for e in entries if e.split(":")[0] in borrowed]
    if captured:
        result.spec["volumes_from"] = [e.split(":")[0] + (":ro" if e.endswith(":ro") else "") for e in captured]
    for source in sources:
        if source not in borrowed:
            result.report.append(f"volumes_from: {source}: not captured with it; its volumes are written out as this app's own mounts")


def _volume(result: Capture, mount: Mapping[str, Any]) -> dict[str, Any]:
    target, kind = mount["Destination"], mount.get("Type", "volume")
    volume: dict[str, Any] = {"target": target}
    if kind == "bind":
        volume["bind"] = mount["Source"]
    elif kind == "volume":
        volume["name"] = mount["Name"]
        if ANONYMOUS.match(mount["Name"]):
            result.report.append(f"volumes: {target}: anonymous volume {mount['Name'][:12]}… is kept by its full name (the data stays where it is)")
        if (mount.get("Driver") or "local") != "local":
            volume["driver"] = mount["Driver"]
    if not mount.get("RW", True):
        volume["read_only"] = True
    return volume


def _tmpfs(options: str) -> dict[str, Any]:
    sizes = [o.split("=", 1)[1] for o in options.split(",") if o.startswith("size=")]
    return {"size": sizes[0]} if sizes else {}


def _network(result: Capture, container: Mapping[str, Any], host: Mapping[str, Any]) -> None:
    networks = ((container.get("NetworkSettings") or {}).get("Networks")) or {}
    mode = host.get("NetworkMode") or "default"
    if mode in ("host", "none") or mode.startswith("container:"):
        result.report.append(f"network_mode: {mode}: not expressible")
        return
    names = [n for n in networks if n != "bridge"]
    if not names:
        return
    first = mode if mode in names else names[0]
    short_id = container["Id"][:12]
    entries: list[str | dict[str, Any]] = []
    for name in [first, *(n for n in names if n != first)]:  # the create call's network first
        aliases = sorted({a for a in (networks[name] or {}).get("Aliases") or () if a not in (short_id, result.name)})
        entries.append({"name": name, "aliases": aliases} if aliases else name)
    if len(entries) == 1:
        result.spec["network"] = entries[0]
    else:
        result.spec["networks"] = entries


def _restart(spec: dict[str, Any], host: Mapping[str, Any]) -> None:
    policy = host.get("RestartPolicy") or {}
    name, retries = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    spec["restart"] = f"on-failure:{retries}" if name == "on-failure" and retries else name


def _healthcheck(spec: dict[str, Any], config: Mapping[str, Any], image: Mapping[str, Any]) -> None:
    mine, theirs = healthcheck_from_config(config.get("Healthcheck")), healthcheck_from_config(image.get("Healthcheck"))
    if mine == theirs or mine is None:
        return
    if mine.test == ("NONE",):
        spec["healthcheck"] = {"disable": True}
        return
    check: dict[str, Any] = {"test": list(mine.test)}
    for key, ns in (("interval", mine.interval_ns), ("timeout", mine.timeout_ns), ("start_period", mine.start_period_ns)):
        if ns:
            check[key] = format_duration(ns / 1e9)
    if mine.retries:
        check["retries"] = mine.retries
    spec["healthcheck"] = check


def _resources(result: Capture, host: Mapping[str, Any]) -> None:
    resources: dict[str, Any] = {}
    if host.get("Memory"):
        resources["memory"] = int(host["Memory"])
    if host.get("NanoCpus"):
        resources["cpus"] = host["NanoCpus"] / 1e9
    elif host.get("CpuQuota") and host.get("CpuPeriod"):
        result.report.append("resources: cpu quota/period written as cpus (the engine will then store it as NanoCpus)")
        resources["cpus"] = round(host["CpuQuota"] / host["CpuPeriod"], 3)
    if resources:
        result.spec["resources"] = resources


def _labels(result: Capture, config: Mapping[str, Any], image: Mapping[str, Any]) -> None:
    defaults = image.get("Labels") or {}
    labels = {}
    for key, value in (config.get("Labels") or {}).items():
        if defaults.get(key) == value:
            continue
        if key.startswith(("io.stateful.", "com.docker.compose.")):
            if key.startswith("com.docker.compose.") and "com.docker.compose labels dropped" not in " ".join(result.report):
                result.report.append("labels: com.docker.compose labels dropped (the container will not belong to a compose project)")
            continue
        labels[key] = value
    if labels:
        result.spec["labels"] = labels


def _unsupported(result: Capture, config: Mapping[str, Any], host: Mapping[str, Any], image: Mapping[str, Any]) -> None:
    for key, default in UNSUPPORTED_HOST.items():
        value = host.get(key, default)
        if key == "IpcMode" and value in ("private", "shareable"):
            continue  # the engine's own defaults (by version)
        if value not in (default, None, [], {}, "", 0, False):
            result.report.append(f"HostConfig.{key} = {value!r}: not expressible; the adopted container will not have it")
    for key in ("WorkingDir", "StopSignal", "Domainname"):
        if (config.get(key) or "") != (image.get(key) or ""):
            result.report.append(f"Config.{key} = {config.get(key)!r}: not expressible; the adopted container will not have it")
    log = host.get("LogConfig") or {}
    if log.get("Config"):
        result.report.append(f"HostConfig.LogConfig = {log!r}: not expressible")
