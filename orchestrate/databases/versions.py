"""Which server version wrote a datadir, which one an image runs, and which changes are safe.

Each kind says where its server keeps its files, which files there name the version that wrote
them (read from their first bytes: PG_VERSION, an upgrade-info file, a redo log's creator, an
RDB header), which ENV of its image names the server's version, and its rule of the
(datadir version -> server version) changes the server survives. Pure: bytes and strings in,
verdicts out; nothing here reads a file or asks an engine. Unknown stays unknown: no rule
guesses a version that no file or ENV states.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Every marker states its version within its first bytes (a redo log's creator ends by byte 48).
HEAD_BYTES = 64

_VERSION = re.compile(rb"^\s*(?:\d+:)?(\d+(?:\.\d+)*)")


@dataclass(frozen=True, order=True)
class Version:
    parts: tuple[int, ...]

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)

    def series(self, length: int = 2) -> tuple[int, ...]:
        return (self.parts + (0,) * length)[:length]


def parse(text: str | bytes) -> Version | None:
    """The leading version of a text such as `1:10.11.14-0+deb12u2` (an epoch is dropped)."""
    raw = text.encode() if isinstance(text, str) else text
    found = _VERSION.match(raw)
    return Version(tuple(int(p) for p in found.group(1).split(b"."))) if found else None


@dataclass(frozen=True)
class Written:
    """What a datadir's own files say about the server that wrote it."""

    version: Version | None
    format: int | None = None  # a file format number the server must know (Redis: the RDB version)


Heads = Mapping[str, bytes]  # marker file (relative to the datadir, as matched) -> its first bytes


@dataclass(frozen=True)
class Versioning:
    product: str  # as people name the server: "PostgreSQL"
    datadir: Callable[[Mapping[str, str]], str]  # where the server keeps its files, from the container's env
    files: tuple[str, ...]  # marker files relative to the datadir; a shell-style * may match several
    read: Callable[[Heads], Written | None]  # None: no marker found
    image_env: tuple[str, ...]  # ENV keys that name the image's server version, the most precise first
    refusal: Callable[[Written, Version], str]  # (written, server) -> "" when the server may open it, else why not

    def image_version(self, env: Mapping[str, str]) -> Version | None:
        for key in self.image_env:
            if key in env and (version := parse(env[key])):
                return version
        return None

    def describe(self, written: Written | None) -> str:
        if written is None:
            return f"{self.product}, version unknown"
        text = f"{self.product} {written.version}" if written.version else f"{self.product}, version unknown"
        return text + (f" (file format {written.format})" if written.format is not None else "")


def highest(*found: Version | None) -> Version | None:
    known = [v for v in found if v is not None]
    return max(known) if known else None
