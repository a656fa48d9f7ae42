"""`stateful export`: the specs' apps as Kubernetes manifests or a compose file."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrate.cli.base import PATHS, cli, console, load_specs, state_dir_of

NEXT_STEP = {
    "kubernetes": "next: copy each app's data into its claim, then `kubectl apply -f {out}`",
    "compose": "next: `stateful destroy APP` for each app (its volumes stay), then `docker compose -f {out}/compose.yaml up -d`",
}


@cli.command(name="export")
@click.option("--to", "to", type=click.Choice(["kubernetes", "compose"]), required=True, help="What to export to.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory for the files (created if missing).")
@PATHS
@click.pass_context
def export(ctx: click.Context, to: str, out: str, paths: tuple[str, ...]) -> None:
    """Write the apps of PATHS as Kubernetes manifests (a StatefulSet, headless Service and Secret
    per app) or as one compose file on the apps' own volumes, and list what does not translate.

    Secret values go only into files written 0600 (<app>.secret.yaml, <app>.secret.env), never
    to the screen.
    """
    from orchestrate.tools.export import export as write_export

    written = write_export(load_specs(ctx, paths), to=to, out=Path(out), state_dir=state_dir_of(ctx))
    for path in written.paths:
        click.echo(f"wrote {path}{' (0600: secret values)' if path in written.private else ''}")
    err = console(stderr=True)
    if written.notes:
        err.print("what does not translate, or needs a step of yours:", markup=False)
    for line in written.notes:
        err.print(f"  {line}", markup=False)
    err.print(NEXT_STEP[to].format(out=out), markup=False)
