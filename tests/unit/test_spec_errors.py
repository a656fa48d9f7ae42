"""Spec problems: `path:line:col: field: message`, every one at once, exit 2, and no engine call."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrate import backends as engine_package
from orchestrate.cli import main
from orchestrate.errors import ExitCode, SpecError
from orchestrate.runs.pipeline import load

HEAD = "apiVersion: stateful/v1\nkind: App\n"  # lines 1-2 of every document below


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _problems(directory: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load([directory], environ or {})
    assert caught.value.exit_code is ExitCode.BAD_SPEC
    return [str(p).replace(str(directory), "<dir>") for p in caught.value.problems]


# (id, files, environment, every problem expected, in the order reported)
CASES = [
    (
        "unknown keys with did-you-mean",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
enviroment: {A: b}
volumes:
  data:
    targt: /var/lib/mysql
    read-only: true
""",
        },
        {},
        [
            "<dir>/a.yaml:5:1: enviroment: unknown key 'enviroment'; did you mean 'env'?",
            "<dir>/a.yaml:7:3: volumes.data.target: required field is missing",
            "<dir>/a.yaml:8:5: volumes.data.targt: unknown key 'targt'; did you mean 'target'?",
            "<dir>/a.yaml:9:5: volumes.data.read-only: unknown key 'read-only'; did you mean 'read_only'?",
        ],
    ),
    (
        "keys carried over from compose map to ours",
        {"a.yaml": HEAD + "name: db\nimage: mariadb:11.4\nenvironment: {A: b}\ncontainer_name: db\n"},
        {},
        [
            "<dir>/a.yaml:5:1: environment: unknown key 'environment'; did you mean 'env'?",
            "<dir>/a.yaml:6:1: container_name: unknown key 'container_name'; did you mean 'name'?",
        ],
    ),
    (
        "wrong types, all at once",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
ports: [70000]
restart: sometimes
stop_grace_period: "3 weeks"
env:
  A: {nested: 1}
  B: 3306
""",
        },
        {},
        [
            "<dir>/a.yaml:5:9: ports.0: '70000': port 70000 is out of range 1-65535",
            "<dir>/a.yaml:6:10: restart: 'sometimes' is not a restart policy (no, always, unless-stopped, on-failure[:N])",
            "<dir>/a.yaml:7:20: stop_grace_period: '3 weeks' is not a duration (expected e.g. 30s, 2m, 1h30m)",
            "<dir>/a.yaml:9:3: env.A: Input should be a valid string",
        ],
    ),
    (
        "more wrong types: a scalar for a list, sizes, ranges, patterns",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
ports: 70000
resources: {memory: lots, cpus: 0}
healthcheck: {test: [CMD, healthcheck.sh], retries: -1}
volumes:
  data: {target: var/lib/mysql}
""",
        },
        {},
        [
            "<dir>/a.yaml:5:8: ports: Input should be a valid list",
            "<dir>/a.yaml:6:21: resources.memory: 'lots' is not a size (expected e.g. 512m, 1g)",
            "<dir>/a.yaml:6:33: resources.cpus: Input should be greater than or equal to 0.01",
            "<dir>/a.yaml:7:53: healthcheck.retries: Input should be greater than or equal to 0",
            "<dir>/a.yaml:9:18: volumes.data.target: 'var/lib/mysql' must be an absolute path (starting with /)",
        ],
    ),
    (
        "bad port mappings",
        {"a.yaml": HEAD + 'name: db\nimage: mariadb:11.4\nports: ["127.0.0.1:99999:3306", "abc", "3306/tcpx", "127.0.0.1:3306:3306"]\n'},
        {},
        [
            "<dir>/a.yaml:5:9: ports.0: '127.0.0.1:99999:3306': port 99999 is out of range 1-65535",
            "<dir>/a.yaml:5:33: ports.1: 'abc' is not a port mapping (expected [ip:][host:]container[/tcp|udp])",
            "<dir>/a.yaml:5:40: ports.2: '3306/tcpx' is not a port mapping (expected [ip:][host:]container[/tcp|udp])",
        ],
    ),
    (
        "duplicate app name across two files names the first file",
        {
            "a.yaml": HEAD + "name: db\nimage: mariadb:11.4\n",
            "b.yaml": HEAD + "image: mariadb:11.4\nname: db\n",
        },
        {},
        ["<dir>/b.yaml:4:7: name: duplicate app name; first defined in <dir>/a.yaml"],
    ),
    (
        "missing required field points at the document",
        {"a.yaml": HEAD + "name: db\nports: ['3306']\n"},
        {},
        ["<dir>/a.yaml:1:1: image: required field is missing"],
    ),
    (
        "missing required field in a second document",
        {"a.yaml": HEAD + "name: db\nimage: mariadb:11.4\n---\n" + HEAD + "name: cache\n"},
        {},
        ["<dir>/a.yaml:6:1: image: required field is missing"],
    ),
    (
        "YAML syntax error with line and column",
        {"a.yaml": HEAD + "name: db\nimage: [mariadb\nenv:\n  A: b\n"},
        {},
        ["<dir>/a.yaml:5:4: YAML syntax error: expected ',' or ']', but got ':'"],
    ),
    (
        "unknown apps in depends_on and volumes_from, with did-you-mean",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
depends_on: [redsi]
volumes_from: [cache, "reddis:ro"]
---
"""
            + HEAD
            + "name: redis\nimage: redis:7\n",
        },
        {},
        [
            "<dir>/a.yaml:5:14: depends_on.0: no app named 'redsi' in these specs; did you mean 'redis'?",
            "<dir>/a.yaml:6:16: volumes_from.0: no app named 'cache' in these specs",
            "<dir>/a.yaml:6:23: volumes_from.1: no app named 'reddis' in these specs; did you mean 'redis'?",
        ],
    ),
    (
        "self reference and a bad volumes_from mode",
        {
            "a.yaml": HEAD + "name: db\nimage: mariadb:11.4\ndepends_on: [db]\nvolumes_from: ['seed:rx']\n---\n"
            + HEAD
            + "name: seed\nimage: busybox\n",
        },
        {},
        [
            "<dir>/a.yaml:5:14: depends_on.0: an app cannot refer to itself",
            "<dir>/a.yaml:6:16: volumes_from.0: mode 'rx' must be ro or rw",
        ],
    ),
    (
        "dependency cycle",
        {
            "a.yaml": HEAD + "name: web\nimage: nginx\ndepends_on: [redis]\n",
            "b.yaml": HEAD + "name: redis\nimage: redis:7\ndepends_on: [web]\n",
        },
        {},
        ["<dir>/b.yaml:5:1: depends_on: dependency cycle: redis -> web -> redis"],
    ),
    (
        "required variable unset: the problem is at that value",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
env:
  MARIADB_ROOT_PASSWORD: ${MYSQL_ROOT_PASSWORD:?set MYSQL_ROOT_PASSWORD}
  OTHER: "x${EMPTY:?}"
""",
        },
        {"EMPTY": ""},
        [
            "<dir>/a.yaml:6:26: env.MARIADB_ROOT_PASSWORD: required variable MYSQL_ROOT_PASSWORD is missing a value: set MYSQL_ROOT_PASSWORD",
            "<dir>/a.yaml:7:10: env.OTHER: required variable EMPTY is missing a value",
        ],
    ),
    (
        "an interpolated value is validated where it was written",
        {"a.yaml": HEAD + 'name: db\nimage: mariadb:11.4\nports: ["${PORT}"]\n'},
        {"PORT": "70000"},
        ["<dir>/a.yaml:5:9: ports.0: '70000': port 70000 is out of range 1-65535"],
    ),
    (
        "two apps writing to one bind dir without shared_volumes",
        {
            "a.yaml": HEAD + "name: a\nimage: busybox\nvolumes:\n  data: {target: /data, bind: /srv/shared}\n",
            "b.yaml": HEAD + "name: b\nimage: busybox\nvolumes:\n  files: {target: /files, bind: /srv/shared}\n",
        },
        {},
        [
            "<dir>/a.yaml:6:3: volumes.data: bind /srv/shared is also mounted writable by a/data, b/files; "
            "list 'data' in shared_volumes of each app that shares it",
            "<dir>/b.yaml:6:3: volumes.files: bind /srv/shared is also mounted writable by a/data, b/files; "
            "list 'files' in shared_volumes of each app that shares it",
        ],
    ),
    (
        "shared by one app only: the other is still refused",
        {
            "a.yaml": HEAD + "name: a\nimage: busybox\nvolumes:\n  data: {target: /data, bind: /srv/shared}\nshared_volumes: [data]\n",
            "b.yaml": HEAD + "name: b\nimage: busybox\nvolumes:\n  files: {target: /files, bind: /srv/shared}\n",
        },
        {},
        [
            "<dir>/b.yaml:6:3: volumes.files: bind /srv/shared is also mounted writable by a/data, b/files; "
            "list 'files' in shared_volumes of each app that shares it",
        ],
    ),
    (
        "shared_volumes naming a key that is not a volume",
        {"a.yaml": HEAD + "name: a\nimage: busybox\nshared_volumes: [data]\n"},
        {},
        ["<dir>/a.yaml:1:1: shared_volumes: 'data' is not a key of volumes"],
    ),
    (
        "mode must be octal digits",
        {
            "a.yaml": HEAD
            + """\
name: db
image: mariadb:11.4
volumes:
  a: {target: /a, bind: /srv/a, mode: "0999"}
  b: {target: /b, bind: /srv/b, mode: 8}
  c: {target: /c, bind: /srv/c, mode: rwx}
  d: {target: /d, tmpfs: {mode: 1889}}
  e: {target: /e, mode: "0750"}
""",
        },
        {},
        [
            "<dir>/a.yaml:6:39: volumes.a.mode: '0999' is not a file mode (write it in octal, e.g. \"0750\")",
            "<dir>/a.yaml:7:39: volumes.b.mode: 8 is not a file mode (write it in octal, e.g. \"0750\")",
            "<dir>/a.yaml:8:39: volumes.c.mode: 'rwx' is not a file mode (write it in octal, e.g. \"0750\")",
            "<dir>/a.yaml:9:33: volumes.d.tmpfs.mode: 1889 is not a file mode (write it in octal, e.g. \"0750\")",
            "<dir>/a.yaml:10:3: volumes.e: mode and owner apply to bind mounts only",
        ],
    ),
    (
        "an empty bind, written or from an unset variable, is refused (it would mount the spec's folder)",
        {"a.yaml": HEAD + 'name: db\nimage: mariadb:11.4\nvolumes:\n  a: {target: /a, bind: ""}\n  b: {target: /b, bind: "${UNSET}"}\n'},
        {},
        [
            "<dir>/a.yaml:6:25: volumes.a.bind: bind is empty (an unset variable?); it would mount the spec's folder",
            "<dir>/a.yaml:7:25: volumes.b.bind: bind is empty (an unset variable?); it would mount the spec's folder",
        ],
    ),
    (
        "an empty IP publishes on every address, as in Compose",
        {"a.yaml": HEAD + 'name: db\nimage: mariadb:11.4\nports: [":2283:2283"]\nrestart: sometimes\n'},
        {},
        ["<dir>/a.yaml:6:10: restart: 'sometimes' is not a restart policy (no, always, unless-stopped, on-failure[:N])"],
    ),
    (
        "problems in two files are reported together",
        {
            "a.yaml": HEAD + "name: db\nimage: mariadb:11.4\nrestart: sometimes\n",
            "b.yaml": HEAD + "name: Cache\nimage: redis:7\n",
        },
        {},
        [
            "<dir>/a.yaml:5:10: restart: 'sometimes' is not a restart policy (no, always, unless-stopped, on-failure[:N])",
            "<dir>/b.yaml:3:7: name: 'Cache' is not an app name (lower-case letters, digits, and _ . - after the first character)",
        ],
    ),
]


