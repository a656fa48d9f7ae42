"""`stateful capture` and `stateful adopt`: containers started by hand become specs, then managed apps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrate.cli.base import cli, console, duration, engine_for, fleet_for, load_specs, state_dir_of
from orchestrate.errors import UsageError

if TYPE_CHECKING:
    from orchestrate.model.capture import Capture
    from orchestrate.tools.adopt import Written

OUTPUT_FILE = click.option("-o", "output", type=click.Path(dir_okay=False), help="Write the spec(s) to this file (new or updated).")
INTO = click.option(
    "--into",
    type=click.Path(),
    help="Write into this spec directory (one file per app) or existing spec file, keeping its comments and layout.",
)


@cli.command()
@click.argument("containers", nargs=-1, required=True)
@OUTPUT_FILE
@INTO
@click.pass_context
def capture(ctx: click.Context, containers: tuple[str, ...], output: str | None, into: str | None) -> None:
    """Write a v1 spec from running (or stopped) containers, without their image's defaults.

    Anonymous volumes are written as named references (the data stays where it is); env values
    that look secret go to <app>.secrets.env (0600) beside the spec, never to the screen; what the
    spec cannot express is listed (stderr, and comments in the YAML).
    """
    from orchestrate.tools.adopt import capture_containers, write_captures

    if output and into:
        raise UsageError("give -o or --into, not both")
    captures = capture_containers(engine_for(ctx), list(containers))
    written, printed = write_captures(captures, output=Path(output) if output else None, into=Path(into) if into else None)
    if printed:
        click.echo(printed, nl=False)
    _say_written(captures, written)


def _say_written(captures: list[Capture], written: list[Written]) -> None:
    err = console(stderr=True)
    for item, done in zip(captures, written, strict=True):
        where = f"{done.spec} ({done.how})" if done.spec else "stdout"
        err.print(f"captured {item.name} -> {where}", markup=False)
        if done.secrets:
            err.print(f"  secrets: {', '.join(sorted(item.secrets))} -> {done.secrets} (0600)", markup=False)
        for line in item.report:
            err.print(f"  fidelity: {line}", markup=False)


@cli.command()
@click.argument("container")
@OUTPUT_FILE
@INTO
@click.option("--health-timeout", metavar="DURATION", help="How long the managed container may take to become healthy.")
@click.option("--settle", default="5s", show_default=True, metavar="DURATION", help="How long an app without a healthcheck must stay up.")
@click.pass_context
def adopt(ctx: click.Context, container: str, output: str | None, into: str | None, health_timeout: str | None, settle: str) -> None:
    """Capture CONTAINER into a spec, then replace it by a managed container on the same volumes.

    The replacement is the safe recreate of `apply` (journaled, health-gated, rolled back on
    failure); the data is untouched, and `stateful diff` of the spec is clean afterwards.
    """
    from orchestrate.act.report import Options
    from orchestrate.output import terminal
    from orchestrate.runs import converge, pipeline
    from orchestrate.tools.adopt import capture_containers, write_captures

    if not (output or into):
        raise UsageError("adopt needs a place for the spec: -o FILE or --into DIR|FILE")
    fleet = fleet_for(ctx)
    captures = capture_containers(fleet.engine, [container])
    written, _ = write_captures(captures, output=Path(output) if output else None, into=Path(into) if into else None)
    _say_written(captures, written)
    name = captures[0].name
    if name != container:
        raise UsageError(f"{container!r} is not a valid app name; rename the container to {name!r} first (docker rename)")
    spec_file = written[0].spec
    assert spec_file is not None
    # Into a spec directory: load all of it, so that references to other apps there (volumes_from,
    # depends_on) resolve, and the shared-source rule sees every app; only this app is acted on.
    scope = spec_file.parent if into is not None and spec_file != Path(into) else spec_file
    desired = [a for a in load_specs(ctx, [str(scope)]) if a.name == name]
    out = console()
    result = converge.apply(
        lambda: fleet,
        desired,
        state_dir=state_dir_of(ctx),
        options=Options(health_timeout=duration(health_timeout), settle_seconds=duration(settle) or 0.0),
        policy=pipeline.Policy(adopt=frozenset({name})),
        report=lambda app, step, seconds: out.print(terminal.step_line(app, step, seconds)),
        on_plan=lambda planned: out.print(*terminal.plan_lines(planned.plan), sep="\n"),
    )
    for line in terminal.outcome_lines(result.report):
        out.print(line)
    ctx.exit(result.report.exit_code)


@cli.command(name="import")
@click.argument("compose_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--into", default="specs", show_default=True, type=click.Path(file_okay=False), help="Directory for the specs (one file per app).")
@click.option("-p", "--project", envvar="COMPOSE_PROJECT_NAME", help="Compose project name (default: the file's name:, else its directory).")
def import_compose(compose_file: str, into: str, project: str | None) -> None:
    """Translate a docker-compose file's services into v1 specs, and report what does not translate.

    Named volumes keep their real Docker names (<project>_<volume>), and relative host paths are
    written absolute, so the specs run on the data compose left wherever they are written. Stop the
    compose containers first (`docker compose down`, never -v).
    """
    from dotenv import dotenv_values
    from ruamel.yaml import YAML

    from orchestrate.spec import writer
    from orchestrate.tools import compose_import

    path = Path(compose_file)
    compose = YAML(typ="safe").load(path.read_text())
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict):
        raise UsageError(f"{compose_file}: no services: this is not a compose file")
    directory = path.resolve().parent
    # Compose reads `.env` beside the file for its variables (the project name among them); the
    # values are never copied into a spec (they are often passwords): apply reads the same file.
    dotenv = directory / ".env"
    env_values = dotenv_values(dotenv) if dotenv.is_file() else {}
    name = project or env_values.get("COMPOSE_PROJECT_NAME") or compose_import.project_name(compose, str(directory))
    translation = compose_import.translate(compose, project=name, directory=str(directory))
    target = Path(into)
    err = console(stderr=True)
    for spec in translation.specs:
        notes = [line for line in translation.report if f"service {spec['name']}" in line]
        done = writer.merge_into(target / f"{spec['name']}.yaml", spec, [f"imported from {path.name} (project {name})", *notes])
        err.print(f"{done} {target / (spec['name'] + '.yaml')}", markup=False)
    for line in translation.report:
        err.print(f"  not translated: {line}" if "not translated" not in line else f"  {line}", markup=False)
    apply = f"stateful apply {target}"
    if dotenv.is_file():
        err.print(f"  .env: compose read {dotenv} for this file's variables; the specs keep the ${{VAR}} references, not the values", markup=False)
        apply = f"stateful --env-file {dotenv} apply {target}"
    err.print(f"next: `docker compose -p {name} down` (without -v), then `{apply}`", markup=False)
