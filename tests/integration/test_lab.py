"""The lab of several Docker engines (tests/lab/lab.sh) does what the several-hosts tests rely on:
separate engines on three transports, the test images on each, failure injection that a client
sees within a bounded time and that can be undone, and storage shared between nodes.

Runs only with STATEFUL_LAB=1 (root, about two minutes); skipped otherwise. One xdist group: the
lab is one per machine, and these tests change it (a node down, a link cut) while they run.
"""

from __future__ import annotations

import uuid

import docker
import pytest

from tests.integration.conftest import BUSYBOX, MARIADB, REDIS
from tests.integration.lab import ENABLED, SKIP_REASON, VIAS, Lab

pytestmark = [pytest.mark.skipif(not ENABLED, reason=SKIP_REASON), pytest.mark.xdist_group("lab")]

# Seconds within which an endpoint of a stopped or cut-off node must give up (refuse or time out).
BOUND = 12.0


def _ids(lab: Lab, index: int, vias: tuple[str, ...] = VIAS) -> dict[str, str | None]:
    return {via: probe.engine_id for via, probe in lab.probe(index, vias, within=BOUND).items()}


def _gone(lab: Lab, index: int, vias: tuple[str, ...]) -> None:
    """None of `vias` answers on node `index` within BOUND."""
    for via, probe in lab.probe(index, vias, within=BOUND).items():
        assert probe.engine_id is None, f"node {index} still answers on {via}"
        print(f"node {index}, {via}: gave up after {probe.seconds:.2f} s")


def test_three_engines_with_their_own_ids_answer_on_unix_tcp_and_ssh(lab: Lab, client: docker.DockerClient) -> None:
    ids = {node.index: _ids(lab, node.index) for node in lab.nodes}
    assert len(ids) == 3
    for index, by_via in ids.items():
        assert None not in by_via.values(), f"node {index}: {by_via}"
        assert len(set(by_via.values())) == 1, f"node {index} answers with different IDs: {by_via}"
        assert lab.client(index, "unix").info()["Name"] == f"sf-n{index}"
    engines = {by_via["unix"] for by_via in ids.values()}
    assert len(engines) == 3, ids
    assert client.info()["ID"] not in engines, "a lab node answered with the main engine's ID"


def test_a_container_on_node_1_is_not_seen_on_node_2(lab: Lab) -> None:
    name = f"lab-{uuid.uuid4().hex[:8]}"
    one, two = lab.client(1, "tcp"), lab.client(2, "tcp")
    container = one.containers.run(BUSYBOX, ["sleep", "300"], name=name, detach=True)
    try:
        assert [c.name for c in one.containers.list(all=True, filters={"name": name})] == [name]
        assert two.containers.list(all=True, filters={"name": name}) == []
    finally:
        container.remove(force=True)


def test_the_test_images_are_on_every_node(lab: Lab, client: docker.DockerClient) -> None:
    wanted = {tag: image.id for image in client.images.list(filters={"reference": "stateful-test/*"}) for tag in image.tags}
    assert {BUSYBOX, MARIADB, REDIS} <= wanted.keys()
    for node in lab.nodes:
        api = lab.client(node.index, "unix")
        have = {tag: api.images.get(tag).id for tag in wanted}
        assert have == wanted, f"node {node.index}"


def test_a_killed_engine_stops_answering_and_comes_back(lab: Lab) -> None:
    before = _ids(lab, 2)
    lab.run("stop-node", "2", "--kill")
    try:
        _gone(lab, 2, VIAS)
        for index in (1, 3):
            assert None not in _ids(lab, index).values(), f"node {index} stopped answering with node 2"
    finally:
        lab.run("start-node", "2")
    assert _ids(lab, 2) == before


def test_a_partitioned_node_is_cut_off_from_the_network_only(lab: Lab) -> None:
    before = _ids(lab, 3)
    lab.run("partition", "3")
    try:
        _gone(lab, 3, ("tcp", "ssh"))
        # Its engine still runs: the local socket answers, as it would on the host itself.
        assert _ids(lab, 3, ("unix",)) == {"unix": before["unix"]}
        for index in (1, 2):
            assert None not in _ids(lab, index).values(), f"node {index} cut off with node 3"
    finally:
        lab.run("heal", "3")
    assert _ids(lab, 3) == before


def test_a_file_written_on_node_1_through_the_shared_storage_is_read_on_node_2(lab: Lab) -> None:
    token = uuid.uuid4().hex
    name = f"lab-{token[:8]}"
    (lab.export / name).mkdir()
    options = {"type": "none", "o": "bind", "device": str(lab.shared / name)}
    apis = [lab.client(1, "tcp"), lab.client(2, "tcp")]
    for api in apis:
        api.volumes.create(name=name, driver="local", driver_opts=options)
    mount = {name: {"bind": "/data", "mode": "rw"}}
    try:
        apis[0].containers.run(BUSYBOX, ["sh", "-c", f"echo {token} > /data/f"], volumes=mount, remove=True)
        # It went through sftp: the server's directory has it.
        assert (lab.export / name / "f").read_text().strip() == token
        read = apis[1].containers.run(BUSYBOX, ["cat", "/data/f"], volumes=mount, remove=True)
        assert read.decode().strip() == token
    finally:
        for api in apis:
            api.volumes.get(name).remove(force=True)


def test_up_again_keeps_the_running_lab_as_it_is(lab: Lab) -> None:
    before = {node.index: _ids(lab, node.index) for node in lab.nodes}
    api = lab.client(1, "unix")
    container = api.containers.run(BUSYBOX, ["sleep", "300"], name=f"lab-{uuid.uuid4().hex[:8]}", detach=True)
    try:
        started = api.containers.get(container.id).attrs["State"]["StartedAt"]
        lab.run("up", str(len(lab.nodes)))
        assert {node.index: _ids(lab, node.index) for node in lab.nodes} == before
        # The engine was not restarted under it.
        assert api.containers.get(container.id).attrs["State"]["StartedAt"] == started
    finally:
        container.remove(force=True)
