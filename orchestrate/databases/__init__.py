"""The registry of database kinds: the one place that knows what a database image needs.

A kind is chosen by the spec's `database:` field, else recognised from the image's own defaults
(its ENV, its entrypoint and CMD; never its name, which a mirror or a rename changes). Adding a
kind is a module beside these and one entry in KINDS. Pure: no engine, no filesystem.
"""

from __future__ import annotations

from orchestrate.databases import mariadb, mysql, postgres, redis
from orchestrate.databases.kind import DatabaseKind, Dump, HotBackup, Probe, SaveThenCopy
from orchestrate.model.observed import ImageDefaults

NONE = DatabaseKind(name="none")
KINDS: tuple[DatabaseKind, ...] = (mariadb.KIND, mysql.KIND, postgres.KIND, redis.KIND, NONE)
BY_NAME = {kind.name: kind for kind in KINDS}

__all__ = ["BY_NAME", "KINDS", "NONE", "DatabaseKind", "Dump", "HotBackup", "Probe", "SaveThenCopy", "detect", "resolve"]


def detect(image: ImageDefaults) -> DatabaseKind:
    """The kind the image runs, or NONE when it does not say clearly.

    ENV first: an image that starts through a wrapper still carries its version variable. Some
    images that only bundle clients or drivers carry several such variables: then the server its
    entrypoint or CMD starts decides, and nothing when that does not name one either.
    """
    by_env = [kind for kind in KINDS if kind.named_by_env(image.env)]
    if len(by_env) == 1:
        return by_env[0]
    by_server = [kind for kind in (by_env or KINDS) if kind.runs(image.entrypoint, image.cmd)]
    return by_server[0] if len(by_server) == 1 else NONE


def resolve(chosen: str, image: ImageDefaults) -> DatabaseKind:
    """The spec's choice wins (validated when the spec is read); without one, the image tells."""
    return BY_NAME[chosen] if chosen else detect(image)
