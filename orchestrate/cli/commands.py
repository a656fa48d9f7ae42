"""The everyday commands: diff, apply, status, destroy, history, schema."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import click

from orchestrate.cli.base import HOST, OUTPUT, PARALLEL, PATHS, cli, console, duration, engine_for, fleet_for, load_specs, state_dir_of
from orchestrate.errors import ExitCode, UsageError


@cli.command()
@PATHS
@OUTPUT
@HOST
@click.pass_context
def diff(ctx: click.Context, paths: tuple[str, ...], output: str, only_host: str | None) -> None:
    """Show what `apply` would do, field by field. Exit 1 when anything would change."""
    from orchestrate.cli.hosts import diff_hosts
    from orchestrate.output import documents, terminal
    from orchestrate.runs import pipeline

    desired = load_specs(ctx, paths)
    fleet = fleet_for(ctx, paths)
    if len(fleet.hosts) > 1 or only_host:
        ctx.exit(diff_hosts(ctx, fleet, desired, only_host, output))
    planned = pipeline.plan(fleet, desired, pipeline.read_safeguards(state_dir_of(ctx)))
    if output == "json":
        click.echo(json.dumps(documents.plan_json(planned.plan), indent=2))
    else:
        out = console()
        for line in terminal.plan_lines(planned.plan):
            out.print(line)
        if not planned.plan.changes:
            out.print("in sync: nothing to change")
    ctx.exit(ExitCode.CHANGES_PENDING if planned.plan.changes else ExitCode.OK)


@cli.command()
@PATHS
@OUTPUT
@click.option("--health-timeout", metavar="DURATION", help="How long a started app may take to become healthy (default: from its healthcheck).")
@click.option("--settle", default="5s", show_default=True, metavar="DURATION", help="How long an app without a healthcheck must stay up.")
@click.option(
    "--allow-empty-volume",
    "allow_empty",
    multiple=True,
    metavar="APP/KEY",
    help="Let the data guard start APP on volume KEY although it is missing, empty or changed (repeatable).",
)
@click.option(
    "--allow-version-change",
    "allow_version",
    multiple=True,
    metavar="APP",
    help="Let APP's server start on a datadir another version wrote (you run the upgrade tool yourself; repeatable).",
)
@click.option(
    "--force-target",
    multiple=True,
    metavar="APP/KEY",
    help="Let a remap copy APP's volume KEY onto a target that already holds data (repeatable).",
)
@click.option("--wait-lock", default="0", metavar="SECONDS", help="Wait this long for another run to finish instead of exiting 75.")
@PARALLEL
@HOST
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    output: str,
    health_timeout: str | None,
    settle: str,
    allow_empty: tuple[str, ...],
    allow_version: tuple[str, ...],
    force_target: tuple[str, ...],
    wait_lock: str,
    parallel: int | None,
    only_host: str | None,
) -> None:
    """Make the engine match the specs: create, start, update or safely recreate apps."""
    from orchestrate.act.report import Options
    from orchestrate.cli.hosts import apply_hosts
    from orchestrate.output import documents, terminal
    from orchestrate.runs import converge, pipeline

    options = Options(health_timeout=duration(health_timeout), settle_seconds=duration(settle) or 0.0)
    options = replace(options, parallel=parallel) if parallel else options
    desired = load_specs(ctx, paths)
    # A key dropped from the spec can still be allowed: the state dir remembers its data.
    remembered = {f"{app}/{key}" for app, key in pipeline.read_safeguards(state_dir_of(ctx)).fingerprints} if allow_empty else set()
    _check_allowed(allow_empty, desired, remembered=remembered)
    _check_allowed(force_target, desired)
    check_apps(allow_version, desired)
    out = console()
    text = output == "text"

    def progress(app: str, step: str, seconds: float | None) -> None:
        if text:
            out.print(terminal.step_line(app, step, seconds))

    def show_plan(planned: pipeline.Planned, prefix: str = "") -> None:
        if text:
            for line in terminal.plan_lines(planned.plan):
                out.print(prefix, line, sep="")

    def run(fleet: Any, apps: list[Any], host: str = "") -> converge.RunResult:
        prefix = f"{host}: " if host else ""
        return converge.apply(
            lambda: fleet,
            apps,
            state_dir=state_dir_of(ctx),
            options=options,
            policy=pipeline.Policy(
                allow_empty=frozenset(allow_empty), allow_version_change=frozenset(allow_version), force_target=frozenset(force_target)
            ),
            wait_lock=duration(wait_lock) or 0.0,
            report=lambda app, step, seconds: progress(prefix + app, step, seconds),
            on_plan=lambda planned: show_plan(planned, prefix),
        )

    fleet = fleet_for(ctx, paths)
    if len(fleet.hosts) > 1 or only_host:
        ctx.exit(apply_hosts(fleet, desired, only_host, output, run))
    result = run(fleet, desired)
    if text:
        for line in terminal.outcome_lines(result.report):
            out.print(line)
        if summary := terminal.summary_line(result.report, result.seconds):
            out.print(summary)
    else:
        body = {"plan": documents.plan_json(result.planned.plan), "result": documents.report_json(result.report, result.mutations)}
        click.echo(json.dumps(body, indent=2))
    ctx.exit(result.report.exit_code)


def _check_allowed(allowed: tuple[str, ...], desired: list[Any], *, remembered: set[str] | None = None) -> None:
    keys = {f"{a.name}/{m.key}" for a in desired for m in a.mounts if m.key}
    names = {a.name for a in desired}
    keys |= {k for k in remembered or () if k.split("/", 1)[0] in names}
    unknown = [a for a in allowed if a not in keys]
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: no such APP/KEY in these specs (known: {', '.join(sorted(keys))})")


def check_apps(named: tuple[str, ...], desired: list[Any]) -> None:
    unknown = [a for a in named if a not in {d.name for d in desired}]
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: no such app in these specs (known: {', '.join(sorted(d.name for d in desired))})")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@OUTPUT
@click.pass_context
def status(ctx: click.Context, paths: tuple[str, ...], output: str) -> None:
    """Show every managed app: state, health, image, volumes and drift.

    Drift is measured against PATHS, or else against the spec files the apps were applied from.
    """
    from orchestrate.output import terminal
    from orchestrate.runs import pipeline

    rows = pipeline.status(fleet_for(ctx), list(paths), pipeline.read_safeguards(state_dir_of(ctx)))
    if output == "json":
        click.echo(json.dumps(terminal.status_json(rows), indent=2))
    elif not rows:
        click.echo("no managed apps")
    else:
        console().print(terminal.status_table(rows))


@cli.command()
@click.argument("app")
@click.option("--purge-volumes", is_flag=True, help="Also remove the app's own named volumes (never bind-mounted host dirs).")
@click.option("--yes", is_flag=True, help="Do not ask before purging volumes.")
@click.pass_context
def destroy(ctx: click.Context, app: str, purge_volumes: bool, yes: bool) -> None:
    """Remove APP's container. Its volumes and host dirs are kept unless --purge-volumes."""
    from orchestrate.runs import teardown

    def confirm(found: teardown.Teardown) -> None:
        if not yes:
            click.echo(f"this removes the data in: {', '.join(found.volumes)}", err=True)
            refusing = "refusing to purge volumes without --yes when not on a terminal"
            _confirm_typed(f"type the app name ({found.app}) to remove them", found.app, refusing=refusing, err=True)

    kept = teardown.destroy(lambda: engine_for(ctx), app, state_dir_of(ctx), purge=purge_volumes, confirm=confirm, say=click.echo)
    for item in kept.kept:
        click.echo(f"kept {item}" if " " in item else f"kept volume {item}")
    if not purge_volumes and kept.volumes:
        click.echo(f"(the data stays; `stateful apply` brings {app} back on it)")


