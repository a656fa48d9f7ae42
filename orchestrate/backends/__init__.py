"""The engine boundary: the only part of stateful that talks to Docker.

`Engine` is the interface the rest of the code uses (and that unit tests fake); `connect()`
returns the Docker implementation, `connect_fleet()` the fleet of hosts (today one: the engine
and the HostFiles of its host). The docker SDK is imported lazily, inside `docker_engine`, so
that `stateful --help` and spec validation start fast and work without a daemon.
"""

from __future__ import annotations

from orchestrate.backends.fleet import LOCAL, Fleet, Host
from orchestrate.backends.host_files import HostFiles
from orchestrate.backends.interface import Engine, EngineEvent, EventStream, Snapshot

__all__ = ["LOCAL", "Engine", "EngineEvent", "EventStream", "Fleet", "Host", "HostFiles", "Snapshot", "connect", "connect_fleet"]


def connect(endpoint: str | None = None) -> Engine:
    from orchestrate.backends.docker.engine import DockerEngine

    return DockerEngine(endpoint)


def connect_fleet(endpoint: str | None = None) -> Fleet:
    """The engine, and its host's files: read directly only through the local unix socket."""
    from orchestrate.backends.docker.engine import DockerEngine
    from orchestrate.backends.docker.host_files import HelperHostFiles
    from orchestrate.backends.local_files import LocalHostFiles

    engine = connect(endpoint)
    # A unix socket is a path on this machine, so its engine's host is this machine; any other
    # endpoint (ssh://, tcp://) may be anywhere, and only a helper on it sees its files.
    if engine.endpoint.startswith("unix://"):
        return Fleet.single(engine, LocalHostFiles(engine))
    assert isinstance(engine, DockerEngine)
    return Fleet.single(engine, HelperHostFiles(engine))
