"""The GitOps scripts end to end: the real CLI against the sandbox, GitHub replaced by the fake.

These run `.github/scripts/*.sh` exactly as the workflows do, with `reconcile` from this
virtualenv, the Auth0 and GoodData sandbox servers, and the fake GitHub API. Every test ends by
scanning all it can see for secrets: the scripts' output, every body the fake GitHub received
or holds (comments, issues), the job summary and the output and backup folders.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.github.api import APPLY_MARKER, DRIFT_LABEL, PLAN_MARKER, extract_checksum, extract_inputs
from reconciler.github.markdown import GITHUB_BODY_LIMIT
from reconciler.sandbox import Sandbox

from ..secret_scan import files_under, leaks, secrets_of
from .conftest import TOKEN, GitHubEnv

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / ".github" / "scripts"
RECONCILE = Path(sys.executable).parent / "reconcile"
CONFIG = REPO / "desired-state" / "access.yaml"
EVIL_SUBJECT = "auth0|evil<img src=x onerror=alert(1)>*_`|"
EVIL_EMAIL = "mallory.secret-address@evil.example"
PR = 40


@dataclass
class Flow:
    """Runs the scripts as a workflow step would and keeps everything they printed."""

    github: GitHubEnv
    tmp_path: Path
    outputs: list[str] = field(default_factory=list)

    def run(
        self, name: str, sandbox: Sandbox | None, out_dir: Path, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``.github/scripts/NAME`` with the sandbox's credentials and the fake GitHub."""
        env = {
            **os.environ,
            "RECONCILE": str(RECONCILE),
            "CONFIG": str(CONFIG),
            "OUT_DIR": str(out_dir),
            **extra,
        }
        if sandbox is not None:
            env.update(sandbox.env())
        result = subprocess.run(
            [str(SCRIPTS / name)], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def reconcile(self, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI itself against the sandbox."""
        result = subprocess.run(
            [str(RECONCILE), *args],
            cwd=REPO,
            env={**os.environ, **sandbox.env()},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def converge(self, sandbox: Sandbox, config: Path = CONFIG) -> None:
        """Apply ``config`` by hand, so that the next plans start from a matching GoodData."""
        done = self.reconcile(
            sandbox, "apply", "--config", str(config), "--yes", "--backup-dir", str(self.tmp_path / "bk0")
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def assert_no_leaks(self, sandbox: Sandbox | None) -> None:
        """No secret in any output, GitHub body, job summary, plan or backup seen so far."""
        secrets = {TOKEN, *(secrets_of(sandbox) if sandbox is not None else ())}
        texts = [*self.outputs, *self.github.state.bodies(), *files_under(self.tmp_path)]
        assert self.github.state.received, "the fake GitHub received nothing: the scan would prove nothing"
        found = leaks(texts, secrets)
        assert not found, found


@pytest.fixture
def flow(github: GitHubEnv, tmp_path: Path) -> Iterator[Flow]:
    """A fresh flow per test."""
    yield Flow(github, tmp_path)


def plan_comments(github: GitHubEnv, pr: int) -> list[str]:
    return [c["body"] for c in github.state.comments.get(pr, []) if PLAN_MARKER in c["body"]]


def apply_comments(github: GitHubEnv, pr: int) -> list[str]:
    return [c["body"] for c in github.state.comments.get(pr, []) if APPLY_MARKER in c["body"]]


def load_plan(out_dir: Path) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((out_dir / "plan.json").read_text(encoding="utf-8"))
    return plan


def variant(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    """The shipped desired state with some text replaced (each replacement must apply)."""
    text = CONFIG.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pr_comment_created_then_updated_with_counts_escaping_and_no_email(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        first = flow.run("pr-plan.sh", sandbox, out, PR_NUMBER="21", HEAD_SHA="1" * 40)
        assert first.returncode == 0, first.stdout + first.stderr
        [body] = plan_comments(github, 21)
        summary = load_plan(out)["summary"]
        assert summary["users_created"] > 0
        assert f"{summary['users_created']} users to create" in body
        assert f"**Total: {summary['total']}**" in body
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
        second = flow.run(
            "pr-plan.sh", sandbox, out, PR_NUMBER="21", HEAD_SHA="2" * 40, MERGE_SHA="3" * 40, BASE_REF="main"
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "updated plan comment" in second.stdout
        comments = plan_comments(github, 21)
        assert len(comments) == 1 and len(github.state.comments[21]) == 1
        [body] = comments
        plan = load_plan(out)
        assert plan["summary"]["users_created"] == summary["users_created"] + 1
        assert f"{plan['summary']['users_created']} users to create" in body
        assert extract_checksum(body) == plan["checksum"]
        inputs = extract_inputs(body)
        assert inputs is not None and inputs.live == plan["live_checksum"]
        assert inputs.identity == plan["metadata"]["identity_checksum"]
        assert inputs.config == plan["metadata"]["config_checksum"]
        assert "Planned on the test merge of `222222222222` into `main` (merge commit `333333333333`)" in body

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
        flow.assert_no_leaks(sandbox)


def test_fork_pull_request_gets_an_explanation_not_a_failure(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    result = flow.run("pr-plan.sh", None, tmp_path, PR_NUMBER="8", HEAD_IS_FORK="true")
    assert result.returncode == 0, result.stdout + result.stderr
    [body] = plan_comments(github, 8)
    assert "fork" in body and extract_checksum(body) is None
    flow.assert_no_leaks(None)


def test_failed_validation_quotes_the_errors_in_the_comment(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ngroups:\n  'bad|id*':\n    name: Bad\n", encoding="utf-8")
    with Sandbox.start() as sandbox:
        result = flow.run("pr-plan.sh", sandbox, tmp_path / "out", PR_NUMBER="12", CONFIG=str(broken))
        assert result.returncode == 1
        assert f"{broken}:3:3: error:" in result.stderr  # still in the log
        [body] = plan_comments(github, 12)
        assert "failed" in body and extract_checksum(body) is None
        assert f"{broken}:3:3: error: 'bad\\|id\\*' is not a valid group id".replace("_", "\\_") in body
        assert sandbox.gooddata.counters.writes() == 0
        flow.assert_no_leaks(sandbox)


def test_plan_of_5000_changes_stays_under_the_comment_limit(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    config = tmp_path / "access.yaml"
    many_groups = "".join(f"  team{index:05d}:\n    name: Team {index}\n" for index in range(5000))
    config.write_text(
        CONFIG.read_text(encoding="utf-8").replace("groups:\n", "groups:\n" + many_groups, 1),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        result = flow.run("pr-plan.sh", sandbox, out, PR_NUMBER="30", CONFIG=str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        flow.assert_no_leaks(sandbox)
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


def test_drift_issue_opened_updated_and_closed(flow: Flow, github: GitHubEnv, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Sandbox.start() as sandbox:
        opened = flow.run("drift.sh", sandbox, out)
        assert opened.returncode == 0, opened.stdout + opened.stderr
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert issue["state"] == "open"
        assert extract_checksum(str(issue["body"])) == load_plan(out)["checksum"]

        sandbox.auth0.state.add_user({"user_id": "auth0|newcomer1", "email": "n@example.com"}, roles=["User"])
        updated = flow.run("drift.sh", sandbox, out)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        assert f"updated issue #{issue['number']}" in updated.stdout
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert extract_checksum(str(issue["body"])) == load_plan(out)["checksum"]

        flow.converge(sandbox)

        closed = flow.run("drift.sh", sandbox, out)
        assert closed.returncode == 0, closed.stdout + closed.stderr
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert issue["state"] == "closed"
        flow.assert_no_leaks(sandbox)


def test_drift_fails_when_plan_fails(flow: Flow, github: GitHubEnv, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ngroups: [not, a, mapping]\n", encoding="utf-8")
    with Sandbox.start() as sandbox:
        result = flow.run("drift.sh", sandbox, tmp_path / "out", CONFIG=str(broken))
        assert not leaks(flow.outputs + files_under(tmp_path), secrets_of(sandbox))
    assert result.returncode == 1
    assert github.state.issues == {}


def reviewed_pr(flow: Flow, sandbox: Sandbox, out: Path, merge_sha: str, **extra: str) -> str:
    """Plan pull request #40 (the plan comment), then merge it with ``merge_sha``."""
    planned = flow.run("pr-plan.sh", sandbox, out, PR_NUMBER=str(PR), **extra)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    flow.github.state.add_merged_pull(merge_sha, number=PR)
    return str(load_plan(out)["checksum"])


def test_apply_applies_the_reviewed_plan(flow: Flow, github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "a1" * 20
    with Sandbox.start() as sandbox:
        checksum = reviewed_pr(flow, sandbox, tmp_path / "out", merge_sha)
        applied = flow.run(
            "apply.sh", sandbox, tmp_path / "apply", COMMIT_SHA=merge_sha, BACKUP_DIR=str(tmp_path / "bk")
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert checksum in applied.stdout
        assert sandbox.gooddata.counters.writes() > 0
        [comment] = apply_comments(github, PR)
        assert "applied" in comment and checksum in comment
        assert load_plan(tmp_path / "apply")["checksum"] == checksum  # the plan made before applying
        assert any((tmp_path / "bk").rglob("*.json"))
        after = flow.run("drift.sh", sandbox, tmp_path / "after")
        assert after.returncode == 0, after.stdout + after.stderr
        assert load_plan(tmp_path / "after")["empty"] is True
        flow.assert_no_leaks(sandbox)


def test_refused_apply_is_told_on_the_pull_request_and_surfaced_by_drift(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    merge_sha = "b2" * 20
    with Sandbox.start() as sandbox:
        reviewed = reviewed_pr(flow, sandbox, tmp_path / "out", merge_sha)
        sandbox.auth0.state.add_user(
            {"user_id": "auth0|latecomer", "email": "l@example.com"}, roles=["Admin"]
        )
        before = sandbox.gooddata.state.snapshot()
        refused = flow.run(
            "apply.sh", sandbox, tmp_path / "apply", COMMIT_SHA=merge_sha, BACKUP_DIR=str(tmp_path / "bk")
        )
        assert refused.returncode == 1
        assert "apply refused" in refused.stderr
        assert sandbox.gooddata.state.snapshot() == before
        assert sandbox.gooddata.counters.writes() == 0

        fresh = str(load_plan(tmp_path / "apply")["checksum"])
        [comment] = apply_comments(github, PR)
        assert "apply refused" in comment
        assert "Changed since the review: the identity provider" in comment
        assert "Changed since the review: the desired state" not in comment
        assert "Changed since the review: live GoodData" not in comment
        assert f"`{reviewed}`" in comment and f"`{fresh}`" in comment
        summary = github.summary_path.read_text(encoding="utf-8")
        assert "apply refused" in summary and "GoodData access plan" in summary

        # the hourly drift check reports what was not applied
        drift = flow.run("drift.sh", sandbox, tmp_path / "drift")
        assert drift.returncode == 0, drift.stdout + drift.stderr
        [issue] = github.state.issues_with_label(DRIFT_LABEL)
        assert issue["state"] == "open" and extract_checksum(str(issue["body"])) == fresh

        # a manual run with the checksum of the plan computed at refusal applies it
        manual = flow.run(
            "apply.sh",
            sandbox,
            tmp_path / "manual",
            COMMIT_SHA=merge_sha,
            EXPLICIT_CHECKSUM=fresh,
            BACKUP_DIR=str(tmp_path / "bk"),
        )
        assert manual.returncode == 0, manual.stdout + manual.stderr
        assert "Apply complete" in manual.stderr
        assert len(apply_comments(github, PR)) == 1  # a checksum given by hand reports in the summary only
        flow.assert_no_leaks(sandbox)


def test_apply_refuses_when_the_branch_moved_after_the_plan(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    """The pull request was planned before another merge changed main (or a superseded run)."""
    merge_sha = "b3" * 20
    moved = variant(tmp_path, "moved.yaml", ("groups:\n", "groups:\n  newteam:\n    name: New team\n"))
    with Sandbox.start() as sandbox:
        reviewed_pr(flow, sandbox, tmp_path / "out", merge_sha)
        refused = flow.run(
            "apply.sh",
            sandbox,
            tmp_path / "apply",
            COMMIT_SHA=merge_sha,
            CONFIG=str(moved),
            BACKUP_DIR=str(tmp_path / "bk"),
        )
        assert refused.returncode == 1
        assert sandbox.gooddata.counters.writes() == 0
        [comment] = apply_comments(github, PR)
        assert "Changed since the review: the desired state" in comment
        assert "another pull request merged first" in comment and "superseded" in comment
        assert "Changed since the review: the identity provider" not in comment
        assert "Changed since the review: live GoodData" not in comment
        flow.assert_no_leaks(sandbox)


def test_reviewed_no_op_merge_has_nothing_to_apply_after_an_unrelated_change(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    merge_sha = "b4" * 20
    with Sandbox.start() as sandbox:
        flow.converge(sandbox)
        reviewed = reviewed_pr(flow, sandbox, tmp_path / "out", merge_sha)
        assert load_plan(tmp_path / "out")["empty"] is True
        # someone joins Auth0 with a role that gives no GoodData access: the inputs change, the plan does not
        sandbox.auth0.state.add_user(
            {"user_id": "auth0|contractor9", "email": "c9@example.com"}, roles=["Contractor"]
        )
        writes = sandbox.gooddata.counters.writes()
        result = flow.run(
            "apply.sh", sandbox, tmp_path / "apply", COMMIT_SHA=merge_sha, BACKUP_DIR=str(tmp_path / "bk")
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Nothing to apply" in result.stderr
        fresh = load_plan(tmp_path / "apply")
        assert fresh["empty"] is True and fresh["checksum"] != reviewed
        assert apply_comments(github, PR) == []

        # `reconcile apply --checksum` itself: an empty fresh plan is not refused over its checksum
        direct = flow.reconcile(
            sandbox,
            "apply",
            "--config",
            str(CONFIG),
            "--yes",
            "--checksum",
            reviewed,
            "--backup-dir",
            str(tmp_path / "bk"),
        )
        assert direct.returncode == 0, direct.stdout + direct.stderr
        assert "Nothing to apply" in direct.stderr
        assert sandbox.gooddata.counters.writes() == writes
        flow.assert_no_leaks(sandbox)


def test_force_on_a_manual_run_lifts_only_the_removal_threshold(
    flow: Flow, github: GitHubEnv, tmp_path: Path
) -> None:
    merge_sha = "b5" * 20
    strict = variant(
        tmp_path,
        "strict.yaml",
        ('max_removals: "10%"', "max_removals: 0"),
        ("        viewers: [VIEW]\n", ""),
    )
    with Sandbox.start() as sandbox:
        flow.converge(sandbox)
        checksum = reviewed_pr(flow, sandbox, tmp_path / "out", merge_sha, CONFIG=str(strict))
        [plan_comment] = plan_comments(github, PR)
        assert "max_removals" in plan_comment.replace("\\_", "_")
        before = sandbox.gooddata.state.snapshot()

        refused = flow.run(
            "apply.sh",
            sandbox,
            tmp_path / "apply",
            COMMIT_SHA=merge_sha,
            CONFIG=str(strict),
            BACKUP_DIR=str(tmp_path / "bk"),
        )
        assert refused.returncode == 1
        assert sandbox.gooddata.state.snapshot() == before
        [comment] = apply_comments(github, PR)
        assert "blocked by safety guards" in comment and "**force** checked" in comment
        assert "`max_removals` (force lifts it)" in comment

        forced = flow.run(
            "apply.sh",
            sandbox,
            tmp_path / "forced",
            COMMIT_SHA=merge_sha,
            CONFIG=str(strict),
            FORCE="true",
            BACKUP_DIR=str(tmp_path / "bk"),
        )
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "with --force" in forced.stderr
        assert sandbox.gooddata.state.snapshot() != before
        [comment] = apply_comments(github, PR)
        assert "applied" in comment and checksum in comment
        flow.assert_no_leaks(sandbox)


@pytest.mark.parametrize(
    ("explicit", "expected"),
    [
        ("", "error: apply refused: Commit `c3c3c3c3c3c3` was not merged through a pull request"),
        ("not-a-checksum", "error: the checksum given by hand must be 12 to 64 hex digits"),
    ],
)
def test_apply_refuses_a_commit_without_reviewed_plan(
    flow: Flow, github: GitHubEnv, tmp_path: Path, explicit: str, expected: str
) -> None:
    with Sandbox.start() as sandbox:
        refused = flow.run(
            "apply.sh", sandbox, tmp_path / "apply", COMMIT_SHA="c3" * 20, EXPLICIT_CHECKSUM=explicit
        )
        assert refused.returncode == 1
        assert expected in refused.stderr
        assert sandbox.gooddata.counters.writes() == 0
        assert not leaks(flow.outputs + github.state.bodies() + files_under(tmp_path), secrets_of(sandbox))
