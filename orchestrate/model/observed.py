"""What an engine shows, in our terms: containers, volumes, images' defaults, who mounts what.

Plain values. Each backend translates its own engine's documents into these (the Docker one in
`orchestrate.backends.docker.inspect`); nothing above the backends reads an engine's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrate import labels as L
from orchestrate.model.desired import Healthcheck, PortBinding
from orchestrate.model.facts import DatadirVersion, DataFacts

# What an engine waits between SIGTERM and SIGKILL when a container sets no stop timeout.
ENGINE_DEFAULT_STOP_S = 10


@dataclass(frozen=True)
class ObservedMount:
    target: str
    kind: str  # volume | bind | tmpfs
    source: str  # volume name or host path
    read_only: bool
    tmpfs_size: int | None = None  # bytes; None = the engine's default
    tmpfs_mode: int | None = None  # None = the engine's default (1777)


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

    @property
    def stop_grace_seconds(self) -> int:
        """How long a stop waits before killing: its own stop timeout, else the engine's default.
        (0 is a choice, not "unset": `stop_grace_period: 0s` must never become 10 s.)"""
        return self.stop_timeout if self.stop_timeout is not None else ENGINE_DEFAULT_STOP_S


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
class SwapParts:
    """An app's instances as an interrupted swap may have left them (each None when absent)."""

    current: ObservedContainer | None  # the one holding the app's place
    aside: ObservedContainer | None  # an old one that stepped aside
    new: ObservedContainer | None  # a new one not yet in the app's place


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
    datadirs: dict[str, DatadirVersion] = field(default_factory=dict)  # database apps' datadir versions, by app

    def app_container(self, app: str) -> ObservedContainer | None:
        """The container holding the app's name (managed or not)."""
        return self.containers.get(app)

    def managed(self) -> list[ObservedContainer]:
        """Managed containers that were inspected (those of the apps asked about)."""
        return [c for c in self.containers.values() if c.managed]

    def managed_listed(self) -> list[ListedContainer]:
        """Every managed container on the engine, as the list call shows it."""
        return [c for c in self.listed.values() if c.managed]
