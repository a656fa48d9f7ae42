"""The planner: (desired apps, observed state) -> Plan. A pure function, tested from tables.

`diff` prints exactly this plan and `apply` executes exactly this plan; nothing re-decides while
executing. Every action carries its reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from orchestrate import labels as L
from orchestrate.decide.compare import Effect, FieldDiff, Sides, compare
from orchestrate.decide.guard import (
    Fingerprints,
    borrowers_of,
    data_guard_problems,
    data_initialised,
    foreign_writer_problems,
    version_problem,
    written_by,
)
from orchestrate.decide.remap import Migration, migrations_for
from orchestrate.errors import ExitCode
from orchestrate.model.desired import BUILTIN_NETWORKS, BindDir, DesiredApp, VolumeSpec
from orchestrate.model.journal import Operation
from orchestrate.model.observed import ImageDefaults, ListedContainer, ObservedContainer, ObservedState


class Kind(StrEnum):
    NOOP = "noop"
    CREATE = "create"  # no container: create and start it
    START = "start"  # the container matches but is not running
    UPDATE = "update"  # only fields `docker update` can change differ
    RECREATE = "recreate"  # the safe recreate: new container on the same volumes
    BLOCKED = "blocked"  # refused; the problem says why and what to do
    DEFERRED = "deferred"  # a recreate held back by this run's policy (--max-recreates)


@dataclass(frozen=True)
class Problem:
    message: str
    exit_code: ExitCode


@dataclass(frozen=True)
class AppAction:
    app: str
    kind: Kind
    diffs: tuple[FieldDiff, ...] = ()
    notes: tuple[str, ...] = ()  # reasons that are not field differences ("no container")
    problem: Problem | None = None
    start: bool = False  # UPDATE of a stopped container also starts it
    pull: str | None = None  # image reference to pull first (absent locally)
    create_volumes: tuple[VolumeSpec, ...] = ()
    create_dirs: tuple[BindDir, ...] = ()
    create_networks: tuple[str, ...] = ()
    container_id: str | None = None
    generation: int = 1
    migrations: tuple[Migration, ...] = ()  # remaps: data copied to the new source before the start
    recovery: str | None = None  # an interrupted recreate the run finishes or rolls back first (Recovery.note)
    written_by: str = ""  # a database app's datadir version ("PostgreSQL 15"), shown beside an image change

    @property
    def changes(self) -> bool:
        return self.kind is not Kind.NOOP or bool(self.create_volumes or self.create_dirs or self.create_networks)

    @property
    def starts_container(self) -> bool:
        return self.kind in (Kind.CREATE, Kind.START, Kind.RECREATE) or (self.kind is Kind.UPDATE and self.start)


@dataclass(frozen=True)
class Plan:
    actions: tuple[AppAction, ...]
    orphans: tuple[str, ...] = field(default=())  # managed containers whose spec is not given
    # (app, note) of every interrupted recreate the run resolves before it plans, in its order:
    # the apps of the plan (their action carries the note too) and any other with an open journal.
    recoveries: tuple[tuple[str, str], ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.recoveries) or any(a.changes for a in self.actions)


def make_plan(
    desired: list[DesiredApp],
    observed: ObservedState,
    *,
    spec_files: frozenset[str] = frozenset(),
    safeguards: Safeguards | None = None,
    recoveries: tuple[tuple[str, str], ...] = (),
) -> Plan:
    """One action per app, in the order given (dependency order).

    `spec_files` are the spec files this run speaks for (those loaded, and those that no longer
    exist): a managed container applied from one of them whose app is not desired is an orphan.
    Containers applied from other files belong to other runs and are left out. `recoveries` are
    the (app, note) of interrupted recreates resolved first: `observed` is the state after them.
    """
    guards = safeguards or Safeguards()
    context = Context(observed, guards, borrowers_of(desired))
    notes = dict(recoveries)
    pending_networks: set[str] = set()
    actions = []
    for app in desired:
        action = replace(plan_app(app, context), recovery=notes.get(app.name))
        # Several apps may share a network: create it once, with the first of them.
        action = replace(action, create_networks=tuple(n for n in action.create_networks if n not in pending_networks))
        pending_networks.update(action.create_networks)
        actions.append(action)
    names = {a.name for a in desired}
    orphans = tuple(
        sorted(
            c.app
            for c in observed.managed_listed()
            if c.app not in names and c.name == c.app and c.labels.get(L.SPEC_FILE, "") in spec_files and L.managed_from(c.labels, guards.state_dir)
        )
    )
    return Plan(tuple(actions), orphans, recoveries)


@dataclass(frozen=True)
class Safeguards:
    """What a plan respects beyond the specs and the engine: the state dir's memory, and what the
    operator allowed for this run. diff, status and apply plan with the same ones."""

    fingerprints: Fingerprints = field(default_factory=dict)  # the data guard's memory
    state_dir: str = ""  # the run's state dir identity ("": every managed container is ours)
    unfinished_copies: frozenset[tuple[str, str, str]] = frozenset()  # (app, key, target) a run began copying
    allow_empty: frozenset[str] = frozenset()  # app/key the data guard lets start empty or changed
    allow_version_change: frozenset[str] = frozenset()  # apps the version guard lets start on another version's datadir
    adopt: frozenset[str] = frozenset()  # apps whose unmanaged container may be replaced (`stateful adopt`)
    force_target: frozenset[str] = frozenset()  # app/key whose remap target may be copied over
    open_operations: tuple[Operation, ...] = ()  # recreates a killed run left in the journal


@dataclass(frozen=True)
class Context:
    observed: ObservedState
    guards: Safeguards
    borrowers: dict[str, set[str]]


def plan_app(app: DesiredApp, context: Context) -> AppAction:
    action = _with_datadir_version(_plan_app(app, context), context.observed)
    if not action.starts_container:
        return action
    guards = context.guards
    migrations, problems = migrations_for(
        app, context.observed.data, guards.fingerprints, unfinished=guards.unfinished_copies, force_target=guards.force_target
    )
    moving = frozenset(f"{m.app}/{m.key}" for m in migrations)
    problems += data_guard_problems(app, context.observed.data, guards.fingerprints, guards.allow_empty | moving)
    problems += foreign_writer_problems(app, context.observed.mount_users, context.borrowers)
    image_ref, image = _server_image(app, action, context.observed)
    if refusal := version_problem(app, image_ref, image, context.observed.datadirs.get(app.name), guards.allow_version_change):
        problems.append(refusal)
    if problems:
        problem = Problem("\n".join(problems), ExitCode.DATA_GUARD)
        return AppAction(app.name, Kind.BLOCKED, diffs=action.diffs, problem=problem, written_by=action.written_by)
    return replace(action, migrations=tuple(migrations)) if migrations else action


def _with_datadir_version(action: AppAction, observed: ObservedState) -> AppAction:
    """An image change of a database app says which version wrote the data it will open."""
    written = observed.datadirs.get(action.app)
    if written is None or not any(d.field in ("image", "image_id") for d in action.diffs):
        return action
    return replace(action, written_by=written_by(written))


def _server_image(app: DesiredApp, action: AppAction, observed: ObservedState) -> tuple[str, ImageDefaults | None]:
    """The image whose server this action starts: the spec's for a new container, else the
    existing container's own."""
    container = observed.app_container(app.name)
    if action.kind in (Kind.CREATE, Kind.RECREATE) or container is None:
        return app.image, observed.images.get(app.image)
    return container.image, observed.images.get(container.image_id)


