"""The hosts stateful manages: each host's engine and the files of that host.

A fleet always has the host `local` (the engine at `--engine`/DOCKER_HOST, which may itself be a
remote machine) and the hosts a hosts.yaml names, each with the HostFiles that look at THAT
machine's filesystem. A multi-host run works one host at a time through `only(host)`: a fleet
of that one host, so the single-host flows (observe, plan, execute) run unchanged per host. Flows take a Fleet
where they look at data (observe, execute, remember, backup) and ask it for the host an app
names, so a later multi-host run adds hosts here instead of threading engines through the flows.
The fleet wraps the engine rather than replacing it: code that only talks to the engine keeps
taking an Engine (`fleet.engine`).

This module chooses nothing and connects to nothing (backends.connect_fleet does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrate.backends.host_files import HostFiles
from orchestrate.backends.interface import Engine
from orchestrate.errors import UsageError
from orchestrate.model.desired import LOCAL_HOST as LOCAL


@dataclass(frozen=True)
class Host:
    name: str
    engine: Engine
    files: HostFiles


class Fleet:
    def __init__(self, hosts: Mapping[str, Host]) -> None:
        if not hosts:
            raise ValueError("a fleet has at least one host")
        self.hosts = dict(hosts)

    @classmethod
    def single(cls, engine: Engine, files: HostFiles) -> Fleet:
        """The fleet of today: one host, `local`."""
        return cls({LOCAL: Host(LOCAL, engine, files)})

    @property
    def engine(self) -> Engine:
        """The engine of a one-host fleet (`only`), else the local host's: the flows that talk to
        one engine are given the fleet of one host."""
        if len(self.hosts) == 1:
            return next(iter(self.hosts.values())).engine
        return self.host(LOCAL).engine

    def host(self, name: str) -> Host:
        if name not in self.hosts:
            raise UsageError(f"no host named {name!r}; known: {', '.join(sorted(self.hosts))}")
        return self.hosts[name]

    def engine_of(self, host: str) -> Engine:
        return self.host(host).engine

    def only(self, host: str) -> Fleet:
        """The fleet of one of these hosts: what a per-host run is given."""
        return Fleet({host: self.host(host)})

    def files(self, host: str = LOCAL) -> HostFiles:
        """The filesystem of the host an app runs on."""
        if len(self.hosts) == 1 and host == LOCAL:
            return next(iter(self.hosts.values())).files  # flows that name no host, in a one-host fleet
        return self.host(host).files
