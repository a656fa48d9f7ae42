"""Stories from FIELD-NOTES.md, replayed against a real MariaDB: what lost other tools' data, and
what stateful does instead. tests/FIELD-NOTES.md maps every story to the tests that replay it;
these are the ones no other module already tells.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import MUTATING, EventRecorder, World, busybox_spec, mariadb_spec

OWNED_BIND = '\n    bind: {path}\n    owner: "999:999"'


def test_25_a_hand_renamed_container_is_never_joined_by_a_second_server(world: World) -> None:
    """Compose tracked containers by label and recreated a hand-renamed copy empty. Here the renamed
    container still runs on the datadir: a second MariaDB must not start beside it."""
    app, spec = world.mariadb_with_rows()
    world.container(app).rename(f"{app}-old")

    refused = world.run("apply", spec, check=5)
    assert f"volume {app}-data is mounted writable by running container {app}-old" in refused.out
    assert f"docker rename {app}-old {app}" in refused.out
    assert world.names() == [f"{app}-old"]  # nothing was created beside it

    # Taking it back, as the message says: the app is in sync again, on its data.
    world.container(f"{app}-old").rename(app)
    assert world.run("apply", "--output", "json", spec, check=0).json()["result"]["engine_mutations"] == 0
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"


@contextlib.contextmanager
def _data_disk(world: World) -> Iterator[tuple[Path, Path]]:
    """A separate filesystem (tmpfs) mounted at `disk` through a bind mount, as an external disk is:
    unmounting `disk` leaves the data on the filesystem and an empty directory at the mount point."""
    store, disk = world.dir / "store", world.dir / "disk"
    store.mkdir()
    disk.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(store)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a filesystem here: {exc}")
    try:
        subprocess.run(["mount", "--bind", str(store), str(disk)], check=True)
        yield store, disk
    finally:
        for mount_point in (disk, store):
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _mount(store: Path, disk: Path) -> None:
    subprocess.run(["mount", "--bind", str(store), str(disk)], check=True)


def _running_on_the_disk_then_rebooted_without_it(world: World, disk: Path) -> tuple[str, str, Path]:
    """MariaDB with rows on a datadir on the disk; then the host goes down and comes back without it."""
    datadir = disk / "mysql"
    app, spec = world.mariadb_with_rows(volumes=OWNED_BIND.format(path=datadir))
    world.container(app).stop()
    subprocess.run(["umount", str(disk)], check=True)
    return app, spec, datadir


def test_11_a_data_disk_that_is_not_mounted_is_refused_and_nothing_is_created(world: World) -> None:
    """A host reboots and the DB starts before its disk is mounted: it initialises an empty datadir on
    the root filesystem. Here the datadir is missing: nothing is created, nothing starts."""
    with _data_disk(world) as (store, disk):
        app, spec, datadir = _running_on_the_disk_then_rebooted_without_it(world, disk)
        assert list(disk.iterdir()) == []

        refused = world.run("apply", spec, check=5)
        assert f"data guard: {app}/data held data at the last healthy run" in refused.out
        assert f"bind {datadir} is missing now" in refused.out
        assert not datadir.exists()  # not created on the root filesystem
        assert not world.running(app)

        _mount(store, disk)  # the disk is back: the app starts on its data
        world.run("apply", spec, check=0)
        assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"


def test_11_a_data_disk_swapped_for_another_filesystem_is_refused(world: World) -> None:
    """The mount point exists but holds a copy on another filesystem (a stale directory left on the
    root filesystem): the data is not where it was."""
    with _data_disk(world) as (store, disk):
        app, spec, datadir = _running_on_the_disk_then_rebooted_without_it(world, disk)
        shutil.copytree(store / "mysql", datadir, symlinks=True)  # same files, wrong filesystem

        refused = world.run("apply", spec, check=5)
        assert f"bind {datadir} is on another filesystem now" in refused.out
        assert "is the disk or share mounted?" in refused.out
        assert not world.running(app)
        shutil.rmtree(datadir)


def test_6_moving_the_spec_directory_keeps_the_apps_and_their_data(world: World) -> None:
    """Compose names volumes after the project directory: a renamed directory came up on new, empty
    volumes. Volume names here are in the spec, so the moved spec finds the same data."""
    app, _ = world.mariadb_with_rows(filename="project-a/db.yaml")

    (world.dir / "project-a").rename(world.dir / "project-b")
    moved = str(world.dir / "project-b")
    world.run("diff", moved, check=0)
    assert world.run("apply", "--output", "json", moved, check=0).json()["result"]["engine_mutations"] == 0
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"
    assert [v.name for v in world.client.volumes.list(filters={"name": world.prefix})] == [f"{app}-data"]


def test_16_diff_and_check_with_changes_pending_touch_nothing(world: World) -> None:
    """A dry run once performed a real container swap. With a recreate, a create and a start all
    pending, `diff` and `reconcile --check` make no mutating call: the engine's events say so."""
    db, box, new = world.name("db"), world.name("box"), world.name("new")
    world.write("specs/db.yaml", mariadb_spec(db))
    world.write("specs/box.yaml", busybox_spec(box))
    specs = str(world.dir / "specs")
    world.run("apply", "--settle", "1s", specs, check=0)
    before = {c.name: c.id for c in world.ours()}
    world.container(box).stop()
    world.write("specs/db.yaml", mariadb_spec(db, extra_env={"TZ": "UTC"}))
    world.write("specs/new.yaml", busybox_spec(new))

    recorder = EventRecorder(world.client, {})
    diff = world.run("diff", specs, check=1)
    check = world.run("reconcile", "--check", specs, check=1)
    events = recorder.stop_proven(world.prefix)

    for output in (diff.out, check.out):
        assert f"~ {db} recreate" in output and f"> {box} start" in output and f"+ {new} create" in output
    ours = [e for e in events if (e.get("Actor", {}).get("Attributes", {}).get("name", "") or "").startswith(world.prefix)]
    assert [e["Action"] for e in ours if e.get("Action", "").split(":")[0] in MUTATING] == []
    assert {c.name: c.id for c in world.ours()} == before
    assert not world.running(box)


