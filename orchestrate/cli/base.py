"""The command group, the helpers every command shares, and the one place errors become exit codes.

Heavy modules (docker, pydantic, rich) are imported inside the commands so that `stateful --help`
stays fast. Every expected error is a StatefulError, caught in `main` and turned into its code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from orchestrate import __version__
from orchestrate.errors import ExitCode, SpecError, StatefulError, UsageError, printable

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrate.backends import Engine, Fleet

PARALLEL = click.option(
    "--parallel",
    type=click.IntRange(min=1),
    metavar="N",
    help="Apply at most N apps side by side (default: 8); an app still waits for what it depends on. 1: one after another.",
)
OUTPUT = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path())


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 200  # piped: do not fold table cells at 80 columns
    return console


def engine_for(ctx: click.Context) -> Engine:
    from orchestrate.backends import connect

    return connect(ctx.obj.get("endpoint"))


def fleet_for(ctx: click.Context, paths: tuple[str, ...] | list[str] = ()) -> Fleet:
    """Each host's engine and files: `local`, and the hosts of the hosts.yaml among `paths`."""
    from orchestrate.backends import connect_fleet
    from orchestrate.spec.hosts import hosts_file_in, load_hosts

    hosts_file = hosts_file_in(paths)
    return connect_fleet(ctx.obj.get("endpoint"), load_hosts(hosts_file) if hosts_file else None)


HOST = click.option("--host", "only_host", metavar="NAME", help="Only the apps of this host (hosts.yaml).")


def duration(value: str | None) -> float | None:
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
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    help="Variables for ${VAR} interpolation in specs, on top of the environment (cron has none of yours).",
)
@click.version_option(__version__, prog_name="stateful")
@click.pass_context
def cli(ctx: click.Context, endpoint: str | None, state_dir: str | None, env_file: str | None) -> None:
    """Keep stateful containers running exactly as their YAML spec says, on the volumes it names.

    \b
    Exit codes: 0 ok / in sync, 1 changes pending (diff), 2 bad spec or usage,
    3 engine unreachable, 4 apply failed (rolled back) or refused at run time
    (also a state.db that is not a store: never replaced),
    5 refused by the data guard,
    75 another run holds the lock.
    """
    ctx.obj = {"endpoint": endpoint, "state_dir": state_dir, "env_file": env_file}


def load_specs(ctx: click.Context, paths: tuple[str, ...] | list[str]) -> list[Any]:
    """Validate the specs (before any engine call), with the --env-file variables if given."""
    import os

    from orchestrate.runs import pipeline

    environ: dict[str, str] = dict(os.environ)
    if ctx.obj.get("env_file"):
        from orchestrate.spec.inputs import InputRefused, read_env_file

        try:
            environ.update(read_env_file(Path(ctx.obj["env_file"]), interpolate=True))
        except InputRefused as exc:
            raise UsageError(f"--env-file {exc}") from None
    return pipeline.load(paths, environ, cache_dir=state_dir_of(ctx))


def state_dir_of(ctx: click.Context) -> Path:
    from orchestrate.state import state_dir

    return Path(ctx.obj["state_dir"]) if ctx.obj.get("state_dir") else state_dir()


def _fail(error: StatefulError) -> NoReturn:
    err = console(stderr=True)
    if isinstance(error, SpecError):
        for problem in error.problems:
            err.print(str(problem), markup=False)
        err.print(f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} found; nothing was changed", markup=False)
    else:
        err.print(printable(f"error: {error}"), markup=False)  # a path may hold any byte
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

