"""PostgreSQL, as the official `postgres` image runs it."""

from __future__ import annotations

from orchestrate.databases.kind import DatabaseKind, Dump, Probe, with_file_variants

# The superuser the image made; local socket connections are trusted inside the container.
_USER = 'u="${POSTGRES_USER:-}"; [ -z "$u" ] && [ -n "${POSTGRES_USER_FILE:-}" ] && u="$(cat "$POSTGRES_USER_FILE")"; '

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
)
