"""Recovery's rule: finish or roll back a recreate a killed run left, and what the engine shows after.

Pure. From what recovery found (the journal's steps, or none, and the app's old and new instances)
decide which instance keeps the app; and predict the observed state once that is carried out, so
that diff, status and --check plan from the state apply will plan from after it recovers.
act/recover.py carries the decision out and decides nothing itself. No engine, no store here:
the caller finds the instances (through the backend's replace strategy) and passes them in.

The rule: if the new instance passed its health gate, or the old one is gone, finish (the new one
takes the app's place and runs, the old one is removed); otherwise roll back (the new one is
removed, the old one takes the app's place back and runs). Without a journal, "the new one runs"
stands in for "it passed its health gate".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from orchestrate.model.observed import ListedContainer, ObservedContainer, ObservedState, SwapParts

HEALTH_PASSED = "health-passed"  # journaled inside the health-gate step once the gate passed
FINISHED, ROLLED_BACK = "finished", "rolled-back"


@dataclass(frozen=True)
class Interrupted:
    """A recreate a killed run left, as recovery finds it."""

    app: str
    old: ObservedContainer | None
    new: ObservedContainer | None
    steps: tuple[str, ...] | None  # the journal's steps, in order; None: leftovers without a journal
    stray: ObservedContainer | None = None  # a second new instance beside the leftovers: removed first


@dataclass(frozen=True)
class Recovery:
    """What recovery does to one app: which instance keeps the app's place, which ones go."""

    app: str
    outcome: str  # finished | rolled-back
    kept: ObservedContainer | None  # takes (or keeps) the app's place and runs
    gone: tuple[ObservedContainer, ...]  # stopped and removed
    last_step: str | None  # the journal's last step ("": none yet); None: no journal

    @property
    def note(self) -> str:
        """The plan's words for it: the same in diff and in apply's recorded plan."""
        what = "finish it first" if self.outcome == FINISHED else "roll it back first"
        journal = f"the journal stopped after {self.last_step or 'it began'}"
        why = "no journal: leftovers with temporary names" if self.last_step is None else journal
        return f"interrupted recreate: {what} ({why})"


def decide(found: Interrupted) -> Recovery:
    """The one rule (see the module docstring), for a journaled operation and for leftovers alike."""
    old, new = found.old, found.new
    last = None if found.steps is None else (found.steps[-1] if found.steps else "")
    passed = HEALTH_PASSED in found.steps if found.steps is not None else new is not None and new.running
    stray = (found.stray,) if found.stray is not None else ()
    if new is not None and (passed or old is None):
        return Recovery(found.app, FINISHED, new, (*stray, *_present(old)), last)
    return Recovery(found.app, ROLLED_BACK, old, (*stray, *_present(new)), last)


def leftover(app: str, parts: SwapParts) -> Interrupted:
    """A swap's leftovers with no journal entry (the state dir was lost, or is another one)."""
    current, old, new = (_ours(found, app) for found in (parts.current, parts.aside, parts.new))
    if old is None:
        # Killed before the old one stepped aside: it still holds the app's place.
        return Interrupted(app, current, new, None)
    if current is not None:
        # A new one already in place, and maybe another new one left: that one goes first.
        return Interrupted(app, old, current, None, stray=new)
    return Interrupted(app, old, new, None)


def after_recovery(observed: ObservedState, recoveries: Iterable[Recovery]) -> ObservedState:
    """The observed state once every recovery is carried out: each kept instance holds its app's
    place and runs; the others are gone. Nothing else recovery does shows in a plan."""
    for recovery in recoveries:
        observed = _after(observed, recovery)
    return observed


def _after(observed: ObservedState, recovery: Recovery) -> ObservedState:
    app, kept = recovery.app, recovery.kept
    touched = [c for c in (kept, *recovery.gone) if c is not None]
    ids, names = {c.id for c in touched}, {c.name for c in touched}
    inspected = kept is not None and any(c.id == kept.id for c in observed.containers.values())
    containers = {name: c for name, c in observed.containers.items() if c.id not in ids}
    listed = {name: c for name, c in observed.listed.items() if c.id not in ids}
    users = {key: tuple(u for u in found if u.container not in names) for key, found in observed.mount_users.items()}
    if kept is not None:
        if inspected:  # only apps the run asked about are inspected; the others stay listed only
            containers[app] = replace(kept, name=app, status="running")
        listed[app] = ListedContainer(kept.id, app, kept.labels, "running")
        for key, found in observed.mount_users.items():
            users[key] += tuple(replace(u, container=app, running=True) for u in found if u.container == kept.name)
    return replace(observed, containers=containers, listed=listed, mount_users=users)


def _present(container: ObservedContainer | None) -> tuple[ObservedContainer, ...]:
    return (container,) if container is not None else ()


def _ours(container: ObservedContainer | None, app: str) -> ObservedContainer | None:
    return container if container is not None and container.managed and container.app == app else None

