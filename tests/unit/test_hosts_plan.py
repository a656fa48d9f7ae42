"""Planning over several hosts: each app against its own host's engine only; a host that does
not answer fails its own apps (naming host and endpoint) and the others are planned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from orchestrate.backends import Fleet, Host, Snapshot
from orchestrate.backends.local_files import LocalHostFiles
from orchestrate.decide.plan import Kind
from orchestrate.errors import EngineUnreachable
from orchestrate.model.desired import DesiredApp
from orchestrate.runs import pipeline
from orchestrate.runs.pipeline import HostDown, Planned
from tests.unit.builders import MARIADB
from tests.unit.fake_engine import FakeEngine

HOSTS = "apiVersion: stateful/v1\nkind: Hosts\nhosts:\n  db1: {engine: 'tcp://10.0.0.1:2375'}\n  db2: {engine: 'tcp://10.0.0.2:2375'}\n"
APPS = "".join(
    f"---\napiVersion: stateful/v1\nkind: App\nname: {name}\nimage: redis:7.0\nhost: {host}\n" for name, host in (("one", "db1"), ("two", "db2"))
)


def spec_set(directory: Path) -> list[DesiredApp]:
    (directory / "hosts.yaml").write_text(HOSTS)
    (directory / "apps.yaml").write_text(APPS)
    return pipeline.load([directory])


class DeadEngine(FakeEngine):
    def snapshot(self, **_: object) -> Snapshot:
        raise EngineUnreachable(self.endpoint, "connection refused")


def fleet(engines: dict[str, FakeEngine]) -> Fleet:
    return Fleet({name: Host(name, engine, LocalHostFiles(engine)) for name, engine in engines.items()})  # type: ignore[arg-type]


def engine(endpoint: str, kind: type[FakeEngine] = FakeEngine) -> FakeEngine:
    return kind(images={"redis:7.0": replace(MARIADB, volumes=())}, endpoint=endpoint)


def test_each_app_is_planned_against_its_own_hosts_engine(tmp_path: Path) -> None:
    desired = spec_set(tmp_path)
    local, db1, db2 = engine("unix:///x"), engine("tcp://10.0.0.1:2375"), engine("tcp://10.0.0.2:2375")
    local.add_container(desired[0], container_id="elsewhere")  # "one" running on another host is not db1's "one"
    db2.add_container(desired[1], container_id="two-1")
    planned = pipeline.plan_hosts(fleet({"local": local, "db1": db1, "db2": db2}), pipeline.apps_by_host(desired))
    assert list(planned) == ["db1", "db2"]
    one, two = planned["db1"], planned["db2"]
    assert isinstance(one, Planned) and isinstance(two, Planned)
    assert [(a.app, a.kind) for a in one.plan.actions] == [("one", Kind.CREATE)]
    assert [(a.app, a.kind) for a in two.plan.actions] == [("two", Kind.NOOP)]


def test_a_host_that_does_not_answer_fails_its_apps_only_and_names_itself(tmp_path: Path) -> None:
    desired = spec_set(tmp_path)
    hosts = {"local": FakeEngine(), "db1": engine("tcp://10.0.0.1:2375"), "db2": engine("tcp://10.0.0.2:2375", DeadEngine)}
    planned = pipeline.plan_hosts(fleet(hosts), pipeline.apps_by_host(desired))
    down = planned["db2"]
    assert isinstance(down, HostDown)
    assert (down.host, down.endpoint, down.apps) == ("db2", "tcp://10.0.0.2:2375", ["two"])
    assert str(down).startswith("host db2: cannot reach the Docker engine at tcp://10.0.0.2:2375: connection refused")
    alive = planned["db1"]
    assert isinstance(alive, Planned)
    assert [a.app for a in alive.plan.actions] == ["one"]  # "two" is planned nowhere else


def test_host_option_limits_the_run_to_that_hosts_apps(tmp_path: Path) -> None:
    desired = spec_set(tmp_path)
    assert {h: [a.name for a in apps] for h, apps in pipeline.apps_by_host(desired, "db2").items()} == {"db2": ["two"]}