@cli.command()
@click.argument("app", required=False)
@click.option("--limit", default=20, show_default=True, help="How many runs to show.")
@OUTPUT
@click.pass_context
def history(ctx: click.Context, app: str | None, limit: int, output: str) -> None:
    """Show past runs (who, when, what plan, what outcome), optionally of one APP."""
    from orchestrate.output import terminal
    from orchestrate.state import Store

    with Store.open(state_dir_of(ctx)) as store:
        records = store.history(app, limit)
    if output == "json":
        click.echo(json.dumps([r.__dict__ for r in records], indent=2))
    elif not records:
        click.echo("no runs recorded")
    else:
        console().print(terminal.history_table(records, app))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for editors)."""
    from orchestrate.spec.models import App

    click.echo(json.dumps(App.model_json_schema(by_alias=True), indent=2))


@cli.group(invoke_without_command=True)
@OUTPUT
@click.pass_context
def volumes(ctx: click.Context, output: str) -> None:
    """List the data places stateful knows: in use (with their last fingerprint) and retired copies."""
    if ctx.invoked_subcommand is not None:
        return
    from orchestrate.tools import volumes as places

    rows = places.listing(state_dir_of(ctx))
    if output == "json":
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2))
    elif not rows:
        click.echo("no volumes recorded yet (they are fingerprinted after an app's first healthy run)")
    else:
        from orchestrate.output import terminal

        console().print(terminal.volumes_table(rows))


@volumes.command("rm")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask; the name was given.")
@click.pass_context
def volumes_rm(ctx: click.Context, name: str, yes: bool) -> None:
    """Remove NAME, a retired copy left by a remap (only retired volumes; never one in use)."""
    from orchestrate.tools import volumes as places

    def confirm(what: str) -> None:
        click.echo(what)
        if not yes:
            _confirm_typed(f"type the volume name ({name}) to remove it", name, refusing="refusing to remove without --yes when not on a terminal")

    places.remove_retired(lambda: engine_for(ctx), state_dir_of(ctx), name, confirm=confirm)
    click.echo(f"removed volume {name}")


def _confirm_typed(prompt: str, expected: str, *, refusing: str, err: bool = False) -> None:
    """Ask for `expected` typed back; off a terminal there is nobody to ask: refuse."""
    if not sys.stdin.isatty():
        raise UsageError(refusing)
    if click.prompt(prompt, default="", show_default=False, err=err) != expected:
        raise UsageError("not confirmed; nothing was removed")
