"""What a database kind is: how its image is recognised, which settings it reads only when it
initialises an empty datadir, how to ask whether it is ready, and how to back it up while it runs.

Plain values and pure functions: the commands here are argv lists that callers run inside the
app's container; nothing here runs them, touches an engine or reads a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrate.databases.versions import Versioning

# The completion line a dump tool writes last is in its final bytes (a trailer of comments follows
# it at most); looking further back could find it quoted inside the data.
TAIL = 200


@dataclass(frozen=True)
class Probe:
    """A command run inside the container; ready when it exits 0 and, if `expect` names answers,
    prints one of them (some clients exit 0 on an error reply)."""

    argv: tuple[str, ...]
    expect: tuple[bytes, ...] = ()

    def ready(self, code: int, output: bytes) -> bool:
        return code == 0 and (not self.expect or any(answer in output for answer in self.expect))


@dataclass(frozen=True)
class Dump:
    """A hot backup that is one command's output, complete only when it ends with `completion`."""

    argv: tuple[str, ...]
    tool: str  # named in the backup's manifest
    summary: str  # what it does, for the message that reports it
    completion: bytes
    restore: str  # how to load the file back, for the restore command's hint
    file: str = "dump.sql"

    def complete(self, output: bytes) -> bool:
        return self.completion in output[-TAIL:]


@dataclass(frozen=True)
class SaveThenCopy:
    """A hot backup where the server writes its own consistent files: ask it to save, wait until
    the time of its last save changes, then copy the data volumes while it keeps running."""

    save: tuple[str, ...]
    saved_at: tuple[str, ...]  # prints the time of the last completed save
    name: str  # named in messages and in the backup's manifest

    @staticmethod
    def time_of(output: bytes) -> int | None:
        answer = output.strip()
        return int(answer) if answer.isdigit() else None


HotBackup = Dump | SaveThenCopy


@dataclass(frozen=True)
class DatabaseKind:
    name: str
    image_env: frozenset[str] = frozenset()  # ENV keys its official image sets (never its name)
    servers: frozenset[str] = frozenset()  # the server's executable, as an image's CMD names it
    init_only_env: frozenset[str] = frozenset()
    readiness: Probe | None = None
    hot_backup: HotBackup | None = None
    versioning: Versioning | None = None  # how to tell which server wrote its datadir, and what may open it

    def named_by_env(self, env: Mapping[str, str]) -> bool:
        return not self.image_env.isdisjoint(env)

    def runs(self, entrypoint: tuple[str, ...], cmd: tuple[str, ...]) -> bool:
        """The image starts the server itself: the first word of its entrypoint or CMD names it."""
        return any(argv and os.path.basename(argv[0]) in self.servers for argv in (entrypoint, cmd))

    def init_only(self, key: str) -> bool:
        return key in self.init_only_env


def with_file_variants(*names: str) -> frozenset[str]:
    """The official images read each secret-ish setting from `<NAME>_FILE` as well."""
    return frozenset(n for name in names for n in (name, f"{name}_FILE"))
