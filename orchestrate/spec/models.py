"""The v1 spec as pydantic models: the shape and the per-field rules of one app document.

Cross-document rules (duplicate names, references between apps) live in `decide/desire.py`; file
handling and line numbers live in `loader.py`. Nothing here touches the filesystem or Docker.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import shlex
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from ruamel.yaml.scalarint import OctalInt

from orchestrate.spec.paths import secret_target_refusal
from orchestrate.spec.ports import PORT_SPEC, check_port
from orchestrate.spec.units import format_duration, parse_duration, parse_size

# Used with fullmatch: `$` would let a trailing newline through.
APP_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# A secret's name is a file name under /run/secrets: no `/`, no `..`, nothing a shell or YAML bends.
SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
# One NFS mount option, `name` or `name=value`; commas separate them, so none may hide in a value.
NFS_OPTION = re.compile(r"[A-Za-z0-9_-]+(=[A-Za-z0-9_.:/+@-]+)?")
MAX_COMMAND_CHARS = 32 * 1024  # shlex is quadratic in a string's length; a longer command is a list
MAX_STOP_GRACE = 24 * 3600.0

def _scalar_to_str(value: object) -> object:
    """Env and label values: YAML gives ints, floats and bools; Docker wants strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _absolute_path(value: object) -> object:
    if isinstance(value, str) and not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path (starting with /)")
    if isinstance(value, str) and ".." in value.split("/"):
        raise ValueError(f"{value!r} must not climb with ..")
    return value


def _shell_words(value: object) -> object:
    """A command string must split into words the way desire.py will split it."""
    if isinstance(value, str):
        if len(value) > MAX_COMMAND_CHARS:
            raise ValueError(f"a command string is at most {MAX_COMMAND_CHARS // 1024} KiB; write a longer one as a list")
        try:
            shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split into words: {str(exc).lower()}") from None
    return value


