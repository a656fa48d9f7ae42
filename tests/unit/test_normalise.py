"""Both sides normalised before comparing: the known false-drift cases, and real drift found exactly.

The desired side comes from a spec file through the loader; the observed side from inspect dicts
shaped like the Docker engine's own answers (container and image), through observed.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrate.backends.docker.inspect import container_from_inspect, image_from_inspect
from orchestrate.decide.compare import Effect, FieldDiff, Sides, compare
from orchestrate.decide.plan import make_plan
from orchestrate.output import documents, terminal
from tests.unit.builders import load_app, state, volume

IMAGE_ID = "sha256:" + "1" * 64
NEW_IMAGE_ID = "sha256:" + "2" * 64
IMAGE_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "GOSU_VERSION=1.17",
    "LANG=C.UTF-8",
    "MARIADB_VERSION=1:11.4.2+maria~ubu2404",
]
IMAGE_LABELS = {"org.opencontainers.image.title": "MariaDB Database", "org.opencontainers.image.version": "11.4.2"}
IMAGE_HEALTHCHECK = {
    "Test": ["CMD", "healthcheck.sh"],
    "Interval": 2_000_000_000,
    "Timeout": 5_000_000_000,
    "StartPeriod": 60_000_000_000,
    "Retries": 3,
}

SPEC = """
apiVersion: stateful/v1
kind: App
name: mysql
image: mariadb:11.4
env:
  MARIADB_ROOT_PASSWORD: s3cret
  MARIADB_DATABASE: demo
  PORT: 3306
ports: ["127.0.0.1:3306:3306"]
volumes:
  data: {target: /var/lib/mysql}
