"""Plans, reports and status as text (rich: colour on a terminal, plain when piped) and as JSON.

Pure formatting: takes values, returns strings or rich renderables; secrets print as ***.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text

from orchestrate.act.report import Report
from orchestrate.decide.compare import Effect, FieldDiff
from orchestrate.decide.plan import AppAction, Kind, Plan
from orchestrate.output.documents import REDACTED
from orchestrate.output.status import StatusRow, VolumeRow
from orchestrate.state import RunRecord

if TYPE_CHECKING:
    from rich.table import Table

SYMBOL = {Kind.NOOP: "=", Kind.CREATE: "+", Kind.START: ">", Kind.UPDATE: "~", Kind.RECREATE: "~", Kind.BLOCKED: "!", Kind.DEFERRED: "-"}
STYLE = {
    Kind.NOOP: "dim",
    Kind.CREATE: "green",
    Kind.START: "green",
    Kind.UPDATE: "yellow",
    Kind.RECREATE: "yellow",
    Kind.BLOCKED: "bold red",
    Kind.DEFERRED: "magenta",
}


def value_text(value: Any, *, secret: bool = False) -> str:
    if value is None:
        return "(unset)"
    if secret:
        return REDACTED
    return json.dumps(value, ensure_ascii=False)


def plan_lines(plan: Plan, *, verbose: bool = False) -> list[Text]:
    """One line per reason: `~ mysql recreate: env.X: (unset) -> "y"`."""
    lines: list[Text] = []
    for action in plan.actions:
        lines.extend(_action_lines(action, verbose=verbose))
    planned = {a.app for a in plan.actions}
    lines += [Text(f"~ {app} recovery: {note}", style="yellow") for app, note in plan.recoveries if app not in planned]
    for orphan in plan.orphans:
        lines.append(Text(f"? {orphan} orphan: managed container with no spec here (kept; see `stateful destroy {orphan}`)", style="magenta"))
    return lines


def _action_lines(action: AppAction, *, verbose: bool) -> list[Text]:
    head = f"{SYMBOL[action.kind]} {action.app} {action.kind.value}"
    style = STYLE[action.kind]
    migrations = [Text(f"~ {action.app} migrate {m}", style="bold yellow") for m in action.migrations]
    reasons = [action.recovery] if action.recovery else []
    reasons += [f"create network {n}" for n in action.create_networks]
    reasons += [f"create volume {v.name}" for v in action.create_volumes]
    reasons += [f"create directory {d.path}" for d in action.create_dirs]
    if action.pull:
        reasons.append(f"pull {action.pull}")
    if action.problem:
        reasons.append(action.problem.message)
    reasons += list(action.notes)
    acting = [d for d in action.diffs if d.effect is not Effect.INIT_ONLY]
    reasons += [f"{d.field}: {value_text(d.old, secret=d.secret)} -> {value_text(d.new, secret=d.secret)}{_written(action, d)}" for d in acting]
    notes = [Text(f"i {action.app} note: {_init_only_note(d)}", style="cyan") for d in action.diffs if d.effect is Effect.INIT_ONLY]
    if action.kind is Kind.NOOP and not reasons:
        return notes + ([Text(f"{head}: in sync", style=style)] if verbose else [])
    lines = [Text(f"{head}: {reason}", style=style) for reason in reasons] or [Text(head, style=style)]
    return migrations + lines + notes


def _written(action: AppAction, diff: FieldDiff) -> str:
    """Beside an image change: which server version wrote the data the new image will open."""
    return f" (datadir written by {action.written_by})" if action.written_by and diff.field in ("image", "image_id") else ""


def _init_only_note(diff: FieldDiff) -> str:
    change = f"{diff.field}: {value_text(diff.old, secret=diff.secret)} -> {value_text(diff.new, secret=diff.secret)}"
    return (
        f"{change} has no effect: the image reads it only when it initialises an empty datadir, and this data exists. "
        "Change it inside the database instead (e.g. ALTER USER / CREATE DATABASE); no recreate is done for it"
    )


def step_line(app: str, step: str, seconds: float | None) -> Text:
    timing = f" ({seconds:.2f}s)" if seconds is not None else ""
    return Text.assemble((f"  {app}", "bold"), f": {step}", (timing, "dim"))


def outcome_lines(report: Report) -> list[Text]:
    lines: list[Text] = []
    for o in report.outcomes:
        if o.ok and o.kind is Kind.NOOP:
            continue
        if o.kind is Kind.DEFERRED:
            lines.append(Text(f"- {o.app}: {o.message}", style="magenta"))
            continue
        if o.ok:
            lines.append(Text(f"{SYMBOL[o.kind]} {o.app}: {o.kind.value} done in {o.seconds:.1f}s", style="green"))
        else:
            lines.append(Text(f"! {o.app}: {o.kind.value} failed: {o.message}", style="bold red"))
    if not lines:
        lines.append(Text("nothing to do: every app is in sync"))
    return lines


def _table() -> Table:
    from rich.table import Table  # tables only for status, volumes, history: a run never loads them

    return Table(show_edge=False, pad_edge=False, box=None, header_style="bold")


def summary_line(report: Report, seconds: float) -> Text | None:
    """`3 apps: 2 create, 1 recreate failed in 12.3s`: the run at a glance, after the per-app lines."""
    acted = [o for o in report.outcomes if o.acted or not o.ok]
    if len(acted) < 2:
        return None  # one app's line says it all
    counts: dict[str, int] = {}
    for o in acted:
        key = o.kind.value if o.ok else f"{o.kind.value} failed"
        counts[key] = counts.get(key, 0) + 1
    parts = ", ".join(f"{n} {what}" for what, n in counts.items())
    style = "green" if all(o.ok for o in acted) else "bold red"
    return Text(f"{len(acted)} apps: {parts} in {seconds:.1f}s", style=style)


def status_table(rows: list[StatusRow]) -> Table:
    table = _table()
    for column in ("APP", "STATE", "HEALTH", "IMAGE", "DATABASE", "VOLUMES", "DRIFT"):
        table.add_column(column, overflow="fold")
    for row in rows:
        drift_style = "green" if row.drift == "in sync" else "yellow"
        database = f"{row.database}: data of {row.written_by}" if row.database else "-"
        table.add_row(row.app, row.state, row.health or "-", row.image, database, "\n".join(row.volumes) or "-", Text(row.drift, style=drift_style))
    return table


def status_json(rows: list[StatusRow]) -> list[dict[str, Any]]:
    return [row.__dict__ for row in rows]


def volumes_table(rows: list[VolumeRow]) -> Table:
    table = _table()
    for column in ("APP", "KEY", "SOURCE", "STATE", "ENTRIES", "BYTES", "SINCE"):
        table.add_column(column)
    for r in rows:
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.since))
        table.add_row(r.app, r.key, r.source, r.state, str(r.entries or "-"), str(r.bytes or "-"), since)
    return table


def history_table(records: list[RunRecord], app: str | None) -> Table:
    table = _table()
    for column in ("RUN", "STARTED", "USER", "COMMAND", "EXIT", "CHANGES"):
        table.add_column(column, overflow="fold")
    for record in records:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))
        exit_code = "running or killed" if record.exit_code is None else str(record.exit_code)
        table.add_row(str(record.id), started, record.user, record.command, exit_code, _changes(record, app))
    return table


def _changes(record: RunRecord, app: str | None) -> str:
    outcome = {a["app"]: a for a in (record.outcome or {}).get("apps", [])}
    planned = [a for a in (record.plan or {}).get("apps", []) if a["action"] != "noop" and (app is None or a["app"] == app)]
    if not planned:
        return "none"
    parts = []
    for action in planned:
        done = outcome.get(action["app"])
        state = "" if done is None else (" ok" if done["ok"] else " FAILED")
        parts.append(f"{action['app']} {action['action']}{state}")
    return ", ".join(parts)


