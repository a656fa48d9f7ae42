"""hosts.yaml: loading, its problems as file:line:col, and apps naming only known hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.errors import SpecError
from orchestrate.spec.hosts import HostSpec, TlsFiles, hosts_file_in, load_hosts
from orchestrate.spec.loader import load_specs

HOSTS = """\
apiVersion: stateful/v1
kind: Hosts
hosts:
  db1: {engine: "ssh://ops@db1.example.net:2222"}
  db2:
    engine: tcp://10.0.0.12:2376
    tls: {ca: tls/ca.pem, cert: tls/cert.pem, key: tls/key.pem}
  here: {engine: "unix:///var/run/docker.sock"}
"""


def app(name: str, host: str | None) -> str:
    line = f"host: {host}\n" if host else ""
    return f"apiVersion: stateful/v1\nkind: App\nname: {name}\nimage: redis:7.0\n{line}"


def problems(error: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [str(p) for p in error.value.problems]


def test_hosts_file_names_engines_with_tls_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    hosts = load_hosts(tmp_path / "hosts.yaml")
    assert hosts["db1"] == HostSpec("db1", "ssh://ops@db1.example.net:2222")
    assert hosts["db2"].tls == TlsFiles(tmp_path / "tls/ca.pem", tmp_path / "tls/cert.pem", tmp_path / "tls/key.pem")
    assert hosts["here"].engine == "unix:///var/run/docker.sock"
    assert hosts_file_in([tmp_path]) == tmp_path / "hosts.yaml"


def test_apps_on_named_hosts_load_and_the_hosts_file_is_no_app(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    (tmp_path / "cache.yaml").write_text(app("cache", "db1"))
    (tmp_path / "plain.yaml").write_text(app("plain", None))
    loaded = {s.app.name: s.app.host for s in load_specs([tmp_path], {})}
    assert loaded == {"cache": "db1", "plain": None}


def test_an_app_on_an_unknown_host_is_a_located_problem(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    (tmp_path / "cache.yaml").write_text(app("cache", "db9"))
    with pytest.raises(SpecError) as error:
        load_specs([tmp_path], {})
    known = "known: db1, db2, here, local; hosts are named in hosts.yaml"
    assert problems(error) == [f"{tmp_path / 'cache.yaml'}:5:7: host: app cache: no host named 'db9' ({known})"]


def test_without_a_hosts_file_only_local_is_known(tmp_path: Path) -> None:
    (tmp_path / "cache.yaml").write_text(app("cache", "db1"))
    with pytest.raises(SpecError) as error:
        load_specs([tmp_path], {})
    assert "no host named 'db1' (known: local;" in problems(error)[0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('  db1: {engine: "http://db1"}\n', "hosts.yaml:4:17: hosts.db1.engine: 'http://db1': an engine is unix:///path, tcp://host:port or ssh://user@host[:port]"),
        ('  db1: {engine: "ssh://a@b", tls: {ca: a, cert: b, key: c}}\n', "hosts.yaml:3:1: hosts: host db1: tls is for tcp:// engines only"),
        ('  db1: {engine: "ssh://a@b", port: 22}\n', "hosts.yaml:4:30: hosts.db1.port: unknown key"),
        ("  DB1: {engine: \"ssh://a@b\"}\n", "hosts.yaml:3:1: hosts: 'DB1' is not a host name"),
        ("  db1: {}\n", "hosts.yaml:4:3: hosts.db1.engine: required field is missing"),
    ],
)
def test_hosts_file_problems_are_located(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / "hosts.yaml").write_text("apiVersion: stateful/v1\nkind: Hosts\nhosts:\n" + body)
    with pytest.raises(SpecError) as error:
        load_hosts(tmp_path / "hosts.yaml")
    assert problems(error)[0].removeprefix(f"{tmp_path}/").startswith(expected)