def test_5_purging_one_apps_volumes_removes_nothing_else(world: World) -> None:
    """`down -v` once removed volumes that were not in the file. --purge-volumes removes the volumes
    this app's spec named, found by their labels, and nothing that merely looks related."""
    a, b = world.name("a"), world.name("b")
    for app in (a, b):
        world.write(f"specs/{app}.yaml", busybox_spec(app, extra="volumes:\n  data: {target: /data}\n  cache: {target: /cache}\n"))
    world.run("apply", "--settle", "1s", str(world.dir / "specs"), check=0)
    lookalikes = [
        world.client.volumes.create(f"{a}-data-old"),  # a name starting like a's
        world.client.volumes.create(f"{a}-extra", labels={"io.stateful.app": a}),  # a's label, not made by stateful
    ]
    try:
        world.run("destroy", a, "--purge-volumes", "--yes", check=0)
        left = sorted(v.name for v in world.client.volumes.list(filters={"name": world.prefix}))
        assert left == sorted([f"{a}-data-old", f"{a}-extra", f"{b}-cache", f"{b}-data"])
        assert world.running(b)
    finally:
        for volume in lookalikes:
            volume.remove()


def test_12_a_data_volume_dropped_from_the_spec_is_refused_until_allowed(world: World) -> None:
    """A spec edit that drops a data volume would start the app without its data (an image without
    a VOLUME line gives no other warning). Refused until the operator says so; the data is kept."""
    app = world.name("box")
    with_data = busybox_spec(app, command="echo precious > /data/file; while :; do sleep 1; done", extra="volumes:\n  data: {target: /data}\n")
    spec = str(world.write("box.yaml", with_data))
    world.run("apply", "--settle", "1s", spec, check=0)
    world.run("apply", spec, check=0)  # a quiet run remembers that the volume now holds data
    running = world.container(app).id

    world.write("box.yaml", busybox_spec(app, command="while :; do sleep 1; done"))
    refused = world.run("apply", "--settle", "1s", spec, check=5)
    assert f"data guard: {app}/data held data at /data" in refused.out
    assert "the spec no longer mounts anything there" in refused.out
    assert world.container(app).id == running and world.running(app)

    world.run("apply", "--settle", "1s", "--allow-empty-volume", f"{app}/data", spec, check=0)
    assert world.container(app).id != running
    world.run("apply", spec, check=0)  # allowed once: the guard forgot that key, it does not refuse every run
    assert world.client.volumes.get(f"{app}-data")  # and the data is still there
