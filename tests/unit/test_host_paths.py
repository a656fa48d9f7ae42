"""Specs that were accepted but give a container the host, or hang or exhaust the loader.

Each case loaded without a word before (or hung, or filled memory); each is now a spec error at
file:line:col (exit 2), and the host-path ones name `allow_host_paths:`. The positive controls
show that the same fields still load when they are harmless or explicitly allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate.errors import ExitCode, SpecError
from orchestrate.runs.pipeline import load
from orchestrate.spec.paths import host_path_refusal, secret_target_refusal

HEAD = "apiVersion: stateful/v1\nkind: App\nname: db\nimage: mariadb:11\n"  # lines 1-4
ALLOW = "list it in allow_host_paths: to mount it anyway"
HOST = "which gives the container control of the host"


def _nothing(_: Path) -> None:
    pass


def _link_to(target: str, name: str = "conf") -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).symlink_to(target)

    return make


def _fifo(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.mkfifo(folder / name)

    return make


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return make


def _mkdir(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).mkdir()

    return make


CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    # binds that hand over the host
    ("bind of /", "volumes: {r: {target: /host, bind: /}}\n", _nothing, f"a.yaml:5:36: volumes.r.bind: host path / holds /etc, {HOST}; {ALLOW}"),
    (
        "bind of /etc",
        "volumes: {r: {target: /host, bind: /etc}}\n",
        _nothing,
        f"a.yaml:5:36: volumes.r.bind: host path /etc is /etc, {HOST}; {ALLOW}",
    ),
    (
        "bind under /proc",
        "volumes: {r: {target: /host, bind: /proc/1/root}}\n",
        _nothing,
        f"a.yaml:5:36: volumes.r.bind: host path /proc/1/root is under /proc, {HOST}; {ALLOW}",
    ),
    (
        "engine socket",
        "volumes: {r: {target: /s, bind: /var/run/docker.sock}}\n",
        _nothing,
        f"a.yaml:5:33: volumes.r.bind: host path {os.path.realpath('/var/run/docker.sock')} is "
        f"{os.path.realpath('/var/run/docker.sock')}, {HOST}; {ALLOW}",
    ),
    (
        "folder that holds /var/lib/docker",
        "volumes: {r: {target: /v, bind: /var}}\n",
        _nothing,
        f"a.yaml:5:33: volumes.r.bind: host path /var holds /var/run/docker.sock, {HOST}; {ALLOW}",
    ),
    (
        "relative bind that climbs to /",
        "volumes: {r: {target: /host, bind: " + "../" * 40 + "}}\n",
        _nothing,
        f"a.yaml:5:36: volumes.r.bind: host path / holds /etc, {HOST}; {ALLOW}",
    ),
    (
        "symlink to /etc",
        "volumes: {r: {target: /c, bind: ./conf}}\n",
        _link_to("/etc"),
        f"a.yaml:5:33: volumes.r.bind: host path /etc is /etc, {HOST}; {ALLOW}",
    ),
    (
        "local volume whose options bind /etc",
        "volumes: {r: {target: /c, driver_opts: {type: none, o: bind, device: /etc}}}\n",
        _nothing,
        f"a.yaml:5:70: volumes.r.driver_opts.device: host path /etc is /etc, {HOST}; {ALLOW}",
    ),
    # secrets and env files
    (
        "secret file /etc/shadow",
        "secrets: {pw: {file: /etc/shadow}}\n",
        _nothing,
        f"a.yaml:5:22: secrets.pw.file: host path /etc/shadow is under /etc, {HOST}; {ALLOW}",
    ),
    (
        "secret file linked to /etc/shadow",
        "secrets: {pw: {file: ./pw}}\n",
        _link_to("/etc/shadow", "pw"),
        f"a.yaml:5:22: secrets.pw.file: host path /etc/shadow is under /etc, {HOST}; {ALLOW}",
    ),
    (
        "secret name that climbs",
        "secrets: {../../etc/passwd: {file: ./pw}}\n",
        _write("pw", b"x"),
        "a.yaml:5:1: secrets: '../../etc/passwd' is not a secret name (letters, digits, and _ . - after the first character; at most 64)",
    ),
    (
        "secret target /etc/passwd",
        "secrets: {pw: {file: ./pw, target: /etc/passwd}}\n",
        _write("pw", b"x"),
        "a.yaml:5:36: secrets.pw.target: a secret may not replace /etc/passwd",
    ),
    (
        "secret target under /usr",
        "secrets: {pw: {file: ./pw, target: /usr/bin/env}}\n",
        _write("pw", b"x"),
        "a.yaml:5:36: secrets.pw.target: a secret may not be mounted under /usr",
    ),
    (
        "secret target relative",
        "secrets: {pw: {file: ./pw, target: pw}}\n",
        _write("pw", b"x"),
        "a.yaml:5:36: secrets.pw.target: 'pw' must be an absolute path (starting with /)",
    ),
    (
        "secret file is a FIFO",
        "secrets: {pw: {file: ./pw}}\n",
        _fifo("pw"),
        "a.yaml:5:22: secrets.pw.file: <dir>/pw is a FIFO (named pipe), not a regular file",
    ),
    (
        "secret file is /dev/zero",
        "secrets: {pw: {file: /dev/zero}}\n",
        _nothing,
        f"a.yaml:5:22: secrets.pw.file: host path /dev/zero is under /dev, {HOST}; {ALLOW}",
    ),
    (
        "allowed /dev/zero is still bounded",
        "allow_host_paths: [/dev/zero]\nsecrets: {pw: {file: /dev/zero}}\n",
        _nothing,
        "a.yaml:6:22: secrets.pw.file: /dev/zero is a character device, not a regular file",
    ),
    (
        "secret larger than 1 MiB",
        "secrets: {pw: {file: ./pw}}\n",
        _write("pw", b"x" * (1024 * 1024 + 1)),
        "a.yaml:5:22: secrets.pw.file: <dir>/pw is larger than 1 MiB, the most such a file may hold",
    ),
    ("env_file /etc/shadow", "env_file: [/etc/shadow]\n", _nothing, f"a.yaml:5:12: env_file.0: host path /etc/shadow is under /etc, {HOST}; {ALLOW}"),
    ("env file is a directory", "env_file: [./env]\n", _mkdir("env"), "a.yaml:5:12: env_file.0: <dir>/env is a directory, not a regular file"),
    ("env file is a FIFO", "env_file: [./env]\n", _fifo("env"), "a.yaml:5:12: env_file.0: <dir>/env is a FIFO (named pipe), not a regular file"),
    (
        "env file not UTF-8",
        "env_file: [./env]\n",
        _write("env", b"A=1\nB=\xff\n"),
        "a.yaml:5:12: env_file.0: <dir>/env is not UTF-8 text (at byte 7)",
    ),
    (
        "env file that is not NAME=value",
        "env_file: [./env]\n",
        _write("env", b"A=1\nroot:$6$salt$hash:19000:0:99999:7:::\n"),
        "a.yaml:5:12: env_file.0: <dir>/env: 1 entries are not NAME=value lines with a valid name (the first is entry 2)",
    ),
    # NFS fields that smuggled mount options
    (
        "nfs server with options",
        'volumes: {n: {target: /n, nfs: {server: "1.2.3.4,addr=6.6.6.6,nolock", export: /x}}}\n',
        _nothing,
        "a.yaml:5:41: volumes.n.nfs.server: '1.2.3.4,addr=6.6.6.6,nolock' is not a host name or an IP address",
    ),
    (
        "nfs options that override addr",
        'volumes: {n: {target: /n, nfs: {server: nas, export: /x, options: "addr=6.6.6.6"}}}\n',
        _nothing,
        "a.yaml:5:67: volumes.n.nfs.options: addr= comes from server; it may not be set in options",
    ),
    (
        "nfs export with a comma",
        'volumes: {n: {target: /n, nfs: {server: nas, export: "/x,nolock"}}}\n',
        _nothing,
        "a.yaml:5:54: volumes.n.nfs.export: '/x,nolock': an export path has no commas, spaces or control characters",
    ),
    (
        "nfs option with a space",
        'volumes: {n: {target: /n, nfs: {server: nas, export: /x, options: "nfsvers=4 ,ro"}}}\n',
        _nothing,
        "a.yaml:5:67: volumes.n.nfs.options: 'nfsvers=4 ' is not a mount option (name or name=value; letters, digits, _ . : / + @ -)",
    ),
]


@pytest.mark.parametrize(("text", "setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_spec_field_is_a_located_spec_error(tmp_path: Path, text: str, setup: Callable[[Path], None], expected: str) -> None:
    setup(tmp_path)
    (tmp_path / "a.yaml").write_text(HEAD + text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load([tmp_path / "a.yaml"], {})
    assert caught.value.exit_code is ExitCode.BAD_SPEC
    assert [str(p).replace(f"{tmp_path}/", "<dir>/").replace("<dir>/a.yaml", "a.yaml") for p in caught.value.problems] == [expected]


def test_the_engine_socket_named_by_docker_host_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + "volumes: {s: {target: /s, bind: /srv/engine.sock}}\n", encoding="utf-8")
    assert load([tmp_path / "a.yaml"], {})  # control: an ordinary path
    with pytest.raises(SpecError) as caught:
        load([tmp_path / "a.yaml"], {"DOCKER_HOST": "unix:///srv/engine.sock"})
    assert "host path /srv/engine.sock is /srv/engine.sock" in str(caught.value)


POSITIVE = [
    ("an ordinary bind", "volumes: {d: {target: /d, bind: /srv/data}}\n"),
    ("a relative bind", "volumes: {d: {target: /d, bind: ./data}}\n"),
    ("a folder beside a sensitive one", "volumes: {d: {target: /d, bind: /etcetera}}\n"),
    ("an allowed file", "allow_host_paths: [/etc/localtime]\nvolumes: {t: {target: /etc/localtime, bind: /etc/localtime, read_only: true}}\n"),
    ("an allowed folder covers what is under it", "allow_host_paths: [/var/run]\nvolumes: {s: {target: /s, bind: /var/run/docker.sock}}\n"),
    ("a secret at its default place", "secrets: {db-password.txt: {file: ./pw}}\n"),
    ("a secret at a chosen place", "secrets: {pw: {file: ./pw, target: /etc/mysql/pw}}\n"),
    ("an env file", "env_file: [./pw]\n"),
    ("a local volume with a device", "volumes: {d: {target: /d, driver_opts: {type: none, o: bind, device: /srv/data}}}\n"),
    ("nfs by name", 'volumes: {n: {target: /n, nfs: {server: nas-1.lan, export: /exports/db, options: "nfsvers=4,soft,timeo=30"}}}\n'),
    ("nfs by IPv6", 'volumes: {n: {target: /n, nfs: {server: "fd00::5", export: /exports/db}}}\n'),
]


@pytest.mark.parametrize("text", [c[1] for c in POSITIVE], ids=[c[0] for c in POSITIVE])
def test_harmless_or_allowed_fields_still_load(tmp_path: Path, text: str) -> None:
    (tmp_path / "pw").write_text("A=1\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(HEAD + text, encoding="utf-8")
    assert [app.name for app in load([tmp_path / "a.yaml"], {})] == ["db"]


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/", [], True),
        ("/etc", [], True),
        ("/etc/ssl/certs", [], True),
        ("/etcetera", [], False),
        ("/run", [], True),  # holds /run/docker.sock
        ("/run/mysqld", [], False),
        ("/var/lib/mysql", [], False),
        ("/var/lib", [], True),  # holds /var/lib/docker
        ("/etc/ssl/certs", ["/etc/ssl"], False),
        ("/etc", ["/etc/ssl"], True),  # an allowed entry covers what is under it, not its parents
        ("/", ["/"], False),
    ],
)
def test_host_path_rule(path: str, allowed: list[str], refused: bool) -> None:
    assert (host_path_refusal(path, allowed) is not None) is refused


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        ("/run/secrets/pw", False),
        ("/etc/mysql/pw", False),
        ("/etc/shadow", True),
        ("/etc//passwd", True),
        ("/etc", True),
        ("/dev/pw", True),
        ("/", True),
    ],
)
def test_secret_target_rule(target: str, refused: bool) -> None:
    assert (secret_target_refusal(target) is not None) is refused