restart: unless-stopped
stop_grace_period: 60s
labels: {team: data}
"""


def image_inspect(**config: Any) -> dict[str, Any]:
    """`docker image inspect mariadb:11.4`, trimmed to what matters."""
    return {
        "Id": IMAGE_ID,
        "RepoTags": ["mariadb:11.4"],
        "Config": {
            "User": "",
            "ExposedPorts": {"3306/tcp": {}},
            "Env": list(IMAGE_ENV),
            "Cmd": ["mariadbd"],
            "Entrypoint": ["docker-entrypoint.sh"],
            "Volumes": {"/var/lib/mysql": {}},
            "Labels": dict(IMAGE_LABELS),
            **config,
        },
    }


def container_inspect() -> dict[str, Any]:
    """`docker inspect mysql` of the container created from SPEC: image ENV, CMD and labels merged in."""
    return {
        "Id": "9f" * 32,
        "Name": "/mysql",
        "Image": IMAGE_ID,
        "RestartCount": 0,
        "State": {"Status": "running", "Running": True, "StartedAt": "2024-05-01T10:00:00.123456789Z", "Health": None},
        "Config": {
            "Hostname": "9f9f9f9f9f9f",
            "User": "",
            "ExposedPorts": {"3306/tcp": {}},
            "Env": ["MARIADB_ROOT_PASSWORD=s3cret", "MARIADB_DATABASE=demo", "PORT=3306", *IMAGE_ENV],
            "Cmd": ["mariadbd"],
            "Image": "mariadb:11.4",
            "Volumes": {"/var/lib/mysql": {}},
            "Entrypoint": ["docker-entrypoint.sh"],
            "Labels": {
                **IMAGE_LABELS,
                "team": "data",
                "io.stateful.managed": "true",
                "io.stateful.app": "mysql",
                "io.stateful.spec-hash": "0123456789abcdef",
                "io.stateful.spec-version": "1",
                "io.stateful.generation": "1",
            },
            "StopTimeout": 60,
        },
        "HostConfig": {
            "NetworkMode": "bridge",
            "PortBindings": {"3306/tcp": [{"HostIp": "127.0.0.1", "HostPort": "3306"}]},
            "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
            "Mounts": [{"Type": "volume", "Source": "mysql-data", "Target": "/var/lib/mysql"}],
            "Memory": 0,
            "NanoCpus": 0,
        },
        "Mounts": [
            {
                "Type": "volume",
                "Name": "mysql-data",
                "Source": "/var/lib/docker/volumes/mysql-data/_data",
                "Destination": "/var/lib/mysql",
                "Driver": "local",
                "Mode": "z",
                "RW": True,
                "Propagation": "",
            }
        ],
        "NetworkSettings": {"Networks": {"bridge": {"Aliases": None, "NetworkID": "b" * 64, "IPAddress": "172.17.0.2"}}},
    }


def diffs(
    tmp_path: Path,
    spec: str = SPEC,
    *,
    container: Callable[[dict[str, Any]], None] = lambda c: None,
    image: dict[str, Any] | None = None,
    desired_image_id: str | None = IMAGE_ID,
) -> list[FieldDiff]:
    """Compare the app of `spec` with the container that `container` edits in place."""
    data = container_inspect()
    container(data)
    defaults = image_from_inspect(image or image_inspect())
    return compare(Sides(load_app(tmp_path, spec), container_from_inspect(data), defaults, desired_image_id))


def _spec_with(old: str, new: str) -> str:
    assert old in SPEC
    return SPEC.replace(old, new)


def test_in_sync_container_has_no_drift(tmp_path: Path) -> None:
    assert diffs(tmp_path) == []


def test_image_env_present_in_container_is_no_drift(tmp_path: Path) -> None:
    data = container_inspect()
    assert [e for e in data["Config"]["Env"] if e.startswith(("PATH=", "GOSU_VERSION=", "LANG=", "MARIADB_VERSION="))] == IMAGE_ENV
    assert diffs(tmp_path) == []


def test_spec_value_equal_to_the_image_default_is_no_drift(tmp_path: Path) -> None:
    # Setting LANG to what the image sets anyway is the same as leaving it out.
    assert diffs(tmp_path, _spec_with("  PORT: 3306\n", "  PORT: 3306\n  LANG: C.UTF-8\n")) == []


@pytest.mark.parametrize(
    ("spec_line", "env_entry"),
    [
        ("  PORT: 3306\n", "PORT=3306"),
        ("  PORT: '3306'\n", "PORT=3306"),
        ("  PORT: 3306\n  DEBUG: true\n", "DEBUG=true"),
        ("  PORT: 3306\n  RATIO: 1.5\n", "RATIO=1.5"),
    ],
    ids=["int", "quoted", "bool", "float"],
)
def test_int_and_string_env_values_are_equal(tmp_path: Path, spec_line: str, env_entry: str) -> None:
    def env(c: dict[str, Any]) -> None:
        if env_entry not in c["Config"]["Env"]:
            c["Config"]["Env"].append(env_entry)

    assert diffs(tmp_path, _spec_with("  PORT: 3306\n", spec_line), container=env) == []


@pytest.mark.parametrize("bindings", [{}, None], ids=["empty", "null"])
def test_ports_omitted_equals_empty_port_bindings(tmp_path: Path, bindings: dict[str, Any] | None) -> None:
    def no_ports(c: dict[str, Any]) -> None:
        c["HostConfig"]["PortBindings"] = bindings

    assert diffs(tmp_path, _spec_with('ports: ["127.0.0.1:3306:3306"]\n', ""), container=no_ports) == []
    assert diffs(tmp_path, _spec_with('ports: ["127.0.0.1:3306:3306"]\n', "ports: []\n"), container=no_ports) == []


@pytest.mark.parametrize("cmd", [["mariadbd"], None], ids=["image CMD", "no CMD"])
def test_command_omitted_equals_the_image_cmd(tmp_path: Path, cmd: list[str] | None) -> None:
    def command(c: dict[str, Any]) -> None:
        c["Config"]["Cmd"] = cmd

    assert diffs(tmp_path, container=command, image=image_inspect(Cmd=cmd)) == []


def test_empty_command_equals_the_image_cmd(tmp_path: Path) -> None:
    # The engine runs the image's CMD when a container is created with an empty one.
    assert diffs(tmp_path, SPEC + "command: []\n") == []


def test_own_entrypoint_without_command_inherits_no_image_cmd(tmp_path: Path) -> None:
    def own_entrypoint(c: dict[str, Any]) -> None:
        c["Config"]["Entrypoint"] = ["mariadbd"]
        c["Config"]["Cmd"] = None

    assert diffs(tmp_path, SPEC + "entrypoint: [mariadbd]\n", container=own_entrypoint) == []


def test_spec_repeating_the_image_entrypoint_without_command(tmp_path: Path) -> None:
    # An entrypoint in the request means the engine copies no CMD from the image: the container has none.
    def entrypoint_only(c: dict[str, Any]) -> None:
        c["Config"]["Cmd"] = None

    assert diffs(tmp_path, SPEC + "entrypoint: [docker-entrypoint.sh]\n", container=entrypoint_only) == []


def test_command_change_is_detected(tmp_path: Path) -> None:
    assert diffs(tmp_path, SPEC + "command: [mariadbd, --skip-name-resolve]\n") == [
        FieldDiff("command", None, ["mariadbd", "--skip-name-resolve"])
    ]


def test_image_labels_and_healthcheck_are_no_drift(tmp_path: Path) -> None:
    def image_healthcheck(c: dict[str, Any]) -> None:
        c["Config"]["Healthcheck"] = dict(IMAGE_HEALTHCHECK)

    image = image_inspect(Healthcheck=dict(IMAGE_HEALTHCHECK))
    assert set(IMAGE_LABELS) <= set(container_inspect()["Config"]["Labels"])
    assert diffs(tmp_path, container=image_healthcheck, image=image) == []


def test_healthcheck_timings_left_out_are_the_images(tmp_path: Path) -> None:
    # The engine fills a healthcheck's zero timings from the image's HEALTHCHECK.
    def merged(c: dict[str, Any]) -> None:
        c["Config"]["Healthcheck"] = {**IMAGE_HEALTHCHECK, "Test": ["CMD-SHELL", "healthcheck.sh --connect"], "Interval": 5_000_000_000}

    spec = SPEC + "healthcheck: {test: healthcheck.sh --connect, interval: 5s}\n"
    assert diffs(tmp_path, spec, container=merged, image=image_inspect(Healthcheck=dict(IMAGE_HEALTHCHECK))) == []


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(c: dict[str, Any]) -> None:
        node: Any = c
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


# (id, spec, container edit, desired image id, exact differences)
CHANGES = [
    (
        "env changed",
        _spec_with("MARIADB_DATABASE: demo", "MARIADB_DATABASE: shop"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("env.MARIADB_DATABASE", "demo", "shop")],
    ),
    (
        "env added",
        _spec_with("  PORT: 3306\n", "  PORT: 3306\n  TZ: UTC\n"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("env.TZ", None, "UTC")],
    ),
    (
        "env removed from the spec",
        _spec_with("  MARIADB_DATABASE: demo\n", ""),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("env.MARIADB_DATABASE", "demo", None)],
    ),
    (
        "image tag",
        _spec_with("image: mariadb:11.4", "image: mariadb:11.8"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("image", "mariadb:11.4", "mariadb:11.8")],
    ),
    (
        "same tag, newer image pulled",
        SPEC,
        lambda c: None,
        NEW_IMAGE_ID,
        [FieldDiff("image", "mariadb:11.4 (111111111111)", "mariadb:11.4 (222222222222)")],
    ),
    (
        "restart policy changed by docker update",
        SPEC,
        _set(("HostConfig", "RestartPolicy"), {"Name": "always", "MaximumRetryCount": 0}),
        IMAGE_ID,
        [FieldDiff("restart", "always", "unless-stopped", Effect.UPDATE)],
    ),
    (
        "mount source changed",
        _spec_with("data: {target: /var/lib/mysql}", "data: {target: /var/lib/mysql, bind: /srv/mysql}"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("volumes.data", "volume mysql-data", "bind /srv/mysql")],
    ),
    (
        "port moved",
        _spec_with("127.0.0.1:3306:3306", "127.0.0.1:3307:3306"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("ports", ["127.0.0.1:3306:3306/tcp"], ["127.0.0.1:3307:3306/tcp"])],
    ),
    (
        "label changed",
        _spec_with("labels: {team: data}", "labels: {team: platform}"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("labels.team", "data", "platform")],
    ),
    (
        "stop grace period",
        _spec_with("stop_grace_period: 60s", "stop_grace_period: 2m"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("stop_grace_period", "60s", "120s")],
    ),
    (
        "secret env value changed",
        _spec_with("MARIADB_ROOT_PASSWORD: s3cret", "MARIADB_ROOT_PASSWORD: n3w"),
        lambda c: None,
        IMAGE_ID,
        [FieldDiff("env.MARIADB_ROOT_PASSWORD", "s3cret", "n3w", secret=True)],
    ),
]


@pytest.mark.parametrize(("spec", "edit", "image_id", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_explicit_change_is_detected_exactly(
    tmp_path: Path, spec: str, edit: Callable[[dict[str, Any]], None], image_id: str, expected: list[FieldDiff]
) -> None:
    assert diffs(tmp_path, spec, container=edit, desired_image_id=image_id) == expected


def test_changes_render_with_unset_for_a_missing_side(tmp_path: Path) -> None:
    spec = _spec_with("  MARIADB_DATABASE: demo\n", "  TZ: UTC\n").replace("image: mariadb:11.4", "image: mariadb:11.8")
    observed = state(
        containers=[container_from_inspect(_with_restart_always(container_inspect()))],
        volumes=[volume("mysql-data", app="mysql", key="data")],
        images={"mariadb:11.4": image_from_inspect(image_inspect()), "mariadb:11.8": image_from_inspect(image_inspect())},
    )
    plan = make_plan([load_app(tmp_path, spec)], observed)
    assert [line.plain for line in terminal.plan_lines(plan)] == [
        '~ mysql recreate: image: "mariadb:11.4" -> "mariadb:11.8"',
        '~ mysql recreate: env.MARIADB_DATABASE: "demo" -> (unset)',
        '~ mysql recreate: env.TZ: (unset) -> "UTC"',
        '~ mysql recreate: restart: "always" -> "unless-stopped"',
    ]


def _with_restart_always(data: dict[str, Any]) -> dict[str, Any]:
    data["HostConfig"]["RestartPolicy"] = {"Name": "always", "MaximumRetryCount": 0}
    return data


def test_secret_env_values_are_redacted_in_plan_lines(tmp_path: Path) -> None:
    spec = _spec_with("  MARIADB_ROOT_PASSWORD: s3cret\n", "  MARIADB_ROOT_PASSWORD: n3w\n  API_TOKEN: tok\n")
    observed = state(
        containers=[container_from_inspect(container_inspect())],
        volumes=[volume("mysql-data", app="mysql", key="data")],
        images={"mariadb:11.4": image_from_inspect(image_inspect())},
    )
    plan = make_plan([load_app(tmp_path, spec)], observed)
    lines = [line.plain for line in terminal.plan_lines(plan)]
    assert lines == [
        "~ mysql recreate: env.API_TOKEN: (unset) -> ***",
        "~ mysql recreate: env.MARIADB_ROOT_PASSWORD: *** -> ***",
    ]
    assert [(d["field"], d["old"], d["new"]) for d in documents.plan_json(plan)["apps"][0]["diffs"]] == [
        ("env.API_TOKEN", None, "***"),
        ("env.MARIADB_ROOT_PASSWORD", "***", "***"),
    ]


@pytest.mark.parametrize(
    ("spec_ports", "bindings"),
    [
        ('["3306:3306"]', {"3306/tcp": [{"HostIp": "0.0.0.0", "HostPort": "3306"}]}),
        ('["3306:3306"]', {"3306/tcp": [{"HostIp": "", "HostPort": "3306"}]}),
        ('["3306:3306"]', {"3306/tcp": [{"HostIp": "::", "HostPort": "3306"}]}),
        ('["3306"]', {"3306/tcp": [{"HostIp": "0.0.0.0", "HostPort": ""}]}),
        ('["3306"]', {"3306/tcp": [{"HostIp": "", "HostPort": ""}]}),
        ('["0.0.0.0:3306:3306"]', {"3306/tcp": [{"HostIp": "0.0.0.0", "HostPort": "3306"}]}),
        ("[3306]", {"3306/tcp": [{"HostIp": "", "HostPort": ""}]}),
        ('["3306:3306/tcp"]', {"3306/tcp": [{"HostIp": "0.0.0.0", "HostPort": "3306"}]}),
    ],
)
def test_every_address_is_one_host_ip(tmp_path: Path, spec_ports: str, bindings: dict[str, Any]) -> None:
    spec = _spec_with('ports: ["127.0.0.1:3306:3306"]', f"ports: {spec_ports}")
    assert diffs(tmp_path, spec, container=_set(("HostConfig", "PortBindings"), bindings)) == []
