"""Docker inspect dicts -> canonical observed state.

Pure: takes the plain dicts the engine API returns (never SDK objects) and builds frozen values
that the comparison reads. The engine module fetches; this module only translates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrate import labels as L
from orchestrate.desired import Healthcheck, PortBinding, normalise_driver, normalise_image


@dataclass(frozen=True)
class ObservedMount:
    target: str
    kind: str  # volume | bind | tmpfs
    source: str  # volume name or host path
    read_only: bool
    tmpfs_options: str = ""


@dataclass(frozen=True)
class ImageDefaults:
    """What an image brings by itself, subtracted before comparing (no false drift from it)."""

    id: str
    env: dict[str, str] = field(default_factory=dict)
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    user: str = ""
    volumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    image: str  # the reference it was created from, normalised
    image_id: str
    status: str  # created | running | paused | restarting | exited | dead
    health: str  # healthy | unhealthy | starting | "" (no healthcheck)
    labels: dict[str, str]
    env: dict[str, str]
    cmd: tuple[str, ...]
    entrypoint: tuple[str, ...]
    ports: tuple[PortBinding, ...]
    mounts: tuple[ObservedMount, ...]
    networks: dict[str, tuple[str, ...]]  # network -> aliases set by the user
    restart: str
    restart_retries: int
    healthcheck: Healthcheck | None
    stop_timeout: int | None
    memory: int
    nano_cpus: int
    user: str
    started_at: str = ""
    restart_count: int = 0

    @property
    def app(self) -> str:
        return self.labels.get(L.APP, "")

    @property
    def managed(self) -> bool:
        return L.is_ours(self.labels)

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting")


@dataclass(frozen=True)
class ObservedVolume:
    name: str
    driver: str
    options: dict[str, str]
    labels: dict[str, str]
    mountpoint: str = ""
    created_at: str = ""


@dataclass(frozen=True)
class HostDir:
    path: str
    exists: bool
    is_dir: bool = False


@dataclass(frozen=True)
class ListedContainer:
    """What the one container list call tells about any container (no inspect needed)."""

    id: str
    name: str
    labels: dict[str, str]
    state: str

    @property
    def managed(self) -> bool:
        return L.is_ours(self.labels)

    @property
    def app(self) -> str:
        return self.labels.get(L.APP, "")


@dataclass(frozen=True)
class MountUser:
    """A container (any, ours or not) that mounts a volume or host dir."""

    container: str
    running: bool
    writable: bool
    app: str  # its io.stateful.app label, "" when not ours


@dataclass(frozen=True)
class ObservedState:
    """One snapshot of everything the planner may look at."""

    containers: dict[str, ObservedContainer]  # by container name
    volumes: dict[str, ObservedVolume]
    networks: frozenset[str]
    images: dict[str, ImageDefaults]  # by normalised reference and by id
    host_dirs: dict[str, HostDir]
    data: dict[str, DataFacts] = field(default_factory=dict)  # by data_key(kind, source)
    mount_users: dict[str, tuple[MountUser, ...]] = field(default_factory=dict)  # by data_key
    listed: dict[str, ListedContainer] = field(default_factory=dict)  # every container, by name

    def app_container(self, app: str) -> ObservedContainer | None:
        """The container holding the app's name (managed or not)."""
        return self.containers.get(app)

    def managed(self) -> list[ObservedContainer]:
        """Managed containers that were inspected (those of the apps asked about)."""
        return [c for c in self.containers.values() if c.managed]

    def managed_listed(self) -> list[ListedContainer]:
        """Every managed container on the engine, as the list call shows it."""
        return [c for c in self.listed.values() if c.managed]


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
            ports.append(PortBinding(int(port), proto or "tcp", "" if ip in ("0.0.0.0", "::") else ip, int(host_port) if host_port else None))
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
    # tmpfs mounts made through HostConfig.Mounts are not always listed in Mounts (engine 20.10).
    for spec in (data.get("HostConfig") or {}).get("Mounts") or ():
        if spec.get("Type") == "tmpfs" and spec["Target"] not in mounts:
            options = spec.get("TmpfsOptions") or {}
            size = options.get("SizeBytes")
            mounts[spec["Target"]] = ObservedMount(spec["Target"], "tmpfs", "", bool(spec.get("ReadOnly")), f"size={size}" if size else "")
    for target, options in ((data.get("HostConfig") or {}).get("Tmpfs") or {}).items():
        mounts.setdefault(target, ObservedMount(target, "tmpfs", "", "ro" in options.split(","), options))
    return tuple(sorted(mounts.values(), key=lambda m: m.target))


def _networks(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    networks = ((data.get("NetworkSettings") or {}).get("Networks")) or {}
    short_id = data.get("Id", "")[:12]
    result: dict[str, tuple[str, ...]] = {}
    for net, settings in networks.items():
        # The engine adds the short id as an alias by itself.
        aliases = [a for a in (settings or {}).get("Aliases") or () if a != short_id]
        result[net] = tuple(sorted(set(aliases)))
    return result


@dataclass(frozen=True)
class DataFacts:
    """What is at a data mount's source right now (looked at on the host)."""

    kind: str  # volume | bind
    source: str
    exists: bool
    identity: str = ""  # volume: its creation time; bind: the filesystem (device) it lives on
    entries: int | None = None  # top-level entries; None when the content cannot be seen

    @property
    def empty(self) -> bool:
        return self.exists and self.entries == 0


@dataclass(frozen=True)
class Fingerprint:
    """What a data mount looked like at the app's last healthy run (kept in the state store)."""

    app: str
    key: str
    kind: str
    source: str
    identity: str
    entries: int
    size: int
    held_data: bool
    recorded_at: float
    target: str = ""  # where the app mounted it (a key renamed in the spec still names this path)


def data_key(kind: str, source: str) -> str:
    return f"{kind}:{source}"
