"""HostFiles for the local socket: the engine's host is this machine, so its paths are read directly.

Used only when the endpoint is a unix socket (see backends.connect_fleet); for any other endpoint
these paths would be the controller's, not the engine's. Looks at and creates directories only;
never deletes or empties anything itself (a forced restore empties a place inside a helper).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestrate import labels as L
from orchestrate.backends.host_files import HELPER_IMAGE, SIZE_LIMIT, TAR_OPTIONS
from orchestrate.backends.interface import Engine
from orchestrate.errors import ApplyFailed
from orchestrate.model.desired import BindDir, Mount
from orchestrate.model.facts import DataFacts, data_key
from orchestrate.model.observed import HostDir, ObservedVolume


class LocalHostFiles:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # archives are still written by a helper: GNU tar, as root

    def observe_dirs(self, paths: Iterable[str]) -> dict[str, HostDir]:
        return {path: HostDir(path, Path(path).exists(), Path(path).is_dir()) for path in paths}

    def create_dir(self, bind: BindDir) -> None:
        path = Path(bind.path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            if bind.mode is not None:
                path.chmod(bind.mode)
            if bind.owner:
                uid, _, gid = bind.owner.partition(":")
                os.chown(path, int(uid), int(gid) if gid else -1)
        except OSError as exc:
            raise ApplyFailed(f"volume {bind.key}: cannot create {bind.path}: {exc.strerror}") from None

    def data_facts(self, mounts: Iterable[Mount], volumes: Mapping[str, ObservedVolume]) -> dict[str, DataFacts]:
        facts: dict[str, DataFacts] = {}
        for mount in mounts:
            if not mount.holds_data:
                continue
            key = data_key(mount.kind, mount.source)
            if mount.kind == "volume":
                facts[key] = _volume_facts(mount.source, volumes.get(mount.source))
            elif mount.kind == "bind":
                facts[key] = _bind_facts(mount.source)
        return facts

    def free_bytes(self, path: str) -> int:
        probe = path
        while probe and not os.path.exists(probe):
            probe = os.path.dirname(probe)
        return shutil.disk_usage(probe or "/").free

    def tree_size(self, kind: str, source: str, volumes: Mapping[str, ObservedVolume]) -> int:
        path = volumes[source].mountpoint if kind == "volume" and source in volumes else source
        return _tree_size(path)

    def read_heads(self, kind: str, source: str, paths: Iterable[str], volumes: Mapping[str, ObservedVolume], limit: int) -> dict[str, bytes]:
        if kind == "volume" and source not in volumes:
            return {}
        root = Path(volumes[source].mountpoint if kind == "volume" else source)
        heads: dict[str, bytes] = {}
        for pattern in paths:
            for path in sorted(root.glob(pattern)) if "*" in pattern else [root / pattern]:
                if not path.is_file():
                    continue
                try:
                    with path.open("rb") as file:
                        heads[str(path.relative_to(root))] = file.read(limit)
                except OSError:
                    continue
        return heads

    def archive_to(self, kind: str, source: str, archive: Path, *, name: str) -> None:
        mounts = [Mount("/from", kind, source, read_only=True), Mount("/to", "bind", str(archive.parent))]
        command = ["sh", "-c", f'tar -C /from {TAR_OPTIONS} -cf "/to/$1" .', "sh", archive.name]
        code, output = self.engine.run_helper(HELPER_IMAGE, command, mounts, name=name)
        if code != 0:
            raise ApplyFailed(f"archive of {kind} {source} failed (exit {code}): {output.strip()[-400:]}")

    def restore_from(self, archive: Path, kind: str, source: str, *, clear: bool, name: str) -> None:
        mounts = [Mount("/from", "bind", str(archive.parent), read_only=True), Mount("/to", kind, source)]
        code, output = self.engine.run_helper(HELPER_IMAGE, unpack_command(f"/from/{archive.name}", clear=clear), mounts, name=name)
        if code != 0:
            raise ApplyFailed(f"restore of {archive.name} onto {kind} {source} failed (exit {code}): {output.strip()[-400:]}")


def unpack_command(archive: str, *, clear: bool) -> list[str]:
    """The helper's command that unpacks `archive` onto /to (emptied first when `clear`)."""
    empty = "find /to -mindepth 1 -delete && " if clear else ""
    return ["sh", "-c", f'{empty}tar -C /to {TAR_OPTIONS} -xpf "$1"', "sh", archive]


def _volume_facts(name: str, volume: ObservedVolume | None) -> DataFacts:
    if volume is None:
        return DataFacts("volume", name, exists=False)
    # The engine keeps local volumes under its Mountpoint; when we run beside it (as root) we can
    # count what is there. Elsewhere the content is unknown and only identity is compared.
    identity = volume.labels.get(L.VOLUME_ID, "")
    return DataFacts("volume", name, exists=True, identity=volume_identity(identity), entries=_entries(Path(volume.mountpoint)))


def volume_identity(volume_id: str) -> str:
    return f"id {volume_id}" if volume_id else ""


def _bind_facts(path: str) -> DataFacts:
    try:
        st = os.stat(path)
    except OSError:
        return DataFacts("bind", path, exists=False)
    return DataFacts("bind", path, exists=True, identity=f"device {st.st_dev}", entries=_entries(Path(path)))


def _entries(path: Path) -> int | None:
    if not str(path) or str(path) == ".":
        return None
    try:
        with os.scandir(path) as listing:
            return sum(1 for entry in listing if entry.name != "lost+found")
    except OSError:
        return None


def _tree_size(path: str) -> int:
    total, seen = 0, 0
    for root, dirs, files in os.walk(path):
        for name in files:
            seen += 1
            if seen > SIZE_LIMIT:
                return total
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
        seen += len(dirs)
    return total
