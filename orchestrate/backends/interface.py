"""What the rest of stateful may ask of an engine, in our terms. Implementations: DockerEngine; tests' fakes.

Nothing here is an engine's own document or mechanism: observations are our values (model/),
changes are primitive operations on an app's instances, and swapping an app's instance goes
through the backend's ReplaceStrategy (Docker does it with renames, another backend may not).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from orchestrate.model.capture import Capture
from orchestrate.model.desired import DesiredApp, Mount, VolumeSpec
from orchestrate.model.observed import ImageDefaults, ListedContainer, MountUser, ObservedContainer, ObservedVolume, SwapParts


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


class ReplaceStrategy(Protocol):
    """How a backend swaps an app's instance for a new one, in steps that can be journaled, undone
    and finished after a kill. The caller stops and starts instances itself (never two running):
    a swap is create_new, stop the old, step_aside(old), take_place(new), start the new; a finish
    or rollback gives the place with take_place to whichever instance keeps it."""

    def create_new(self, app: DesiredApp, *, labels: dict[str, str]) -> str:
        """The new instance, created beside the app's current one and not started; its id."""
        ...

    def step_aside(self, app: str, instance_id: str) -> None:
        """A stopped instance gives up the app's place (it stays, to be removed or taken back)."""
        ...

    def take_place(self, app: str, instance_id: str) -> None:
        """The instance becomes the app's (the new one on a swap, the old one on a rollback)."""
        ...

    def holds_place(self, app: str, instance: ObservedContainer) -> bool: ...

    def find_new(self, app: str, *, old_id: str | None) -> ObservedContainer | None:
        """A new instance a swap created but did not record (killed in between)."""
        ...

    def mid_swap(self, listed: ListedContainer) -> bool:
        """Is this instance one that a swap left aside or not yet in place?"""
        ...

    def parts(self, app: str) -> SwapParts:
        """The app's instances, for resolving a swap that left no journal."""
        ...


class Engine(Protocol):
    endpoint: str
    # Mutating calls made through this engine, reported in a run's JSON (a no-op apply makes
    # none). Reported only: runs decide from the executor's outcomes, never from this count.
    mutations: int

    @property
    def replace(self) -> ReplaceStrategy:
        """How this backend swaps an app's instance (the recreate's and the recovery's steps)."""
        ...

    def version(self) -> str:
        """The engine's version: asking it is also how `stateful hosts` sees that it answers."""
        ...

    def snapshot(self, *, app_names: Iterable[str], image_refs: Iterable[str]) -> Snapshot:
        """List everything once; inspect only the containers of `app_names` (and their temporary ones)."""
        ...

    def inspect_container(self, ref: str) -> ObservedContainer | None: ...

    def inspect_image(self, ref: str) -> ImageDefaults | None: ...

    def capture(self, names: list[str]) -> list[Capture]:
        """Containers started by hand, as specs (volumes_from sources first); UsageError if one is absent."""
        ...

    def pull(self, ref: str) -> ImageDefaults: ...

    def create_volume(self, volume: VolumeSpec) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def create_network(self, name: str) -> None: ...

    def create_container(self, app: DesiredApp, *, name: str, labels: dict[str, str]) -> str: ...

    def start(self, container_id: str) -> None: ...

    def stop(self, container_id: str, *, timeout: int) -> None: ...

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

    def stream_events(self, *, label: str, actions: Iterable[str]) -> EventStream: ...
