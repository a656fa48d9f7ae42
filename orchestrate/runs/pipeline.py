"""The shared path of apply, diff, status and reconcile: specs -> desired -> observed -> plan.

`diff` and `apply` call exactly these functions, so what `diff` prints is what `apply` runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrate import labels as L
from orchestrate.backends import LOCAL, Fleet
from orchestrate.decide.desire import build_desired
from orchestrate.decide.guard import Fingerprints
from orchestrate.decide.plan import Plan, Safeguards, make_plan
from orchestrate.errors import SpecError
from orchestrate.model.desired import DesiredApp, Mount
from orchestrate.model.facts import DataFacts
from orchestrate.model.observed import HostDir, ObservedState, ObservedVolume
from orchestrate.output.status import StatusRow, status_rows
from orchestrate.runs.speccache import load_cached


@dataclass(frozen=True)
class Planned:
    desired: list[DesiredApp]
    observed: ObservedState
    plan: Plan


def load(paths: Iterable[str | Path], environ: Mapping[str, str] | None = None, *, cache_dir: Path | None = None) -> list[DesiredApp]:
    """Validate specs fully before any engine call (a bad spec touches nothing).

    With a cache dir, an unchanged spec set is not parsed again (see speccache).
    """
    paths = list(paths)
    env = os.environ if environ is None else environ

    def parse() -> list[DesiredApp]:
        from orchestrate.spec.loader import load_specs  # YAML and pydantic: only when parsing

        return build_desired(load_specs(paths, env))

    return load_cached(paths, env, cache_dir, parse)


def observe(fleet: Fleet, desired: list[DesiredApp], *, fingerprints: Fingerprints | None = None) -> ObservedState:
    """One look at the engine and at the data places: the specs' and, for remaps, the remembered ones.

    The data places are looked at on the host each app runs on (its HostFiles), never here.
    """
    snapshot = fleet.engine.snapshot(app_names=[a.name for a in desired], image_refs={a.image for a in desired})
    remembered = [Mount(target="", kind=f.kind, source=f.source, owner_app=f.app, key=f.key) for f in (fingerprints or {}).values()]
    host_dirs, data = _look_at_data(fleet, desired, remembered, snapshot.volumes)
    return ObservedState(
        containers=snapshot.containers,
        volumes=snapshot.volumes,
        networks=snapshot.networks,
        images=snapshot.images,
        host_dirs=host_dirs,
        data=data,
        mount_users=snapshot.mount_users,
        listed=snapshot.listed,
    )


def _look_at_data(
    fleet: Fleet, desired: list[DesiredApp], remembered: list[Mount], volumes: Mapping[str, ObservedVolume]
) -> tuple[dict[str, HostDir], dict[str, DataFacts]]:
    """Bind sources and data facts, each asked of the host its app runs on (a remembered place:
    the host of the app that remembers it)."""
    host_of = {a.name: a.host for a in desired}
    host_dirs: dict[str, HostDir] = {}
    data: dict[str, DataFacts] = {}
    for host in sorted({*host_of.values(), *(host_of.get(m.owner_app, LOCAL) for m in remembered)}):
        files = fleet.files(host)
        host_dirs |= files.observe_dirs(d.path for a in desired if a.host == host for d in a.bind_dirs)
        mounts = [m for a in desired if a.host == host for m in a.mounts]
        mounts += [m for m in remembered if host_of.get(m.owner_app, LOCAL) == host]
        data |= files.data_facts(mounts, volumes)
    return host_dirs, data


def plan(fleet: Fleet, desired: list[DesiredApp], safeguards: Safeguards | None = None) -> Planned:
    guards = safeguards or Safeguards()
    return plan_observed(desired, observe(fleet, desired, fingerprints=guards.fingerprints), guards)


def plan_observed(desired: list[DesiredApp], observed: ObservedState, safeguards: Safeguards | None = None) -> Planned:
    return Planned(desired, observed, make_plan(desired, observed, spec_files=_spec_scope(desired, observed), safeguards=safeguards))


def _spec_scope(desired: list[DesiredApp], observed: ObservedState) -> frozenset[str]:
    """The spec files this run speaks for: the ones loaded, and the recorded ones that are gone
    from the directories they were loaded from. A spec file gone from some other directory is
    another set's business: cron's `reconcile --prune /etc/stateful/specs` must not prune an app
    whose spec was renamed in a directory it was never given."""
    loaded = {a.spec_file for a in desired}
    directories = {str(Path(path).parent) for path in loaded}
    recorded = {c.labels.get(L.SPEC_FILE, "") for c in observed.managed_listed()} - {""}
    gone = {path for path in recorded if str(Path(path).parent) in directories and not Path(path).exists()}
    return frozenset(loaded | gone)


def status(fleet: Fleet, paths: list[str], safeguards: Safeguards | None = None) -> list[StatusRow]:
    """Status of every managed app; drift against the given specs, or the specs named in labels."""
    if paths:
        desired = load(paths)
        unreadable: dict[str, str] = {}
    else:
        snapshot = fleet.engine.snapshot(app_names=[], image_refs=[])
        recorded = sorted({c.labels.get(L.SPEC_FILE, "") for c in snapshot.listed.values() if c.managed} - {""})
        desired, unreadable = _load_what_loads([p for p in recorded if Path(p).is_file()])
    planned = plan(fleet, desired, safeguards)
    rows = status_rows(planned.observed, planned.plan, {a.name for a in desired})
    return [_mark_unreadable(row, planned.observed, unreadable) for row in rows]


def _load_what_loads(files: list[str]) -> tuple[list[DesiredApp], dict[str, str]]:
    """Status must not fail because one recorded spec no longer loads: skip that file, say why."""
    try:
        return load(files), {}
    except SpecError:
        pass
    desired: list[DesiredApp] = []
    unreadable: dict[str, str] = {}
    for file in files:
        try:
            desired.extend(load([file]))
        except SpecError as exc:
            unreadable[file] = str(exc.problems[0])
    return desired, unreadable


def _mark_unreadable(row: StatusRow, observed: ObservedState, unreadable: dict[str, str]) -> StatusRow:
    container = observed.containers.get(row.app)
    spec_file = container.labels.get(L.SPEC_FILE, "") if container else ""
    if spec_file in unreadable:
        return replace(row, drift=f"unknown: spec does not load ({unreadable[spec_file]})")
    return row
