"""Remaps: change where a volume lives in the spec, apply, and the data follows, verified, the old copy kept."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.integration.conftest import HELPER, World, busybox_spec, mariadb_spec, redis_spec

ROWS = 50_000
SUMMARY = "SELECT COUNT(*), SUM(id), SUM(CRC32(note)) FROM shop.big"


def _mariadb_with_rows(world: World, volumes: str = "") -> tuple[str, str, str, str]:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app, volumes=volumes)))
    world.run("apply", spec, check=0)
    world.sql(
        app,
        "SET SESSION max_recursive_iterations = 1000000; CREATE TABLE shop.big (id INT PRIMARY KEY, note VARCHAR(40));"
        f"INSERT INTO shop.big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n, MD5(n) FROM s",
    )
    return app, spec, world.sql(app, SUMMARY), world.sql(app, "CHECKSUM TABLE shop.big EXTENDED")


def test_mariadb_volume_to_bind_to_another_volume_keeps_every_row(world: World) -> None:
    app, spec, summary, checksum = _mariadb_with_rows(world)
    assert summary.split("\t")[0] == str(ROWS)

    # Named volume -> a host directory.
    world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./srv-mysql"))
    diff = world.run("diff", spec, check=1)
    assert f"~ {app} migrate data: volume {app}-data (" in diff.out and f"-> bind {world.dir / 'srv-mysql'}" in diff.out
    moved = world.run("apply", spec, check=0)
    assert "verified:" in moved.out and "files" in moved.out
    assert world.sql(app, SUMMARY) == summary
    assert world.sql(app, "CHECKSUM TABLE shop.big EXTENDED") == checksum
    assert [m["Source"] for m in world.container(app).attrs["Mounts"]] == [str(world.dir / "srv-mysql")]
    assert (world.dir / "srv-mysql" / "mysql").is_dir()

    # The host directory -> another named volume.
    world.write("db.yaml", mariadb_spec(app, volumes=f"\n    name: {app}-data2"))
    world.run("apply", spec, check=0)
    assert world.sql(app, SUMMARY) == summary
    assert world.sql(app, "CHECKSUM TABLE shop.big EXTENDED") == checksum
    world.run("diff", spec, check=0)

    # Every old place still holds its copy, and `stateful volumes` names them retired.
    assert (world.dir / "srv-mysql" / "ibdata1").exists()
    listed = {(v["source"], v["state"]) for v in world.run("volumes", "--output", "json", check=0).json()}
    assert (f"volume {app}-data", "retired") in listed
    assert (f"bind {world.dir / 'srv-mysql'}", "retired") in listed
    assert (f"volume {app}-data2", "in use") in listed
    old = world.client.containers.run(
        "stateful-test/base:bookworm", ["ls", "/v/shop"], volumes={f"{app}-data": {"bind": "/v", "mode": "ro"}}, remove=True
    )
    assert b"big.ibd" in old

    # A retired copy goes only when asked by name; a volume in use is never offered.
    assert "not a retired copy" in world.run("volumes", "rm", f"{app}-data2", "--yes", check=2).err
    assert "never deletes host directories" in world.run("volumes", "rm", str(world.dir / "srv-mysql"), "--yes", check=2).err
    removed = world.run("volumes", "rm", f"{app}-data", "--yes", check=0)
    assert f"removed volume {app}-data" in removed.out


def test_redis_keys_follow_a_remap(world: World) -> None:
    app = world.name("cache")
    spec = str(world.write("cache.yaml", redis_spec(app)))
    world.run("apply", spec, check=0)
    for i in range(200):
        world.redis(app, "SET", f"k{i}", f"v{i}")
    world.redis(app, "SAVE")
    world.write("cache.yaml", redis_spec(app).replace("    target: /data\n", "    target: /data\n    bind: ./redis-data\n"))
    world.run("apply", spec, check=0)
    assert world.redis(app, "DBSIZE") == "200"
    assert world.redis(app, "GET", "k199") == "v199"


def test_remap_onto_a_target_holding_other_data_is_refused_before_anything_stops(world: World) -> None:
    app, spec, _, _ = _mariadb_with_rows(world)
    (world.dir / "occupied").mkdir()
    (world.dir / "occupied" / "someone-elses.txt").write_text("keep me")
    started = world.container(app).attrs["State"]["StartedAt"]
    world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./occupied"))
    refused = world.run("apply", spec, check=5)
    assert "already holds other data" in refused.out and f"--force-target {app}/data" in refused.out
    assert world.container(app).attrs["State"]["StartedAt"] == started
    assert (world.dir / "occupied" / "someone-elses.txt").read_text() == "keep me"


def test_killed_during_the_copy_the_app_comes_back_on_its_old_source(world: World) -> None:
    app, spec, summary, _ = _mariadb_with_rows(world)
    world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./srv-mysql"))
    world.env["STATEFUL_FAULT_KILL_AFTER"] = "migrate-copy"
    assert world.run("apply", spec).code == -signal.SIGKILL
    del world.env["STATEFUL_FAULT_KILL_AFTER"]

    # Pointing the spec back: the app starts on its old volume, with every row.
    world.write("db.yaml", mariadb_spec(app))
    world.run("apply", spec, check=0)
    assert [m["Name"] for m in world.container(app).attrs["Mounts"]] == [f"{app}-data"]
    assert world.sql(app, SUMMARY) == summary

    # And asking for the remap again resumes the copy it had begun.
    world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./srv-mysql"))
    resumed = world.run("apply", spec, check=0)
    assert "resuming an unfinished copy" in resumed.out
    assert world.sql(app, SUMMARY) == summary
    assert world.names() == [app]


def test_copy_keeps_owners_modes_links_sparse_files_xattrs_and_times(world: World) -> None:
    src = world.dir / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "owned").write_text("secret")
    os.chown(src / "sub" / "owned", 999, 999)
    (src / "sub" / "owned").chmod(0o640)
    os.symlink("sub/owned", src / "link")
    (src / "a").write_text("same inode")
    os.link(src / "a", src / "b")
    with (src / "sparse").open("wb") as sparse:
        sparse.truncate(50 * 1024 * 1024)
    os.setxattr(src / "a", "user.origin", b"stateful")
    os.utime(src / "sub" / "owned", (1_600_000_000, 1_600_000_000))

    app = world.name("box")
    spec = world.write("box.yaml", busybox_spec(app, extra="volumes:\n  data: {target: /data, bind: ./src}\n"))
    world.run("apply", "--settle", "1s", str(spec), check=0)
    world.write("box.yaml", busybox_spec(app, extra="volumes:\n  data: {target: /data}\n"))
    world.run("apply", "--settle", "1s", str(spec), check=0)

    copy = Path(world.client.volumes.get(f"{app}-data").attrs["Mountpoint"])
    owned = (copy / "sub" / "owned").stat()
    assert (owned.st_uid, owned.st_gid, owned.st_mode & 0o777, int(owned.st_mtime)) == (999, 999, 0o640, 1_600_000_000)
    assert os.readlink(copy / "link") == "sub/owned"
    assert (copy / "a").stat().st_ino == (copy / "b").stat().st_ino
    assert (copy / "sparse").stat().st_size == 50 * 1024 * 1024 and (copy / "sparse").stat().st_blocks < 1024
    assert os.getxattr(copy / "a", "user.origin") == b"stateful"
    assert (src / "sub" / "owned").read_text() == "secret"  # the old copy is kept


def test_verification_catches_a_difference(world: World) -> None:
    from orchestrate.act.copy import VERIFY
    from orchestrate.backends import connect
    from orchestrate.model.desired import Mount

    a, b = world.dir / "a", world.dir / "b"
    for place, text in ((a, "one"), (b, "two")):
        place.mkdir()
        (place / "f").write_text(text)
    mounts = [Mount(target="/from", kind="bind", source=str(a), read_only=True), Mount(target="/to", kind="bind", source=str(b))]
    code, output = connect().run_helper(HELPER, VERIFY, mounts, name=world.name("verify"))
    assert code == 3 and "MISMATCH" in output


def test_remap_onto_nfs_that_cannot_mount_rolls_back_to_the_old_volume(world: World) -> None:
    """This kernel has no NFS client: the engine's mount error is the failure a dead share gives."""
    app, spec, summary, _ = _mariadb_with_rows(world)
    nfs = f'\n    name: {app}-nfs\n    nfs: {{server: 127.0.0.1, export: /exports/db, options: "nfsvers=4"}}'
    world.write("db.yaml", mariadb_spec(app, volumes=nfs))
    failed = world.run("apply", spec, check=4)
    assert "rolled back" in failed.out
    assert [m["Name"] for m in world.container(app).attrs["Mounts"]] == [f"{app}-data"]
    assert world.sql(app, SUMMARY) == summary
    assert world.names() == [app]


def test_not_enough_space_at_the_target_is_refused_before_anything_stops(world: World) -> None:
    app, spec, summary, _ = _mariadb_with_rows(world)
    small = world.dir / "small-disk"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        started = world.container(app).attrs["State"]["StartedAt"]
        world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./small-disk/mysql"))
        refused = world.run("apply", spec, check=4)
        assert "bytes free, the data needs" in refused.out and "nothing was stopped" in refused.out
        assert world.container(app).attrs["State"]["StartedAt"] == started
        assert world.sql(app, SUMMARY) == summary
    finally:
        subprocess.run(["umount", str(small)], check=True)
