"""End-to-end fixtures: the real CLI, the real SDKs, over HTTP to a fresh sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.sandbox import Sandbox

from ..secret_scan import files_under, leaks, secrets_of

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state" / "access.yaml"


@dataclass
class Run:
    """One CLI invocation's outcome."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Harness:
    """Runs `reconcile` against one sandbox with a desired-state file in a temporary folder."""

    def __init__(self, sandbox: Sandbox, folder: Path) -> None:
        self.sandbox = sandbox
        self.folder = folder
        self.config = folder / "access.yaml"
        shutil.copy(EXAMPLE, self.config)
        self.runs: list[Run] = []

    def run(self, *args: str, env: dict[str, str] | None = None) -> Run:
        """Invoke the CLI in-process with the sandbox's environment."""
        runner = CliRunner()
        environment = {**self.sandbox.env(), **(env or {})}
        result: Result = runner.invoke(main, list(args), env=environment, catch_exceptions=False)
        run = Run(result.exit_code, result.stdout, result.stderr)
        self.runs.append(run)
        assert not leaks([run.output], secrets_of(self.sandbox)), run.output
        return run

    def reconcile(self, command: str, *args: str) -> Run:
        """`reconcile COMMAND --config <temp file> ARGS...`."""
        return self.run(command, "--config", str(self.config), *args)

    def edit(self, **changes: Any) -> None:
        """Replace top-level sections of the desired-state file."""
        data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key].update(value)
            else:
                data[key] = value
        self.config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def users(self) -> dict[str, dict[str, Any]]:
        """Live GoodData users by id."""
        return {u["id"]: u for u in self.sandbox.gooddata.state.users_and_groups()["users"]}

    def groups_of(self, user_id: str) -> list[str]:
        return sorted(g["id"] for g in self.users()[user_id].get("userGroups", []))


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A fresh sandbox with the default seeds and a copy of the example desired state.

    The working directory is the temporary folder, so default backup folders land there.
    """
    monkeypatch.chdir(tmp_path)
    with Sandbox.start() as sandbox:
        harness = Harness(sandbox, tmp_path)
        yield harness
        # every output, plan file, backup and export of the scenario, against every token issued
        captured = [run.output for run in harness.runs] + files_under(tmp_path)
        assert not leaks(captured, secrets_of(sandbox))
