"""Commands over several hosts: `stateful hosts`, and diff/apply when a hosts.yaml names hosts.

Each host's apps are planned (and applied) against that host only; lines are prefixed by the
host, JSON carries it, and a host that does not answer is reported by name and endpoint (exit 3)
while the others go on. Nothing here decides; it renders what runs/pipeline and runs/converge do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from orchestrate.cli.base import cli, console, fleet_for, load_specs
from orchestrate.errors import EngineUnreachable, ExitCode, UsageError

if TYPE_CHECKING:
    from orchestrate.backends import Fleet
    from orchestrate.model.desired import DesiredApp
    from orchestrate.runs.converge import RunResult
    from orchestrate.runs.pipeline import HostDown, Planned


def groups_of(fleet: Fleet, desired: list[DesiredApp], only_host: str | None) -> dict[str, list[DesiredApp]]:
    from orchestrate.runs.pipeline import apps_by_host

    if only_host is not None and only_host not in fleet.hosts:
        raise UsageError(f"--host {only_host}: no such host (known: {', '.join(sorted(fleet.hosts))})")
    return apps_by_host(desired, only_host)


def worst(codes: list[int]) -> int:
    """The exit code of a run over several hosts: the gravest of theirs (a refusal over a failure
    over an unreachable host over pending changes)."""
    for code in (ExitCode.DATA_GUARD, ExitCode.APPLY_FAILED, ExitCode.ENGINE_UNREACHABLE, ExitCode.CHANGES_PENDING):
        if code in codes:
            return int(code)
    return int(ExitCode.OK)


def down_json(down: HostDown) -> dict[str, Any]:
    return {"host": down.host, "endpoint": down.endpoint, "error": down.reason, "apps": down.apps}


def diff_hosts(ctx: click.Context, fleet: Fleet, desired: list[DesiredApp], only_host: str | None, output: str) -> int:
    from orchestrate.output import documents, terminal
    from orchestrate.runs import pipeline

    planned = pipeline.plan_hosts(fleet, groups_of(fleet, desired, only_host), pipeline.read_safeguards(_state_dir(ctx)))
    codes = [_plan_code(result) for result in planned.values()]
    if output == "json":
        body = [_host_json(host, result, lambda p: documents.plan_json(p.plan)) for host, result in planned.items()]
        click.echo(json.dumps({"hosts": body}, indent=2))
        return worst(codes)
    out, err = console(), console(stderr=True)
    for host, result in planned.items():
        if isinstance(result, pipeline.HostDown):
            err.print(f"error: {result}", markup=False)
            continue
        for line in terminal.plan_lines(result.plan):
            out.print(f"{host}: ", line, sep="")
        if not result.plan.changes:
            out.print(f"{host}: in sync: nothing to change", markup=False)
    return worst(codes)


def apply_hosts(
    fleet: Fleet, desired: list[DesiredApp], only_host: str | None, output: str, run: Callable[[Fleet, list[DesiredApp], str], RunResult]
) -> int:
    """One run per host, one host after another, each under the state dir's lock."""
    from orchestrate.output import documents, terminal
    from orchestrate.runs import pipeline

    results: dict[str, RunResult | pipeline.HostDown] = {}
    for host, apps in groups_of(fleet, desired, only_host).items():
        try:
            results[host] = run(fleet.only(host), apps, host)
        except EngineUnreachable as exc:
            results[host] = pipeline.HostDown(host, fleet.engine_of(host).endpoint, str(exc), [a.name for a in apps])
    codes = [int(ExitCode.ENGINE_UNREACHABLE) if isinstance(r, pipeline.HostDown) else int(r.report.exit_code) for r in results.values()]
    if output == "json":

        def run_json(result: RunResult) -> dict[str, Any]:
            return {"plan": documents.plan_json(result.planned.plan), "result": documents.report_json(result.report, result.mutations)}

        click.echo(json.dumps({"hosts": [_host_json(host, r, run_json) for host, r in results.items()]}, indent=2))
        return worst(codes)
    out, err = console(), console(stderr=True)
    for host, result in results.items():
        if isinstance(result, pipeline.HostDown):
            err.print(f"error: {result}", markup=False)
            continue
        for line in terminal.outcome_lines(result.report):
            out.print(f"{host}: ", line, sep="")
    return worst(codes)


def _plan_code(result: Planned | HostDown) -> int:
    from orchestrate.runs.pipeline import HostDown

    if isinstance(result, HostDown):
        return int(ExitCode.ENGINE_UNREACHABLE)
    return int(ExitCode.CHANGES_PENDING if result.plan.changes else ExitCode.OK)


def _host_json(host: str, result: Any, render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    from orchestrate.runs.pipeline import HostDown

    if isinstance(result, HostDown):
        return {**down_json(result), "reachable": False}
    return {"host": host, "reachable": True, **render(result)}


def _state_dir(ctx: click.Context) -> Any:
    from orchestrate.cli.base import state_dir_of

    return state_dir_of(ctx)


@dataclass(frozen=True)
class HostRow:
    name: str
    endpoint: str
    reachable: bool
    version: str  # the engine's version, or why it did not answer
    apps: list[str]
    answered_at: str  # when it answered (UTC), "" when it did not
    seconds: float


@cli.command("hosts")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_context
def hosts(ctx: click.Context, paths: tuple[str, ...], output: str) -> None:
    """List the hosts (local, and those of the hosts.yaml in PATHS): endpoint, whether it answers,
    engine version, the apps the specs place there, and when it answered. Exit 3 when one does not."""
    from orchestrate.backends.parallel import in_parallel

    fleet = fleet_for(ctx, paths)
    desired = load_specs(ctx, paths) if paths else []
    names = sorted(fleet.hosts)
    rows = in_parallel(lambda name: _ask(fleet, name, [a.name for a in desired if a.host == name]), names, workers=8)
    if output == "json":
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        out = console()
        for row in rows:
            state = f"up, engine {row.version}, answered {row.answered_at} ({row.seconds:.2f}s)" if row.reachable else f"DOWN: {row.version}"
            out.print(f"{row.name}  {row.endpoint}  {state}  apps: {', '.join(row.apps) or '-'}", markup=False)
    ctx.exit(ExitCode.OK if all(r.reachable for r in rows) else ExitCode.ENGINE_UNREACHABLE)


def _ask(fleet: Fleet, name: str, apps: list[str]) -> HostRow:
    engine = fleet.engine_of(name)
    started = time.monotonic()
    try:
        version, reachable = engine.version(), True
    except EngineUnreachable as exc:
        version, reachable = str(exc), False
    answered = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) if reachable else ""
    return HostRow(name, engine.endpoint, reachable, version, apps, answered, round(time.monotonic() - started, 3))
