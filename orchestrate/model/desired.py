"""The desired state of an app, as every layer reads it: frozen values with every default and
path resolved (built from specs by `orchestrate.decide.desire`). Plain values; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrate.spec.files import LOCAL_HOST  # the host of an app whose spec names none

DEFAULT_NETWORK = "bridge"
# Networks every engine has; they are used, never created.
BUILTIN_NETWORKS = frozenset({"bridge", "host", "none"})
SECRETS_DIR = "/run/secrets"
# Host addresses that mean "every address": a port bound to either is bound to all (written "").
EVERY_ADDRESS = frozenset({"0.0.0.0", "::"})


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str
    host_ip: str  # "" = every address
    host_port: int | None  # None = engine chooses

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"

    def on_every_address(self) -> PortBinding:
        """The same binding with "every address" written one way (""), as engines report it."""
        return PortBinding(self.container_port, self.protocol, "", self.host_port) if self.host_ip in EVERY_ADDRESS else self

    def __str__(self) -> str:
        host = f"{self.host_ip}:" if self.host_ip else ""
        host += f"{self.host_port}:" if self.host_port else (":" if self.host_ip else "")
        return f"{host}{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class Mount:
    """One mount of a container, with its data identity (`app/key`) when it holds data."""

    target: str
    kind: str  # "volume" | "bind" | "tmpfs"
    source: str  # volume name, absolute host path, or "" for tmpfs
    read_only: bool = False
    owner_app: str = ""  # the app whose volume key this is ("" for secrets)
    key: str = ""
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None

    @property
    def holds_data(self) -> bool:
        return self.kind != "tmpfs" and bool(self.key)


@dataclass(frozen=True)
class VolumeSpec:
    """A named volume to create when missing."""

    name: str
    app: str
    key: str
    driver: str = "local"
    driver_opts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BindDir:
    """A host directory to create when missing (`create: true`)."""

    path: str
    app: str
    key: str
    create: bool
    mode: int | None
    owner: str | None


@dataclass(frozen=True)
class Healthcheck:
    """As the engine stores it: test list and nanoseconds; None fields mean engine defaults."""

    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    retries: int = 0
    start_period_ns: int = 0


@dataclass(frozen=True)
class DesiredApp:
    name: str
    image: str
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    env: dict[str, str]
    ports: tuple[PortBinding, ...]
    mounts: tuple[Mount, ...]
    volumes: tuple[VolumeSpec, ...]
    bind_dirs: tuple[BindDir, ...]
    network: str  # the first network, and its aliases
    aliases: tuple[str, ...]
    restart: str
    restart_retries: int
    healthcheck: Healthcheck | None  # None = the image's own
    stop_grace_seconds: int
    memory: int
    nano_cpus: int
    user: str | None
    labels: dict[str, str]
    depends_on: tuple[str, ...]
    shared_keys: tuple[str, ...]
    data_guard: bool
    spec_file: str
    secret_env_keys: tuple[str, ...] = ()
    secrets_hash: str = ""  # digest of the secret files' contents; "" when there are none
    database: str = ""  # the spec's `database:` kind; "" = recognised from the image
    inputs: tuple[str, ...] = field(default=(), compare=False)  # files read besides the spec (env files, secrets)
    spec_hash: str = field(default="", compare=False)
    # Networks after the first, in the spec's order, each with its aliases. Kept apart from the
    # first so that the hash of every one-network app stays what it was.
    more_networks: tuple[tuple[str, tuple[str, ...]], ...] = ()
    host: str = LOCAL_HOST  # the fleet host whose engine runs it and whose files hold its data
    # Env values that are not literal in the spec, and where they come from: the spec's template
    # (it holds a `$`) or "" for an env file. A cache re-derives these values instead of keeping them.
    env_sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def networks(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every network the app joins, in order, with its aliases: the first one is `network`."""
        return ((self.network, self.aliases), *self.more_networks)


def normalise_driver(driver: str | None) -> str:
    """`local`, `local:latest` and unset are one driver (plugins report `name:latest`)."""
    return (driver or "local").removesuffix(":latest")


def normalise_image(ref: str) -> str:
    """`mariadb` -> `mariadb:latest`; the default registry's prefixes are dropped."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE")


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)
