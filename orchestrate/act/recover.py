"""Carrying out recovery: finishing or rolling back a recreate, from the facts: the journal, and
what the engine shows.

Used twice: by the executor when a recreate fails, and at the start of every run for the
operations a killed run left open. Idempotent: run it again at any point and it converges. Which
way it goes is decide/recovery.py's rule (the one diff predicts with); this module only finds the
instances and carries the decision out. The new one is always stopped before the old one starts.
Where an app's place is, and how an instance takes it, is the backend's replace strategy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from orchestrate import labels as L
from orchestrate.act import fault
from orchestrate.backends import Engine
from orchestrate.decide.recovery import FINISHED, Interrupted, Recovery, decide, leftover
from orchestrate.model.observed import ListedContainer, ObservedContainer
from orchestrate.state import Operation, Store

Say = Callable[[str, str], None]  # (app, what happened)


@dataclass(frozen=True)
class Resolution:
    app: str
    outcome: str  # finished | rolled-back
    note: str = field(default="", compare=False)  # the plan's words for it (Recovery.note)


def resolve(engine: Engine, op: Operation, *, journal: Callable[[str], None] = lambda step: None, say: Say) -> Resolution:
    return carry_out(engine, found(engine, op), journal=journal, say=say)


def found(engine: Engine, op: Operation) -> Interrupted:
    """What a journaled operation left, as the engine shows it now (reads only)."""
    old = engine.inspect_container(op.old_id) if op.old_id else None
    return Interrupted(op.app, old, _new_container(engine, op), tuple(entry.step for entry in op.steps))


def carry_out(engine: Engine, interrupted: Interrupted, *, journal: Callable[[str], None] = lambda step: None, say: Say) -> Resolution:
    app, old, new, stray = interrupted.app, interrupted.old, interrupted.new, interrupted.stray
    recovery = decide(interrupted)
    if stray is not None:
        if stray.running:
            engine.stop(stray.id, timeout=stray.stop_grace_seconds)
        engine.remove_container(stray.id)
    if recovery.outcome == FINISHED:
        assert new is not None, "the rule finishes only with a new instance"
        _finish(engine, app, old, new, journal, say)
    else:
        _roll_back(engine, app, old, new, journal, say)
    return Resolution(app, recovery.outcome, recovery.note)


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


def pending(
    engine: Engine, operations: Iterable[Operation], listed: Mapping[str, ListedContainer], *, apps: set[str], state_dir: str
) -> list[Recovery]:
    """What recover_open_operations would do, decided by the same rule from the same facts, without
    doing it (reads only): the journal's open operations, then leftovers of apps with none."""
    operations = list(operations)
    decided = [decide(found(engine, op)) for op in operations]
    journaled = {op.app for op in operations}
    leftovers = [app for app in _interrupted_apps(engine, listed, apps, state_dir) if app not in journaled]
    return decided + [decide(leftover(app, engine.replace.parts(app))) for app in leftovers]


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
    leftovers = _interrupted_apps(engine, listed, apps, store.identity)
    return done + [carry_out(engine, leftover(app, engine.replace.parts(app)), say=say) for app in leftovers]


def _interrupted_apps(engine: Engine, listed: Mapping[str, ListedContainer], apps: set[str], state_dir: str) -> list[str]:
    leftovers = [c for c in listed.values() if c.managed and c.app in apps and engine.replace.mid_swap(c)]
    elsewhere = {c.app for c in listed.values() if c.managed and not L.managed_from(c.labels, state_dir)}
    return sorted({c.app for c in leftovers} - elsewhere)
