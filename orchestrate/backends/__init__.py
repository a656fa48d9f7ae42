"""The engine boundary: the only part of stateful that talks to Docker.

`Engine` is the interface the rest of the code uses (and that unit tests fake); `connect()`
returns the Docker implementation. The docker SDK is imported lazily, inside `docker_engine`,
so that `stateful --help` and spec validation start fast and work without a daemon.
"""

from __future__ import annotations

from orchestrate.backends.interface import Engine, EngineEvent, EventStream, Snapshot

__all__ = ["Engine", "EngineEvent", "EventStream", "Snapshot", "connect"]


def connect(endpoint: str | None = None) -> Engine:
    from orchestrate.backends.docker.engine import DockerEngine

    return DockerEngine(endpoint)
