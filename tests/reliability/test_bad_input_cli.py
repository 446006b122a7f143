"""Every bad desired-state file, through the real CLI: exit 1, file:line, no traceback, no request at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sandbox import Sandbox

from .harness import REPO

CORPUS = REPO / "tests" / "fixtures" / "bad-desired-state"
FILES = sorted(p for p in CORPUS.glob("*.yaml"))
EXPECT = re.compile(rb"^# expect: (\d+): ")


def expected_line(path: Path) -> int:
    match = EXPECT.match(path.read_bytes())
    assert match, f"{path.name} has no '# expect:' header"
    return int(match.group(1))


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_file_is_refused_before_any_request(sandbox: Sandbox, path: Path, command: str) -> None:
    sandbox.gooddata.counters.reset()
    sandbox.auth0.counters.reset()
    args = [command, "--config", str(path)] + (["--yes"] if command == "apply" else [])
    result = CliRunner().invoke(main, args, env=sandbox.env())
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{path}:{expected_line(path)}:" in result.stderr
    assert result.stdout == ""
    assert sandbox.gooddata.counters.count() == 0 and sandbox.auth0.counters.count() == 0


@pytest.mark.parametrize("name", ["missing.yaml", "missing-folder/"])
def test_missing_file_or_folder(sandbox: Sandbox, tmp_path: Path, name: str) -> None:
    sandbox.gooddata.counters.reset()
    sandbox.auth0.counters.reset()
    target = tmp_path / name
    result = CliRunner().invoke(main, ["apply", "--yes", "--config", str(target)], env=sandbox.env())
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(target).rstrip("/") in result.stderr
    assert sandbox.gooddata.counters.count() == 0 and sandbox.auth0.counters.count() == 0


def test_folder_without_access_yaml(sandbox: Sandbox, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plan", "--config", str(tmp_path)], env=sandbox.env())
    assert result.exit_code == 1 and "access.yaml" in result.stderr
