"""The `stateful` command line: click commands, output choice and exit codes.

The only module that knows click. Heavy modules (docker, pydantic, rich) are imported inside the
commands so that `stateful --help` stays fast. Every expected error is a StatefulError, caught in
one place (`main`) and turned into its exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from orchestrate import __version__
from orchestrate.errors import ExitCode, SpecError, StatefulError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrate.engine import Engine

OUTPUT = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path())


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 200  # piped: do not fold table cells at 80 columns
    return console


def _engine(ctx: click.Context) -> Engine:
    from orchestrate.engine import connect

    return connect(ctx.obj.get("endpoint"))


def _duration(value: str | None) -> float | None:
    if value is None:
        return None
    from orchestrate.spec.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--engine", "endpoint", envvar="DOCKER_HOST", metavar="URL", help="Docker endpoint (default: $DOCKER_HOST or the local socket).")
@click.option(
    "--state-dir",
    envvar="STATEFUL_STATE_DIR",
    type=click.Path(file_okay=False),
    help="Journal, fingerprints, history and lock (default: /var/lib/stateful for root, else ~/.local/state/stateful).",
)
@click.version_option(__version__, prog_name="stateful")
@click.pass_context
def cli(ctx: click.Context, endpoint: str | None, state_dir: str | None) -> None:
    """Keep stateful containers running exactly as their YAML spec says, on the volumes it names.

    \b
    Exit codes: 0 ok / in sync, 1 changes pending (diff), 2 bad spec or usage,
    3 engine unreachable, 4 apply failed (rolled back), 5 refused by the data guard,
    75 another run holds the lock.
    """
    ctx.obj = {"endpoint": endpoint, "state_dir": state_dir}


def _state_dir(ctx: click.Context) -> Path:
    from orchestrate.state import state_dir

    return Path(ctx.obj["state_dir"]) if ctx.obj.get("state_dir") else state_dir()


@cli.command()
@PATHS
@OUTPUT
@click.pass_context
def diff(ctx: click.Context, paths: tuple[str, ...], output: str) -> None:
    """Show what `apply` would do, field by field. Exit 1 when anything would change."""
    from orchestrate import render, service
    from orchestrate.run import read_fingerprints

    desired = service.load(paths)
    planned = service.plan(_engine(ctx), desired, fingerprints=read_fingerprints(_state_dir(ctx)))
    if output == "json":
        click.echo(json.dumps(render.plan_json(planned.plan), indent=2))
    else:
        console = _console()
        for line in render.plan_lines(planned.plan):
            console.print(line)
        if not planned.plan.changes:
            console.print("in sync: nothing to change")
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
@click.option("--wait-lock", default="0", metavar="SECONDS", help="Wait this long for another run to finish instead of exiting 75.")
@click.pass_context
def apply(
    ctx: click.Context, paths: tuple[str, ...], output: str, health_timeout: str | None, settle: str, allow_empty: tuple[str, ...], wait_lock: str
) -> None:
    """Make the engine match the specs: create, start, update or safely recreate apps."""
    from orchestrate import render, run, service
    from orchestrate.execute import Options

    options = Options(health_timeout=_duration(health_timeout), settle_seconds=_duration(settle) or 0.0)
    desired = service.load(paths)
    _check_allowed(allow_empty, desired)
    console = _console()
    text = output == "text"

    def progress(app: str, step: str, seconds: float | None) -> None:
        if text:
            console.print(render.step_line(app, step, seconds))

    def show_plan(planned: service.Planned) -> None:
        if text:
            for line in render.plan_lines(planned.plan):
                console.print(line)

    result = run.apply(
        lambda: _engine(ctx),
        desired,
        state_dir=_state_dir(ctx),
        options=options,
        allow_empty=frozenset(allow_empty),
        wait_lock=_duration(wait_lock) or 0.0,
        report=progress,
        on_plan=show_plan,
    )
    if text:
        for line in render.outcome_lines(result.report):
            console.print(line)
    else:
        body = {"plan": render.plan_json(result.planned.plan), "result": render.report_json(result.report, result.mutations)}
        click.echo(json.dumps(body, indent=2))
    ctx.exit(result.report.exit_code)


def _check_allowed(allowed: tuple[str, ...], desired: list[Any]) -> None:
    keys = {f"{a.name}/{m.key}" for a in desired for m in a.mounts if m.key}
    unknown = [a for a in allowed if a not in keys]
    if unknown:
        raise UsageError(f"--allow-empty-volume {', '.join(unknown)}: no such APP/KEY in these specs (known: {', '.join(sorted(keys))})")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@OUTPUT
@click.pass_context
def status(ctx: click.Context, paths: tuple[str, ...], output: str) -> None:
    """Show every managed app: state, health, image, volumes and drift.

    Drift is measured against PATHS, or else against the spec files the apps were applied from.
    """
    from orchestrate import render, service
    from orchestrate.run import read_fingerprints

    rows = service.status(_engine(ctx), list(paths), fingerprints=read_fingerprints(_state_dir(ctx)))
    if output == "json":
        click.echo(json.dumps(render.status_json(rows), indent=2))
    elif not rows:
        click.echo("no managed apps")
    else:
        _console().print(render.status_table(rows))


@cli.command()
@click.argument("app")
@click.option("--purge-volumes", is_flag=True, help="Also remove the app's own named volumes (never bind-mounted host dirs).")
@click.option("--yes", is_flag=True, help="Do not ask before purging volumes.")
@click.pass_context
def destroy(ctx: click.Context, app: str, purge_volumes: bool, yes: bool) -> None:
    """Remove APP's container. Its volumes and host dirs are kept unless --purge-volumes."""
    from orchestrate import teardown as down
    from orchestrate.state import RunLock, Store

    with RunLock(_state_dir(ctx)):
        engine = _engine(ctx)
        found = down.find_teardown(engine, app)
        if purge_volumes and found.volumes and not yes:
            _confirm_purge(found.app, found.volumes)
        down.remove_app_container(engine, found)
        if found.container is not None:
            click.echo(f"removed container {app}")
        kept = list(found.other_mounts)
        if purge_volumes:
            for name in down.purge_volumes(engine, found):
                click.echo(f"removed volume {name}")
            store = Store.open(_state_dir(ctx))
            store.forget_fingerprints(app)  # the data is gone on purpose: the guard must not miss it
            store.close()
        else:
            kept = found.volumes + kept
    for item in kept:
        click.echo(f"kept {item}" if " " in item else f"kept volume {item}")
    if not purge_volumes and found.volumes:
        click.echo(f"(the data stays; `stateful apply` brings {app} back on it)")


