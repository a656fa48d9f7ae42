"""The host's filesystem: the bind-mount directories that the spec names.

Looks at and creates directories only; never deletes or empties anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestrate import labels as L
from orchestrate.errors import ApplyFailed
from orchestrate.model.desired import BindDir, Mount
from orchestrate.model.facts import DataFacts, data_key
from orchestrate.model.observed import HostDir, ObservedVolume


def observe_dirs(paths: Iterable[str]) -> dict[str, HostDir]:
    found: dict[str, HostDir] = {}
    for path in paths:
        p = Path(path)
        found[path] = HostDir(path, p.exists(), p.is_dir())
    return found


def create_dir(bind: BindDir) -> None:
    """Create a bind source with the spec's mode and owner (not root-owned 0755 by accident)."""
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


def data_facts(mounts: Iterable[Mount], volumes: Mapping[str, ObservedVolume]) -> dict[str, DataFacts]:
    """What is at each data mount's source: exists, identity, how many top-level entries."""
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


def _volume_facts(name: str, volume: ObservedVolume | None) -> DataFacts:
    if volume is None:
        return DataFacts("volume", name, exists=False)
    # The engine keeps local volumes under its Mountpoint; when we run beside it (as root) we can
    # count what is there. Elsewhere the content is unknown and only identity is compared.
    identity = volume.labels.get(L.VOLUME_ID, "")
    return DataFacts("volume", name, exists=True, identity=f"id {identity}" if identity else "", entries=_entries(Path(volume.mountpoint)))


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


def tree_size(path: str, *, limit: int = 50_000) -> int:
    """Bytes under `path`, walking at most `limit` entries (a fingerprint, not an audit)."""
    total, seen = 0, 0
    for root, dirs, files in os.walk(path):
        for name in files:
            seen += 1
            if seen > limit:
                return total
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
        seen += len(dirs)
    return total
