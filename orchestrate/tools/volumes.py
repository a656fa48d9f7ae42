"""`stateful volumes`: the data places the state dir remembers, and removing a retired copy.

Only a copy a remap retired can be removed, by its name, under the run lock; a volume in use and
a host directory never are. Asking the operator is the caller's (`confirm`); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrate.backends import Engine
from orchestrate.errors import UsageError
from orchestrate.output.status import VolumeRow, volume_rows
from orchestrate.state import RunLock, Store


def listing(state_dir: Path) -> list[VolumeRow]:
    with Store.open(state_dir) as store:
        return volume_rows(store.fingerprints().values(), store.retired())


def remove_retired(connect: Callable[[], Engine], state_dir: Path, name: str, *, confirm: Callable[[str], None]) -> None:
    """Remove the retired volume `name`. `confirm` is shown what it is and raises to refuse."""
    with RunLock(state_dir), Store.open(state_dir) as store:
        retired = {(kind, source): (app, key) for app, key, kind, source, _ in store.retired()}
        if ("bind", name) in retired:
            raise UsageError(f"{name} is a retired host directory: stateful never deletes host directories; remove it yourself")
        if ("volume", name) not in retired:
            raise UsageError(f"{name} is not a retired copy (see `stateful volumes`); only retired copies can be removed")
        app, key = retired[("volume", name)]
        confirm(f"volume {name}: the old copy of {app}/{key}, retired by a remap")
        connect().remove_volume(name)
        store.forget_retired("volume", name)
