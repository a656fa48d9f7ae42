"""The shared path of apply, diff, status and reconcile: specs -> desired -> observed -> plan.

`diff` and `apply` call exactly these functions, so what `diff` prints is what `apply` runs:
one builder of the plan's safeguards (`safeguards`, `read_safeguards`) and one planner (`plan`).
A killed run's interrupted recreates are part of the plan: apply resolves them first, so the
read-only commands plan from the state that resolution will leave (decide/recovery.py predicts
it by the rule apply follows) and say so per app. Nothing here changes the engine or writes to
the store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from orchestrate import databases
from orchestrate import labels as L
from orchestrate.act.recover import pending
from orchestrate.backends import LOCAL, Fleet, HostFiles
from orchestrate.backends.parallel import in_parallel
from orchestrate.databases.versions import HEAD_BYTES
from orchestrate.decide.desire import build_desired
from orchestrate.decide.guard import Fingerprints
from orchestrate.decide.plan import Plan, Safeguards, hold_back_recreates, make_plan
from orchestrate.decide.recovery import after_recovery
from orchestrate.errors import EngineUnreachable, SpecError
from orchestrate.model.desired import DesiredApp, Mount
from orchestrate.model.facts import DatadirVersion, DataFacts, data_key
from orchestrate.model.observed import HostDir, ImageDefaults, ObservedContainer, ObservedState, ObservedVolume
from orchestrate.output.status import StatusRow, status_rows
from orchestrate.runs.speccache import load_cached
from orchestrate.state import Store
from orchestrate.state.paths import identity

T = TypeVar("T")
HOST_WORKERS = 4  # hosts looked at side by side; each host's own reads are parallel too


@dataclass(frozen=True)
class Policy:
    """What a run may do beyond the specs: overrides, limits and clean-up. The read-only commands
    plan with the same policy fields apply would (their defaults when they have no such option)."""

    allow_empty: frozenset[str] = frozenset()  # app/key the data guard lets start on empty data
    allow_version_change: frozenset[str] = frozenset()  # apps the version guard lets start on another version's datadir
    max_recreates: int | None = None  # unattended runs cap their blast radius
    prune: bool = False  # remove orphan containers (never volumes)
    max_rounds: int = 1  # reconcile: observe-plan-execute again while drift remains
    adopt: frozenset[str] = frozenset()  # apps whose unmanaged container this run may replace
    force_target: frozenset[str] = frozenset()  # app/key whose remap target may be copied over


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
        datadirs=_read_datadirs(fleet, desired, snapshot.images, snapshot.containers, snapshot.volumes),
    )


def safeguards(store: Store | None, policy: Policy, *, state_dir: str) -> Safeguards:
    """The one builder of what a plan respects beyond specs and engine: the store's memory (data
    fingerprints, copies a killed run began) and the run's overrides. `store` is None for a state
    dir that was never written: nothing remembered yet."""
    return Safeguards(
        fingerprints=store.fingerprints() if store else {},
        state_dir=state_dir,
        unfinished_copies=store.unfinished_copies() if store else frozenset(),
        allow_empty=policy.allow_empty,
        allow_version_change=policy.allow_version_change,
        adopt=policy.adopt,
        force_target=policy.force_target,
        open_operations=tuple(store.open_operations()) if store else (),
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


def _read_datadirs(
    fleet: Fleet,
    desired: list[DesiredApp],
    images: Mapping[str, ImageDefaults],
    containers: Mapping[str, ObservedContainer],
    volumes: Mapping[str, ObservedVolume],
) -> dict[str, DatadirVersion]:
    """For each database app: which server version wrote its datadir, read from the datadir's own
    marker files on the app's host. The kind is the one the image to run says (else the running
    container's image), as the planner resolves it."""
    found: dict[str, DatadirVersion] = {}
    for app in desired:
        container = containers.get(app.name)
        image = images.get(app.image) or (images.get(container.image_id) if container else None) or ImageDefaults(id="")
        kind = databases.resolve(app.database, image)
        if kind.versioning is None:
            continue
        found[app.name] = _datadir_version(fleet.files(app.host), app, kind, {**image.env, **app.env}, volumes)
    return found


def _datadir_version(
    files: HostFiles, app: DesiredApp, kind: databases.DatabaseKind, env: Mapping[str, str], volumes: Mapping[str, ObservedVolume]
) -> DatadirVersion:
    assert kind.versioning is not None
    datadir = kind.versioning.datadir(env).rstrip("/") or "/"
    # The data mount the datadir is in: the deepest one at or above it.
    holding = [m for m in app.mounts if m.holds_data and m.kind in ("volume", "bind") and _within(datadir, m.target)]
    if not holding:
        return DatadirVersion(kind.name)
    mount = max(holding, key=lambda m: len(m.target))
    inside = datadir[len(mount.target.rstrip("/")) :].strip("/")
    paths = [f"{inside}/{name}" if inside else name for name in kind.versioning.files]
    heads = files.read_heads(mount.kind, mount.source, paths, volumes, HEAD_BYTES)
    relative = {name[len(inside) + 1 :] if inside else name: head for name, head in heads.items()}
    written = kind.versioning.read(relative)
    place = data_key(mount.kind, mount.source)
    if written is None:
        return DatadirVersion(kind.name, place=place)
    return DatadirVersion(kind.name, str(written.version or ""), written.format, place)


