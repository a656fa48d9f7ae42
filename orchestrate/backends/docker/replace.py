"""Docker's replace strategy: an app's instance is swapped by container names.

The new container is created as `<app>.stateful-new`; the old one steps aside by being renamed
`<app>.stateful-old`; taking the app's place is a rename to `<app>`. Those names are how a killed
swap is found again without a journal. This module only names and renames: it never starts,
stops or removes a container (the caller orders those, so that two never run at once).
"""

from __future__ import annotations

from typing import Protocol

from orchestrate import labels as L
from orchestrate.backends.interface import SwapParts
from orchestrate.model.desired import DesiredApp
from orchestrate.model.observed import ListedContainer, ObservedContainer


class Containers(Protocol):
    """The container calls the strategy is built on (DockerEngine; tests' fake engine)."""

    def create_container(self, app: DesiredApp, *, name: str, labels: dict[str, str]) -> str: ...

    def inspect_container(self, ref: str) -> ObservedContainer | None: ...

    def rename(self, container_id: str, name: str) -> None: ...


class RenameReplace:
    def __init__(self, containers: Containers) -> None:
        self.containers = containers

    def create_new(self, app: DesiredApp, *, labels: dict[str, str]) -> str:
        return self.containers.create_container(app, name=app.name + L.NEW_SUFFIX, labels=labels)

    def step_aside(self, app: str, instance_id: str) -> None:
        self.containers.rename(instance_id, app + L.OLD_SUFFIX)

    def take_place(self, app: str, instance_id: str) -> None:
        self.containers.rename(instance_id, app)

    def holds_place(self, app: str, instance: ObservedContainer) -> bool:
        return instance.name == app

    def find_new(self, app: str, *, old_id: str | None) -> ObservedContainer | None:
        candidate = self.containers.inspect_container(app + L.NEW_SUFFIX)
        if candidate is not None and candidate.managed and candidate.app == app and candidate.id != old_id:
            return candidate
        return None

    def mid_swap(self, listed: ListedContainer) -> bool:
        return listed.name in (listed.app + L.NEW_SUFFIX, listed.app + L.OLD_SUFFIX)

    def parts(self, app: str) -> SwapParts:
        current, aside, new = (self.containers.inspect_container(app + suffix) for suffix in ("", L.OLD_SUFFIX, L.NEW_SUFFIX))
        return SwapParts(current, aside, new)
