"""MariaDB, as the official `mariadb` image runs it."""

from __future__ import annotations

from orchestrate.databases.kind import DatabaseKind
from orchestrate.databases.mysql import init_only_env, ping, sql_dump

KIND = DatabaseKind(
    name="mariadb",
    image_env=frozenset({"MARIADB_VERSION", "MARIADB_MAJOR"}),
    servers=frozenset({"mariadbd"}),
    init_only_env=init_only_env("MARIADB", "MYSQL"),
    readiness=ping("mariadb-admin"),
    hot_backup=sql_dump("mariadb-dump", "mariadb", ("MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD")),
)