def _confirm_purge(app: str, volumes: list[str]) -> None:
    click.echo(f"this removes the data in: {', '.join(volumes)}", err=True)
    if not sys.stdin.isatty():
        raise UsageError("refusing to purge volumes without --yes when not on a terminal")
    typed = click.prompt(f"type the app name ({app}) to remove them", default="", show_default=False, err=True)
    if typed != app:
        raise UsageError("not confirmed; nothing was removed")


@cli.command()
@click.argument("app", required=False)
@click.option("--limit", default=20, show_default=True, help="How many runs to show.")
@OUTPUT
@click.pass_context
def history(ctx: click.Context, app: str | None, limit: int, output: str) -> None:
    """Show past runs (who, when, what plan, what outcome), optionally of one APP."""
    from orchestrate import render
    from orchestrate.state import Store

    store = Store.open(_state_dir(ctx))
    try:
        records = store.history(app, limit)
    finally:
        store.close()
    if output == "json":
        click.echo(json.dumps([r.__dict__ for r in records], indent=2))
    elif not records:
        click.echo("no runs recorded")
    else:
        _console().print(render.history_table(records, app))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for editors)."""
    from orchestrate.spec.models import App

    click.echo(json.dumps(App.model_json_schema(by_alias=True), indent=2))


def _fail(error: StatefulError) -> NoReturn:
    console = _console(stderr=True)
    if isinstance(error, SpecError):
        for problem in error.problems:
            console.print(str(problem), markup=False)
        console.print(f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} found; nothing was changed", markup=False)
    else:
        console.print(f"error: {error}", markup=False)
    sys.exit(int(error.exit_code))


def main(argv: list[str] | None = None) -> NoReturn:
    try:
        code = cli.main(args=argv, prog_name="stateful", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except StatefulError as error:
        _fail(error)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.BAD_SPEC)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(ExitCode.BAD_SPEC)


if __name__ == "__main__":
    main()
