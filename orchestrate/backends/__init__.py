"""The engine boundary: the only part of stateful that talks to Docker.

`Engine` is the interface the rest of the code uses (and that unit tests fake); `connect()`
returns the Docker implementation, `connect_fleet()` the fleet of hosts (`local`, and the hosts a
hosts.yaml names: each an engine and the HostFiles of its host). Connecting is lazy: an engine
is only dialled on its first call, so a host that does not answer fails its own apps only.
The docker SDK is imported lazily, inside `docker_engine`, so
that `stateful --help` and spec validation start fast and work without a daemon.
"""

from __future__ import annotations

from orchestrate.backends.fleet import LOCAL, Fleet, Host
from orchestrate.backends.host_files import HostFiles
from orchestrate.backends.interface import Engine, EngineEvent, EventStream, Snapshot
from orchestrate.spec.hosts import Hosts, TlsFiles

__all__ = ["LOCAL", "Engine", "EngineEvent", "EventStream", "Fleet", "Host", "HostFiles", "Snapshot", "connect", "connect_fleet"]


def connect(endpoint: str | None = None, *, tls: TlsFiles | None = None) -> Engine:
    from orchestrate.backends.docker.engine import DockerEngine

    return DockerEngine(endpoint, tls=tls)


def connect_fleet(endpoint: str | None = None, hosts: Hosts | None = None) -> Fleet:
    """`local` (the engine at `endpoint`) and every named host, each with its host's files."""
    fleet = {LOCAL: _host(LOCAL, endpoint, None)}
    for name, spec in (hosts or {}).items():
        fleet[name] = _host(name, spec.engine, spec.tls)
    return Fleet(fleet)


def _host(name: str, endpoint: str | None, tls: TlsFiles | None) -> Host:
    """An engine and its host's files: read directly only through a unix socket."""
    from orchestrate.backends.docker.engine import DockerEngine
    from orchestrate.backends.docker.host_files import HelperHostFiles
    from orchestrate.backends.local_files import LocalHostFiles

    engine = connect(endpoint, tls=tls)
    # A unix socket is a path on this machine, so its engine's host is this machine; any other
    # endpoint (ssh://, tcp://) may be anywhere, and only a helper on it sees its files.
    assert isinstance(engine, DockerEngine)
    files: HostFiles = LocalHostFiles(engine) if engine.endpoint.startswith("unix://") else HelperHostFiles(engine)
    return Host(name, engine, files)
