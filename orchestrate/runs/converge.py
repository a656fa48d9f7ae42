"""A mutating run (apply, later reconcile): lock, recover, plan, execute, remember.

1. Take the state dir's lock (one writer).
2. Resolve what a killed run left open (journal), before looking at anything else.
3. Plan with the data guard's fingerprints, exactly as `diff` would.
4. Execute, journaling every recreate step.
5. Remember fingerprints of the data of every app that ended up healthy, and the run itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrate.act.recover import Resolution, needs_recovery, recover_open_operations
from orchestrate.act.report import Options, Outcome, Report, Reporter
from orchestrate.backends import Engine, Fleet
from orchestrate.decide.plan import Kind
from orchestrate.model.desired import DesiredApp
from orchestrate.model.facts import DataFacts, Fingerprint, data_key
from orchestrate.model.observed import ObservedState
from orchestrate.output import documents
from orchestrate.runs import pipeline
from orchestrate.runs.pipeline import Policy
from orchestrate.runs.teardown import stop_and_remove
from orchestrate.state import RunLock, Store


@dataclass
class RunResult:
    planned: pipeline.Planned  # the first round's plan (what the run set out to do)
    report: Report  # every round's outcomes
    recovered: list[Resolution] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    mutations: int = 0  # the engine's count of mutating calls, for the JSON report only
    rounds: int = 0
    seconds: float = 0.0
    remaining: pipeline.Planned | None = None  # the plan after the last round

    @property
    def changed_anything(self) -> bool:
        """From what the run reports it did: recovered, acted on an app, or pruned."""
        return bool(self.recovered or self.pruned or any(o.acted for o in self.report.outcomes))

    @property
    def in_sync(self) -> bool:
        plan = self.remaining or self.planned
        return not plan.plan.changes


def apply(
    fleet_factory: Callable[[], Fleet],
    desired: list[DesiredApp],
    *,
    state_dir: Path,
    options: Options,
    policy: Policy | None = None,
    wait_lock: float = 0.0,
    report: Reporter,
    on_plan: Callable[[pipeline.Planned], None] = lambda planned: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunResult:
    """One run under the state dir's lock (exit 75 at once when busy, unless wait_lock)."""
    policy = policy or Policy()
    with RunLock(state_dir, wait_seconds=wait_lock):
        fleet = fleet_factory()
        with Store.open(state_dir) as store:
            options = replace(options, state_dir=store.identity)  # what the containers it makes are labelled with
            return _locked_run(fleet, store, desired, options=options, policy=policy, report=report, on_plan=on_plan, should_stop=should_stop)


def _locked_run(
    fleet: Fleet,
    store: Store,
    desired: list[DesiredApp],
    *,
    options: Options,
    policy: Policy,
    report: Reporter,
    on_plan: Callable[[pipeline.Planned], None],
    should_stop: Callable[[], bool],
) -> RunResult:
    started = time.monotonic()
    engine = fleet.engine
    names = {a.name for a in desired}
    observed = pipeline.observe(fleet, desired, fingerprints=store.fingerprints())  # serves recovery and plan
    recovered = []
    if needs_recovery(engine, store, observed.listed, names):
        say = lambda app, what: report(app, what, None)  # noqa: E731
        recovered = recover_open_operations(engine, store, apps=names, listed=observed.listed, say=say)
        observed = pipeline.observe(fleet, desired, fingerprints=store.fingerprints())
    # The plan notes what was just resolved, as diff notes it beforehand (the same words).
    planned = _plan(fleet, store, desired, policy, observed=observed, recovered=tuple((r.app, r.note) for r in recovered))
    on_plan(planned)
    quiet = not (planned.plan.changes or recovered or (policy.prune and planned.plan.orphans))
    # A run that finds nothing to do leaves no history row: cron's every-minute runs would bury
    # the ones that did something.
    run_id = 0 if quiet else store.begin_run(sorted(names))
    if run_id:
        store.record_plan(run_id, documents.plan_json(planned.plan))
    result = RunResult(planned, Report(), recovered)
    current = planned
    while True:
        result.rounds += 1
        round_report = _execute(fleet, store, current, desired, options=options, report=report, run_id=run_id, should_stop=should_stop)
        result.report.outcomes.extend(round_report.outcomes)
        result.report.stopped = round_report.stopped
        # Look again only when the executor says it acted: a quiet round reuses what it planned from.
        acted = any(o.acted for o in round_report.outcomes)
        observed = pipeline.observe(fleet, desired, fingerprints=store.fingerprints()) if acted else current.observed
        remember_data(fleet, store, desired, observed, round_report, current)
        if round_report.exit_code or round_report.stopped or not current.plan.changes or result.rounds >= policy.max_rounds:
            break
        # Level-triggered: look again, from scratch, and go on while drift remains (the cap on
        # recreates holds for the whole run, not per round).
        current = _plan(fleet, store, desired, policy, done=_recreated(result.report))
        if not current.plan.changes:
            break
    if policy.prune and not result.report.stopped:
        result.pruned = _prune(engine, planned, report)
    result.mutations = engine.mutations
    result.seconds = time.monotonic() - started
    if result.rounds > 1 or result.changed_anything:
        result.remaining = _plan(fleet, store, desired, policy, done=_recreated(result.report))
    if run_id:
        store.finish_run(run_id, documents.report_json(result.report, result.mutations), int(result.report.exit_code))
    return result


