"""`hosts.yaml` (kind: Hosts): the Docker hosts a spec set names, and the check that every app's
`host:` is one of them.

A spec directory may hold one hosts file; without one there is only the host `local` (the engine
of --engine / DOCKER_HOST). TLS file paths are relative to the hosts file. Problems are reported
as file:line:col like any spec problem. Nothing here connects to an engine or reads a TLS file:
the paths are only resolved (backends open them when they connect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from orchestrate.errors import SpecError, SpecProblem
from orchestrate.spec.files import HOSTS_FILES, LOCAL_HOST, spec_files
from orchestrate.spec.locate import Locator

HOST_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
SCHEMES = ("unix://", "tcp://", "ssh://")
KIND = "Hosts"


class _Tls(BaseModel):
    ca: str
    cert: str
    key: str

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Host(BaseModel):
    engine: str
    tls: _Tls | None = None

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("engine")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(SCHEMES) or value in SCHEMES:
            raise ValueError(f"{value!r}: an engine is unix:///path, tcp://host:port or ssh://user@host[:port]")
        return value


class _HostsFile(BaseModel):
    apiVersion: Literal["stateful/v1"]
    kind: Literal["Hosts"]
    hosts: dict[str, _Host]

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("hosts")
    @classmethod
    def _names(cls, value: dict[str, _Host]) -> dict[str, _Host]:
        for name, host in value.items():
            if not HOST_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a host name (lower-case letters, digits, and _ . - after the first character)")
            if host.tls and not host.engine.startswith("tcp://"):
                raise ValueError(f"host {name}: tls is for tcp:// engines only")
        return value


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class HostSpec:
    """One Docker host: its name, its engine URL, and the TLS files for a tcp:// engine."""

    name: str
    engine: str
    tls: TlsFiles | None = None


Hosts = Mapping[str, HostSpec]


def hosts_file_in(paths: Iterable[str | Path]) -> Path | None:
    """The hosts file of a spec set: hosts.yaml (or .yml) among the files the paths mean."""
    files, _ = spec_files(paths)
    found = [f for f in files if f.name in HOSTS_FILES]
    return found[0] if found else None


def load_hosts(path: Path) -> dict[str, HostSpec]:
    """The hosts a hosts file names; SpecError (file:line:col) when it is not a valid Hosts document."""
    from orchestrate.spec.loader import read_documents

    display = str(path)
    try:
        documents = [d for d in read_documents(path) if d is not None]
    except (MarkedYAMLError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise SpecError([SpecProblem(display, 0, 0, "", f"cannot read the hosts file: {' '.join(str(exc).split())}")]) from None
    if len(documents) != 1 or not isinstance(documents[0], CommentedMap):
        raise SpecError([SpecProblem(display, 0, 0, "", "a hosts file holds one mapping (apiVersion, kind: Hosts, hosts)")])
    locator = Locator(display, documents[0])
    try:
        parsed = _HostsFile.model_validate(documents[0])
    except ValidationError as exc:
        raise SpecError([_problem(locator, error) for error in exc.errors()]) from None
    return {name: _host_spec(name, host, path.resolve().parent) for name, host in parsed.hosts.items()}


def check_apps_hosts(hosts: Hosts, apps: Iterable[tuple[str, str, Locator | None]]) -> None:
    """Every app (name, host, where its spec is) names a known host; `local` is always known."""
    problems = []
    for name, host, locator in apps:
        if host != LOCAL_HOST and host not in hosts:
            known = ", ".join(sorted({LOCAL_HOST, *hosts}))
            message = f"app {name}: no host named {host!r} (known: {known}; hosts are named in hosts.yaml)"
            problems.append(locator.problem(["host"], message) if locator else SpecProblem("", 0, 0, "host", message))
    if problems:
        raise SpecError(problems)


def _host_spec(name: str, host: _Host, base: Path) -> HostSpec:
    tls = None
    if host.tls:
        tls = TlsFiles(*(base / p for p in (host.tls.ca, host.tls.cert, host.tls.key)))
    return HostSpec(name, host.engine, tls)


def _problem(locator: Locator, error: object) -> SpecProblem:
    assert isinstance(error, dict)
    unknown = error["type"] == "extra_forbidden"
    message = "unknown key" if unknown else str(error["msg"]).removeprefix("Value error, ")
    if message == "Field required":
        message = "required field is missing"
    return locator.problem(list(error["loc"]), message, at_key=unknown)