@pytest.mark.parametrize(("files", "environ", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_spec_problems(tmp_path: Path, files: dict[str, str], environ: dict[str, str], expected: list[str]) -> None:
    _write(tmp_path, files)
    assert _problems(tmp_path, environ) == expected


# (id, the volumes block of one app, the modes it yields in octal)
MODES = [
    ("YAML 1.2 leading zero", "mode: 0750", 0o750),
    ("quoted", 'mode: "0750"', 0o750),
    ("bare digits are octal", "mode: 750", 0o750),
    ("0o notation", "mode: 0o644", 0o644),
    ("four digits", "mode: 2775", 0o2775),
]


@pytest.mark.parametrize(("line", "mode"), [m[1:] for m in MODES], ids=[m[0] for m in MODES])
def test_bind_mode_is_read_as_octal(tmp_path: Path, line: str, mode: int) -> None:
    _write(tmp_path, {"a.yaml": HEAD + f"name: db\nimage: busybox\nvolumes:\n  conf:\n    target: /conf\n    bind: /srv/conf\n    {line}\n"})
    (app,) = load([tmp_path], {})
    assert [d.mode for d in app.bind_dirs] == [mode]


@pytest.mark.parametrize(("line", "mode"), [("mode: 1777", 0o1777), ("mode: 0o700", 0o700), ('mode: "0755"', 0o755)])
def test_tmpfs_mode_is_read_as_octal(tmp_path: Path, line: str, mode: int) -> None:
    _write(tmp_path, {"a.yaml": HEAD + f"name: db\nimage: busybox\nvolumes:\n  scratch:\n    target: /tmp\n    tmpfs: {{size: 64m, {line}}}\n"})
    (app,) = load([tmp_path], {})
    assert [(m.tmpfs_size, m.tmpfs_mode) for m in app.mounts] == [(64 * 1024**2, mode)]


def test_shared_bind_dir_declared_shared_by_both_apps_is_accepted(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a.yaml": HEAD + "name: a\nimage: busybox\nvolumes:\n  data: {target: /data, bind: /srv/shared}\nshared_volumes: [data]\n",
            "b.yaml": HEAD + "name: b\nimage: busybox\nvolumes:\n  files: {target: /files, bind: /srv/shared}\nshared_volumes: [files]\n",
        },
    )
    apps = load([tmp_path], {})
    assert [(a.name, [(m.target, m.kind, m.source, m.read_only) for m in a.mounts]) for a in apps] == [
        ("a", [("/data", "bind", "/srv/shared", False)]),
        ("b", [("/files", "bind", "/srv/shared", False)]),
    ]


def test_read_only_second_mount_of_a_bind_dir_is_accepted(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a.yaml": HEAD + "name: a\nimage: busybox\nvolumes:\n  data: {target: /data, bind: /srv/shared}\n",
            "b.yaml": HEAD + "name: b\nimage: busybox\nvolumes:\n  data: {target: /data, bind: /srv/shared, read_only: true}\n",
        },
    )
    assert [a.name for a in load([tmp_path], {})] == ["a", "b"]


