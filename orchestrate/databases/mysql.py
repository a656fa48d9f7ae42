"""MySQL, as the official `mysql` image runs it (and what the MariaDB kind shares with it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from orchestrate.databases.kind import DatabaseKind, Dump, Probe, with_file_variants
from orchestrate.databases.versions import Heads, Version, Versioning, Written, highest, parse

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


# An InnoDB redo log names the server that created it ("MariaDB 10.11.19", "MySQL 8.0.36") from
# byte 16 of its header; the upgrade-info file holds the version the system tables were upgraded to.
_CREATOR = re.compile(rb"(?:MariaDB|MySQL) (\d+(?:\.\d+)+)")
REDO_LOGS = ("ib_logfile0", "#innodb_redo/#ib_redo*")


def read_written(heads: Heads) -> Written | None:
    """The newest version any marker names: a newer server may have run on it since the upgrade step."""
    found = [parse(head) if "upgrade_info" in name else _creator(head) for name, head in heads.items()]
    version = highest(*found)
    return Written(version) if version else None


def _creator(head: bytes) -> Version | None:
    found = _CREATOR.search(head[16:])
    return parse(found.group(1)) if found else None


def datadir(_env: Mapping[str, str]) -> str:
    return "/var/lib/mysql"


def upgrade_rule(product: str, generation: Callable[[Version], int]) -> Callable[[Written, Version], str]:
    """Never back to an older series (x.y): its server cannot read what a newer one wrote.
    Forwards at most one generation at a time: the upgrade step of a server knows the one before."""

    def refusal(written: Written, server: Version) -> str:
        if written.version is None:
            return ""
        if server.series(2) < written.version.series(2):
            old, new = _series(written.version), _series(server)
            return f"{product} cannot be downgraded from {old} to {new}: an older server may not read newer data files"
        if generation(server) - generation(written.version) > 1:
            old, new = _series(written.version), _series(server)
            return f"{product} {new} does not upgrade data from {old} directly: upgrade through each major series in turn"
        return ""

    return refusal


def _series(version: Version) -> str:
    return ".".join(str(p) for p in version.series(2))


# MySQL's upgrade path: 5.5 -> 5.6 -> 5.7 -> 8.0 -> 8.4 LTS -> 9.x; later series go on from there.
_MYSQL_SERIES = ((5, 5), (5, 6), (5, 7), (8, 0), (8, 4))


def _mysql_generation(version: Version) -> int:
    series = version.series(2)
    if series in _MYSQL_SERIES:
        return _MYSQL_SERIES.index(series)
    return len(_MYSQL_SERIES) + max(0, version.parts[0] - 9) if version.parts[0] >= 9 else -10


KIND = DatabaseKind(
    name="mysql",
    image_env=frozenset({"MYSQL_VERSION", "MYSQL_MAJOR"}),
    servers=frozenset({"mysqld"}),
    init_only_env=init_only_env("MYSQL"),
    readiness=ping("mysqladmin"),
    hot_backup=sql_dump("mysqldump", "mysql", ("MYSQL_ROOT_PASSWORD",)),
    versioning=Versioning(
        "MySQL", datadir, ("mysql_upgrade_info", *REDO_LOGS), read_written, ("MYSQL_VERSION", "MYSQL_MAJOR"),
        upgrade_rule("MySQL", _mysql_generation),
    ),
)
