"""The GitOps scripts end to end: the real CLI against the sandbox, GitHub replaced by the fake.

These run `.github/scripts/*.sh` exactly as the workflows do, with `reconcile` from this
virtualenv, the Auth0 and GoodData sandbox servers, and the fake GitHub API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.github.api import DRIFT_LABEL, PLAN_MARKER, extract_checksum
from reconciler.github.markdown import GITHUB_BODY_LIMIT
from reconciler.sandbox import Sandbox

from .conftest import GitHubEnv

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / ".github" / "scripts"
RECONCILE = Path(sys.executable).parent / "reconcile"
CONFIG = REPO / "desired-state" / "access.yaml"
EVIL_SUBJECT = "auth0|evil<img src=x onerror=alert(1)>*_`|"
EVIL_EMAIL = "mallory.secret-address@evil.example"


def run_script(
    name: str, sandbox: Sandbox | None, out_dir: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECONCILE": str(RECONCILE), "CONFIG": str(CONFIG), "OUT_DIR": str(out_dir), **extra}
    if sandbox is not None:
        env.update(sandbox.env())
    return subprocess.run(
        [str(SCRIPTS / name)], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def plan_comments(github: GitHubEnv, pr: int) -> list[str]:
    return [c["body"] for c in github.state.comments.get(pr, []) if PLAN_MARKER in c["body"]]


def load_plan(out_dir: Path) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((out_dir / "plan.json").read_text(encoding="utf-8"))
    return plan


def test_pr_comment_created_then_updated_with_counts_escaping_and_no_email(
    github: GitHubEnv, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        first = run_script("pr-plan.sh", sandbox, out, PR_NUMBER="21", HEAD_SHA="1" * 40)
        assert first.returncode == 0, first.stdout + first.stderr
        [body] = plan_comments(github, 21)
        summary = load_plan(out)["summary"]
        assert summary["users_created"] > 0
        assert f"{summary['users_created']} users to create" in body
        assert f"**{summary['total']}**" in body
        assert extract_checksum(body) == load_plan(out)["checksum"]
        assert github.summary_path.read_text(encoding="utf-8").count("GoodData access plan") == 1

        sandbox.auth0.state.add_user(
            {
                "user_id": EVIL_SUBJECT,
                "email": EVIL_EMAIL,
                "name": "<b>Mallory</b>",
                "given_name": "<b>M</b>",
            },
            roles=["Analyst"],
        )
        second = run_script("pr-plan.sh", sandbox, out, PR_NUMBER="21", HEAD_SHA="2" * 40)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "updated plan comment" in second.stdout
        comments = plan_comments(github, 21)
        assert len(comments) == 1 and len(github.state.comments[21]) == 1
        [body] = comments
        plan = load_plan(out)
        assert plan["summary"]["users_created"] == summary["users_created"] + 1
        assert f"{plan['summary']['users_created']} users to create" in body
        assert extract_checksum(body) == plan["checksum"]
        assert "`222222222222`" in body

        # the subject is shown, but as text: no raw HTML tag and no live Markdown emphasis or code span
        assert re.search(r"(?<!\\)<(img|b)\b", body) is None
        assert "evil\\<img" in body or "evil&lt;img" in body
        assert "*_`|" not in body
        assert any(user["auth_id"] == EVIL_SUBJECT for user in plan["users"])  # the evil user is in the plan
        emails = [str(user["email"]) for user in sandbox.auth0.state.users() if user.get("email")]
        assert EVIL_EMAIL in emails
        shown = [email for email in emails if email in body]
        assert shown == []
        assert any(user["email"] == EVIL_EMAIL for user in plan["users"])  # the artifact keeps them


def test_fork_pull_request_gets_an_explanation_not_a_failure(github: GitHubEnv, tmp_path: Path) -> None:
    result = run_script("pr-plan.sh", None, tmp_path, PR_NUMBER="8", HEAD_IS_FORK="true")
    assert result.returncode == 0, result.stdout + result.stderr
    [body] = plan_comments(github, 8)
    assert "fork" in body and extract_checksum(body) is None


def test_plan_of_5000_changes_stays_under_the_comment_limit(github: GitHubEnv, tmp_path: Path) -> None:
    config = tmp_path / "access.yaml"
    many_groups = "".join(f"  team{index:05d}:\n    name: Team {index}\n" for index in range(5000))
    config.write_text(
        CONFIG.read_text(encoding="utf-8").replace("groups:\n", "groups:\n" + many_groups, 1),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        result = run_script("pr-plan.sh", sandbox, out, PR_NUMBER="30", CONFIG=str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    [body] = plan_comments(github, 30)
    plan = load_plan(out)
    assert plan["summary"]["total"] >= 5000
    assert len(body) < GITHUB_BODY_LIMIT
    assert "truncated" in body.lower()
    assert extract_checksum(body) == plan["checksum"]
    # the artifact is the complete plan: every change, nothing cut
    assert len(plan["groups"]) == plan["summary"]["groups_created"] >= 5000
    assert {group["id"] for group in plan["groups"]} >= {f"team{index:05d}" for index in range(5000)}
    assert len(plan["users"]) == plan["summary"]["users_created"]


def test_drift_issue_opened_updated_and_closed(github: GitHubEnv, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        opened = run_script("drift.sh", sandbox, out)
        assert opened.returncode == 0, opened.stdout + opened.stderr
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert issue["state"] == "open"
        assert extract_checksum(str(issue["body"])) == load_plan(out)["checksum"]

        sandbox.auth0.state.add_user({"user_id": "auth0|newcomer1", "email": "n@example.com"}, roles=["User"])
        updated = run_script("drift.sh", sandbox, out)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        assert f"updated issue #{issue['number']}" in updated.stdout
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert extract_checksum(str(issue["body"])) == load_plan(out)["checksum"]

        applied = subprocess.run(
            [str(RECONCILE), "apply", "--config", str(CONFIG), "--yes", "--backup-dir", str(tmp_path / "bk")],
            cwd=REPO,
            env={**os.environ, **sandbox.env()},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr

        closed = run_script("drift.sh", sandbox, out)
        assert closed.returncode == 0, closed.stdout + closed.stderr
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert issue["state"] == "closed"


def test_drift_fails_when_plan_fails(github: GitHubEnv, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ngroups: [not, a, mapping]\n", encoding="utf-8")
    with Sandbox.start() as sandbox:
        result = run_script("drift.sh", sandbox, tmp_path / "out", CONFIG=str(broken))
    assert result.returncode == 1
    assert github.state.issues == {}


def reviewed_pr(github: GitHubEnv, sandbox: Sandbox, out: Path, merge_sha: str) -> str:
    planned = run_script("pr-plan.sh", sandbox, out, PR_NUMBER="40")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    github.state.add_merged_pull(merge_sha, number=40)
    return str(load_plan(out)["checksum"])


def test_apply_applies_the_reviewed_plan(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "a1" * 20
    with Sandbox.start() as sandbox:
        checksum = reviewed_pr(github, sandbox, tmp_path / "out", merge_sha)
        applied = run_script(
            "apply.sh", sandbox, tmp_path, COMMIT_SHA=merge_sha, BACKUP_DIR=str(tmp_path / "bk")
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert checksum in applied.stdout
        after = run_script("drift.sh", sandbox, tmp_path / "after")
        assert after.returncode == 0, after.stdout + after.stderr
        assert load_plan(tmp_path / "after")["empty"] is True


def test_apply_refuses_when_live_state_changed_since_review(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "b2" * 20
    with Sandbox.start() as sandbox:
        reviewed_pr(github, sandbox, tmp_path / "out", merge_sha)
        sandbox.auth0.state.add_user(
            {"user_id": "auth0|latecomer", "email": "l@example.com"}, roles=["Admin"]
        )
        before = sandbox.gooddata.state.snapshot()
        refused = run_script(
            "apply.sh", sandbox, tmp_path, COMMIT_SHA=merge_sha, BACKUP_DIR=str(tmp_path / "bk")
        )
        assert refused.returncode == 1
        assert "changed" in (refused.stdout + refused.stderr).lower()
        assert sandbox.gooddata.state.snapshot() == before


@pytest.mark.parametrize("explicit", ["", "not-a-checksum"])
def test_apply_refuses_a_commit_without_reviewed_plan(
    github: GitHubEnv, tmp_path: Path, explicit: str
) -> None:
    with Sandbox.start() as sandbox:
        refused = run_script("apply.sh", sandbox, tmp_path, COMMIT_SHA="c3" * 20, EXPLICIT_CHECKSUM=explicit)
    assert refused.returncode == 1
    assert "refusing to apply" in refused.stderr or "checksum given by hand" in refused.stderr
