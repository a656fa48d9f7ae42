"""Exit codes through the command line, against the fake engine: usage is 2, a run-time refusal is 4.

The same refusal has the same code in every command: a container stateful did not make is exit 4
in `apply` and in `destroy`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate import backends
from orchestrate.act.execute import Executor
from orchestrate.act.report import Options
from orchestrate.cli import main
from orchestrate.errors import ExitCode
from orchestrate.model.observed import ImageDefaults
from orchestrate.runs import pipeline
from tests.unit.builders import MARIADB, load_app
from tests.unit.fake_engine import FakeEngine, fleet_of

SPEC = """
apiVersion: stateful/v1
kind: App
name: mysql
image: mariadb:11.4
volumes:
  data: {target: /var/lib/mysql}
"""


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine(images={"mariadb:11.4": MARIADB})
    monkeypatch.setattr(backends, "connect", lambda endpoint=None, **_: fake)
    monkeypatch.setattr(backends, "connect_fleet", lambda endpoint=None, hosts=None: fleet_of(fake))
    return fake


def _stateful(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(["--state-dir", str(tmp_path / "state"), *argv])
    return int(done.value.code or 0), capsys.readouterr().err


def _not_ours(tmp_path: Path, engine: FakeEngine) -> Path:
    """A container named like the app that stateful did not create; the app's spec beside it."""
    (tmp_path / "specs").mkdir()
    app = load_app(tmp_path / "specs", SPEC)
    engine.add_container(app, container_id="theirs").labels = {}
    return Path(app.spec_file)


def test_a_container_not_made_by_stateful_is_exit_4_in_apply_and_in_destroy(
    tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _not_ours(tmp_path, engine)
    assert _stateful(tmp_path, capsys, "apply", str(spec))[0] == ExitCode.APPLY_FAILED
    code, err = _stateful(tmp_path, capsys, "destroy", "mysql")
    assert (code, "was not created by stateful" in err) == (ExitCode.APPLY_FAILED, True)
    assert engine.mutations == 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["destroy", "nothing"], "no app named 'nothing' is managed"),
        (["backup", "nothing"], "no managed app named 'nothing'"),
    ],
)
def test_no_such_app_is_a_run_time_refusal(
    tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, err = _stateful(tmp_path, capsys, *argv)
    assert (code, says in err) == (ExitCode.APPLY_FAILED, True), err


def test_removing_a_volume_that_is_not_a_retired_copy_is_a_usage_error(
    tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _stateful(tmp_path, capsys, "volumes", "rm", "mysql-data", "--yes")
    assert (code, "not a retired copy" in err) == (ExitCode.BAD_SPEC, True)


def test_an_image_pulled_with_an_unmounted_volume_fails_as_a_bad_spec(tmp_path: Path) -> None:
    """Absent when planned, the image shows its VOLUME only once pulled: still exit 2, not 4."""
    app = load_app(tmp_path, SPEC.replace("volumes:\n  data: {target: /var/lib/mysql}\n", "").replace("mariadb:11.4", "other:1"))
    engine = FakeEngine(pulled_images={"other:1": ImageDefaults(id="sha256:" + "b" * 64, volumes=("/data",))})
    planned = pipeline.plan(fleet_of(engine), [app])
    report = Executor(fleet_of(engine), options=Options(pull_backoff=0.0)).run(planned.plan, [app])
    assert report.exit_code == ExitCode.BAD_SPEC
    assert "declares VOLUME /data" in report.outcomes[0].message
