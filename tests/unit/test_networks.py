"""An app on several networks: `networks:` in the spec, the desired app, the diff, the plan, the fake engine.

`network:` stays the one-network short form: a spec written with it keeps the hash it had, or the
upgrade would recreate every running app.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrate.decide.plan import Kind, make_plan
from orchestrate.errors import SpecError
from orchestrate.output import terminal
from orchestrate.tools.export import compose as compose_export
from tests.unit.builders import MARIADB, container_for, load_app, load_apps, state

HEAD = "apiVersion: stateful/v1\nkind: App\n"
DB = HEAD + "name: db\nimage: mariadb:11.4\nenv: {MARIADB_ROOT_PASSWORD: pw}\nvolumes:\n  data: {target: /var/lib/mysql}\n"
TWO = DB + "networks:\n  - {name: backend, aliases: [mysql, db1]}\n  - front\n"


@pytest.mark.parametrize(
    ("network", "spec_hash"),
    [
        # Values computed by the code before `networks:` existed.
        ("network: {name: backend, aliases: [mysql, db1]}\n", "3d02a8e64bca3b52"),
        ("network: backend\n", "d44d7b541ee61be9"),
        ("networks: [backend]\n", "d44d7b541ee61be9"),  # the list of one is the short form
        ("networks: [{name: backend, aliases: [db1, mysql]}]\n", "3d02a8e64bca3b52"),
    ],
)
def test_a_one_network_app_keeps_its_hash(tmp_path: Path, network: str, spec_hash: str) -> None:
    assert load_app(tmp_path, DB + network).spec_hash == spec_hash


def test_networks_in_order_with_their_aliases(tmp_path: Path) -> None:
    app = load_app(tmp_path, TWO)
    assert app.networks == (("backend", ("db1", "mysql")), ("front", ()))
    assert (app.network, app.aliases, app.more_networks) == ("backend", ("db1", "mysql"), (("front", ()),))
    assert app.spec_hash != load_app(tmp_path, DB + "network: {name: backend, aliases: [mysql, db1]}\n").spec_hash


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("network: backend\nnetworks: [front]\n", "give network (one) or networks (a list), not both"),
        ("networks: [front, {name: front, aliases: [x]}]\n", "networks: front listed twice"),
    ],
)
def test_network_and_networks_rules(tmp_path: Path, lines: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_apps(tmp_path, DB + lines)
    assert [message in str(p) for p in caught.value.problems] == [True]


def test_a_missing_network_is_created_once_for_every_app_on_it(tmp_path: Path) -> None:
    other = HEAD + "name: web\nimage: mariadb:11.4\nnetworks: [front, edge]\n"
    apps = load_apps(tmp_path, TWO + "---\n" + other)
    plan = make_plan(apps, state(images={"mariadb:11.4": MARIADB}, networks=("bridge", "edge")), spec_files=frozenset(a.spec_file for a in apps))
    assert [(a.app, a.create_networks) for a in plan.actions] == [("db", ("backend", "front")), ("web", ())]
    lines = [line.plain for line in terminal.plan_lines(plan)]
    assert lines[:3] == ["+ db create: create network backend", "+ db create: create network front", "+ db create: create volume db-data"]


@pytest.mark.parametrize(
    ("observed", "diffs"),
    [
        ({"backend": ("db1", "mysql"), "front": ()}, []),
        ({"backend": ("db1", "mysql")}, [("network", ["backend"], ["backend", "front"])]),
        (
            {"backend": ("mysql",), "front": ("x",)},
            [("networks.backend.aliases", ["mysql"], ["db1", "mysql"]), ("networks.front.aliases", ["x"], [])],
        ),
    ],
)
def test_every_network_and_its_aliases_are_compared(tmp_path: Path, observed: dict[str, tuple[str, ...]], diffs: list[object]) -> None:
    (app,) = apps = load_apps(tmp_path, TWO)
    container = replace(container_for(app, MARIADB), networks=observed)
    plan = make_plan(apps, state(containers=[container], images={"mariadb:11.4": MARIADB}, networks=("bridge", "backend", "front")))
    (action,) = plan.actions
    assert [(d.field, d.old, d.new) for d in action.diffs] == diffs
    assert action.kind is (Kind.RECREATE if diffs else Kind.NOOP)


def test_compose_export_lists_every_network(tmp_path: Path) -> None:
    top: dict[str, dict[str, object]] = {"networks": {}}
    service = compose_export._network(load_app(tmp_path, TWO), top)
    assert service == {"networks": {"backend": {"aliases": ["db1", "mysql"]}, "front": None}}
    assert sorted(top["networks"]) == ["backend", "front"]
