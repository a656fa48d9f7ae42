"""Copying a remapped volume: a helper container mounts both places, copies, then verifies.

The copy keeps ownership, modes, timestamps, symlinks, hard links, sparse files and xattrs
(GNU `cp -a --sparse=always`). The verification compares both trees entry by entry (type, mode,
owner, size, link count, mtime, symlink target) and every file's SHA-256; any difference aborts
the remap and the app goes back to its old place. The old copy is never touched: it is mounted
read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from orchestrate import labels as L
from orchestrate.backends import Engine, HostFiles
from orchestrate.backends.host_files import HELPER_IMAGE
from orchestrate.decide.remap import Migration
from orchestrate.errors import ApplyFailed
from orchestrate.model.desired import Mount

COPY = ["sh", "-c", "set -e; cp -a --sparse=always /from/. /to/; sync"]

# One listing line per entry (directory mtimes are left out: writing into them changes them),
# then the checksum of every regular file; both sides must print exactly the same.
VERIFY = [
    "sh",
    "-c",
    r"""set -e
list() {
  cd "$1"
  find . \( -type f -printf 'f %m %U:%G %s %n %T@ %p\n' \) -o \( -type l -printf 'l %U:%G %l %p\n' \) \
       -o \( -type d -printf 'd %m %U:%G %p\n' \) -o -printf '%y %m %U:%G %p\n' | LC_ALL=C sort
  find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
}
list /from > /tmp/from
list /to > /tmp/to
if cmp -s /tmp/from /tmp/to; then
  echo "verified: $(grep -c '^f ' /tmp/from) files, $(grep -c '^d ' /tmp/from) directories identical"
else
  echo "MISMATCH between the old and the new copy:"
  diff /tmp/from /tmp/to | head -20
  exit 3
fi""",
]

Step = Callable[[str, str], AbstractContextManager[None]]


def copy_and_verify(engine: Engine, migration: Migration, *, step: Step) -> str:
    """Copy the data to its new place and prove the copy; return the verification line."""
    mounts = [
        Mount(target="/from", kind=migration.source_kind, source=migration.source, read_only=True),
        Mount(target="/to", kind=migration.target_kind, source=migration.target),
    ]
    name = f"{migration.app}{L.RESERVED_INFIX}copy"
    with step("migrate-copy", f"copy {migration.key} to {migration.target}"):
        code, output = engine.run_helper(HELPER_IMAGE, COPY, mounts, name=name)
        if code != 0:
            raise ApplyFailed(f"remap {migration.app}/{migration.key}: the copy failed (exit {code}): {output.strip()[-500:]}")
    with step("migrate-verify", f"verify the copy of {migration.key}"):
        code, output = engine.run_helper(HELPER_IMAGE, VERIFY, mounts, name=name)
        if code != 0:
            raise ApplyFailed(f"remap {migration.app}/{migration.key}: {output.strip()[-1500:]}")
    return output.strip().splitlines()[-1] if output.strip() else "verified"


def check_space(files: HostFiles, migration: Migration) -> None:
    """Before anything stops: the new place must hold the data (with 5% to spare), on the app's host."""
    if migration.target_kind != "bind" or not migration.size:
        return
    target, free = migration.target, files.free_bytes(migration.target)
    if free < migration.size * 1.05:
        raise ApplyFailed(
            f"remap {migration.app}/{migration.key}: {target} has {free:,} bytes free, the data needs {migration.size:,}; nothing was stopped"
        )
