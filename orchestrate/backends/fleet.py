"""The hosts stateful manages: each host's engine and the files of that host.

Today a fleet has one host, `local`: the engine at `--engine`/DOCKER_HOST (which may itself be a
remote machine) and the HostFiles that look at THAT machine's filesystem. Flows take a Fleet
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
        if LOCAL not in hosts:
            raise ValueError("a fleet always has the local host")
        self.hosts = dict(hosts)

    @classmethod
    def single(cls, engine: Engine, files: HostFiles) -> Fleet:
        """The fleet of today: one host, `local`."""
        return cls({LOCAL: Host(LOCAL, engine, files)})

    @property
    def engine(self) -> Engine:
        """The local host's engine (the one every flow talks to while there is one host)."""
        return self.hosts[LOCAL].engine

    def files(self, host: str = LOCAL) -> HostFiles:
        """The filesystem of the host an app runs on."""
        if host not in self.hosts:
            raise UsageError(f"no host named {host!r}; known: {', '.join(sorted(self.hosts))}")
        return self.hosts[host].files
