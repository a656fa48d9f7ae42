"""Misuse of the command line: each case ends as a clear error naming the path, never a traceback.

Each case was a traceback (or a wrong "does not exist") before: a state dir under a file or on a
kernel file system, a `state.db` that is garbage or a directory, an `--env-file` that is not UTF-8
or not a regular file, a spec path that is a FIFO or a device, a file name with invalid bytes.
A corrupt store is never replaced: the error says how to move it aside (exit 4).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate import backends
from orchestrate.cli import main
from orchestrate.errors import ExitCode
from tests.unit.builders import MARIADB
from tests.unit.fake_engine import FakeEngine, fleet_of

SPEC = "apiVersion: stateful/v1\nkind: App\nname: mysql\nimage: mariadb:11.4\nvolumes:\n  data: {target: /var/lib/mysql}\n"
GARBAGE = b"\x00\xffnot a database" * 300


@pytest.fixture(autouse=True)
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine(images={"mariadb:11.4": MARIADB})
    monkeypatch.setattr(backends, "connect", lambda endpoint=None: fake)
    monkeypatch.setattr(backends, "connect_fleet", lambda endpoint=None, hosts=None: fleet_of(fake))
    return fake


def _stateful(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The exit code, and what was printed (stderr, then stdout)."""
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    printed = capsys.readouterr()
    return int(done.value.code or 0), printed.err + printed.out


def _state_under_a_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["--state-dir", str(tmp / "afile" / "state"), "history"]


def _state_db(content: bytes | None) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "state").mkdir()
        if content is None:
            (tmp / "state" / "state.db").mkdir()
        else:
            (tmp / "state" / "state.db").write_bytes(content)
        return ["--state-dir", str(tmp / "state"), "history"]

    return make


def _env_file(make: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        make(tmp / "vars.env")
        (tmp / "a.yaml").write_text(SPEC)
        return ["--state-dir", str(tmp / "state"), "--env-file", str(tmp / "vars.env"), "diff", str(tmp / "a.yaml")]

    return args


def _spec_path(make: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        return ["--state-dir", str(tmp / "state"), "diff", os.fsdecode(make(tmp))]

    return args


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _bad_name(tmp: Path) -> Path:
    path = Path(os.fsdecode(bytes(tmp) + b"/bad\xff.yaml"))
    path.write_text(SPEC)
    return path


CASES: list[tuple[str, Callable[[Path], list[str]], ExitCode, list[str]]] = [
    ("state dir under a file", _state_under_a_file, ExitCode.BAD_SPEC, ["afile/state: it, or a folder above it, is a file", "--state-dir"]),
    ("state dir in /proc", lambda tmp: ["--state-dir", "/proc/self/stateful", "history"], ExitCode.BAD_SPEC, ["/proc/self/stateful: it is on /proc"]),
    ("state dir in /sys", lambda tmp: ["--state-dir", "/sys/stateful", "history"], ExitCode.BAD_SPEC, ["/sys/stateful: it is on /sys"]),
    (
        "garbage state.db",
        _state_db(GARBAGE),
        ExitCode.APPLY_FAILED,
        ["state/state.db is not a stateful store (file is not a database); it was left as it is", "Move it aside (mv "],
    ),
    ("state.db is a directory", _state_db(None), ExitCode.APPLY_FAILED, ["state/state.db is not a stateful store (it is not a regular file)"]),
    (
        "env file not UTF-8",
        _env_file(lambda p: p.write_bytes(b"A=\xff\n")),
        ExitCode.BAD_SPEC,
        ["--env-file ", "vars.env is not UTF-8 text (at byte 3)"],
    ),
    ("env file is a FIFO", _env_file(lambda p: os.mkfifo(p)), ExitCode.BAD_SPEC, ["vars.env is a FIFO (named pipe), not a regular file"]),
    ("spec path is a FIFO", _spec_path(lambda tmp: _fifo(tmp / "a.yaml")), ExitCode.BAD_SPEC, ["a.yaml: is a FIFO (named pipe), not a spec file"]),
    ("spec path is /dev/null", _spec_path(lambda tmp: Path("/dev/null")), ExitCode.BAD_SPEC, ["/dev/null: is a character device, not a spec file"]),
    ("spec file name with invalid bytes", _spec_path(_bad_name), ExitCode.CHANGES_PENDING, ["+ mysql create"]),
]


@pytest.mark.parametrize(("args", "code", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_misuse_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: Callable[[Path], list[str]], code: ExitCode, says: list[str]
) -> None:
    status, output = _stateful(capsys, *args(tmp_path))
    assert status == code, output
    assert "Traceback" not in output
    for text in says:
        assert text in output, output


def test_a_corrupt_store_is_left_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _state_db(GARBAGE)(tmp_path)
    assert _stateful(capsys, *args)[0] == ExitCode.APPLY_FAILED
    assert (tmp_path / "state" / "state.db").read_bytes() == GARBAGE
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["state.db"]


def test_an_invalid_byte_in_an_error_is_shown_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = os.fsdecode(bytes(tmp_path) + b"/no\xff.env")
    (tmp_path / "a.yaml").write_text(SPEC)
    status, err = _stateful(capsys, "--state-dir", str(tmp_path / "state"), "--env-file", missing, "diff", str(tmp_path / "a.yaml"))
    assert status == ExitCode.BAD_SPEC
    assert "no\\udcff.env cannot be read: No such file or directory" in err


def test_a_state_dir_this_user_cannot_write_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may run as root, for whom every mode bit allows writing: the kernel's answer is faked.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    status, output = _stateful(capsys, "--state-dir", str(tmp_path / "state"), "history")
    assert status == ExitCode.BAD_SPEC
    assert f"state dir {tmp_path / 'state'}: it is not writable by this user; choose another with --state-dir" in output


def test_a_lock_that_is_a_directory_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state" / "lock").mkdir(parents=True)
    (tmp_path / "a.yaml").write_text(SPEC)
    status, output = _stateful(capsys, "--state-dir", str(tmp_path / "state"), "apply", str(tmp_path / "a.yaml"))
    assert status == ExitCode.BAD_SPEC
    assert f"cannot take the lock {tmp_path / 'state' / 'lock'}: Is a directory" in output
