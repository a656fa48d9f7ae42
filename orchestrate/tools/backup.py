"""Backups of an app's data, and putting them back.

A backup is a directory: one tar per data volume (GNU tar: owners, modes, times, links, sparse
files, xattrs) and a manifest with every archive's SHA-256. The default mode stops the app, copies
and starts it again (health-gated), so the archive is consistent for any image; `--hot` uses the
way of the app's database kind (orchestrate.databases: a dump, or a server-side save and then the
files), and the app keeps running. Restore refuses to write over data unless forced.

The data lives on the engine's host, which need not be this machine: archives travel through the
host's HostFiles into the backup directory here (and back), and only those local files are read
here (sizes, checksums). No data place is ever read through a path on this machine.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate import databases
from orchestrate import labels as L
from orchestrate.act.health import HealthGate, wait_healthy
from orchestrate.act.report import Options
from orchestrate.backends import Engine, Fleet, HostFiles
from orchestrate.databases import DatabaseKind, Dump, SaveThenCopy
from orchestrate.decide.plan import managed_elsewhere
from orchestrate.errors import ApplyFailed, Refused, SpecError, UsageError
from orchestrate.model.observed import ImageDefaults, ObservedContainer
from orchestrate.runs.pipeline import load
from orchestrate.state import RunLock
from orchestrate.state.paths import identity

MANIFEST = "manifest.json"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Place:
    key: str
    kind: str  # volume | bind
    source: str


def data_places(container: ObservedContainer) -> list[Place]:
    """The app's data: every volume or bind it mounts writable, named by its spec key where known."""
    places = []
    for mount in container.mounts:
        if mount.kind in ("volume", "bind") and not mount.read_only:
            places.append(Place(_key_of(mount.target), mount.kind, mount.source))
    return places


def _key_of(target: str) -> str:
    return target.strip("/").replace("/", "_") or "root"


def refuse_when_managed_elsewhere(engine: Engine, app: str, state_dir: str, *, hint: str = "") -> None:
    """A backup or restore that stops the app must not race a recreate run from its own state dir."""
    if elsewhere := managed_elsewhere(app, engine.snapshot(app_names=[app], image_refs=[]).listed, state_dir):
        raise ApplyFailed(elsewhere.message + hint)


def backup_app(connect: Callable[[], Fleet], app: str, state_dir: Path, *, to: Path | None, hot: bool, say: Say) -> Path:
    """`stateful backup`: under the run lock, back up APP (default: <state dir>/backups/APP/<time>);
    a stopped-for-the-copy app is started again and waited for (health-gated)."""
    with RunLock(state_dir):
        fleet = connect()
        engine = fleet.engine
        container = engine.inspect_container(app)
        if container is None or not container.managed:
            raise Refused(f"no managed app named {app!r} on {engine.endpoint}")
        if not hot:
            refuse_when_managed_elsewhere(engine, app, identity(state_dir), hint="; or back it up with --hot, which does not stop it")
        target = to or state_dir / "backups" / app / time.strftime("%Y%m%dT%H%M%S")
        return backup(engine, fleet.files(), container, target, hot=hot, say=say, restart=lambda: _restart(engine, container, say))


def _restart(engine: Engine, container: ObservedContainer, say: Say) -> None:
    engine.start(container.id)
    found = engine.inspect_container(container.id)
    assert found is not None
    verdict = wait_healthy(engine, container.id, HealthGate.for_container(found, timeout=None, settle=Options().settle_seconds))
    say(f"started {container.app or container.name} again: {'healthy' if verdict.ok else verdict.reason}")


