"""Every command is documented: in the README's table and with its own help text."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme_and_has_help(name: str) -> None:
    assert f"`stateful {name}" in README, f"README has no row for `stateful {name}`"
    assert (cli.commands[name].help or "").strip(), f"`stateful {name}` has no help text"


def test_every_exit_code_is_in_the_readme() -> None:
    from orchestrate.errors import ExitCode

    for code in ExitCode:
        assert f"| {int(code)} |" in README, f"exit code {int(code)} is not in the README's table"