EnvValue = Annotated[str, BeforeValidator(_scalar_to_str)]
AbsolutePath = Annotated[str, BeforeValidator(_absolute_path)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Command = Annotated[list[str] | str | None, AfterValidator(_shell_words)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Nfs(Strict):
    """An NFS share, mounted by the local volume driver as `addr=<server>,<options>` and `:<export>`."""

    server: str
    export: AbsolutePath
    options: str = ""

    @field_validator("server")
    @classmethod
    def _host_or_address(cls, value: str) -> str:
        if not (HOSTNAME.fullmatch(value) or _is_ip(value.removeprefix("[").removesuffix("]"))):
            raise ValueError(f"{value!r} is not a host name or an IP address")
        return value

    @field_validator("export")
    @classmethod
    def _plain_export(cls, value: str) -> str:
        if any(ch == "," or ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError(f"{value!r}: an export path has no commas, spaces or control characters")
        return value

    @field_validator("options")
    @classmethod
    def _plain_options(cls, value: str) -> str:
        for option in value.split(",") if value else []:
            if not NFS_OPTION.fullmatch(option):
                raise ValueError(f"{option!r} is not a mount option (name or name=value; letters, digits, _ . : / + @ -)")
            if option.partition("=")[0] == "addr":
                raise ValueError("addr= comes from server; it may not be set in options")
        return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _file_mode(value: object) -> object:
    # YAML 1.2 reads `0750` as the integer 750: whatever YAML made of it, the digits are octal.
    if value is None:
        return None
    # `0o750` is already octal: YAML made it the number 488, whose decimal digits mean nothing.
    text = format(value, "o") if isinstance(value, OctalInt) else str(value)
    if isinstance(value, bool) or not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise ValueError(f"{value!r} is not a file mode (write it in octal, e.g. \"0750\")")
    return int(text, 8)


class Tmpfs(Strict):
    size: Size | None = None
    mode: int | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _octal_mode(cls, value: object) -> object:
        return _file_mode(value)


class Volume(Strict):
    """One mount. Its key in `volumes:` is the data's identity; the source may change (a remap)."""

    target: AbsolutePath
    name: str | None = Field(default=None, pattern=VOLUME_NAME.pattern)
    bind: str | None = None
    nfs: Nfs | None = None
    tmpfs: Tmpfs | None = None
    driver: str | None = None
    driver_opts: dict[str, EnvValue] = Field(default_factory=dict)
    read_only: bool = False
    create: bool = True
    mode: int | None = None
    owner: str | None = Field(default=None, pattern=r"^[0-9]{1,10}(:[0-9]{1,10})?$")

    @field_validator("mode", mode="before")
    @classmethod
    def _octal_mode(cls, value: object) -> object:
        return _file_mode(value)

    @field_validator("bind")
    @classmethod
    def _bind_not_empty(cls, value: str | None) -> str | None:
        # An empty path (often an unset `${VAR}`) resolves to the spec's own folder: never the data meant.
        if value is not None and not value.strip():
            raise ValueError("bind is empty (an unset variable?); it would mount the spec's folder")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        sources = [s for s in ("bind", "nfs", "tmpfs") if getattr(self, s) is not None]
        if len(sources) > 1:
            raise ValueError(f"a volume has one source; got {' and '.join(sources)}")
        if self.name is not None and (self.bind is not None or self.tmpfs is not None):
            raise ValueError(f"name applies to volumes, not to a {'bind mount' if self.bind is not None else 'tmpfs'}")
        if (self.driver or self.driver_opts) and (self.bind or self.tmpfs or self.nfs):
            raise ValueError("driver and driver_opts apply to named volumes only")
        if (self.mode is not None or self.owner) and self.bind is None:
            raise ValueError("mode and owner apply to bind mounts only")
        return self


class Secret(Strict):
    file: str
    target: AbsolutePath | None = None

    @field_validator("target")
    @classmethod
    def _harmless_target(cls, value: str | None) -> str | None:
        refusal = secret_target_refusal(value) if value is not None else None
        if refusal:
            raise ValueError(refusal)
        return value


class Healthcheck(Strict):
    test: list[str] | str | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=2**31 - 1)
    start_period: Duration | None = None
    disable: bool = False

    @model_validator(mode="after")
    def _test_or_disable(self) -> Healthcheck:
        if self.disable and self.test:
            raise ValueError("a healthcheck is either disabled or has a test, not both")
        if isinstance(self.test, list) and self.test and self.test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise ValueError('test must start with "CMD", "CMD-SHELL" or "NONE", or be a string')
        return self


class Resources(Strict):
    memory: Size | None = None
    # The engine's smallest share is 0.01 CPU; less would round to 0, which means unlimited.
    cpus: float | None = Field(default=None, ge=0.01, le=1_000_000, allow_inf_nan=False)


class NetworkRef(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)


def _restart_policy(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"no|always|unless-stopped|on-failure(:[0-9]{1,9})?", value):
        raise ValueError(f"{value!r} is not a restart policy (no, always, unless-stopped, on-failure[:N])")
    return value


def _port_mapping(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("a port mapping is a string like \"127.0.0.1:3306:3306\"")
    check_port(str(value))
    return str(value)


RestartPolicy = Annotated[str, BeforeValidator(_restart_policy)]
PortMapping = Annotated[str, BeforeValidator(_port_mapping)]


class App(Strict):
    """One `kind: App` document."""

    api_version: Literal["stateful/v1"] = Field(alias="apiVersion")
    kind: Literal["App"]
    name: str = Field(max_length=63)
    image: str = Field(min_length=1)
    command: Command = None
    entrypoint: Command = None
    env: dict[str, EnvValue] = Field(default_factory=dict)
    env_file: list[str] = Field(default_factory=list)
    secrets: dict[str, Secret] = Field(default_factory=dict)
    ports: list[PortMapping] = Field(default_factory=list)
    volumes: dict[str, Volume] = Field(default_factory=dict)
    volumes_from: list[str] = Field(default_factory=list)
    shared_volumes: list[str] = Field(default_factory=list)
    network: str | NetworkRef | None = None  # the one-network short form of `networks`
    networks: list[str | NetworkRef] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    restart: RestartPolicy = "unless-stopped"
    healthcheck: Healthcheck | None = None
    stop_grace_period: Duration = 30.0
    resources: Resources = Field(default_factory=Resources)
    user: str | None = None
    labels: dict[str, EnvValue] = Field(default_factory=dict)
    host: str | None = None
    data_guard: bool = True
    database: str | None = None  # a kind of orchestrate.databases; checked where specs become desired apps
    allow_host_paths: list[AbsolutePath] = Field(default_factory=list)  # checked by the loader (spec/paths.py)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _app_name(cls, value: str) -> str:
        if not APP_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an app name (lower-case letters, digits, and _ . - after the first character)")
        if ".stateful-" in value:
            raise ValueError('names containing ".stateful-" are reserved for temporary containers')
        return value

    @field_validator("env")
    @classmethod
    def _env_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not ENV_KEY.fullmatch(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, Secret]) -> dict[str, Secret]:
        for name in value:
            if not SECRET_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a secret name (letters, digits, and _ . - after the first character; at most 64)")
        return value

    @field_validator("labels")
    @classmethod
    def _labels_not_ours(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith("io.stateful."):
                raise ValueError(f"label {key!r}: the io.stateful. prefix is reserved")
        return value

    @field_validator("host")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        # Whether the host exists is checked against hosts.yaml (spec/hosts.py), across documents.
        if value is not None and not APP_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a host name (lower-case letters, digits, and _ . - after the first character)")
        return value

    @field_validator("stop_grace_period")
    @classmethod
    def _bounded_grace(cls, value: float) -> float:
        if value > MAX_STOP_GRACE:
            raise ValueError(f"stop_grace_period is at most {format_duration(MAX_STOP_GRACE)}")
        return value

    @field_validator("ports")
    @classmethod
    def _distinct_host_ports(cls, value: list[str]) -> list[str]:
        taken: dict[tuple[str, str], list[str]] = {}
        for port in value:
            match = PORT_SPEC.match(port)
            if match and match.group("host"):
                ip = (match.group("ip") or "").strip("[]")
                key = (str(int(match.group("host"))), match.group("proto") or "tcp")
                if any(not ip or not other or ip == other for other in taken.get(key, [])):
                    raise ValueError(f"host port {key[0]}/{key[1]} is published twice")
                taken.setdefault(key, []).append(ip)
        return value

    @model_validator(mode="after")
    def _references(self) -> App:
        for key in self.shared_volumes:
            if key not in self.volumes:
                raise ValueError(f"shared_volumes: {key!r} is not a key of volumes")
        # `/data`, `/data/.` and `//data` are one place in the container.
        targets = [posixpath.normpath("/" + v.target.lstrip("/")) for v in self.volumes.values()]
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"two volumes mount onto {', '.join(duplicates)}")
        if self.network is not None and self.networks:
            raise ValueError("give network (one) or networks (a list), not both")
        names = [n if isinstance(n, str) else n.name for n in self.networks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"networks: {', '.join(twice)} listed twice")
        return self