def backup(
    engine: Engine, files: HostFiles, container: ObservedContainer, to: Path, *, hot: bool, say: Say, restart: Callable[[], None]
) -> Path:
    to.mkdir(parents=True, exist_ok=True, mode=0o700)
    places = data_places(container)
    if not places:
        raise Refused(f"{container.name} mounts no data volume: nothing to back up")
    manifest: dict[str, Any] = {
        "app": container.app or container.name,
        "created": time.time(),
        "image": container.image,
        "spec_file": container.labels.get(L.SPEC_FILE, ""),
        "archives": [],
    }
    if hot:
        manifest["mode"] = _hot(engine, files, container, database_of(container), to, places, manifest, say)
    else:
        manifest["mode"] = "stop-copy-start"
        was_running = container.running
        if was_running:
            say(f"stop {container.name} (grace {container.stop_grace_seconds}s) for a consistent copy")
            engine.stop(container.id, timeout=container.stop_grace_seconds)
        try:
            for place in places:
                manifest["archives"].append(_archive(files, place, to, say, app=manifest["app"]))
        finally:
            if was_running:
                restart()
    (to / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return to


def _archive(files: HostFiles, place: Place, to: Path, say: Say, *, app: str) -> dict[str, Any]:
    archive = f"{place.key}.tar"
    started = time.monotonic()
    with _progress(to / archive, say):
        files.archive_to(place.kind, place.source, to / archive, name=f"{app}{L.RESERVED_INFIX}backup-{place.key}")
    size = (to / archive).stat().st_size
    say(f"{place.key}: {place.kind} {place.source} -> {archive} ({size / 1048576:.1f} MiB in {time.monotonic() - started:.1f}s)")
    return {"key": place.key, "kind": place.kind, "source": place.source, "file": archive, "bytes": size, "sha256": _sha256(to / archive)}


@contextmanager
def _progress(path: Path, say: Say, every: float = 5.0) -> Iterator[None]:
    """For long copies: how much is written, every few seconds, while the helper works."""
    done = threading.Event()
    started = time.monotonic()

    def report() -> None:
        while not done.wait(every):
            size = path.stat().st_size if path.exists() else 0
            say(f"  … {path.name}: {size / 1048576:.0f} MiB written ({size / 1048576 / (time.monotonic() - started):.0f} MiB/s)")

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def database_of(container: ObservedContainer) -> DatabaseKind:
    """The app's database kind: its spec's `database:` when the spec it was applied from still
    loads, else what its image says. A backup must not depend on a spec that broke since: then
    the image alone tells."""
    spec_file = container.labels.get(L.SPEC_FILE, "")
    chosen = ""
    if spec_file and Path(spec_file).is_file():
        with suppress(SpecError):
            chosen = next((a.database for a in load([spec_file]) if a.name == container.app), "")
    # The container's own ENV and command hold the image's, so its image need not be looked up.
    return databases.resolve(chosen, ImageDefaults(id=container.image_id, env=container.env, cmd=container.cmd, entrypoint=container.entrypoint))


def _hot(
    engine: Engine,
    files: HostFiles,
    container: ObservedContainer,
    database: DatabaseKind,
    to: Path,
    places: list[Place],
    manifest: dict[str, Any],
    say: Say,
) -> str:
    way = database.hot_backup
    if way is None:
        raise Refused(f"no hot backup for {container.name} (database kind: {database.name}); use the default (stop, copy, start)")
    manifest["database"] = database.name
    if isinstance(way, Dump):
        output = _complete_dump(engine, container, way)
        (to / way.file).write_bytes(output)
        manifest["archives"].append({"key": "dump", "kind": "sql", "source": way.tool, "file": way.file, "bytes": len(output),
                                     "sha256": _sha256(to / way.file)})  # fmt: skip
        say(f"{way.summary} -> {way.file} ({len(output) / 1048576:.1f} MiB); {container.name} kept running")
        return f"hot: {way.tool}"
    _save(engine, container, way)
    for place in places:
        manifest["archives"].append(_archive(files, place, to, say, app=manifest["app"]))
    return f"hot: {way.name}"


# The engine can lose the output of an exec whose process ends quickly (engine 20.10 logs "stream
# copy error: reading from a closed fifo"; the exec still reports exit 0). A dump is therefore
# taken only when it ends with the tool's completion line, and read-only commands are asked again.
EXEC_TRIES = 3


def _complete_dump(engine: Engine, container: ObservedContainer, dump: Dump) -> bytes:
    for _ in range(EXEC_TRIES):
        code, output = engine.exec_capture(container.id, list(dump.argv))
        if code != 0:
            raise ApplyFailed(f"hot backup of {container.name}: {dump.tool} failed (exit {code}): {output[-400:].decode('utf-8', 'replace')}")
        if dump.complete(output):
            return output
    raise ApplyFailed(f"hot backup of {container.name}: {dump.tool} exited 0 but its output ended early ({len(output)} bytes), {EXEC_TRIES} times")


def _save(engine: Engine, container: ObservedContainer, way: SaveThenCopy) -> None:
    before = _saved_at(engine, container, way)
    engine.exec_capture(container.id, list(way.save))
    for _ in range(600):
        if _saved_at(engine, container, way) != before:
            return
        time.sleep(0.1)
    raise ApplyFailed(f"hot backup of {container.name}: {way.name} did not finish in 60s")


def _saved_at(engine: Engine, container: ObservedContainer, way: SaveThenCopy) -> int:
    """The time of the server's last save, asked again when the answer is lost."""
    for _ in range(EXEC_TRIES):
        output = engine.exec_capture(container.id, list(way.saved_at))[1]
        if (saved := way.time_of(output)) is not None:
            return saved
    raise ApplyFailed(f"hot backup of {container.name}: {' '.join(way.saved_at)} gave no time: {output.strip()[:200]!r}")


def verify_backup(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{source}: no readable {MANIFEST}: {exc}") from None
    for archive in manifest["archives"]:
        if _sha256(source / archive["file"]) != archive["sha256"]:
            raise ApplyFailed(f"{source / archive['file']}: checksum differs from the manifest: the backup is damaged")
    return manifest


def check_targets(manifest: dict[str, Any], *, force: bool, entries: Callable[[Place], int | None]) -> None:
    """Before anything is stopped: refuse places that hold data (unless forced), and SQL dumps."""
    archives = _file_archives(manifest)
    if not archives:
        raise Refused(f"this backup holds a dump: load it with the database's client{_restore_hint(manifest)}")
    for archive in archives:
        place = Place(archive["key"], archive["kind"], archive["source"])
        found = entries(place)
        if found and not force:
            raise Refused(
                f"{place.kind} {place.source} is not empty ({found} entries): restore refuses to write over data; --force replaces it"
            )


def _restore_hint(manifest: dict[str, Any]) -> str:
    # By the tool that made the dump: backups made before the manifest named its kind say it too.
    tools = {a["source"] for a in manifest["archives"] if a["kind"] == "sql"}
    for kind in databases.KINDS:
        if isinstance(kind.hot_backup, Dump) and kind.hot_backup.tool in tools:
            return f" ({kind.hot_backup.restore})"
    return ""


def _file_archives(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in manifest["archives"] if a["kind"] in ("volume", "bind")]


def restore_archives(files: HostFiles, manifest: dict[str, Any], source: Path, *, force: bool, say: Say) -> None:
    """Untar each archive onto its place (created before, if missing; checked by check_targets)."""
    for archive in _file_archives(manifest):
        place = Place(archive["key"], archive["kind"], archive["source"])
        name = f"{manifest['app']}{L.RESERVED_INFIX}restore-{place.key}"
        files.restore_from(source / archive["file"], place.kind, place.source, clear=force, name=name)
        say(f"{archive['file']} -> {place.kind} {place.source}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
