"""destroy keeps every volume and host dir; --purge-volumes removes only the app's named volumes."""

from __future__ import annotations

from pathlib import Path

import docker.errors
import pytest

from tests.integration.conftest import World, busybox_spec


def _spec(world: World, app: str) -> str:
    return busybox_spec(
        app,
        command="echo kept > /data/file; echo host > /host/file; while :; do sleep 1; done",
        extra="volumes:\n  data: {target: /data}\n  host: {target: /host, bind: ./hostdir}\n",
    )


def test_destroy_keeps_volumes_and_host_dirs(world: World) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", _spec(world, app)))
    world.run("apply", "--settle", "1s", spec, check=0)

    result = world.run("destroy", app, check=0)
    assert f"removed container {app}" in result.out
    assert f"kept volume {app}-data" in result.out
    assert f"kept bind {world.dir / 'hostdir'}" in result.out
    assert world.client.volumes.get(f"{app}-data")
    assert (world.dir / "hostdir" / "file").read_text() == "host\n"


def test_purge_needs_confirmation_and_never_touches_bind_dirs(world: World) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", _spec(world, app)))
    world.run("apply", "--settle", "1s", spec, check=0)

    refused = world.run("destroy", app, "--purge-volumes", check=2)
    assert f"{app}-data" in refused.err
    assert world.running(app)  # nothing was touched

    purged = world.run("destroy", app, "--purge-volumes", "--yes", check=0)
    assert f"removed volume {app}-data" in purged.out
    with pytest.raises(docker.errors.NotFound):
        world.client.volumes.get(f"{app}-data")
    assert Path(world.dir / "hostdir" / "file").read_text() == "host\n"


def test_destroy_of_unknown_app_is_refused(world: World) -> None:
    result = world.run("destroy", world.name("nothing"), check=4)
    assert "no app named" in result.err
