"""destroy: remove an app's container; keep its data unless asked, and say what was kept.

Asking the operator before a purge is the caller's (`confirm`, which raises to refuse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrate import labels as L
from orchestrate.backends import Engine
from orchestrate.decide.compare import describe_mount
from orchestrate.decide.plan import managed_elsewhere
from orchestrate.errors import ApplyFailed, NotOurs, Refused
from orchestrate.model.observed import ObservedContainer
from orchestrate.state import RunLock, Store
from orchestrate.state.paths import identity


@dataclass(frozen=True)
class Teardown:
    """What `destroy` found for an app: its container and what holds its data."""

    app: str
    container: ObservedContainer | None
    volumes: list[str]  # named volumes created for this app (labelled)
    other_mounts: list[str]  # bind dirs and volumes not created for it: always kept


@dataclass(frozen=True)
class Destroyed:
    volumes: list[str]  # the app's own named volumes (removed when purged, else kept)
    kept: list[str]  # what is left in place: its volumes unless purged, and every other mount


def destroy(
    connect: Callable[[], Engine],
    app: str,
    state_dir: Path,
    *,
    purge: bool,
    confirm: Callable[[Teardown], None],
    say: Callable[[str], None],
) -> Destroyed:
    """Under the run lock: remove the app's container, and with `purge` its own named volumes
    (after `confirm`), forgetting their fingerprints: the data is gone on purpose."""
    with RunLock(state_dir):
        engine = connect()
        found = find_teardown(engine, app, state_dir=identity(state_dir))
        if purge and found.volumes:
            confirm(found)
        remove_app_container(engine, found)
        if found.container is not None:
            say(f"removed container {app}")
        if not purge:
            return Destroyed(found.volumes, found.volumes + found.other_mounts)
        for name in purge_volumes(engine, found):
            say(f"removed volume {name}")
        with Store.open(state_dir) as store:
            store.forget_fingerprints(app)  # so the guard does not miss the data
        return Destroyed(found.volumes, list(found.other_mounts))


def find_teardown(engine: Engine, app: str, *, state_dir: str) -> Teardown:
    snapshot = engine.snapshot(app_names=[app], image_refs=[])
    container = snapshot.containers.get(app)
    if container is not None and not container.managed:
        raise NotOurs(f"container {app!r} was not created by stateful; it is left alone")
    if elsewhere := managed_elsewhere(app, snapshot.listed, state_dir):
        raise ApplyFailed(elsewhere.message)
    owned = sorted(v.name for v in snapshot.volumes.values() if L.is_ours(v.labels) and v.labels.get(L.APP) == app)
    others = []
    if container is not None:
        others = [describe_mount(m.kind, m.source, m.read_only) for m in container.mounts if not (m.kind == "volume" and m.source in owned)]
    if container is None and not owned:
        raise Refused(f"no app named {app!r} is managed on {engine.endpoint}")
    return Teardown(app, container, owned, others)


def remove_app_container(engine: Engine, teardown: Teardown) -> None:
    if teardown.container is not None:
        stop_and_remove(engine, teardown.container)


def stop_and_remove(engine: Engine, container: ObservedContainer) -> None:
    """Stop (with its own grace) and remove a container; never its volumes."""
    if container.running:
        engine.stop(container.id, timeout=container.stop_grace_seconds)
    engine.remove_container(container.id)


def purge_volumes(engine: Engine, teardown: Teardown) -> list[str]:
    """Remove the app's own named volumes (never bind dirs); refuse those another container uses."""
    refused = []
    for name in teardown.volumes:
        users = engine.containers_using_volume(name)
        if users:
            refused.append(f"{name} (used by {', '.join(users)})")
            continue
        engine.remove_volume(name)
    if refused:
        raise ApplyFailed("kept volumes still in use: " + "; ".join(refused))
    return teardown.volumes
