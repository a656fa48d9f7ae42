"""Finishing or rolling back a recreate from the facts: the journal, and what the engine shows.

Used twice: by the executor when a recreate fails, and at the start of every run for the
operations a killed run left open. Idempotent: run it again at any point and it converges. The
rule: if the new container passed its health gate, finish (the new one takes the app's place, the
old one is removed); otherwise roll back (the new one is stopped and removed, the old one takes
the app's place back and is started). The new one is always stopped before the old one starts.
Where an app's place is, and how an instance takes it, is the backend's replace strategy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orchestrate import labels as L
from orchestrate.act import fault
from orchestrate.backends import Engine
from orchestrate.model.observed import ListedContainer, ObservedContainer
from orchestrate.state import JournalEntry, Operation, Store

HEALTH_PASSED = "health-passed"

Say = Callable[[str, str], None]  # (app, what happened)


@dataclass(frozen=True)
class Resolution:
    app: str
    outcome: str  # finished | rolled-back


def resolve(engine: Engine, op: Operation, *, journal: Callable[[str], None] = lambda step: None, say: Say) -> Resolution:
    app = op.app
    old = engine.inspect_container(op.old_id) if op.old_id else None
    new = _new_container(engine, op)
    if new is not None and (op.reached(HEALTH_PASSED) or old is None):
        _finish(engine, app, old, new, journal, say)
        return Resolution(app, "finished")
    _roll_back(engine, app, old, new, journal, say)
    return Resolution(app, "rolled-back")


def _new_container(engine: Engine, op: Operation) -> ObservedContainer | None:
    if op.new_id:
        return engine.inspect_container(op.new_id)
    # Killed between creating it and recording its id: the strategy knows how to find it.
    return engine.replace.find_new(op.app, old_id=op.old_id)


def _finish(engine: Engine, app: str, old: ObservedContainer | None, new: ObservedContainer, journal: Callable[[str], None], say: Say) -> None:
    do, swap = _stepper(app, journal, say), engine.replace
    if old is not None:
        if old.running:  # cannot happen through our steps; never leave two running
            do("finish-stop-old", "finish: stop old container", lambda: engine.stop(old.id, timeout=old.stop_grace_seconds))
        if swap.holds_place(app, old):
            do("finish-rename-old", "finish: rename old container", lambda: swap.step_aside(app, old.id))
    if not swap.holds_place(app, new):
        do("finish-rename-new", "finish: rename new container", lambda: swap.take_place(app, new.id))
    if not new.running:
        do("finish-start-new", "finish: start new container", lambda: engine.start(new.id))
    if old is not None:
        do("finish-remove-old", "finish: remove old container", lambda: engine.remove_container(old.id))


def _roll_back(
    engine: Engine, app: str, old: ObservedContainer | None, new: ObservedContainer | None, journal: Callable[[str], None], say: Say
) -> None:
    do, swap = _stepper(app, journal, say), engine.replace
    if new is not None:
        if new.running:
            do("rollback-stop-new", "rollback: stop new container", lambda: engine.stop(new.id, timeout=new.stop_grace_seconds))
        do("rollback-remove-new", "rollback: remove new container", lambda: engine.remove_container(new.id))
    if old is not None:
        if not swap.holds_place(app, old):
            do("rollback-rename-old", "rollback: rename old container back", lambda: swap.take_place(app, old.id))
        if not old.running:
            do("rollback-start-old", "rollback: start old container", lambda: engine.start(old.id))


def _stepper(app: str, journal: Callable[[str], None], say: Say) -> Callable[[str, str, Callable[[], None]], None]:
    def do(step: str, description: str, action: Callable[[], None]) -> None:
        journal(step)
        action()
        say(app, description)
        fault.after(step)

    return do


def needs_recovery(engine: Engine, store: Store, listed: Mapping[str, ListedContainer], apps: set[str]) -> bool:
    """Cheap check, from the run's one container list: is there anything to finish or roll back?"""
    return bool(store.open_operations()) or bool(_interrupted_apps(engine, listed, apps, store.identity))


def recover_open_operations(
    engine: Engine, store: Store, *, apps: set[str], listed: Mapping[str, ListedContainer], say: Say
) -> list[Resolution]:
    """Resolve every operation a killed run left open, then leftover temporary containers of `apps`.

    Leftovers are looked for only among the apps of this run, and only those made from this state
    dir (or before containers said where from): a recreate under another state dir may be in
    flight, and is not ours to touch (the plan refuses that app).
    """
    done = []
    for op in store.open_operations():
        resolution = resolve(engine, op, journal=functools.partial(store.journal, op.id), say=say)
        store.close_operation(op.id, resolution.outcome)
        done.append(resolution)
    if done:  # what was just resolved changed the containers: list them again
        listed = engine.snapshot(app_names=[], image_refs=[]).listed
    return done + [_leftover(engine, app, say) for app in _interrupted_apps(engine, listed, apps, store.identity)]


def _interrupted_apps(engine: Engine, listed: Mapping[str, ListedContainer], apps: set[str], state_dir: str) -> list[str]:
    leftovers = [c for c in listed.values() if c.managed and c.app in apps and engine.replace.mid_swap(c)]
    elsewhere = {c.app for c in listed.values() if c.managed and not L.managed_from(c.labels, state_dir)}
    return sorted({c.app for c in leftovers} - elsewhere)


def _leftover(engine: Engine, app: str, say: Say) -> Resolution:
    """A swap's leftovers with no open journal entry (the state dir was lost, or is another one).

    Without a journal, "it is running" stands in for "it passed its health gate".
    """
    parts = engine.replace.parts(app)
    current, old, new = (_ours(found, app) for found in (parts.current, parts.aside, parts.new))
    if old is None:
        old = current  # killed before the old one stepped aside: it still holds the app's place
    elif current is not None:
        if new is not None:  # a new one in place and another leftover: the leftover goes first
            if new.running:
                engine.stop(new.id, timeout=new.stop_grace_seconds)
            engine.remove_container(new.id)
        new = current
    passed = (JournalEntry(HEALTH_PASSED, 0.0),) if new is not None and new.running else ()
    op = Operation(0, app, "recreate", old.id if old else None, new.id if new else None, passed)
    return resolve(engine, op, say=say)


def _ours(container: ObservedContainer | None, app: str) -> ObservedContainer | None:
    return container if container is not None and container.managed and container.app == app else None