def _execute(
    fleet: Fleet,
    store: Store,
    planned: pipeline.Planned,
    desired: list[DesiredApp],
    *,
    options: Options,
    report: Reporter,
    run_id: int,
    should_stop: Callable[[], bool],
) -> Report:
    if not planned.plan.changes:
        # Nothing to do: say so per app without loading the executor (cron's usual minute).
        return Report([Outcome(a.app, a.kind, True) for a in planned.plan.actions])
    from orchestrate.act.execute import Executor

    return Executor(fleet, report=report, options=options, journal=store, run_id=run_id).run(planned.plan, desired, should_stop=should_stop)


def _plan(
    fleet: Fleet,
    store: Store,
    desired: list[DesiredApp],
    policy: Policy,
    *,
    done: int = 0,
    observed: ObservedState | None = None,
    recovered: tuple[tuple[str, str], ...] = (),
) -> pipeline.Planned:
    """Planned exactly as `diff` plans (pipeline.safeguards, pipeline.plan), from the store as it is
    now. The run resolved interrupted recreates before its first plan: `recovered` says which."""
    guards = pipeline.safeguards(store, policy, state_dir=store.identity)
    return pipeline.plan(fleet, desired, guards, max_recreates=policy.max_recreates, recreated=done, observed=observed, recovered=recovered)


def _recreated(report: Report) -> int:
    return sum(1 for o in report.outcomes if o.kind is Kind.RECREATE)


def _prune(engine: Engine, planned: pipeline.Planned, report: Reporter) -> list[str]:
    """Remove orphan containers (their spec is gone). Their volumes stay: data is never pruned."""
    pruned = []
    for app in planned.plan.orphans:
        listed = planned.observed.listed.get(app)
        container = engine.inspect_container(listed.id) if listed is not None else None
        if container is None or not container.managed:
            continue
        stop_and_remove(engine, container)
        report(app, "pruned orphan container (its volumes are kept)", None)
        pruned.append(app)
    return pruned


def remember_data(fleet: Fleet, store: Store, desired: list[DesiredApp], observed: ObservedState, result: Report, planned: pipeline.Planned) -> None:
    """Fingerprint the data of each app that is up and healthy now: the data guard's memory."""
    ok = {o.app for o in result.outcomes if o.ok}
    # The gate may pass an app on its own run of the healthcheck before the engine's next check
    # says so: just gated and still "starting" is healthy too.
    gated = {o.app for o in result.outcomes if o.ok and o.acted}
    changed = {a.app for a in planned.plan.actions if a.kind is not Kind.NOOP}
    known = store.fingerprints()
    facts_on: dict[str, dict[str, DataFacts]] = {}
    for app in desired:
        container = observed.containers.get(app.name)
        healthy = container is not None and (container.health in ("", "healthy") or (container.health == "starting" and app.name in gated))
        if app.name not in ok or container is None or not container.running or not healthy:
            continue
        files = fleet.files(app.host)
        if app.host not in facts_on:  # one look per host, at every app's data on it
            facts_on[app.host] = files.data_facts((m for a in desired if a.host == app.host for m in a.mounts), observed.volumes)
        facts = facts_on[app.host]
        for mount in app.mounts:
            if not mount.holds_data or mount.owner_app != app.name:
                continue
            found = facts.get(data_key(mount.kind, mount.source))
            if found is None or not found.exists or found.entries is None:
                continue
            fresh = _fingerprint(app.name, mount.key, found.kind, found.source, found.identity, found.entries, mount.target)
            if _worth_writing(known.get((app.name, mount.key)), fresh, app.name in changed):
                store.save_fingerprint(replace(fresh, size=files.tree_size(mount.kind, mount.source, observed.volumes)))
        # The app runs healthy without keys it no longer has (the guard let it, as asked): the
        # data there is no longer its data to guard.
        keys = {m.key for m in app.mounts}
        for app_name, key in known:
            if app_name == app.name and key not in keys:
                store.forget_fingerprint(app_name, key)


def _fingerprint(app: str, key: str, kind: str, source: str, identity: str, entries: int, target: str) -> Fingerprint:
    return Fingerprint(app, key, kind, source, identity, entries, 0, entries > 0, time.time(), target)


def _worth_writing(old: Fingerprint | None, new: Fingerprint, changed: bool) -> bool:
    if old is None or changed:
        return True
    # Quiet runs write nothing unless the data's place or identity moved: measuring a large
    # datadir's size every minute from cron would cost more than the run itself.
    return (old.kind, old.source, old.identity, old.held_data, old.target) != (new.kind, new.source, new.identity, new.held_data, new.target)


