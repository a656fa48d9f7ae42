"""A fake of our engine boundary (orchestrate.backends.interface.Engine), never of the docker SDK.

It keeps containers in memory, records every call in one timeline, counts mutations, and checks
the overlap law on every start: starting a container while another container of the same app, or
one on the same writable volume, is running fails the test at once. Its replace strategy is the
Docker one (RenameReplace), run on the fake's containers: the recreate's renames are the real
strategy's, only the engine under them is fake. Its captures are whatever a test put there.

It is thread-safe (the executor applies apps side by side): every call holds one lock, so the
overlap check and the start it guards are one step. `start_delay` makes each start take that long
outside the lock, and `most_starting` records how many starts were in flight at once.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from orchestrate import labels as L
from orchestrate.backends import Fleet
from orchestrate.backends.docker.replace import RenameReplace
from orchestrate.backends.interface import Snapshot
from orchestrate.backends.local_files import LocalHostFiles
from orchestrate.errors import EngineError, NotFoundError, StatefulError, UsageError
from orchestrate.model.capture import Capture
from orchestrate.model.desired import DesiredApp, VolumeSpec
from orchestrate.model.observed import ImageDefaults, ListedContainer, ObservedContainer, ObservedVolume
from tests.unit.builders import container_for

Call = TypeVar("Call", bound=Callable[..., Any])


def _atomic(method: Call) -> Call:
    """The method runs under the engine's lock (re-entrant: RenameReplace calls back into it)."""

    @functools.wraps(method)
    def locked(self: FakeEngine, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class OverlapError(AssertionError):
    """Two containers of one app (or on one writable volume) would run at once."""


@dataclass
class FakeContainer:
    id: str
    name: str
    app: DesiredApp
    labels: dict[str, str]
    image: ImageDefaults
    status: str = "created"
    health: str = ""
    started: int = 0  # how many times it was started (its StartedAt)
    created_name: str = ""  # the name it was created with (a recreate renames it)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def writable_sources(self) -> set[tuple[str, str]]:
        return {(m.kind, m.source) for m in self.app.mounts if m.holds_data and not m.read_only}


@dataclass
class FakeEngine:
    images: dict[str, ImageDefaults] = field(default_factory=dict)
    endpoint: str = "fake://engine"
    mutations: int = 0
    timeline: list[str] = field(default_factory=list)  # every call, mutating or not, in order
    containers: dict[str, FakeContainer] = field(default_factory=dict)  # by id
    volumes: dict[str, ObservedVolume] = field(default_factory=dict)
    networks: set[str] = field(default_factory=lambda: {"bridge", "host", "none"})
    health_on_start: dict[str, str] = field(default_factory=dict)  # by the name given at create; default "healthy"
    pull_errors: list[StatefulError] = field(default_factory=list)  # raised by the next pulls, in order
    pulled_images: dict[str, ImageDefaults] = field(default_factory=dict)  # what a pull of a reference brings
    logs: str = ""
    most_running: dict[str, int] = field(default_factory=dict)  # per app: the most containers running at once
    captures: dict[str, Capture] = field(default_factory=dict)  # what capture() answers, by container name
    start_delay: float = 0.0  # seconds each start takes, outside the lock
    most_starting: int = 0  # the most starts in flight at once
    exec_results: list[int] = field(default_factory=list)  # exit codes of the next execs, in order (then 1)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _created: int = 0
    _starting: int = 0

    def __post_init__(self) -> None:
        self.replace = RenameReplace(self)

    # --- test set-up ------------------------------------------------------------------------

    @_atomic
    def add_container(self, app: DesiredApp, *, container_id: str, running: bool = True, health: str = "healthy") -> FakeContainer:
        """A container as an earlier apply left it."""
        image = self.images[app.image]
        labels = L.container_labels(app=app.name, spec_hash=app.spec_hash, spec_file=app.spec_file, generation=1)
        status = "running" if running else "exited"
        container = FakeContainer(container_id, app.name, app, labels, image, status, health if running else "", 1, app.name)
        self.containers[container_id] = container
        return container

    @_atomic
    def by_name(self, name: str) -> FakeContainer | None:
        return next((c for c in self.containers.values() if c.name == name), None)

    @_atomic
    def mutating_calls(self) -> list[str]:
        return [entry for entry in self.timeline if not entry.startswith(("inspect", "exec"))]

    # --- observation -------------------------------------------------------------------------

    def version(self) -> str:
        return "fake"

    @_atomic
    def snapshot(self, *, app_names: Iterable[str], image_refs: Iterable[str]) -> Snapshot:
        self.timeline.append("inspect snapshot")
        observed = [self._observed(c) for c in self.containers.values()]
        # Like the Docker engine: the images asked for, and those the containers run, by id.
        images = {ref: img for ref in image_refs if (img := self.images.get(ref))}
        images.update({c.image.id: c.image for c in self.containers.values()})
        listed = {c.name: ListedContainer(c.id, c.name, c.labels, c.status) for c in observed}
        return Snapshot(
            containers={c.name: c for c in observed}, volumes=dict(self.volumes), networks=frozenset(self.networks), images=images, listed=listed
        )

    @_atomic
    def observed(self, name: str) -> ObservedContainer:
        container = self.by_name(name)
        assert container is not None, name
        return self._observed(container)

    @_atomic
    def inspect_container(self, ref: str) -> ObservedContainer | None:
        self.timeline.append(f"inspect {ref}")
        container = self.containers.get(ref) or self.by_name(ref)
        return None if container is None else self._observed(container)

    @_atomic
    def inspect_image(self, ref: str) -> ImageDefaults | None:
        return self.images.get(ref)

    @_atomic
    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        return self.logs

    @_atomic
    def containers_using_volume(self, name: str) -> list[str]:
        return sorted(c.name for c in self.containers.values() if ("volume", name) in {(m.kind, m.source) for m in c.app.mounts})

    @_atomic
    def capture(self, names: list[str]) -> list[Capture]:
        self.timeline.append(f"inspect capture {' '.join(names)}")
        missing = [n for n in names if n not in self.captures]
        if missing:
            raise UsageError(f"no container named {missing[0]!r} on {self.endpoint}")
        # Copies: the caller marks shared volumes in the specs it is given.
        return [replace(self.captures[n], spec=dict(self.captures[n].spec), report=list(self.captures[n].report)) for n in names]

    def _observed(self, container: FakeContainer) -> ObservedContainer:
        return container_for(
            container.app,
            container.image,
            status=container.status,
            health=container.health,
            container_id=container.id,
            name=container.name,
            labels={**container.image.labels, **container.app.labels, **container.labels},
            started_at=f"start-{container.started}",
        )

    # --- mutations ---------------------------------------------------------------------------

    @_atomic
    def _mutate(self, entry: str) -> None:
        self.mutations += 1
        self.timeline.append(entry)

    @_atomic
    def pull(self, ref: str) -> ImageDefaults:
        self._mutate(f"pull {ref}")
        if self.pull_errors:
            raise self.pull_errors.pop(0)
        self.images[ref] = self.pulled_images.get(ref) or ImageDefaults(id=f"sha256:pulled-{ref}")
        return self.images[ref]

    @_atomic
    def create_volume(self, volume: VolumeSpec) -> None:
        self._mutate(f"create volume {volume.name}")
        labels = L.volume_labels(app=volume.app, key=volume.key)
        self.volumes[volume.name] = ObservedVolume(volume.name, volume.driver, dict(volume.driver_opts), labels)

    @_atomic
    def remove_volume(self, name: str) -> None:
        self._mutate(f"remove volume {name}")
        del self.volumes[name]

    @_atomic
    def create_network(self, name: str) -> None:
        self._mutate(f"create network {name}")
        self.networks.add(name)

    @_atomic
    def create_container(self, app: DesiredApp, *, name: str, labels: dict[str, str]) -> str:
        self._mutate(f"create {name}")
        if self.by_name(name) is not None:
            raise EngineError(f'create container {name}: Conflict. The container name "/{name}" is already in use')
        self._created += 1
        container_id = f"new-{self._created}"
        self.containers[container_id] = FakeContainer(container_id, name, app, dict(labels), self.images[app.image], created_name=name)
        return container_id

    def start(self, container_id: str) -> None:
        if self.start_delay:
            with self.lock:
                self._starting += 1
                self.most_starting = max(self.most_starting, self._starting)
            time.sleep(self.start_delay)
            with self.lock:
                self._starting -= 1
        self._start(container_id)

    def exec_capture(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        with self.lock:
            self.timeline.append(f"exec {container_id} {' '.join(command)}")
            return (self.exec_results.pop(0) if self.exec_results else 1), b""

    @_atomic
    def _start(self, container_id: str) -> None:
        self._mutate(f"start {container_id}")
        container = self._get(container_id)
        if container.running:
            return
        app = container.labels.get(L.APP, "")
        for other in self.containers.values():
            if other is container or not other.running:
                continue
            if other.labels.get(L.APP) == app or other.writable_sources() & container.writable_sources():
                raise OverlapError(f"start {container.name} ({container_id}) while {other.name} ({other.id}) runs")
        container.status = "running"
        container.health = self.health_on_start.get(container.created_name, "healthy")
        container.started += 1
        running = sum(1 for c in self.containers.values() if c.running and c.labels.get(L.APP) == app)
        self.most_running[app] = max(self.most_running.get(app, 0), running)

    @_atomic
    def stop(self, container_id: str, *, timeout: int) -> None:
        self._mutate(f"stop {container_id} (grace {timeout}s)")
        container = self._get(container_id)
        container.status, container.health = "exited", ""

    @_atomic
    def rename(self, container_id: str, name: str) -> None:
        self._mutate(f"rename {container_id} {name}")
        if self.by_name(name) is not None:
            raise EngineError(f'rename {container_id} to {name}: Conflict. The container name "/{name}" is already in use')
        self._get(container_id).name = name

    @_atomic
    def remove_container(self, container_id: str) -> None:
        self._mutate(f"remove {container_id}")
        self._get(container_id)
        del self.containers[container_id]

    @_atomic
    def update_restart(self, container_id: str, *, policy: str, retries: int) -> None:
        self._mutate(f"update {container_id} restart={policy}:{retries}")
        self._get(container_id)

    def _get(self, container_id: str) -> FakeContainer:
        container = self.containers.get(container_id)
        if container is None:
            raise NotFoundError(f"no such container: {container_id}")
        return container


def fleet_of(engine: FakeEngine) -> Fleet:
    """A fleet of one host on the fake engine. Its host files are the local ones, which read what
    the fake's volumes name (nothing, for most tests): the data facts a test wants to control
    come from tests/unit/fake_host_files.py instead."""
    return Fleet.single(engine, LocalHostFiles(engine))  # type: ignore[arg-type]