# --- through the command line ------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str | None]:
    """DOCKER_HOST points at a socket that does not exist; records every attempt to connect."""
    endpoint = f"unix://{tmp_path}/missing.sock"
    monkeypatch.setenv("DOCKER_HOST", endpoint)
    attempts: list[str | None] = []
    real_connect = engine_package.connect

    def spying_connect(endpoint: str | None = None, **options: Any) -> engine_package.Engine:
        attempts.append(endpoint)
        return real_connect(endpoint, **options)

    monkeypatch.setattr(engine_package, "connect", spying_connect)
    return attempts


@pytest.mark.parametrize("command", ["diff", "apply"])
def test_cli_bad_spec_exits_2_without_calling_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_engine: list[str | None], command: str
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    _write(specs, {"a.yaml": HEAD + "name: db\nimage: mariadb:11.4\nrestart: sometimes\nports: [70000]\n"})
    code, out, err = _run([command, str(specs)], capsys)
    assert (code, out, no_engine) == (ExitCode.BAD_SPEC, "", [])
    assert err.splitlines() == [
        f"{specs}/a.yaml:5:10: restart: 'sometimes' is not a restart policy (no, always, unless-stopped, on-failure[:N])",
        f"{specs}/a.yaml:6:9: ports.0: '70000': port 70000 is out of range 1-65535",
        "2 problems found; nothing was changed",
    ]


def test_cli_missing_spec_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], no_engine: list[str | None]) -> None:
    code, _, err = _run(["diff", str(tmp_path / "nope.yaml")], capsys)
    assert (code, no_engine) == (ExitCode.BAD_SPEC, [])
    assert err.splitlines() == [f"{tmp_path}/nope.yaml: no such file or directory", "1 problem found; nothing was changed"]


@pytest.mark.parametrize("command", ["diff", "apply"])
def test_cli_unreachable_engine_exits_3_and_names_the_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_engine: list[str | None], command: str
) -> None:
    _write(tmp_path, {"a.yaml": HEAD + "name: db\nimage: mariadb:11.4\nvolumes:\n  data: {target: /var/lib/mysql}\n"})
    code, out, err = _run([command, str(tmp_path / "a.yaml")], capsys)
    endpoint = f"unix://{tmp_path}/missing.sock"
    assert (code, out, no_engine) == (ExitCode.ENGINE_UNREACHABLE, "", [endpoint])
    assert err == f"error: cannot reach the Docker engine at {endpoint}: No such file or directory\n"
