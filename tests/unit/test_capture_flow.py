"""capture in two halves: the Docker backend turns inspect documents into Capture values (sources
of --volumes-from first, ids turned into app names), and tools/adopt only marks what the captured
specs share. The inspect documents here are plain dicts handed to the backend's own function; the
docker SDK is not involved."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.backends.docker.capture import capture_containers
from orchestrate.errors import UsageError
from orchestrate.model.capture import Capture
from orchestrate.tools.adopt import capture_containers as capture_and_mark
from tests.unit.fake_engine import FakeEngine

IMAGE = {"Id": "sha256:img", "Config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {}}}


def _container(name: str, container_id: str, *, mounts: list[dict[str, Any]], volumes_from: list[str] | None = None) -> dict[str, Any]:
    return {
        "Id": container_id,
        "Name": "/" + name,
        "Image": "sha256:img",
        "Config": {"Image": "busybox", "Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {}},
        "HostConfig": {"VolumesFrom": volumes_from, "RestartPolicy": {"Name": "no"}},
        "Mounts": mounts,
        "NetworkSettings": {"Networks": {"bridge": {}}},
    }


DATA = {"Type": "volume", "Name": "shared-data", "Destination": "/data", "Driver": "local", "RW": True}
DOCS = {
    "data": _container("data", "a" * 64, mounts=[DATA]),
    "app": _container("app", "b" * 64, mounts=[DATA], volumes_from=["a" * 64 + ":ro"]),
}


def _inspect(kind: str, ref: str) -> dict[str, Any] | None:
    if kind == "image":
        return IMAGE
    return next((doc for name, doc in DOCS.items() if ref in (name, doc["Id"])), None)


def test_docker_capture_puts_sources_first_and_names_them_by_app() -> None:
    captures = capture_containers(_inspect, ["app", "data"], endpoint="fake://engine")
    assert [c.name for c in captures] == ["data", "app"]
    data, app = captures
    assert data.spec["volumes"] == {"data": {"target": "/data", "name": "shared-data"}}
    # The borrower names its source by app name (not by id), and does not copy its volumes.
    assert (app.spec["volumes_from"], "volumes" in app.spec) == (["data:ro"], False)


def test_docker_capture_of_an_absent_container_names_it() -> None:
    with pytest.raises(UsageError, match=r"no container named 'gone' on fake://engine"):
        capture_containers(_inspect, ["gone"], endpoint="fake://engine")


def _spec(name: str, bind: str) -> dict[str, Any]:
    return {"name": name, "volumes": {"data": {"target": "/data", "bind": bind}}}


def test_adopt_tool_marks_what_captured_containers_share() -> None:
    engine = FakeEngine()
    engine.captures = {
        "one": Capture("one", _spec("one", "/srv/shared")),
        "two": Capture("two", _spec("two", "/srv/shared")),
        "own": Capture("own", _spec("own", "/srv/own")),
    }
    captures = capture_and_mark(engine, ["one", "two", "own"])  # type: ignore[arg-type]
    assert [c.spec.get("shared_volumes") for c in captures] == [["data"], ["data"], None]
    assert captures[0].report == ["shared_volumes: data: bind /srv/shared is also written by two; listed as shared (as it was)"]
