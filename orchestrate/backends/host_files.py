"""What stateful may ask of the filesystem of an app's host (where the engine keeps its data).

The controller (where stateful runs) and the engine's host are the same machine only when the
endpoint is the local unix socket. Every look at a bind source, a volume's content, free space or
a data place's size goes through `HostFiles`, never through the controller's own paths.
Implementations: LocalHostFiles (local socket: reads paths directly), docker's HelperHostFiles
(any other endpoint: short helper containers on that engine); tests' fakes.

This module only describes; it must not touch any filesystem or engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from orchestrate.model.desired import BindDir, Mount
from orchestrate.model.facts import DataFacts
from orchestrate.model.observed import HostDir, ObservedVolume

# GNU tar, cp, find, stat and sha256sum: the copies, checks and archives run in this image.
HELPER_IMAGE = os.environ.get("STATEFUL_HELPER_IMAGE", "debian:bookworm-slim")

# One archive format for every host: owners by number, modes, times, links, sparse files, xattrs.
TAR_OPTIONS = "--xattrs --sparse --numeric-owner"

SIZE_LIMIT = 50_000  # entries walked when measuring a data place (a fingerprint, not an audit)


class HostFiles(Protocol):
    """The data places (bind directories and volumes) of one host, in our terms."""

    def observe_dirs(self, paths: Iterable[str]) -> dict[str, HostDir]:
        """Whether each bind source exists, and is a directory."""
        ...

    def data_facts(self, mounts: Iterable[Mount], volumes: Mapping[str, ObservedVolume]) -> dict[str, DataFacts]:
        """What is at each data mount's source: exists, identity, how many top-level entries."""
        ...

    def create_dir(self, bind: BindDir) -> None:
        """Create a bind source with the spec's mode and owner (ApplyFailed when it cannot)."""
        ...

    def free_bytes(self, path: str) -> int:
        """Bytes free for an unprivileged writer at `path`, or at its nearest existing parent."""
        ...

    def tree_size(self, kind: str, source: str, volumes: Mapping[str, ObservedVolume]) -> int:
        """Bytes of the files in a data place, walking at most SIZE_LIMIT entries."""
        ...

    def read_heads(self, kind: str, source: str, paths: Iterable[str], volumes: Mapping[str, ObservedVolume], limit: int) -> dict[str, bytes]:
        """The first `limit` bytes of each regular file at `paths` (relative to the data place; a
        shell-style * in them may match several), by the path that matched. Absent files are left
        out; a volume that does not exist has none (it is not created to look)."""
        ...

    def archive_to(self, kind: str, source: str, archive: Path, *, name: str) -> None:
        """Write a tar (TAR_OPTIONS) of a data place to `archive`, a file on the controller."""
        ...

    def restore_from(self, archive: Path, kind: str, source: str, *, clear: bool, name: str) -> None:
        """Unpack `archive` (a file on the controller) onto a data place; `clear` empties it first."""
        ...
