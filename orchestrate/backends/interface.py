"""What the rest of stateful may ask of an engine. Implementations: DockerEngine; tests' fakes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrate.model.desired import DesiredApp, Mount, VolumeSpec
from orchestrate.model.observed import ImageDefaults, ListedContainer, MountUser, ObservedContainer, ObservedVolume


@dataclass(frozen=True)
class Snapshot:
    """What one observation of the engine found (host directories are looked at elsewhere)."""

    containers: dict[str, ObservedContainer]
    volumes: dict[str, ObservedVolume]
    networks: frozenset[str]
    images: dict[str, ImageDefaults]
    mount_users: dict[str, tuple[MountUser, ...]] = field(default_factory=dict)
    listed: dict[str, ListedContainer] = field(default_factory=dict)  # every container, from one list call


@dataclass(frozen=True)
class EngineEvent:
    kind: str  # container | volume | network | image
    action: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)


class EventStream(Protocol):
    """A live stream of engine events; iterating blocks; close() ends it from another thread."""

    def __iter__(self) -> Iterator[EngineEvent]: ...

    def close(self) -> None: ...


class Engine(Protocol):
    endpoint: str
    mutations: int  # mutating calls made through this engine (a no-op apply makes none)

    def snapshot(self, *, app_names: Iterable[str], image_refs: Iterable[str]) -> Snapshot:
        """List everything once; inspect only the containers of `app_names` (and their temporary ones)."""
        ...

    def inspect_container(self, ref: str) -> ObservedContainer | None: ...

    def inspect_image(self, ref: str) -> ImageDefaults | None: ...

    def raw_inspect(self, kind: str, ref: str) -> dict[str, Any] | None:
        """The engine's own inspect document of a container or image (for capture); None if absent."""
        ...

    def pull(self, ref: str) -> ImageDefaults: ...

    def create_volume(self, volume: VolumeSpec) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def create_network(self, name: str) -> None: ...

    def create_container(self, app: DesiredApp, *, name: str, labels: dict[str, str]) -> str: ...

    def start(self, container_id: str) -> None: ...

    def stop(self, container_id: str, *, timeout: int) -> None: ...

    def rename(self, container_id: str, name: str) -> None: ...

    def remove_container(self, container_id: str) -> None: ...

    def update_restart(self, container_id: str, *, policy: str, retries: int) -> None: ...

    def logs_tail(self, container_id: str, lines: int = 20) -> str: ...

    def exec_capture(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        """Run a command in a running container; its exit code and stdout."""
        ...

    def run_helper(self, image: str, command: list[str], mounts: list[Mount], *, name: str) -> tuple[int, str]:
        """Run a short-lived container to completion (copies, checksums); its exit code and output."""
        ...

    def containers_using_volume(self, name: str) -> list[str]: ...

    def events(self, *, since: float, until: float) -> Iterator[EngineEvent]: ...

    def stream_events(self, *, label: str, actions: Iterable[str]) -> EventStream: ...
