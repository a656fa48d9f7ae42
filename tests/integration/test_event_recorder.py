"""The engine-event recorder behind every "no mutating event happened" test: it must see the events
that do happen, and its own failures must fail the test rather than pass as silence."""

from __future__ import annotations

import docker
import pytest

from tests.integration.conftest import BUSYBOX, EngineProxy, EventRecorder, World


@pytest.mark.parametrize("label_filter", [False, True])
def test_the_recorder_sees_an_event_that_happens(world: World, label_filter: bool) -> None:
    filters = {"type": "container", "label": f"io.stateful.app={world.name('app')}"} if label_filter else {}
    recorder = EventRecorder(world.client, filters)
    made = world.client.containers.create(BUSYBOX, ["true"], name=world.name("seen"), labels={"io.stateful.app": world.name("app")})
    made.remove()
    events = recorder.stop_proven(world.prefix)
    assert {e["Action"] for e in events if e.get("id") == made.id} >= {"create", "destroy"}
    ours = {e.get("Actor", {}).get("Attributes", {}).get("name", "") for e in events} - {""}
    assert {name for name in ours if name.startswith(world.prefix)} == {world.name("seen")}  # the control is not returned


def test_the_recorder_raises_when_its_stream_breaks(world: World, engine_proxy: EngineProxy) -> None:
    client = docker.DockerClient(base_url=engine_proxy.url)
    try:
        recorder = EventRecorder(client, {})
        engine_proxy.stop()  # the engine goes away under the recorder: silence from now on means nothing
        with pytest.raises(AssertionError, match="the event recorder failed: ConnectionError"):
            recorder.stop()
    finally:
        client.close()
        engine_proxy.start()
