"""MariaDB, as the official `mariadb` image runs it."""

from __future__ import annotations

from orchestrate.databases.kind import DatabaseKind
from orchestrate.databases.mysql import REDO_LOGS, datadir, init_only_env, ping, read_written, sql_dump, upgrade_rule
from orchestrate.databases.versions import Version, Versioning


def _generation(version: Version) -> int:
    """5.5 came before 10.x; from 10 on, each first number is a generation (10.11 -> 11.8 is one step)."""
    return version.parts[0] if version.parts[0] >= 10 else 9


KIND = DatabaseKind(
    name="mariadb",
    image_env=frozenset({"MARIADB_VERSION", "MARIADB_MAJOR"}),
    servers=frozenset({"mariadbd"}),
    init_only_env=init_only_env("MARIADB", "MYSQL"),
    readiness=ping("mariadb-admin"),
    hot_backup=sql_dump("mariadb-dump", "mariadb", ("MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD")),
    versioning=Versioning(
        "MariaDB", datadir, ("mariadb_upgrade_info", "mysql_upgrade_info", *REDO_LOGS), read_written,
        ("MARIADB_VERSION", "MARIADB_MAJOR"), upgrade_rule("MariaDB", _generation),
    ),
)
