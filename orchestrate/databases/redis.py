"""Redis, as the official `redis` image runs it."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrate.databases.kind import DatabaseKind, Probe, SaveThenCopy
from orchestrate.databases.versions import Heads, Version, Versioning, Written, highest, parse

# The newest RDB format each release reads (it refuses a file of a later format). A release
# newer than this table reads at least the last format; how much more is not guessed.
RDB_FORMATS: dict[tuple[int, ...], int] = {
    (2, 6): 6, (2, 8): 6, (3, 0): 7, (3, 2): 8, (4, 0): 8, (5, 0): 9, (6, 0): 9, (6, 2): 9,
    (7, 0): 10, (7, 2): 11, (7, 4): 12, (8, 0): 12,
}  # fmt: skip
_AUX_VERSION = b"\xfa\x09redis-ver"


def _read(heads: Heads) -> Written | None:
    """An RDB file (or an AOF's RDB preamble) starts `REDIS` + a 4-digit format, and its first
    auxiliary field is usually the writer's version: 0xFA, "redis-ver" and a short string."""
    formats, versions = [], []
    for head in heads.values():
        if not head.startswith(b"REDIS") or not head[5:9].isdigit():
            continue
        formats.append(int(head[5:9]))
        if head[9:20] == _AUX_VERSION and len(head) > 21:
            versions.append(parse(head[21 : 21 + (head[20] & 0x3F)]))
    if not formats:
        return None
    return Written(highest(*versions), max(formats))


def _refusal(written: Written, server: Version) -> str:
    readable = RDB_FORMATS.get(server.series(2))
    if written.format is None or readable is None or written.format <= readable:
        return ""
    return f"Redis {server} reads RDB files up to format {readable}, and this datadir's are format {written.format}"


def _datadir(_env: Mapping[str, str]) -> str:
    return "/data"


KIND = DatabaseKind(
    name="redis",
    image_env=frozenset({"REDIS_VERSION"}),
    servers=frozenset({"redis-server"}),
    # redis-cli exits 0 on an error reply too (LOADING while it reads its data); NOAUTH means it
    # is up and wants a password.
    readiness=Probe(("redis-cli", "ping"), expect=(b"PONG", b"NOAUTH")),
    hot_backup=SaveThenCopy(save=("redis-cli", "BGSAVE"), saved_at=("redis-cli", "LASTSAVE"), name="redis BGSAVE"),
    versioning=Versioning(
        "Redis", _datadir, ("dump.rdb", "appendonly.aof", "appendonlydir/*.base.rdb"), _read, ("REDIS_VERSION",), _refusal
    ),
)
