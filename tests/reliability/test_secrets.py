"""No client secret, GoodData token or Auth0 access token in any output, log, plan, backup or traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sandbox import Sandbox

from ..secret_scan import files_under, leaks, secrets_of
from .harness import EXAMPLE


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.chdir(tmp_path)
    with Sandbox.start() as running:
        yield running


def run(sandbox: Sandbox, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env={**sandbox.env(), **(env or {})})
    return result.output


def test_debug_runs_of_every_command_leak_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    config = ["--config", str(EXAMPLE)]
    outputs = [
        run(sandbox, "--debug", "validate", *config),
        run(sandbox, "--debug", "plan", *config, "--format", "json", "--out", str(tmp_path / "plan.json")),
        run(sandbox, "--debug", "plan", *config, "--format", "markdown", "--show-emails"),
        run(sandbox, "--debug", "apply", *config, "--yes", "--backup-dir", str(tmp_path / "backups")),
        run(sandbox, "--debug", "export", "--out", str(tmp_path / "exported.yaml")),
    ]
    assert len(sandbox.auth0.issued_tokens()) >= 3
    # --debug really logs the HTTP traffic of both SDKs
    assert '"GET /api/v1/layout/usersAndUserGroups HTTP/1.1" 200' in outputs[1]
    assert '"POST /oauth/token HTTP/1.1" 200' in outputs[1] and "GET http://127.0.0.1" in outputs[1]
    assert not leaks(outputs + files_under(tmp_path), secrets_of(sandbox))


def test_failures_leak_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    config = ["--config", str(EXAMPLE)]
    wrong_secret = run(sandbox, "--debug", "plan", *config, env={"AUTH0_CLIENT_SECRET": "wrong-" + "s" * 20})
    assert "401" in wrong_secret and "wrong-sss" not in wrong_secret
    sandbox.gooddata.faults.add_script("GET", "usersAndUserGroups", "503", times=100)
    exhausted = run(sandbox, "--debug", "plan", *config)
    assert "503" in exhausted
    sandbox.gooddata.faults.reset()
    sandbox.gooddata.faults.add_script("PUT", "usersAndUserGroups", "500", times=100)
    failed_write = run(sandbox, "--debug", "apply", *config, "--yes", "--backup-dir", str(tmp_path / "b"))
    assert "apply stopped" in failed_write
    sandbox.gooddata.faults.reset()
    bad_token = run(sandbox, "--debug", "plan", *config, env={"GOODDATA_TOKEN": "not-the-token-" + "t" * 20})
    assert "401" in bad_token and "not-the-token" not in bad_token
    secrets = secrets_of(sandbox) | {"wrong-" + "s" * 20, "not-the-token-" + "t" * 20}
    assert not leaks([wrong_secret, exhausted, failed_write, bad_token, *files_under(tmp_path)], secrets)


def test_demo_output_leaks_nothing() -> None:
    result = CliRunner().invoke(main, ["demo", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Plan: 52 users to create; 3 groups to create; 9 grants to add." in result.stdout
    assert "Plan: 1 user to update, 1 to remove." in result.stdout  # the leaver and the role change
    assert result.stdout.rstrip().endswith("No changes. GoodData matches the desired state.")
    from reconciler.sandbox.auth0 import DEFAULT_CLIENT_SECRET
    from reconciler.sandbox.gooddata import DEFAULT_TOKEN

    assert not leaks([result.output], {DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN})