def _plan_app(app: DesiredApp, context: Context) -> AppAction:
    observed = context.observed
    if elsewhere := managed_elsewhere(app.name, observed.listed, context.guards.state_dir):
        return AppAction(app.name, Kind.BLOCKED, problem=elsewhere)
    container = observed.app_container(app.name)
    if container is not None and not container.managed and app.name in context.guards.adopt:
        image = observed.images.get(app.image)
        adopted = _plan_existing(app, container, context, image, _resources(app, observed))
        note = "adopt: replace the unmanaged container by a managed one on the same volumes"
        return replace(adopted, kind=Kind.RECREATE, notes=(note, *adopted.notes))
    if container is not None and not container.managed:
        return _blocked(
            app.name,
            f"container {app.name!r} exists but was not created by stateful; take it over on its volumes with "
            f"`stateful adopt {app.name} --into <spec dir>`, or rename it (`docker rename {app.name} {app.name}-old`) "
            "and apply again",
            ExitCode.APPLY_FAILED,
        )
    if problem := resource_problem(app, observed):
        return _blocked(app.name, problem.message, problem.exit_code)
    image = observed.images.get(app.image)
    if image is not None and (problem := uncovered_volumes_problem(app, image)):
        return _blocked(app.name, problem.message, problem.exit_code)
    resources = _resources(app, observed)
    if container is None:
        return replace(resources, kind=Kind.CREATE, notes=("no container",), pull=_pull(app, image))
    return _plan_existing(app, container, context, image, resources)


def _plan_existing(
    app: DesiredApp,
    container: ObservedContainer,
    context: Context,
    image: ImageDefaults | None,
    resources: AppAction,
) -> AppAction:
    observed = context.observed
    defaults = observed.images.get(container.image_id) or image or ImageDefaults(id="")
    initialised = data_initialised(app, observed.data, context.guards.fingerprints)
    diffs = tuple(compare(Sides(app, container, defaults, image.id if image else None, initialised)))
    acting = [d for d in diffs if d.effect is not Effect.INIT_ONLY]
    base = replace(resources, diffs=diffs, container_id=container.id, generation=_generation(container) + 1)
    if any(d.effect is Effect.RECREATE for d in acting):
        return replace(base, kind=Kind.RECREATE, pull=_pull(app, image))
    stopped = not container.running
    notes = (f"container is {container.status}",) if stopped else ()
    if acting:
        return replace(base, kind=Kind.UPDATE, notes=notes, start=stopped)
    if stopped:
        return replace(base, kind=Kind.START, notes=notes)
    return base


