"""Every observed field is compared or knowingly ignored: a field observed and never compared is
silent drift (a changed `tmpfs: {size: ...}` once went unnoticed that way)."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from orchestrate.backends.docker.inspect import container_from_inspect
from orchestrate.decide.compare import COMPARED_BY, NOT_COMPARED, Sides, compare, mount_diffs
from orchestrate.model.desired import Healthcheck, PortBinding
from orchestrate.model.observed import ObservedContainer, ObservedMount
from tests.unit.builders import MARIADB, container_for, load_app

SPEC = """
apiVersion: stateful/v1
kind: App
name: db
image: mariadb:11.4
env: {MARIADB_DATABASE: shop}
ports: ["3306:3306"]
volumes:
  data: {target: /var/lib/mysql}
  scratch: {target: /scratch, tmpfs: {size: 64m, mode: "1770"}}
healthcheck: {test: [CMD, healthcheck.sh], interval: 2s}
resources: {memory: 512m, cpus: 1}
user: "999"
restart: on-failure:3
labels: {team: shop}
"""

# One change per compared field, each of which the comparison must report.
CHANGED: dict[str, Any] = {
    "image": "mariadb:11.8",
    "image_id": "sha256:" + "b" * 64,
    "cmd": ("mariadbd", "--skip-grant-tables"),
    "entrypoint": ("/bin/sh",),
    "env": {"MARIADB_DATABASE": "other"},
    "ports": (PortBinding(3306, "tcp", "", 3307),),
    "mounts": (ObservedMount("/var/lib/mysql", "volume", "elsewhere", False),),
    "networks": {"backend": ()},
    "restart": "always",  # from on-failure:3
    "restart_retries": 5,
    "healthcheck": Healthcheck(test=("CMD", "true")),
    "stop_timeout": 1,
    "memory": 1024,
    "nano_cpus": 2_000_000_000,
    "user": "root",
    "labels": {"team": "other"},
}


def test_every_observed_field_is_compared_or_ignored_with_a_reason() -> None:
    observed = {f.name for f in fields(ObservedContainer)}
    assert not set(COMPARED_BY) & set(NOT_COMPARED)
    assert observed == set(COMPARED_BY) | set(NOT_COMPARED), "a new observed field must be compared or listed as ignored"
    assert set(CHANGED) == set(COMPARED_BY), "each compared field needs a change in this table"


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_a_change_of_each_compared_field_is_reported(tmp_path: Path, field: str) -> None:
    app = load_app(tmp_path, SPEC)
    container = container_for(app)
    assert compare(Sides(app, container, MARIADB, MARIADB.id)) == []  # the control: in sync as made
    value = CHANGED[field]
    if field == "env":
        value = {**container.env, **value}
    if field == "labels":
        value = {**container.labels, **value}
    changed = replace(container, **{field: value})
    reported = COMPARED_BY[field](Sides(app, changed, MARIADB, MARIADB.id))
    assert reported, f"{field} changed and its rule saw nothing"


@pytest.mark.parametrize(
    ("change", "old", "new"),
    [
        ({"tmpfs_size": 128 * 1024**2}, "tmpfs (size 128 MiB, mode 1770)", "tmpfs (size 64 MiB, mode 1770)"),
        ({"tmpfs_size": None}, "tmpfs (mode 1770)", "tmpfs (size 64 MiB, mode 1770)"),
        ({"tmpfs_mode": 0o1777}, "tmpfs (size 64 MiB, mode 1777)", "tmpfs (size 64 MiB, mode 1770)"),
        ({"read_only": True}, "tmpfs (ro) (size 64 MiB, mode 1770)", "tmpfs (size 64 MiB, mode 1770)"),
        ({"kind": "volume", "source": "db-scratch"}, "volume db-scratch", "tmpfs (size 64 MiB, mode 1770)"),
    ],
    ids=["size", "size-unset", "mode", "read-only", "kind"],
)
def test_tmpfs_options_are_compared(tmp_path: Path, change: dict[str, Any], old: str, new: str) -> None:
    app = load_app(tmp_path, SPEC)
    container = container_for(app)
    mounts = tuple(replace(m, **change) if m.target == "/scratch" else m for m in container.mounts)
    assert [(d.field, d.old, d.new) for d in mount_diffs(app.mounts, mounts)] == [("volumes.scratch", old, new)]


@pytest.mark.parametrize(
    "host_config",
    [
        {"Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 64 * 1024**2, "Mode": 0o1770}}]},
        {"Tmpfs": {"/scratch": "size=64m,mode=1770"}},
        {"Tmpfs": {"/scratch": "rw,size=65536k,mode=1770,noexec"}},
    ],
    ids=["mounts-api", "tmpfs-option", "tmpfs-option-in-k"],
)
def test_tmpfs_size_and_mode_are_observed_either_way_the_engine_stores_them(host_config: dict[str, Any]) -> None:
    container = container_from_inspect({"Id": "x" * 64, "Name": "/db", "Config": {}, "HostConfig": host_config, "Mounts": []})
    assert container.mounts == (ObservedMount("/scratch", "tmpfs", "", False, 64 * 1024**2, 0o1770),)
