"""PostgreSQL, as the official `postgres` image runs it."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrate.databases.kind import DatabaseKind, Dump, Probe, with_file_variants
from orchestrate.databases.versions import Heads, Version, Versioning, Written, parse

# The superuser the image made; local socket connections are trusted inside the container.
_USER = 'u="${POSTGRES_USER:-}"; [ -z "$u" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && u="$(cat "$POSTGRES_USER_FILE")"; '


def _datadir(env: Mapping[str, str]) -> str:
    return env.get("PGDATA") or "/var/lib/postgresql/data"


def _read(heads: Heads) -> Written | None:
    text = heads.get("PG_VERSION")
    return Written(parse(text)) if text is not None else None


def major(version: Version) -> tuple[int, ...]:
    """10 and later: the first number; before 10 the first two (9.6)."""
    return version.series(1) if version.parts[0] >= 10 else version.series(2)


def _refusal(written: Written, server: Version) -> str:
    if written.version is None or major(written.version) == major(server):
        return ""
    return "a PostgreSQL server opens only a datadir of its own major version; changing it needs pg_upgrade or a dump and restore"


KIND = DatabaseKind(
    name="postgres",
    image_env=frozenset({"PG_MAJOR", "PG_VERSION"}),
    servers=frozenset({"postgres"}),
    init_only_env=with_file_variants(
        "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "POSTGRES_INITDB_WALDIR", "POSTGRES_HOST_AUTH_METHOD"
    ),
    # Over TCP: the entrypoint's temporary server for initialisation listens on the socket only. As
    # the superuser, to a database that exists: pg_isready logs in, and the exec's own user (root)
    # is no role, which the server would log as FATAL at every probe.
    readiness=Probe(("sh", "-c", _USER + 'exec pg_isready --host=127.0.0.1 --quiet --username="${u:-postgres}" --dbname=postgres')),
    hot_backup=Dump(
        ("sh", "-c", _USER + 'exec pg_dumpall --username="${u:-postgres}"'),
        tool="pg_dumpall",
        summary="pg_dumpall (every database, roles and tablespaces)",
        completion=b"-- PostgreSQL database cluster dump complete",
        # Fed on stdin (the file is where the backup is, not in the container); as the superuser.
        restore="psql -U postgres -d postgres < dump.sql",
    ),
    # PG_MAJOR first: PG_VERSION is a package version (17.2-1.pgdg120+1).
    versioning=Versioning("PostgreSQL", _datadir, ("PG_VERSION",), _read, ("PG_MAJOR", "PG_VERSION"), _refusal),
)
