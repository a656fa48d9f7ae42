"""Which managed containers a run calls orphans (and `--prune` removes): those applied from the
spec files it loaded, or from files gone from the directories it loaded them from. Never an app
whose spec vanished from a directory the run was not given."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from orchestrate import labels as L
from orchestrate.runs.pipeline import plan
from tests.unit.builders import container_for, load_apps, state, volume

SPEC = "apiVersion: stateful/v1\nkind: App\nname: db\nimage: mariadb:11.4\nvolumes:\n  data: {target: /var/lib/mysql}\n"


def test_orphans_come_only_from_the_directories_the_run_was_given(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (db,) = load_apps(tmp_path / "etc", SPEC)
    applied_from = {
        "old": tmp_path / "etc" / "old.yaml",  # applied, then deleted from the run's directory: an orphan
        "other": tmp_path / "opt" / "renamed.yaml",  # gone from a directory the run was not given: not ours
        "kept": tmp_path / "etc" / "kept.yaml",  # still there, not loaded by this run: another set's
    }
    (tmp_path / "etc" / "kept.yaml").write_text(SPEC.replace("name: db", "name: kept"))
    containers = [container_for(db)]
    for name, spec_file in applied_from.items():
        made = container_for(replace(db, name=name))
        containers.append(replace(made, labels={**made.labels, L.SPEC_FILE: str(spec_file)}))
    observed = state(containers=containers, volumes=[volume("db-data", app="db", key="data")])

    assert plan(None, [db], observed=observed, recovered=()).plan.orphans == ("old",)