def _within(path: str, target: str) -> bool:
    target = target.rstrip("/")
    return path == target or path.startswith(target + "/") or not target


def read_safeguards(state_dir: Path, policy: Policy | None = None) -> Safeguards:
    """For the read-only commands (diff, status, reconcile --check): the same safeguards apply
    builds, read without the lock and without making a store where there is none."""
    policy = policy or Policy()
    if not (state_dir / "state.db").exists():
        return safeguards(None, policy, state_dir=identity(state_dir))
    with Store.open(state_dir) as store:
        return safeguards(store, policy, state_dir=store.identity)


def plan(
    fleet: Fleet | None,
    desired: list[DesiredApp],
    guards: Safeguards | None = None,
    *,
    max_recreates: int | None = None,
    recreated: int = 0,
    observed: ObservedState | None = None,
    recovered: tuple[tuple[str, str], ...] | None = None,
) -> Planned:
    """The one planner: observe (unless given what was just observed), plan, and hold back the
    recreates past --max-recreates (`recreated` of them already done in this run).

    Interrupted recreates (the journal's open operations in `guards`, and leftovers of the apps
    planned) are resolved before anything else: the plan is made from the state their resolution
    leaves, predicted, and notes each one. A run that has just resolved them passes `recovered`,
    the (app, note) of what it did, and the state it observed after that.
    """
    guards = guards or Safeguards()
    if observed is None:
        assert fleet is not None, "plan needs a fleet or an observed state"
        observed = observe(fleet, desired, fingerprints=guards.fingerprints)
    if recovered is None:
        assert fleet is not None, "predicting recovery needs a fleet (or say what was recovered)"
        apps = {a.name for a in desired}
        predicted = pending(fleet.engine, guards.open_operations, observed.listed, apps=apps, state_dir=guards.state_dir)
        observed = after_recovery(observed, predicted)
        recovered = tuple((r.app, r.note) for r in predicted)
    made = make_plan(desired, observed, spec_files=_spec_scope(desired, observed), safeguards=guards, recoveries=recovered)
    budget = None if max_recreates is None else max(0, max_recreates - recreated)
    return Planned(desired, observed, hold_back_recreates(made, budget))


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


def status(fleet: Fleet, paths: list[str], guards: Safeguards | None = None) -> list[StatusRow]:
    """Status of every managed app; drift against the given specs, or the specs named in labels."""
    if paths:
        desired = load(paths)
        unreadable: dict[str, str] = {}
    else:
        snapshot = fleet.engine.snapshot(app_names=[], image_refs=[])
        recorded = sorted({c.labels.get(L.SPEC_FILE, "") for c in snapshot.listed.values() if c.managed} - {""})
        desired, unreadable = _load_what_loads([p for p in recorded if Path(p).is_file()])
    planned = plan(fleet, desired, guards)
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


# --- several hosts -----------------------------------------------------------------------------
# A spec set over several hosts is planned one host at a time, side by side: each host's apps
# against that host's engine and files only (`fleet.only`), so the single-host planner stays as
# it is. A host that does not answer fails its own apps (exit 3, naming it) and no other's; its
# apps are never planned anywhere else.


@dataclass(frozen=True)
class HostDown:
    host: str
    endpoint: str
    reason: str  # the engine error, which names the endpoint
    apps: list[str]

    def __str__(self) -> str:
        return f"host {self.host}: {self.reason}; not reconciled: {', '.join(self.apps)}"


def apps_by_host(desired: list[DesiredApp], only: str | None = None) -> dict[str, list[DesiredApp]]:
    """The apps of each host (of one host, with --host), hosts in name order."""
    groups: dict[str, list[DesiredApp]] = {}
    for app in desired:
        if only is None or app.host == only:
            groups.setdefault(app.host, []).append(app)
    return dict(sorted(groups.items()))


def on_each_host(fleet: Fleet, groups: Mapping[str, list[DesiredApp]], work: Callable[[Fleet, list[DesiredApp]], T]) -> dict[str, T | HostDown]:
    """work(that host's fleet, its apps) for every host, side by side (bounded); a host whose
    engine does not answer gives a HostDown instead, and the others go on."""

    def one(host: str) -> T | HostDown:
        try:
            return work(fleet.only(host), groups[host])
        except EngineUnreachable as exc:
            return HostDown(host, fleet.engine_of(host).endpoint, str(exc), [a.name for a in groups[host]])

    hosts = list(groups)
    return dict(zip(hosts, in_parallel(one, hosts, workers=HOST_WORKERS), strict=True))


def plan_hosts(fleet: Fleet, groups: Mapping[str, list[DesiredApp]], guards: Safeguards | None = None) -> dict[str, Planned | HostDown]:
    """The one planner, run on each host against that host's state only."""
    return on_each_host(fleet, groups, lambda host_fleet, apps: plan(host_fleet, apps, guards))
