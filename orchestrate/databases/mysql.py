"""MySQL, as the official `mysql` image runs it (and what the MariaDB kind shares with it)."""

from __future__ import annotations

from orchestrate.databases.kind import DatabaseKind, Dump, Probe, with_file_variants

# Read by the image's entrypoint only when it initialises an empty datadir, under either prefix
# (MariaDB's image also accepts the MYSQL_ names).
INIT_SETTINGS = (
    "ROOT_PASSWORD", "DATABASE", "USER", "PASSWORD", "ROOT_HOST", "ALLOW_EMPTY_ROOT_PASSWORD",
    "ALLOW_EMPTY_PASSWORD", "RANDOM_ROOT_PASSWORD", "INITDB_SKIP_TZINFO",
)  # fmt: skip
# The dump tools of both write this line last, and only when they finished.
DUMP_COMPLETED = b"-- Dump completed"


def init_only_env(*prefixes: str) -> frozenset[str]:
    return with_file_variants(*(f"{prefix}_{name}" for prefix in prefixes for name in INIT_SETTINGS))


def sql_dump(tool: str, client: str, password_vars: tuple[str, ...]) -> Dump:
    """Every database, as root, in one consistent transaction; the root password is taken from the
    first of `password_vars` (or its _FILE) that the container has."""
    script = 'p=""; ' + "".join(_password_from(var) for var in password_vars)
    script += f'exec {tool} -uroot -p"$p" --single-transaction --routines --events --all-databases'
    return Dump(
        ("sh", "-c", script),
        tool=tool,
        summary=f"{tool} --single-transaction",
        completion=DUMP_COMPLETED,
        restore=f"{client} -uroot -p < dump.sql",
    )


def _password_from(var: str) -> str:
    return f'[ -z "$p" ] && p="${{{var}:-}}"; [ -z "$p" ] && [ -n "${{{var}_FILE:-}}" ] && p="$(cat "${var}_FILE")"; '


def ping(admin: str) -> Probe:
    # Over TCP: while the entrypoint initialises a datadir its temporary server listens only on the
    # socket, and is not the server the app will run. A ping answers (exit 0) even when it is
    # refused access, so it needs no credentials.
    return Probe((admin, "--protocol=tcp", "ping"))


KIND = DatabaseKind(
    name="mysql",
    image_env=frozenset({"MYSQL_VERSION", "MYSQL_MAJOR"}),
    servers=frozenset({"mysqld"}),
    init_only_env=init_only_env("MYSQL"),
    readiness=ping("mysqladmin"),
    hot_backup=sql_dump("mysqldump", "mysql", ("MYSQL_ROOT_PASSWORD",)),
)
