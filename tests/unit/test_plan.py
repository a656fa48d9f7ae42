"""The planner from a table: (spec, observed state) -> the action of each app and its reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrate import labels as L
from orchestrate.backends.docker.inspect import volume_from_inspect
from orchestrate.decide.plan import Kind, Plan, Safeguards, make_plan
from orchestrate.errors import ExitCode
from orchestrate.model.desired import DesiredApp
from orchestrate.model.observed import HostDir, ImageDefaults, ObservedContainer, ObservedState
from orchestrate.output import documents, terminal
from tests.unit.builders import MARIADB, container_for, foreign_container, load_apps, state, volume

HEAD = "apiVersion: stateful/v1\nkind: App\n"
MYSQL = HEAD + """\
name: mysql
image: mariadb:11.4
env: {MARIADB_DATABASE: demo}
volumes:
  data: {target: /var/lib/mysql}
"""
REDIS = ImageDefaults(
    id="sha256:" + "7" * 64, env={"REDIS_VERSION": "7.2.4"}, cmd=("redis-server",), entrypoint=("docker-entrypoint.sh",), volumes=("/data",)
)
IMAGES = {"mariadb:11.4": MARIADB, "redis:7": REDIS}
DATA = volume("mysql-data", app="mysql", key="data")

Observe = Callable[[list[DesiredApp]], ObservedState]


def _mysql_like(apps: list[DesiredApp], env: tuple[str, str], **container: object) -> ObservedState:
    """The state after applying the app with one env value set differently (`env` = key, old value)."""
    (app,) = apps
    key, value = env
    created_from = replace(app, env={**app.env, key: value})
    return state(containers=[container_for(created_from, **container)], volumes=[DATA], images=IMAGES)


# (description, spec, observed state from the desired apps, expected (app, kind, exit code of a refusal),
#  expected plan lines, plan.changes)
CASES: list[tuple[str, str, Observe, list[tuple[str, Kind, ExitCode | None]], list[str], bool]] = [
    (
        "no container: create, with its volume",
        MYSQL,
        lambda apps: state(images=IMAGES),
        [("mysql", Kind.CREATE, None)],
        ["+ mysql create: create volume mysql-data", "+ mysql create: no container"],
        True,
    ),
    (
        "no container and no image: pull first",
        MYSQL,
        lambda apps: state(images={}, volumes=[DATA]),
        [("mysql", Kind.CREATE, None)],
        ["+ mysql create: pull mariadb:11.4", "+ mysql create: no container"],
        True,
    ),
    (
        "matching and running: nothing to do",
        MYSQL,
        lambda apps: state(containers=[container_for(apps[0])], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.NOOP, None)],
        [],
        False,
    ),
    (
        "matching but exited: start",
        MYSQL,
        lambda apps: state(containers=[container_for(apps[0], status="exited")], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.START, None)],
        ["> mysql start: container is exited"],
        True,
    ),
    (
        "matching but never started: start",
        MYSQL,
        lambda apps: state(containers=[container_for(apps[0], status="created")], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.START, None)],
        ["> mysql start: container is created"],
        True,
    ),
    (
        "restart policy changed by docker update: update in place",
        MYSQL,
        lambda apps: state(containers=[container_for(apps[0], restart="always")], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.UPDATE, None)],
        ['~ mysql update: restart: "always" -> "unless-stopped"'],
        True,
    ),
    (
        "restart policy changed and exited: update, which starts it",
        MYSQL,
        lambda apps: state(containers=[container_for(apps[0], restart="no", status="exited")], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.UPDATE, None)],
        ["~ mysql update: container is exited", '~ mysql update: restart: "no" -> "unless-stopped"'],
        True,
    ),
    (
        "env changed: recreate",
        MYSQL,
        lambda apps: _mysql_like(apps, ("MARIADB_DATABASE", "shop")),
        [("mysql", Kind.RECREATE, None)],
        ['~ mysql recreate: env.MARIADB_DATABASE: "shop" -> "demo"'],
        True,
    ),
    (
        "env changed and restart changed: one recreate carries both",
        MYSQL,
        lambda apps: _mysql_like(apps, ("MARIADB_DATABASE", "shop"), restart="always"),
        [("mysql", Kind.RECREATE, None)],
        ['~ mysql recreate: env.MARIADB_DATABASE: "shop" -> "demo"', '~ mysql recreate: restart: "always" -> "unless-stopped"'],
        True,
    ),
    (
        "new image tag not present: recreate, pulling it first",
        MYSQL.replace("mariadb:11.4", "mariadb:11.8"),
        lambda apps: state(containers=[container_for(replace(apps[0], image="mariadb:11.4"))], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.RECREATE, None)],
        ["~ mysql recreate: pull mariadb:11.8", '~ mysql recreate: image: "mariadb:11.4" -> "mariadb:11.8"'],
        True,
    ),
    (
        "foreign container holding the app's name: refused",
        MYSQL,
        lambda apps: state(containers=[foreign_container("mysql")], volumes=[DATA], images=IMAGES),
        [("mysql", Kind.BLOCKED, ExitCode.APPLY_FAILED)],
        [
            "! mysql blocked: container 'mysql' exists but was not created by stateful; take it over on its volumes with "
            "`stateful adopt mysql --into <spec dir>`, or rename it (`docker rename mysql mysql-old`) and apply again"
        ],
        True,
    ),
    (
        "image VOLUME the spec does not mount: refused, naming the path",
        HEAD + "name: mysql\nimage: mariadb:11.4\n",
        lambda apps: state(images=IMAGES),
        [("mysql", Kind.BLOCKED, ExitCode.BAD_SPEC)],
        [
            "! mysql blocked: image mariadb:11.4 declares VOLUME /var/lib/mysql, which the spec does not mount; "
            "Docker would put that data in an anonymous volume. Add under volumes:\n    <key>:\n      target: /var/lib/mysql"
        ],
        True,
    ),
    (
        "image VOLUME mounted with a trailing slash is covered",
        HEAD + "name: mysql\nimage: mariadb:11.4\nvolumes:\n  data: {target: /var/lib/mysql/}\n",
        lambda apps: state(images=IMAGES, volumes=[DATA]),
        [("mysql", Kind.CREATE, None)],
        ["+ mysql create: no container"],
        True,
    ),
    (
        "bind dir with create: false missing: refused by the data guard",
        MYSQL + "  conf: {target: /etc/mysql/conf.d, bind: /srv/mysql-conf, create: false}\n",
        lambda apps: state(images=IMAGES, volumes=[DATA], host_dirs=[HostDir("/srv/mysql-conf", exists=False)]),
        [("mysql", Kind.BLOCKED, ExitCode.DATA_GUARD)],
        [
            "! mysql blocked: volume conf: bind source /srv/mysql-conf does not exist and the spec says create: false "
            "(is the disk or share mounted?)"
        ],
        True,
    ),
    (
        "bind source is a file: refused by the data guard",
        MYSQL + "  conf: {target: /etc/mysql/conf.d, bind: /srv/mysql-conf}\n",
        lambda apps: state(images=IMAGES, volumes=[DATA], host_dirs=[HostDir("/srv/mysql-conf", exists=True, is_dir=False)]),
        [("mysql", Kind.BLOCKED, ExitCode.DATA_GUARD)],
        ["! mysql blocked: volume conf: bind source /srv/mysql-conf exists and is not a directory"],
        True,
    ),
    (
        "bind dir missing with create: true (the default): created first",
        MYSQL + "  conf: {target: /etc/mysql/conf.d, bind: /srv/mysql-conf, mode: '0750', owner: '999:999'}\n",
        lambda apps: state(images=IMAGES, volumes=[DATA], host_dirs=[HostDir("/srv/mysql-conf", exists=False)]),
        [("mysql", Kind.CREATE, None)],
        ["+ mysql create: create directory /srv/mysql-conf", "+ mysql create: no container"],
        True,
    ),
    (
        "volume exists with another driver: refused by the data guard",
        MYSQL.replace("data: {target: /var/lib/mysql}", "data: {target: /var/lib/mysql, driver: rexray/ebs}"),
        lambda apps: state(images=IMAGES, volumes=[DATA]),
        [("mysql", Kind.BLOCKED, ExitCode.DATA_GUARD)],
        [
            "! mysql blocked: volume data: mysql-data exists with driver 'local', the spec asks for 'rexray/ebs'; "
            "stateful never recreates a volume. Give the volume a new name in the spec to move the data, or change the spec back"
        ],
        True,
    ),
    (
        "volume driver local:latest is local",
        MYSQL,
        lambda apps: state(
            containers=[container_for(apps[0])],
            volumes=[volume_from_inspect({"Name": "mysql-data", "Driver": "local:latest", "Labels": DATA.labels, "Options": None})],
            images=IMAGES,
        ),
        [("mysql", Kind.NOOP, None)],
        [],
        False,
    ),
    (
        "NFS volume exists on another server: refused by the data guard",
        MYSQL.replace("data: {target: /var/lib/mysql}", "data: {target: /var/lib/mysql, nfs: {server: 10.0.0.6, export: /exports/mysql}}"),
        lambda apps: state(
            images=IMAGES,
            volumes=[volume("mysql-data", app="mysql", key="data", options={"type": "nfs", "o": "addr=10.0.0.5", "device": ":/exports/mysql"})],
        ),
        [("mysql", Kind.BLOCKED, ExitCode.DATA_GUARD)],
        [
            "! mysql blocked: volume data: mysql-data exists with options {'o': 'addr=10.0.0.5'}, the spec asks for "
            "{'o': 'addr=10.0.0.6'}; stateful never recreates a volume. Give the volume a new name in the spec to move the data"
        ],
        True,
    ),
    (
        "network shared by two apps is created once, by the first",
        MYSQL + "network: backend\n---\n" + HEAD + "name: redis\nimage: redis:7\nnetwork: backend\nvolumes:\n  data: {target: /data}\n",
        lambda apps: state(images=IMAGES, volumes=[DATA]),
        [("mysql", Kind.CREATE, None), ("redis", Kind.CREATE, None)],
        [
            "+ mysql create: create network backend",
            "+ mysql create: no container",
            "+ redis create: create volume redis-data",
            "+ redis create: no container",
        ],
        True,
    ),
    (
        "existing network is not created",
        MYSQL + "network: backend\n",
        lambda apps: state(images=IMAGES, volumes=[DATA], networks=["bridge", "backend"]),
        [("mysql", Kind.CREATE, None)],
        ["+ mysql create: no container"],
        True,
    ),
    (
        "orphan: a managed container of these specs whose app is gone",
        MYSQL,
        lambda apps: state(
            containers=[container_for(apps[0]), container_for(replace(apps[0], name="old-cache"))], volumes=[DATA], images=IMAGES
        ),
        [("mysql", Kind.NOOP, None)],
        ["? old-cache orphan: managed container with no spec here (kept; see `stateful destroy old-cache`)"],
        False,
    ),
    (
        "a managed container applied from other spec files is not an orphan here",
        MYSQL,
        lambda apps: state(
            containers=[container_for(apps[0]), container_for(replace(apps[0], name="web", spec_file="/elsewhere/web.yaml"))],
            volumes=[DATA],
            images=IMAGES,
        ),
        [("mysql", Kind.NOOP, None)],
        [],
        False,
    ),
    (
        "volumes_from: the source app is planned first, whatever the names",
        HEAD + "name: app\nimage: redis:7\nvolumes_from: [seed]\n---\n" + HEAD + "name: seed\nimage: redis:7\nvolumes:\n  data: {target: /data}\n",
        lambda apps: state(images=IMAGES),
        [("seed", Kind.CREATE, None), ("app", Kind.CREATE, None)],
        ["+ seed create: create volume seed-data", "+ seed create: no container", "+ app create: no container"],
        True,
    ),
    (
        "depends_on orders the plan",
        HEAD + "name: api\nimage: redis:7\ndepends_on: [mysql]\nvolumes:\n  data: {target: /data}\n---\n" + MYSQL,
        lambda apps: state(images=IMAGES, volumes=[DATA, volume("api-data")]),
        [("mysql", Kind.CREATE, None), ("api", Kind.CREATE, None)],
        ["+ mysql create: no container", "+ api create: no container"],
        True,
    ),
]


def _plan(tmp_path: Path, spec: str, observe: Observe) -> Plan:
    apps = load_apps(tmp_path, spec)
    return make_plan(apps, observe(apps), spec_files=frozenset(a.spec_file for a in apps))


@pytest.mark.parametrize(("spec", "observe", "actions", "lines", "changes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan(
    tmp_path: Path,
    spec: str,
    observe: Observe,
    actions: list[tuple[str, Kind, ExitCode | None]],
    lines: list[str],
    changes: bool,
) -> None:
    plan = _plan(tmp_path, spec, observe)
    assert [(a.app, a.kind, a.problem.exit_code if a.problem else None) for a in plan.actions] == actions
    assert [line.plain for line in terminal.plan_lines(plan)] == lines
    assert plan.changes is changes


def test_create_action_carries_what_to_create(tmp_path: Path) -> None:
    spec = MYSQL + "  conf: {target: /etc/mysql/conf.d, bind: /srv/mysql-conf, mode: '0750', owner: '999:999'}\nnetwork: backend\n"
    plan = _plan(tmp_path, spec, lambda apps: state(images={}, host_dirs=[HostDir("/srv/mysql-conf", exists=False)]))
    (action,) = plan.actions
    assert (
        action.kind,
        action.pull,
        [(v.name, v.app, v.key, v.driver, v.driver_opts) for v in action.create_volumes],
        [(d.path, d.key, d.create, d.mode, d.owner) for d in action.create_dirs],
        action.create_networks,
        action.container_id,
        action.generation,
    ) == (
        Kind.CREATE,
        "mariadb:11.4",
        [("mysql-data", "mysql", "data", "local", ())],
        [("/srv/mysql-conf", "conf", True, 0o750, "999:999")],
        ("backend",),
        None,
        1,
    )


def test_recreate_action_names_the_old_container_and_next_generation(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MYSQL, lambda apps: _mysql_like(apps, ("MARIADB_DATABASE", "shop"), container_id="c-old", generation=4))
    (action,) = plan.actions
    assert (action.kind, action.container_id, action.generation, action.pull, action.create_volumes) == (Kind.RECREATE, "c-old", 5, None, ())
    assert [(d.field, d.old, d.new, d.effect.value) for d in action.diffs] == [("env.MARIADB_DATABASE", "shop", "demo", "recreate")]


def test_update_action_diff_is_an_update_effect(tmp_path: Path) -> None:
    changed = {"restart": "on-failure", "restart_retries": 3}
    plan = _plan(tmp_path, MYSQL, lambda apps: state(containers=[container_for(apps[0], **changed)], volumes=[DATA], images=IMAGES))
    (action,) = plan.actions
    assert (action.kind, action.start) == (Kind.UPDATE, False)
    assert [(d.field, d.old, d.new, d.effect.value) for d in action.diffs] == [("restart", "on-failure:3", "unless-stopped", "update")]


def test_plan_json_for_a_refusal_has_its_exit_code(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MYSQL, lambda apps: state(containers=[foreign_container("mysql")], volumes=[DATA], images=IMAGES))
    assert documents.plan_json(plan) == {
        "changes": True,
        "apps": [
            {
                "app": "mysql",
                "action": "blocked",
                "diffs": [],
                "notes": [],
                "datadir_written_by": None,
                "problem": (
                    "container 'mysql' exists but was not created by stateful; take it over on its volumes with "
                    "`stateful adopt mysql --into <spec dir>`, or rename it (`docker rename mysql mysql-old`) and apply again"
                ),
                "exit_code": 4,
                "pull": None,
                "migrations": [],
                "recovery": None,
                "create": {"network": None, "networks": [], "volumes": [], "directories": []},
            }
        ],
        "orphans": [],
        "recoveries": [],
    }


OLDER_TOOL_LABELS = [
    {L.SPEC_HASH: "0123456789abcdef"},  # the hash of the canonical spec changed with the tool
    {L.SPEC_VERSION: "0"},
    {L.SPEC_FILE: "/old/checkout/specs/mysql.yaml"},  # the spec moved
    {L.GENERATION: "17"},
]


@pytest.mark.parametrize("labels", OLDER_TOOL_LABELS, ids=[next(iter(labels)) for labels in OLDER_TOOL_LABELS])
def test_our_own_bookkeeping_labels_never_cause_a_recreate(tmp_path: Path, labels: dict[str, str]) -> None:
    """Field note 17: a tool upgrade recreated every container. Only what the spec sets is compared."""

    def older(apps: list[DesiredApp]) -> ObservedState:
        made = container_for(apps[0])
        return state(containers=[replace(made, labels={**made.labels, **labels})], volumes=[DATA], images=IMAGES)

    plan = _plan(tmp_path, MYSQL, older)
    assert [(a.kind, a.diffs) for a in plan.actions] == [(Kind.NOOP, ())]


OURS, THEIRS = "/var/lib/stateful", "/home/ops/.local/state/stateful"


def _labelled(app: DesiredApp, state_dir: str | None, **changes: object) -> ObservedContainer:
    made = container_for(app, **changes)  # type: ignore[arg-type]
    labels = dict(made.labels)
    if state_dir is not None:
        labels[L.STATE_DIR] = state_dir
    return replace(made, labels=labels)


STATE_DIR_CASES = [
    # (id, containers of mysql as (state dir label or None, name), expected kind)
    ("made from this state dir", [(OURS, "mysql")], Kind.NOOP),
    ("made before containers said where from", [(None, "mysql")], Kind.NOOP),
    ("made from another state dir", [(THEIRS, "mysql")], Kind.BLOCKED),
    ("another state dir's recreate in flight, new one not yet renamed", [(None, "mysql.stateful-old"), (THEIRS, "mysql.stateful-new")], Kind.BLOCKED),
    ("another state dir's recreate in flight, new one holds the name", [(THEIRS, "mysql"), (None, "mysql.stateful-old")], Kind.BLOCKED),
]


@pytest.mark.parametrize(("containers", "kind"), [c[1:] for c in STATE_DIR_CASES], ids=[c[0] for c in STATE_DIR_CASES])
def test_an_app_managed_from_another_state_dir_is_left_alone(tmp_path: Path, containers: list[tuple[str | None, str]], kind: Kind) -> None:
    apps = load_apps(tmp_path, MYSQL)
    made = [_labelled(apps[0], label, name=name, container_id=name) for label, name in containers]
    observed = state(containers=made, volumes=[DATA], images=IMAGES)
    (action,) = make_plan(apps, observed, safeguards=Safeguards(state_dir=OURS)).actions
    assert action.kind is kind
    if kind is Kind.BLOCKED:
        assert action.problem is not None and action.problem.exit_code is ExitCode.APPLY_FAILED
        assert action.problem.message.startswith(f"mysql is managed from another state dir, {THEIRS}:")
        assert f"--state-dir {THEIRS}" in action.problem.message


def test_an_orphan_managed_from_another_state_dir_is_not_ours_to_prune(tmp_path: Path) -> None:
    apps = load_apps(tmp_path, MYSQL)
    (tmp_path / "gone").mkdir()
    (gone,) = load_apps(tmp_path / "gone", MYSQL.replace("name: mysql", "name: old"))
    spec_files = frozenset({apps[0].spec_file, gone.spec_file})
    for label, orphans in ((OURS, ("old",)), (THEIRS, ())):
        observed = state(containers=[container_for(apps[0]), _labelled(gone, label)], volumes=[DATA], images=IMAGES)
        assert make_plan(apps, observed, spec_files=spec_files, safeguards=Safeguards(state_dir=OURS)).orphans == orphans
