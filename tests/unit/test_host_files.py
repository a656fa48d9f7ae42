"""Planning, the data guard and the executor judge the app's host's files, never the controller's.

The engine may be another machine (ssh://, tcp://): a path there says nothing about the same path
here. These tests give the run a fake HostFiles whose facts contradict this machine's filesystem.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.act.execute import Executor
from orchestrate.act.report import Options
from orchestrate.backends import Fleet
from orchestrate.decide.plan import Kind, Safeguards
from orchestrate.model.facts import Fingerprint
from orchestrate.runs import pipeline
from tests.unit.builders import MARIADB, load_app
from tests.unit.fake_engine import FakeEngine
from tests.unit.fake_host_files import FakeHostFiles

HEAD = "apiVersion: stateful/v1\nkind: App\nname: db\nimage: mariadb:11.4\nvolumes:\n"


def _bind_spec(path: Path) -> str:
    return HEAD + f"  data: {{target: /var/lib/mysql, bind: {path}, mode: '0750', owner: '999:999'}}\n"


def test_a_bind_dir_that_exists_only_on_the_host_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "not-on-this-machine" / "mysql"  # absent here, present on the engine's host
    app = load_app(tmp_path, _bind_spec(path))
    files = FakeHostFiles(dirs={str(path): 5})
    planned = pipeline.plan(Fleet.single(FakeEngine(images={"mariadb:11.4": MARIADB}), files), [app])
    (action,) = planned.plan.actions
    assert (action.kind, action.create_dirs) == (Kind.CREATE, ())
    assert planned.observed.data[f"bind:{path}"].entries == 5
    assert files.asked == ["observe_dirs", "data_facts", f"read_heads bind:{path}"]


def test_the_data_guard_judges_the_hosts_facts(tmp_path: Path) -> None:
    path = tmp_path / "mysql"
    path.mkdir()
    for name in ("ibdata1", "mysql", "demo"):
        (path / name).touch()  # this machine has data at the path; the engine's host has it empty
    app = load_app(tmp_path, _bind_spec(path))
    device = path.stat().st_dev  # the same filesystem here and there: only the content differs
    held = Fingerprint("db", "data", "bind", str(path), f"device {device}", 3, 4096, True, 0.0, "/var/lib/mysql")
    fleet = Fleet.single(FakeEngine(images={"mariadb:11.4": MARIADB}), FakeHostFiles(dirs={str(path): 0}, device=device))
    planned = pipeline.plan(fleet, [app], Safeguards(fingerprints={("db", "data"): held}))
    (action,) = planned.plan.actions
    assert action.kind is Kind.BLOCKED
    assert action.problem is not None and f"bind {path} is empty now" in action.problem.message


def test_a_missing_bind_dir_is_created_on_the_host_with_its_mode_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "new" / "mysql"
    app = load_app(tmp_path, _bind_spec(path))
    files = FakeHostFiles()
    fleet = Fleet.single(FakeEngine(images={"mariadb:11.4": MARIADB}), files)
    planned = pipeline.plan(fleet, [app])
    assert [d.path for d in planned.plan.actions[0].create_dirs] == [str(path)]
    report = Executor(fleet, options=Options(health_timeout=1, settle_seconds=0)).run(planned.plan, [app])
    assert report.exit_code == 0
    assert files.created == [(str(path), 0o750, "999:999")]
    assert not path.exists()  # nothing was made on the controller
