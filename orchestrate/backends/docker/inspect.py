"""Docker's inspect and list documents -> our observed values.

Pure: takes the plain dicts the engine API returns (never SDK objects) and builds the frozen
values of `orchestrate.model` that the rest of stateful reads. Nothing outside the Docker backend
sees Docker's JSON.
"""

from __future__ import annotations

from typing import Any

from orchestrate import labels as L
from orchestrate.model.desired import Healthcheck, PortBinding, normalise_driver, normalise_image
from orchestrate.model.facts import data_key
from orchestrate.model.observed import ImageDefaults, ListedContainer, MountUser, ObservedContainer, ObservedMount, ObservedVolume


def container_from_inspect(data: dict[str, Any]) -> ObservedContainer:
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    state = data.get("State") or {}
    restart = host.get("RestartPolicy") or {}
    return ObservedContainer(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        image=normalise_image(config.get("Image") or ""),
        image_id=data.get("Image", ""),
        status=state.get("Status", ""),
        health=((state.get("Health") or {}).get("Status") or ""),
        labels=dict(config.get("Labels") or {}),
        env=env_dict(config.get("Env")),
        cmd=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        ports=ports_from_bindings(host.get("PortBindings")),
        mounts=_mounts(data),
        networks=_networks(data),
        restart=restart.get("Name") or "no",
        restart_retries=int(restart.get("MaximumRetryCount") or 0),
        healthcheck=healthcheck_from_config(config.get("Healthcheck")),
        stop_timeout=config.get("StopTimeout"),
        memory=int(host.get("Memory") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        user=config.get("User") or "",
        started_at=state.get("StartedAt", ""),
        restart_count=int(data.get("RestartCount") or 0),
    )


def image_from_inspect(data: dict[str, Any]) -> ImageDefaults:
    config = data.get("Config") or {}
    return ImageDefaults(
        id=data["Id"],
        env=env_dict(config.get("Env")),
        cmd=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        labels=dict(config.get("Labels") or {}),
        healthcheck=healthcheck_from_config(config.get("Healthcheck")),
        user=config.get("User") or "",
        volumes=tuple(sorted((config.get("Volumes") or {}).keys())),
    )


def volume_from_inspect(data: dict[str, Any]) -> ObservedVolume:
    return ObservedVolume(
        name=data["Name"],
        driver=normalise_driver(data.get("Driver")),
        options=dict(data.get("Options") or {}),
        labels=dict(data.get("Labels") or {}),
        mountpoint=data.get("Mountpoint", ""),
        created_at=data.get("CreatedAt", ""),
    )


def listed_from_list(listed: list[dict[str, Any]]) -> dict[str, ListedContainer]:
    found = {}
    for item in listed:
        name = (item.get("Names") or ["/?"])[0].lstrip("/")
        found[name] = ListedContainer(item["Id"], name, dict(item.get("Labels") or {}), item.get("State", ""))
    return found


def mount_users_from_list(listed: list[dict[str, Any]]) -> dict[str, tuple[MountUser, ...]]:
    """Who mounts what, from one container list call (its Mounts summary)."""
    users: dict[str, list[MountUser]] = {}
    for item in listed:
        labels = item.get("Labels") or {}
        name = (item.get("Names") or ["/?"])[0].lstrip("/")
        running = item.get("State") == "running"
        app = labels.get(L.APP, "") if L.is_ours(labels) else ""
        for mount in item.get("Mounts") or ():
            kind = mount.get("Type", "")
            source = mount.get("Name") if kind == "volume" else mount.get("Source")
            if kind in ("volume", "bind") and source:
                users.setdefault(data_key(kind, source), []).append(MountUser(name, running, bool(mount.get("RW", True)), app))
    return {key: tuple(found) for key, found in users.items()}


def env_dict(entries: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries or ():
        key, _, value = entry.partition("=")
        env[key] = value
    return env


def ports_from_bindings(bindings: dict[str, list[dict[str, str]] | None] | None) -> tuple[PortBinding, ...]:
    ports: list[PortBinding] = []
    for key, hosts in (bindings or {}).items():
        port, _, proto = key.partition("/")
        for host in hosts or [{}]:
            host_port = host.get("HostPort") or ""
            ip = host.get("HostIp") or ""
            ports.append(PortBinding(int(port), proto or "tcp", ip, int(host_port) if host_port else None).on_every_address())
    return tuple(sorted(set(ports), key=str))


def healthcheck_from_config(config: dict[str, Any] | None) -> Healthcheck | None:
    if not config or not config.get("Test"):
        return None
    return Healthcheck(
        test=tuple(config["Test"]),
        interval_ns=int(config.get("Interval") or 0),
        timeout_ns=int(config.get("Timeout") or 0),
        retries=int(config.get("Retries") or 0),
        start_period_ns=int(config.get("StartPeriod") or 0),
    )


def _mounts(data: dict[str, Any]) -> tuple[ObservedMount, ...]:
    mounts: dict[str, ObservedMount] = {}
    for mount in data.get("Mounts") or ():
        kind = mount.get("Type", "volume")
        source = mount.get("Name") if kind == "volume" else mount.get("Source", "")
        target = mount["Destination"]
        mounts[target] = ObservedMount(target, kind, source or "", not mount.get("RW", True))
    host = data.get("HostConfig") or {}
    # A tmpfs's size and mode are only in the HostConfig (and engine 20.10 does not always list a
    # tmpfs made through HostConfig.Mounts in Mounts at all): taken from there, whichever way it was made.
    for spec in host.get("Mounts") or ():
        if spec.get("Type") == "tmpfs":
            options = spec.get("TmpfsOptions") or {}
            size, mode = options.get("SizeBytes") or None, options.get("Mode") or None
            mounts[spec["Target"]] = ObservedMount(spec["Target"], "tmpfs", "", bool(spec.get("ReadOnly")), size, mode)
    for target, text in (host.get("Tmpfs") or {}).items():
        options = text.split(",") if text else []
        mounts[target] = ObservedMount(target, "tmpfs", "", "ro" in options, *_tmpfs_options(options))
    return tuple(sorted(mounts.values(), key=lambda m: m.target))


RAM_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _tmpfs_options(options: list[str]) -> tuple[int | None, int | None]:
    """`size=64m,mode=1777` of a `--tmpfs` option string: size in bytes (binary units, as the
    engine reads them) and the octal mode; anything unreadable counts as not chosen."""
    size = mode = None
    for option in options:
        name, _, value = option.partition("=")
        value = value.strip().lower().removesuffix("b")
        try:
            if name == "size" and value:
                unit = value[-1] if value[-1] in RAM_UNITS else ""
                size = int(float(value.removesuffix(unit)) * RAM_UNITS[unit]) or None
            elif name == "mode" and value:
                mode = int(value, 8) or None
        except ValueError:
            continue
    return size, mode


def _networks(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    networks = ((data.get("NetworkSettings") or {}).get("Networks")) or {}
    short_id = data.get("Id", "")[:12]
    result: dict[str, tuple[str, ...]] = {}
    for net, settings in networks.items():
        # The engine adds the short id as an alias by itself.
        aliases = [a for a in (settings or {}).get("Aliases") or () if a != short_id]
        result[net] = tuple(sorted(set(aliases)))
    return result
