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
from dataclasses import dataclass, field
from pathlib import Path

from orchestrate import render, service
from orchestrate.desired import DesiredApp
from orchestrate.engine import Engine
from orchestrate.execute import Executor, Options, Report, Reporter
from orchestrate.guard import Fingerprints
from orchestrate.hostfs import data_facts, tree_size
from orchestrate.observed import Fingerprint, ObservedState, data_key
from orchestrate.plan import Kind
from orchestrate.recover import Resolution, recover_open_operations
from orchestrate.state import RunLock, Store

REFRESH_SIZE_AFTER_S = 600.0  # a fingerprint's size is re-measured at most this often on quiet runs


@dataclass
class RunResult:
    planned: service.Planned
    report: Report
    recovered: list[Resolution] = field(default_factory=list)
    mutations: int = 0


def apply(
    engine_factory: Callable[[], Engine],
    desired: list[DesiredApp],
    *,
    state_dir: Path,
    options: Options,
    allow_empty: frozenset[str] = frozenset(),
    wait_lock: float = 0.0,
    report: Reporter,
    on_plan: Callable[[service.Planned], None] = lambda planned: None,
) -> RunResult:
    with RunLock(state_dir, wait_seconds=wait_lock):
        engine = engine_factory()
        store = Store.open(state_dir)
        try:
            return _locked_run(engine, store, desired, options=options, allow_empty=allow_empty, report=report, on_plan=on_plan)
        finally:
            store.close()


def _locked_run(
    engine: Engine,
    store: Store,
    desired: list[DesiredApp],
    *,
    options: Options,
    allow_empty: frozenset[str],
    report: Reporter,
    on_plan: Callable[[service.Planned], None],
) -> RunResult:
    names = {a.name for a in desired}
    recovered = recover_open_operations(engine, store, apps=names, say=lambda app, what: report(app, what, None))
    planned = service.plan(engine, desired, fingerprints=store.fingerprints(), allow_empty=allow_empty)
    on_plan(planned)
    run_id = store.begin_run([a.name for a in desired])
    store.record_plan(run_id, render.plan_json(planned.plan))
    executor = Executor(engine, report=report, options=options, journal=store, run_id=run_id)
    result = executor.run(planned.plan, desired)
    observed = planned.observed if engine.mutations == 0 else service.observe(engine, desired)
    remember_data(store, desired, observed, result, planned)
    store.finish_run(run_id, render.report_json(result, engine.mutations), int(result.exit_code))
    return RunResult(planned, result, recovered, engine.mutations)


def remember_data(store: Store, desired: list[DesiredApp], observed: ObservedState, result: Report, planned: service.Planned) -> None:
    """Fingerprint the data of each app that is up and healthy now: the data guard's memory."""
    ok = {o.app for o in result.outcomes if o.ok}
    changed = {a.app for a in planned.plan.actions if a.kind is not Kind.NOOP}
    known = store.fingerprints()
    facts = data_facts((m for a in desired for m in a.mounts), observed.volumes)
    for app in desired:
        container = observed.containers.get(app.name)
        if app.name not in ok or container is None or not container.running or container.health not in ("", "healthy"):
            continue
        for mount in app.mounts:
            if not mount.holds_data or mount.owner_app != app.name:
                continue
            found = facts.get(data_key(mount.kind, mount.source))
            if found is None or not found.exists or found.entries is None:
                continue
            fresh = _fingerprint(app.name, mount.key, found.kind, found.source, found.identity, found.entries)
            if _worth_writing(known.get((app.name, mount.key)), fresh, app.name in changed):
                store.save_fingerprint(_with_size(fresh, observed, mount.kind, mount.source))


def _fingerprint(app: str, key: str, kind: str, source: str, identity: str, entries: int) -> Fingerprint:
    return Fingerprint(app, key, kind, source, identity, entries, 0, entries > 0, time.time())


def _worth_writing(old: Fingerprint | None, new: Fingerprint, changed: bool) -> bool:
    if old is None or changed:
        return True
    moved = (old.kind, old.source, old.identity, old.held_data) != (new.kind, new.source, new.identity, new.held_data)
    return moved or new.recorded_at - old.recorded_at > REFRESH_SIZE_AFTER_S


def _with_size(fp: Fingerprint, observed: ObservedState, kind: str, source: str) -> Fingerprint:
    path = observed.volumes[source].mountpoint if kind == "volume" and source in observed.volumes else source
    return Fingerprint(fp.app, fp.key, fp.kind, fp.source, fp.identity, fp.entries, tree_size(path), fp.held_data, fp.recorded_at)


def read_fingerprints(state_dir: Path) -> Fingerprints:
    """For read-only commands (diff, status): what the data guard remembers, without locking."""
    if not (state_dir / "state.db").exists():
        return {}
    store = Store.open(state_dir)
    try:
        return store.fingerprints()
    finally:
        store.close()
