"""The data guard and the writer check: may this app be started on these volumes? Pure.

The data guard compares what each data mount held at the app's last healthy run (its
fingerprint in the state store) with what is there now. An image such as MariaDB initialises an
empty datadir silently and then looks healthy; starting it on a missing, empty or different
volume would hide a data loss behind a green status. So that is refused, with the way forward.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from orchestrate import databases
from orchestrate.databases.versions import Written, parse
from orchestrate.decide.compare import describe_mount
from orchestrate.model.desired import DesiredApp, Mount
from orchestrate.model.facts import DatadirVersion, DataFacts, Fingerprint, data_key
from orchestrate.model.observed import ImageDefaults, MountUser

Fingerprints = Mapping[tuple[str, str], Fingerprint]


def data_guard_problems(
    app: DesiredApp, data: Mapping[str, DataFacts], fingerprints: Fingerprints, allowed: frozenset[str]
) -> list[str]:
    if not app.data_guard:
        return []
    problems = _gone_key_problems(app, data, fingerprints, allowed)
    for mount in app.mounts:
        if not mount.holds_data:
            continue
        identity = f"{mount.owner_app}/{mount.key}"
        remembered = fingerprints.get((mount.owner_app, mount.key))
        if remembered is None or not remembered.held_data or identity in allowed:
            continue
        found = data.get(data_key(mount.kind, mount.source))
        if problem := _compare(mount, remembered, found):
            problems.append(
                f"data guard: {identity} held data at the last healthy run ({_was(remembered)}); {problem}. "
                f"Nothing was started. If starting on it is intended, run again with --allow-empty-volume {identity}"
            )
    return problems


def _gone_key_problems(app: DesiredApp, data: Mapping[str, DataFacts], fingerprints: Fingerprints, allowed: frozenset[str]) -> list[str]:
    """A key that held data left the spec: the app would start without that data.

    Renaming the key is not a remap (the key is the data's identity): another key mounting an
    empty place on the same path would have the app initialise an empty datadir where its data
    used to be. Dropping the key leaves the path unmounted: the app writes into its container,
    and the data (kept) is out of its sight.
    """
    keys = {m.key for m in app.mounts if m.owner_app == app.name}
    problems = []
    for remembered in fingerprints.values():
        if remembered.app != app.name or remembered.key in keys or not remembered.held_data or not remembered.target:
            continue
        gone = f"{app.name}/{remembered.key}"
        on_its_path = [m for m in app.mounts if m.target == remembered.target]
        if not on_its_path and gone not in allowed:
            problems.append(
                f"data guard: {gone} held data at {remembered.target} ({_was(remembered)}); the spec no longer mounts anything "
                f"there, so the app would start without it (the data is kept where it is). Nothing was started. Put the key "
                f"back, or to run without that data on purpose, run again with --allow-empty-volume {gone}"
            )
        for mount in on_its_path:
            found = data.get(data_key(mount.kind, mount.source))
            identity = f"{app.name}/{mount.key}"
            if identity in allowed or (found is not None and found.exists and found.entries != 0):
                continue
            problems.append(
                f"data guard: {gone} held data at {remembered.target} ({_was(remembered)}); the spec no longer has "
                f"that key, and {identity} now mounts {describe_mount(mount.kind, mount.source, False)} there, which is empty. "
                f"Nothing was started. To move the data, keep the key {remembered.key!r} and change only its source (a remap); "
                f"to start empty on purpose, run again with --allow-empty-volume {identity}"
            )
    return problems


def _compare(mount: Mount, remembered: Fingerprint, found: DataFacts | None) -> str:
    now = describe_mount(mount.kind, mount.source, False)
    if (remembered.kind, remembered.source) != (mount.kind, mount.source):
        if found is None or not found.exists:
            return f"the spec now points at {now}, which does not exist; copy the data there first or point the spec back"
        if found.empty:
            return f"the spec now points at {now}, which is empty; copy the data there first or point the spec back"
        return ""
    if found is None or not found.exists:
        return f"{now} is missing now"
    if found.empty:
        return f"{now} is empty now"
    if remembered.identity and remembered.identity != found.identity:
        if mount.kind == "volume":
            return f"{now} is a different volume now ({found.identity or 'not created by stateful'}, was {remembered.identity})"
        return f"{now} is on another filesystem now ({found.identity}, was {remembered.identity}): is the disk or share mounted?"
    return ""


def _was(fp: Fingerprint) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(fp.recorded_at))
    return f"{describe_mount(fp.kind, fp.source, False)}, {fp.entries} entries, {fp.size} bytes, {when}"


def foreign_writer_problems(app: DesiredApp, users: Mapping[str, tuple[MountUser, ...]], borrowers: Mapping[str, set[str]]) -> list[str]:
    """Running containers, other than this app's own, that write to one of its data volumes.

    Allowed: keys the app declares shared, and apps of these specs that borrow the app's
    volumes through volumes_from (`borrowers`: data key -> app names).
    """
    problems = []
    for mount in app.mounts:
        if not mount.holds_data or mount.read_only or mount.owner_app != app.name or mount.key in app.shared_keys:
            continue
        key = data_key(mount.kind, mount.source)
        # The container holding the app's name is the one a recreate (or an adopt) stops first.
        # Any other is a second server, even one of ours: a container of this app renamed by hand
        # keeps running while a new one would start under the app's name.
        others = [
            u
            for u in users.get(key, ())
            if u.running and u.writable and u.container != app.name and (u.app == app.name or u.app not in borrowers.get(key, set()))
        ]
        if others:
            names = ", ".join(f"{u.container}{_whose(u, app.name)}" for u in others)
            problems.append(
                f"{app.name}/{mount.key}: {describe_mount(mount.kind, mount.source, False)} is mounted writable by running "
                f"container {names}; two servers on one datadir corrupt it. Stop that container, or list {mount.key!r} "
                "in shared_volumes if sharing is intended"
            )
    return problems


def _whose(user: MountUser, app: str) -> str:
    if not user.app:
        return " (not managed by stateful)"
    if user.app == app:
        return f" (this app's own container under another name: `docker rename {user.container} {app}` to take it back)"
    return ""


def borrowers_of(apps: list[DesiredApp]) -> dict[str, set[str]]:
    """data key -> apps that mount it through volumes_from (their owner is another app)."""
    found: dict[str, set[str]] = {}
    for app in apps:
        for mount in app.mounts:
            if mount.holds_data and mount.owner_app and mount.owner_app != app.name:
                found.setdefault(data_key(mount.kind, mount.source), set()).add(app.name)
    return found


def data_initialised(app: DesiredApp, data: Mapping[str, DataFacts], fingerprints: Fingerprints) -> bool:
    """Does the app already have data (so init-only settings no longer apply)?"""
    for mount in app.mounts:
        if not mount.holds_data or mount.owner_app != app.name:
            continue
        facts = data.get(data_key(mount.kind, mount.source))
        if facts is not None and facts.entries:
            return True
        remembered = fingerprints.get((mount.owner_app, mount.key))
        if remembered is not None and remembered.held_data and (remembered.kind, remembered.source) == (mount.kind, mount.source):
            return True
    return False


def version_problem(app: DesiredApp, image_ref: str, image: ImageDefaults | None, found: DatadirVersion | None, allowed: frozenset[str]) -> str:
    """The version guard: would the image's server open a datadir that another version wrote, in a
    way it cannot survive? Judged only when both versions are known (from the datadir's own files
    and the image's ENV); an unknown is shown as unknown by the diff, never guessed here."""
    versioning = databases.BY_NAME[found.kind].versioning if found is not None and found.kind in databases.BY_NAME else None
    if found is None or versioning is None or image is None or app.name in allowed:
        return ""
    server = versioning.image_version(image.env)
    written = _written(found)
    why = versioning.refusal(written, server) if server is not None else ""
    if not why:
        return ""
    name = app.name
    dump = databases.BY_NAME[found.kind].hot_backup
    load = f"`{dump.restore}` in the new container, e.g. through `docker exec -i {name}`" if isinstance(dump, databases.Dump) else "its own tools"
    return (
        f"version guard: {name}'s datadir ({found.place.replace(':', ' ', 1)}) was written by {versioning.describe(written)}; "
        f"image {image_ref} runs {versioning.product} {server}: {why}. Nothing was stopped. The way through: "
        f"`stateful backup {name} --hot` (the server keeps running); in the spec, the new image with a new volume key "
        f"(a new, empty volume) on the datadir's path, and apply with --allow-empty-volume {name}/<new key>; then load "
        f"the backup into the new server with {load}. If you run the upgrade tool yourself, run again with "
        f"--allow-version-change {name}"
    )


def written_by(found: DatadirVersion) -> str:
    """"PostgreSQL 15", "Redis 8.0.2 (file format 12)", or that it is unknown."""
    kind = databases.BY_NAME.get(found.kind)
    if kind is None or kind.versioning is None:
        return f"{found.kind}, version unknown"
    return kind.versioning.describe(_written(found))


def _written(found: DatadirVersion) -> Written:
    return Written(parse(found.version) if found.version else None, found.format)
