"""Status rows: what each managed app is doing, on which volumes, and whether it has drifted; and
the rows of `stateful volumes`. Pure: values in, rows out; no store, no engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from orchestrate.decide.compare import describe_mount
from orchestrate.decide.guard import written_by
from orchestrate.decide.plan import AppAction, Kind, Plan
from orchestrate.model.facts import Fingerprint
from orchestrate.model.observed import ObservedContainer, ObservedState


@dataclass(frozen=True)
class StatusRow:
    app: str
    state: str
    health: str
    image: str
    volumes: list[str]
    drift: str
    database: str = ""  # the database kind, "" for an app that runs none
    written_by: str = ""  # which server version wrote its datadir ("PostgreSQL 15"), or that it is unknown


def status_rows(observed: ObservedState, plan: Plan | None, spec_apps: set[str]) -> list[StatusRow]:
    actions = {a.app: a for a in plan.actions} if plan else {}
    rows: dict[str, StatusRow] = {}
    for container in observed.managed():
        if container.name != container.app:
            continue  # a temporary container of a recreate in progress
        rows[container.app] = _row(container, _drift(container.app, actions, spec_apps))
    for app, action in actions.items():
        if app not in rows:
            rows[app] = StatusRow(app, "missing", "", "", [], _describe(action))
    return [_with_database(rows[name], observed) for name in sorted(rows)]


def _with_database(row: StatusRow, observed: ObservedState) -> StatusRow:
    found = observed.datadirs.get(row.app)
    return replace(row, database=found.kind, written_by=written_by(found)) if found else row


def _row(container: ObservedContainer, drift: str) -> StatusRow:
    volumes = [f"{m.target} <- {describe_mount(m.kind, m.source, m.read_only)}" for m in container.mounts]
    return StatusRow(container.app, container.status, container.health, container.image, volumes, drift)


def _drift(app: str, actions: dict[str, AppAction], spec_apps: set[str]) -> str:
    action = actions.get(app)
    if action is None:
        return "no spec" if app not in spec_apps else "unknown"
    return _describe(action)


def _describe(action: AppAction) -> str:
    drift = _drift_of(action)
    return f"{action.recovery}, then {drift}" if action.recovery else drift


def _drift_of(action: AppAction) -> str:
    if action.kind is Kind.NOOP:
        return "in sync"
    if action.kind is Kind.BLOCKED:
        return "blocked"
    if action.diffs:
        fields = [d.field for d in action.diffs]
        shown = ", ".join(fields[:3]) + (f" and {len(fields) - 3} more" if len(fields) > 3 else "")
        return f"drifted ({shown}): {action.kind.value}"
    return f"needs {action.kind.value}"


@dataclass(frozen=True)
class VolumeRow:
    """One data place stateful knows: in use (with its last fingerprint) or a retired copy."""

    app: str
    key: str
    source: str  # "<kind> <source>"
    state: str  # in use | retired
    entries: int | None
    bytes: int | None
    since: float


def volume_rows(fingerprints: Iterable[Fingerprint], retired: Iterable[tuple[str, str, str, str, float]]) -> list[VolumeRow]:
    rows = [VolumeRow(f.app, f.key, f"{f.kind} {f.source}", "in use", f.entries, f.size, f.recorded_at) for f in fingerprints]
    rows += [VolumeRow(app, key, f"{kind} {source}", "retired", None, None, at) for app, key, kind, source, at in retired]
    return sorted(rows, key=lambda r: (r.app, r.key, r.state))
