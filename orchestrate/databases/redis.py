"""Redis, as the official `redis` image runs it."""

from __future__ import annotations

from orchestrate.databases.kind import DatabaseKind, Probe, SaveThenCopy

KIND = DatabaseKind(
    name="redis",
    image_env=frozenset({"REDIS_VERSION"}),
    servers=frozenset({"redis-server"}),
    # redis-cli exits 0 on an error reply too (LOADING while it reads its data); NOAUTH means it
    # is up and wants a password.
    readiness=Probe(("redis-cli", "ping"), expect=(b"PONG", b"NOAUTH")),
    hot_backup=SaveThenCopy(save=("redis-cli", "BGSAVE"), saved_at=("redis-cli", "LASTSAVE"), name="redis BGSAVE"),
)
