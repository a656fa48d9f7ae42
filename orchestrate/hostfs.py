"""The host's filesystem: the bind-mount directories that the spec names.

Looks at and creates directories only; never deletes or empties anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from orchestrate.desired import BindDir
from orchestrate.errors import ApplyFailed
from orchestrate.observed import HostDir


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
