"""Several hosts in the lab (tests/lab/lab.sh): one spec set over three engines reached by unix,
tcp and ssh; `stateful hosts`; a host killed or cut off is exit 3 naming it while the others are
reconciled, and nothing is started anywhere else.

Runs only with STATEFUL_LAB=1; the lab is one per machine and these tests stop and cut nodes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import MARIADB, REDIS, World
from tests.integration.lab import ENABLED, SKIP_REASON, Lab

pytestmark = [pytest.mark.skipif(not ENABLED, reason=SKIP_REASON), pytest.mark.xdist_group("lab")]

APP = """\
---
apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
host: {host}
{extra}"""


def _spec_set(world: World, lab: Lab, tag: str) -> dict[str, tuple[str, int]]:
    """Redis on n1 (unix), MariaDB on n2 (tcp), Redis on n3 (ssh): app -> (host, node)."""
    world.write(
        "specs/hosts.yaml",
        "apiVersion: stateful/v1\nkind: Hosts\nhosts:\n"
        + "".join(f"  n{i}: {{engine: '{lab.node(i).urls[via]}'}}\n" for i, via in ((1, "unix"), (2, "tcp"), (3, "ssh"))),
    )
    maria = "env: {MARIADB_ROOT_PASSWORD: secret}\nvolumes:\n  data: {target: /var/lib/mysql}\n"
    redis = "volumes:\n  data: {target: /data}\n"
    apps = {f"{tag}-cache": ("n1", 1, REDIS, redis), f"{tag}-db": ("n2", 2, MARIADB, maria), f"{tag}-queue": ("n3", 3, REDIS, redis)}
    text = "".join(APP.format(name=n, image=image, host=host, extra=extra) for n, (host, _, image, extra) in apps.items())
    world.write("specs/apps.yaml", text)
    world.env["HOME"] = str(lab.ssh_home)  # the ssh transport reads ~/.ssh (the lab's key and known_hosts)
    return {name: (host, node) for name, (host, node, _, _) in apps.items()}


def _where(lab: Lab, name: str) -> list[int]:
    """The lab nodes (by number) holding a container of that name."""
    return [n.index for n in lab.nodes if lab.client(n.index, "tcp").containers.list(all=True, filters={"name": f"^{name}$"})]


def _cleanup(lab: Lab, names: list[str]) -> None:
    for node in lab.nodes:
        try:
            client = lab.client(node.index, "tcp")
            for name in names:
                for container in client.containers.list(all=True, filters={"name": f"^{name}$"}):
                    container.remove(force=True, v=False)
            for volume in client.volumes.list(filters={"label": "io.stateful.managed=true"}):
                if any(volume.name.startswith(name) for name in names):
                    volume.remove(force=True)
        except Exception:  # a node a test left down: nothing of ours to remove there
            continue


@pytest.fixture
def tag(lab: Lab) -> Iterator[str]:
    name = f"h{uuid.uuid4().hex[:6]}"
    yield name
    _cleanup(lab, [f"{name}-cache", f"{name}-db", f"{name}-queue"])


def test_one_spec_set_over_unix_tcp_and_ssh_hosts(world: World, lab: Lab, tag: str) -> None:
    apps = _spec_set(world, lab, tag)
    world.run("apply", str(world.dir / "specs"), check=0)
    for name, (_, node) in apps.items():
        assert _where(lab, name) == [node], f"{name} is not (only) on node {node}"
        assert lab.client(node, "tcp").containers.get(name).status == "running"
    diff = world.run("diff", "-o", "json", str(world.dir / "specs"), check=0)
    assert {h["host"]: h["reachable"] for h in json.loads(diff.out)["hosts"]} == {"n1": True, "n2": True, "n3": True}
    listed = json.loads(world.run("hosts", "-o", "json", str(world.dir / "specs"), check=0).out)
    by_name = {row["name"]: row for row in listed}
    assert by_name["n2"]["apps"] == [f"{tag}-db"] and by_name["n3"]["endpoint"].startswith("ssh://")
    assert all(row["reachable"] and row["answered_at"] for row in listed)
    one = world.run("diff", "--host", "n1", str(world.dir / "specs"), check=0)
    assert one.out.startswith("n1: ") and "n2:" not in one.out


@pytest.mark.parametrize("failure", ["kill", "partition"])
def test_a_host_down_is_exit_3_naming_it_and_the_others_are_reconciled(world: World, lab: Lab, tag: str, failure: str) -> None:
    apps = _spec_set(world, lab, tag)
    world.run("apply", str(world.dir / "specs"), check=0)
    for name in (f"{tag}-cache", f"{tag}-queue"):  # drift on the hosts that stay up
        lab.client(apps[name][1], "tcp").containers.get(name).stop(timeout=1)
    if failure == "kill":
        lab.run("stop-node", "2", "--kill")
    else:
        lab.run("partition", "2")
    try:
        result = world.run("apply", str(world.dir / "specs"), check=3, timeout=240)
        assert f"host n2: cannot reach the Docker engine at {lab.node(2).urls['tcp']}" in result.err
        assert f"not reconciled: {tag}-db" in result.err
        listed = world.run("hosts", str(world.dir / "specs"), check=3)
        assert "n2" in listed.out and "DOWN" in listed.out
        for name in (f"{tag}-cache", f"{tag}-queue"):
            assert lab.client(apps[name][1], "tcp").containers.get(name).status == "running", f"{name} was not reconciled"
        for index in (1, 3):
            assert not lab.client(index, "tcp").containers.list(all=True, filters={"name": f"^{tag}-db$"}), f"db started on node {index}"
    finally:
        lab.run("start-node", "2") if failure == "kill" else lab.run("heal", "2")
    world.run("apply", str(world.dir / "specs"), check=0)
    assert _where(lab, f"{tag}-db") == [2]