def _resources(app: DesiredApp, observed: ObservedState) -> AppAction:
    """A no-op action carrying what must exist first: the network, volumes and host dirs to create."""
    networks = tuple(n for n, _ in app.networks if n not in BUILTIN_NETWORKS and n not in observed.networks)
    return AppAction(
        app.name,
        Kind.NOOP,
        create_volumes=tuple(v for v in app.volumes if v.name not in observed.volumes),
        create_dirs=tuple(d for d in app.bind_dirs if d.create and not _dir_exists(d.path, observed)),
        create_networks=networks,
    )


def _dir_exists(path: str, observed: ObservedState) -> bool:
    found = observed.host_dirs.get(path)
    return found is not None and found.exists


def resource_problem(app: DesiredApp, observed: ObservedState) -> Problem | None:
    """Refusals about the data's places: a missing bind dir we may not create, a volume that differs."""
    for bind in app.bind_dirs:
        found = observed.host_dirs.get(bind.path)
        if found is not None and found.exists and not found.is_dir:
            return Problem(f"volume {bind.key}: bind source {bind.path} exists and is not a directory", ExitCode.DATA_GUARD)
        if not bind.create and not _dir_exists(bind.path, observed):
            return Problem(
                f"volume {bind.key}: bind source {bind.path} does not exist and the spec says create: false "
                "(is the disk or share mounted?)",
                ExitCode.DATA_GUARD,
            )
    for volume in app.volumes:
        existing = observed.volumes.get(volume.name)
        if existing is None:
            continue
        if existing.driver != volume.driver:
            return Problem(
                f"volume {volume.key}: {volume.name} exists with driver {existing.driver!r}, the spec asks for "
                f"{volume.driver!r}; stateful never recreates a volume. Give the volume a new name in the spec "
                "to move the data, or change the spec back",
                ExitCode.DATA_GUARD,
            )
        changed = {k: v for k, v in volume.driver_opts if k in existing.options and existing.options[k] != v}
        if changed:
            return Problem(
                f"volume {volume.key}: {volume.name} exists with options "
                f"{ {k: existing.options[k] for k in changed} }, the spec asks for {changed}; stateful never "
                "recreates a volume. Give the volume a new name in the spec to move the data",
                ExitCode.DATA_GUARD,
            )
    return None


def managed_elsewhere(app: str, listed: Mapping[str, ListedContainer], state_dir: str) -> Problem | None:
    """Refuse an app whose containers (its own, or a recreate's temporary ones) are managed from
    another state dir: every command that changes the app asks this first."""
    for name in (app, app + L.NEW_SUFFIX, app + L.OLD_SUFFIX):
        found = listed.get(name)
        if found is not None and found.managed and found.app == app and not L.managed_from(found.labels, state_dir):
            other = found.labels[L.STATE_DIR]
            return Problem(
                f"{app} is managed from another state dir, {other}: its journal and data fingerprints are there, and a "
                f"recreate from there may be in progress. Run stateful with --state-dir {other} (as the user who owns it)",
                ExitCode.APPLY_FAILED,
            )
    return None


def uncovered_volumes_problem(app: DesiredApp, image: ImageDefaults) -> Problem | None:
    """An image VOLUME the spec does not mount would get an anonymous volume: refuse that."""
    targets = {m.target.rstrip("/") for m in app.mounts}
    uncovered = [v for v in image.volumes if v.rstrip("/") not in targets]
    if not uncovered:
        return None
    lines = "".join(f"\n    <key>:\n      target: {v}" for v in uncovered)
    return Problem(
        f"image {app.image} declares VOLUME {', '.join(uncovered)}, which the spec does not mount; "
        f"Docker would put that data in an anonymous volume. Add under volumes:{lines}",
        ExitCode.BAD_SPEC,
    )


def _pull(app: DesiredApp, image: ImageDefaults | None) -> str | None:
    return app.image if image is None else None


def _generation(container: ObservedContainer) -> int:
    try:
        return int(container.labels.get(L.GENERATION, "0"))
    except ValueError:
        return 0


def _blocked(app: str, message: str, code: ExitCode) -> AppAction:
    return AppAction(app, Kind.BLOCKED, problem=Problem(message, code))


def hold_back_recreates(plan: Plan, limit: int | None) -> Plan:
    """Unattended runs cap their blast radius: recreates past `limit` wait for a later run."""
    if limit is None:
        return plan
    allowed, actions = 0, []
    for action in plan.actions:
        if action.kind is Kind.RECREATE:
            if allowed >= limit:
                note = f"recreate held back: --max-recreates {limit} reached in this run"
                action = replace(action, kind=Kind.DEFERRED, notes=(*action.notes, note))
            else:
                allowed += 1
        actions.append(action)
    return replace(plan, actions=tuple(actions))
