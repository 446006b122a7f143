"""Every command answers --help, and `reconcile schema` prints the shipped schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import main

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "reconciler" / "desired_state" / "schema.json"


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command below ``group``, as the words a user types after ``reconcile``."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


COMMANDS = list(command_paths(main))


def test_the_documented_commands_exist() -> None:
    top = {path[0] for path in COMMANDS}
    assert {"validate", "plan", "apply", "export", "restore", "schema", "sandbox", "demo", "github"} <= top


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_of_every_command(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*words, "--help"], prog_name="reconcile")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: reconcile {' '.join(words)} ")
    command: click.Command = main
    for word in words:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    summary = " ".join((command.help or "").strip().split("\n\n")[0].split())
    assert summary and summary in " ".join(result.output.split())


def test_schema_command_prints_the_shipped_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
