"""`stateful restore`: put a backup back onto an app's data places, then start the app from its spec.

Order matters and is kept here in one place: the backup is verified and every target checked
before anything is stopped; the data guard's memory of the app is forgotten only once the
archives are in place (restored on purpose: the next healthy run fingerprints it anew). Nothing
here prints: progress goes to `say` and `report`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrate.act.report import Options, Reporter
from orchestrate.backends import Engine, Fleet, HostFiles
from orchestrate.errors import UsageError
from orchestrate.model.desired import DesiredApp, Mount, VolumeSpec
from orchestrate.model.observed import ObservedVolume
from orchestrate.runs import converge
from orchestrate.state import RunLock, Store
from orchestrate.state.paths import identity
from orchestrate.tools import backup as backups


def restore(
    connect: Callable[[], Fleet],
    app: str,
    source: Path,
    state_dir: Path,
    *,
    force: bool,
    load: Callable[[list[str]], list[DesiredApp]],
    say: Callable[[str], None],
    report: Reporter,
) -> converge.RunResult | None:
    """Restore, then apply the app's spec (None when that spec is gone: the data is back, the
    app is not started)."""
    manifest = backups.verify_backup(source)
    if manifest["app"] != app:
        raise UsageError(f"{source} is a backup of {manifest['app']!r}, not {app!r}")
    with RunLock(state_dir):
        fleet = connect()
        engine, files = fleet.engine, fleet.files()
        backups.refuse_when_managed_elsewhere(engine, app, identity(state_dir))
        volumes = engine.snapshot(app_names=[], image_refs=[]).volumes
        backups.check_targets(manifest, force=force, entries=lambda place: _entries(files, app, place, volumes))
        _stop(engine, app, say)
        _create_missing_volumes(engine, app, manifest, volumes)
        backups.restore_archives(files, manifest, source, force=force, say=say)
        with Store.open(state_dir) as store:
            store.forget_fingerprints(app)
    spec_file = manifest.get("spec_file") or ""
    if not spec_file or not Path(spec_file).is_file():
        say(f"data restored; start the app with `stateful apply <its spec>` (the spec it was backed up from, {spec_file or 'unknown'}, is gone)")
        return None
    desired = [a for a in load([spec_file]) if a.name == app]
    return converge.apply(lambda: fleet, desired, state_dir=state_dir, options=Options(), report=report)


def _entries(files: HostFiles, app: str, place: backups.Place, volumes: dict[str, ObservedVolume]) -> int | None:
    """How many entries a restore target holds, looked at on the app's host."""
    mount = Mount(target="", kind=place.kind, source=place.source, owner_app=app, key=place.key)
    facts = files.data_facts([mount], volumes)
    return next(iter(facts.values())).entries if facts else None


def _stop(engine: Engine, app: str, say: Callable[[str], None]) -> None:
    container = engine.inspect_container(app)
    if container is not None and container.running:
        say(f"stop {app} to restore its data")
        engine.stop(container.id, timeout=container.stop_grace_seconds)


def _create_missing_volumes(engine: Engine, app: str, manifest: dict[str, Any], volumes: dict[str, ObservedVolume]) -> None:
    for archive in manifest["archives"]:
        if archive["kind"] == "volume" and archive["source"] not in volumes:
            engine.create_volume(VolumeSpec(archive["source"], app, archive["key"]))
