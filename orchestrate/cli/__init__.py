"""The `stateful` command line: the only part of stateful that knows click.

base.py holds the group, the shared helpers and the error boundary; each other module adds its
commands to the group.
"""

from orchestrate.cli import adopt, backup, commands, cron, export, hosts, reconcile  # noqa: F401  (they register their commands)
from orchestrate.cli.base import cli, main

__all__ = ["cli", "main"]
