"""Hostile spec input: every case ends as a SpecError at file:line:col (exit 2), never a traceback.

Each case was a traceback, a hang, or a silently accepted wrong value before the spec loader was
hardened (see the comment on each).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.errors import ExitCode, SpecError
from orchestrate.runs.pipeline import load

HEAD = "apiVersion: stateful/v1\nkind: App\nname: db\nimage: mariadb:11\n"  # lines 1-4
BOMB = 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9))

CASES = [
    # YAML level: exceptions inside ruamel, or its unbounded work
    ("control character", HEAD + "user: \x01\n", "a.yaml:5:7: control character U+0001 is not allowed in YAML"),
    ("YAML 1.3", "%YAML 1.3\n---\n" + HEAD, "a.yaml:1:1: unsupported YAML version '1.3' (use 1.2 or no %YAML line)"),
    (
        "!!int tag",
        HEAD + "user: !!int abc\n",
        "a.yaml:5:7: YAML tags (tag:yaml.org,2002:int) are not supported; write the value plainly, or quote it",
    ),
    ("!!set tag", HEAD + "env: !!set [1]\n", "a.yaml:5:6: YAML tags (tag:yaml.org,2002:set) are not supported; write the value plainly, or quote it"),
    (
        "!!omap tag",
        HEAD + "env: !!omap {a: 1}\n",
        "a.yaml:5:6: YAML tags (tag:yaml.org,2002:omap) are not supported; write the value plainly, or quote it",
    ),
    ("unhashable key", HEAD + "env:\n  ? [a]\n  : 1\n", "a.yaml:6:5: a mapping key must be a plain value, not a mapping, a list or an alias"),
    ("deep nesting", HEAD + "labels: " + "[" * 2000 + "]" * 2000 + "\n", "a.yaml:5:9: nested deeper than 32 levels"),
    ("deep block nesting", HEAD + "".join(" " * i + f"k{i}:\n" for i in range(40)), "a.yaml:37:33: nested deeper than 32 levels"),
    ("5,000-digit integer", HEAD + "user: " + "1" * 5000 + "\n", "a.yaml:5:7: a number longer than 100 characters; quote it if it is text"),
    ("alias bomb", HEAD + BOMB, "a.yaml:9:14: the document has more than 20000 values (each use of an alias counts as a copy)"),
    (
        "impossible date",
        HEAD + "stop_grace_period: 2001-13-45\n",
        "a.yaml:5:20: stop_grace_period: '2001-13-45' is not a duration (expected e.g. 30s, 2m, 1h30m)",
    ),
    (
        "huge file",
        HEAD + "labels:\n" + "".join(f"  k{i}: {'v' * 60}\n" for i in range(3000)),
        "a.yaml: larger than 128 KiB; a spec file is at most that",
    ),
    # ours: types and values the units and the desired state could not take
    (
        "memory as a float",
        HEAD + "resources: {memory: 1.5}\n",
        "a.yaml:5:21: resources.memory: expected a size like 512m or 1g (a bare number is a whole number of bytes)",
    ),
    ("cpus infinite", HEAD + "resources: {cpus: .inf}\n", "a.yaml:5:19: resources.cpus: Input should be a finite number"),
    ("cpus rounds to 0", HEAD + "resources: {cpus: 1e-12}\n", "a.yaml:5:19: resources.cpus: Input should be greater than or equal to 0.01"),
    ("grace NaN", HEAD + "stop_grace_period: .nan\n", "a.yaml:5:20: stop_grace_period: expected a duration like 30s, 2m or 1h30m"),
    ("grace too long", HEAD + "stop_grace_period: 25h\n", "a.yaml:5:20: stop_grace_period: stop_grace_period is at most 24h"),
    ("grace past int64", HEAD + "stop_grace_period: 99999999h\n", "a.yaml:5:20: stop_grace_period: a duration is at most 2562047h47m16s"),
    ("healthcheck inf", HEAD + "healthcheck: {test: x, interval: .inf}\n", "a.yaml:5:34: healthcheck.interval: a duration is at most 2562047h47m16s"),
    (
        "healthcheck 3000000h",
        HEAD + "healthcheck: {test: x, timeout: 3000000h}\n",
        "a.yaml:5:33: healthcheck.timeout: a duration is at most 2562047h47m16s",
    ),
    ("unbalanced quote", HEAD + "command: echo 'a\n", "a.yaml:5:10: command: cannot split into words: no closing quotation"),
    (
        "long command string",
        HEAD + "command: " + "a " * 20000 + "\n",
        "a.yaml:5:10: command: a command string is at most 32 KiB; write a longer one as a list",
    ),
    (
        "env_file name too long",
        HEAD + "env_file: [" + "a" * 5000 + "]\n",
        "a.yaml:5:12: env_file.0: " + "a" * 5000 + " cannot be read: File name too long",
    ),
    # names, ports and targets that passed when they should not
    (
        "name with a newline",
        HEAD.replace("name: db", 'name: "db\\n"'),
        "a.yaml:3:7: name: 'db\\n' is not an app name (lower-case letters, digits, and _ . - after the first character)",
    ),
    ("env name with a newline", HEAD + 'env: {"A\\n": 1}\n', "a.yaml:5:1: env: 'A\\n' is not a valid environment variable name"),
    (
        "Arabic-Indic port",
        HEAD + 'ports: ["\u0663\u0663\u0660\u0666:3306"]\n',
        "a.yaml:5:9: ports.0: '\u0663\u0663\u0660\u0666:3306' is not a port mapping (expected [ip:][host:]container[/tcp|udp])",
    ),
    (
        "port with a newline",
        HEAD + 'ports: ["3306:3306\\n"]\n',
        "a.yaml:5:9: ports.0: '3306:3306\\n' is not a port mapping (expected [ip:][host:]container[/tcp|udp])",
    ),
    ("host port twice", HEAD + 'ports: ["3306:3306", "127.0.0.1:3306:3307"]\n', "a.yaml:5:1: ports: host port 3306/tcp is published twice"),
    (
        "IP out of range",
        HEAD + 'ports: ["999.999.999.999:80:80"]\n',
        "a.yaml:5:9: ports.0: '999.999.999.999:80:80': 999.999.999.999 is not an IP address",
    ),
    ("short IP", HEAD + 'ports: ["127.0.1:8080:80"]\n', "a.yaml:5:9: ports.0: '127.0.1:8080:80': 127.0.1 is not an IP address"),
    (
        "same target written twice",
        HEAD + "volumes: {a: {target: /data}, b: {target: /data/.}, c: {target: //data}}\n",
        "a.yaml:1:1: two volumes mount onto /data",
    ),
    ("target that climbs", HEAD + "volumes: {a: {target: /data/../etc}}\n", "a.yaml:5:23: volumes.a.target: '/data/../etc' must not climb with .."),
    # escapes in a spec reach the terminal only escaped, on one line
    ("escape in an unknown key", HEAD + '"x\\e[31m": 1\n', "a.yaml:5:1: x\\x1b[31m: unknown key 'x\\x1b[31m'"),
    ("escape in a required message", HEAD + 'user: "${X:?\\e[2J}"\n', "a.yaml:5:7: user: required variable X is missing a value: \\x1b[2J"),
    ("required variable is named", HEAD + "user: ${DB_USER:?}\n", "a.yaml:5:7: user: required variable DB_USER is missing a value"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_spec_is_a_located_spec_error(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load([tmp_path], {})
    assert caught.value.exit_code is ExitCode.BAD_SPEC
    assert [str(p).replace(f"{tmp_path}/", "").replace(str(tmp_path), "<dir>") for p in caught.value.problems] == [expected]
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${UNSET:-${B}}", "bee"),
        ("${URL:-postgres://${USER:-app}@db/app}", "postgres://app@db/app"),
        ("${B:+set}", "set"),
        ("${UNSET+set}", ""),
    ],
)
def test_interpolation_follows_compose(tmp_path: Path, value: str, expected: str) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + f"user: {value}\n", encoding="utf-8")
    assert load([tmp_path], {"B": "bee"})[0].user == expected


def test_an_aliased_mapping_is_interpolated_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + 'labels: &x {a: "$$HOME"}\nenv: *x\n', encoding="utf-8")
    app = load([tmp_path], {"HOME": "/root"})[0]
    assert (app.labels, app.env) == ({"a": "$HOME"}, {"a": "$HOME"})
