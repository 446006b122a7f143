"""``reconcile github ...`` commands against the fake GitHub API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.github.api import DRIFT_LABEL, DRIFT_MARKER, PLAN_MARKER, extract_checksum
from reconciler.github.command import github_group
from reconciler.github.markdown import GITHUB_BODY_LIMIT, PLAN_ARTIFACT

from .conftest import TOKEN, GitHubEnv

CHECKSUM = "a" * 64
OTHER_CHECKSUM = "b" * 64


def run(*args: str) -> Result:
    return CliRunner().invoke(github_group, list(args), catch_exceptions=False)


def write_plan(tmp_path: Path, markdown: str, checksum: str = CHECKSUM) -> tuple[Path, Path]:
    md = tmp_path / "plan.md"
    md.write_text(markdown, encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": 1, "checksum": checksum, "empty": False}), encoding="utf-8")
    return md, plan


def bodies(github: GitHubEnv, pr: int) -> list[str]:
    return [comment["body"] for comment in github.state.comments.get(pr, [])]


def test_comment_is_created_then_updated_in_place_across_pages(github: GitHubEnv, tmp_path: Path) -> None:
    github.state.page_size_cap = 2  # forces paging through Link headers
    for index in range(5):
        github.state.add_comment(7, f"review remark {index}", login="alice")
    md, plan = write_plan(tmp_path, "### Plan\n\n2 users to create\n")

    first = run(
        "pr-comment", "--pr", "7", "--markdown", str(md), "--json", str(plan), "--commit", "0123456789abcdef"
    )
    assert first.exit_code == 0, first.output
    assert "created plan comment" in first.output
    ours = [body for body in bodies(github, 7) if PLAN_MARKER in body]
    assert len(ours) == 1
    assert "2 users to create" in ours[0]
    assert extract_checksum(ours[0]) == CHECKSUM
    assert "`0123456789ab`" in ours[0]
    assert "https://github.example/acme/access/actions/runs/4242" in ours[0]

    md, plan = write_plan(tmp_path, "### Plan\n\n3 users to create\n", checksum=OTHER_CHECKSUM)
    second = run("pr-comment", "--pr", "7", "--markdown", str(md), "--json", str(plan))
    assert second.exit_code == 0, second.output
    assert "updated plan comment" in second.output
    ours = [body for body in bodies(github, 7) if PLAN_MARKER in body]
    assert len(ours) == 1
    assert len(bodies(github, 7)) == 6
    assert "3 users to create" in ours[0] and "2 users to create" not in ours[0]
    assert extract_checksum(ours[0]) == OTHER_CHECKSUM
    assert any("page=3" in path for _, path in github.state.requests)


def test_fork_comment_explains_missing_secrets(github: GitHubEnv) -> None:
    result = run("pr-comment", "--pr", "3", "--fork")
    assert result.exit_code == 0, result.output
    [body] = bodies(github, 3)
    assert PLAN_MARKER in body
    assert "fork" in body and "secrets" in body
    assert extract_checksum(body) is None


def test_fork_comment_falls_back_to_summary_when_token_is_read_only(github: GitHubEnv) -> None:
    github.state.fail_next = [403]
    result = run("pr-comment", "--pr", "3", "--fork")
    assert result.exit_code == 0, result.output
    assert "::warning::" in result.output
    assert "secrets" in github.summary_path.read_text(encoding="utf-8")
    assert bodies(github, 3) == []


def test_failed_plan_replaces_checksum_so_merge_applies_nothing(github: GitHubEnv, tmp_path: Path) -> None:
    md, plan = write_plan(tmp_path, "### Plan\n")
    assert run("pr-comment", "--pr", "9", "--markdown", str(md), "--json", str(plan)).exit_code == 0
    assert run("pr-comment", "--pr", "9", "--failed").exit_code == 0
    [body] = bodies(github, 9)
    assert "failed" in body
    assert extract_checksum(body) is None


def test_pr_comment_requires_markdown(github: GitHubEnv) -> None:
    result = CliRunner().invoke(github_group, ["pr-comment", "--pr", "1"])
    assert result.exit_code == 2
    assert "--markdown is required" in result.output


def test_oversized_markdown_is_truncated_below_github_limit(github: GitHubEnv, tmp_path: Path) -> None:
    rows = "".join(f"| user-{index:06d} | create |\n" for index in range(6000))
    markdown = "### Plan\n\n<details><summary>Users</summary>\n\n```diff\n" + rows + "```\n</details>\n"
    assert len(markdown) > GITHUB_BODY_LIMIT
    md, plan = write_plan(tmp_path, markdown)
    assert run("pr-comment", "--pr", "5", "--markdown", str(md), "--json", str(plan)).exit_code == 0
    [body] = bodies(github, 5)
    assert len(body) < GITHUB_BODY_LIMIT
    assert "truncated" in body and PLAN_ARTIFACT in body
    assert body.count("```") % 2 == 0
    assert body.count("<details>") == body.count("</details>")
    assert extract_checksum(body) == CHECKSUM
    assert "| user-000000 | create |" in body


def test_summary_is_appended(github: GitHubEnv, tmp_path: Path) -> None:
    github.summary_path.write_text("earlier step\n", encoding="utf-8")
    md, _ = write_plan(tmp_path, "### Plan\n\nno changes\n")
    result = run("summary", "--markdown", str(md))
    assert result.exit_code == 0, result.output
    assert github.summary_path.read_text(encoding="utf-8") == "earlier step\n### Plan\n\nno changes\n\n"


def test_summary_outside_actions_fails(github: GitHubEnv, tmp_path: Path) -> None:
    md, _ = write_plan(tmp_path, "### Plan\n")
    result = CliRunner(env={"GITHUB_STEP_SUMMARY": ""}).invoke(
        github_group, ["summary", "--markdown", str(md)]
    )
    assert result.exit_code == 1
    assert "GITHUB_STEP_SUMMARY is not set" in result.output


def drift_issues(github: GitHubEnv) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = github.state.issues_with_label(DRIFT_LABEL)
    return issues


def test_drift_opens_updates_and_closes_one_issue(github: GitHubEnv, tmp_path: Path) -> None:
    md, plan = write_plan(tmp_path, "### Plan\n\n1 grant to revoke\n")
    assert run("drift", "--markdown", str(md), "--exit-code", "0").output.strip() == "no drift"
    assert drift_issues(github) == []

    opened = run("drift", "--markdown", str(md), "--json", str(plan), "--exit-code", "2")
    assert opened.exit_code == 0, opened.output
    [issue] = drift_issues(github)
    assert issue["state"] == "open"
    assert DRIFT_MARKER in str(issue["body"]) and "1 grant to revoke" in str(issue["body"])
    assert CHECKSUM in str(issue["body"])

    md.write_text("### Plan\n\n2 grants to revoke\n", encoding="utf-8")
    updated = run("drift", "--markdown", str(md), "--exit-code", "2")
    assert updated.exit_code == 0, updated.output
    assert f"updated issue #{issue['number']}" in updated.output
    [issue] = drift_issues(github)
    assert "2 grants to revoke" in str(issue["body"])

    closed = run("drift", "--markdown", str(md), "--exit-code", "0")
    assert closed.exit_code == 0, closed.output
    [issue] = drift_issues(github)
    assert issue["state"] == "closed"
    assert any("No drift" in body for body in bodies(github, int(str(issue["number"]))))

    reopened = run("drift", "--markdown", str(md), "--exit-code", "2")
    assert "opened issue" in reopened.output
    assert [i["state"] for i in drift_issues(github)] == ["closed", "open"]


def test_drift_with_failed_plan_fails_and_leaves_issue(github: GitHubEnv, tmp_path: Path) -> None:
    md, _ = write_plan(tmp_path, "### Plan\n")
    assert run("drift", "--markdown", str(md), "--exit-code", "2").exit_code == 0
    result = CliRunner().invoke(github_group, ["drift", "--markdown", str(md), "--exit-code", "1"])
    assert result.exit_code == 1
    assert "plan failed" in result.output
    assert [issue["state"] for issue in drift_issues(github)] == ["open"]


def test_drift_ignores_issue_someone_else_opened_with_the_marker(github: GitHubEnv, tmp_path: Path) -> None:
    github.state.issues[50] = {
        "number": 50,
        "title": "copy",
        "body": DRIFT_MARKER,
        "state": "open",
        "labels": [{"name": DRIFT_LABEL}],
        "user": {"login": "mallory"},
    }
    md, _ = write_plan(tmp_path, "### Plan\n")
    result = run("drift", "--markdown", str(md), "--exit-code", "2")
    assert "opened issue" in result.output
    assert github.state.issues[50]["body"] == DRIFT_MARKER


def test_reviewed_checksum_of_merged_pull_request(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "c0ffee" + "0" * 34
    pr = github.state.add_merged_pull(merge_sha)
    md, plan = write_plan(tmp_path, "### Plan\n")
    assert run("pr-comment", "--pr", str(pr), "--markdown", str(md), "--json", str(plan)).exit_code == 0
    result = CliRunner().invoke(github_group, ["reviewed-checksum", "--sha", merge_sha])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == CHECKSUM
    assert f"pull request #{pr}" in result.stderr


def test_reviewed_checksum_ignores_checksum_planted_by_a_person(github: GitHubEnv) -> None:
    merge_sha = "d" * 40
    pr = github.state.add_merged_pull(merge_sha)
    github.state.add_comment(pr, f"{PLAN_MARKER}\n<!-- plan-checksum: {CHECKSUM} -->", login="mallory")
    result = CliRunner().invoke(github_group, ["reviewed-checksum", "--sha", merge_sha])
    assert result.exit_code == 1
    assert "no successful plan comment" in result.output


def test_reviewed_checksum_refuses_direct_push(github: GitHubEnv) -> None:
    result = CliRunner().invoke(github_group, ["reviewed-checksum", "--sha", "e" * 40])
    assert result.exit_code == 1
    assert "not merged through a pull request" in result.output
    assert "refusing to apply" in result.output


def test_reviewed_checksum_given_by_hand(github: GitHubEnv) -> None:
    result = CliRunner().invoke(
        github_group, ["reviewed-checksum", "--sha", "e" * 40, "--explicit", CHECKSUM]
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == CHECKSUM
    assert github.state.requests == []
    bad = CliRunner().invoke(github_group, ["reviewed-checksum", "--sha", "e" * 40, "--explicit", "nope"])
    assert bad.exit_code == 1


def test_failed_call_never_shows_token(github: GitHubEnv) -> None:
    result = CliRunner(env={"GITHUB_TOKEN": "wrong-token-value"}).invoke(
        github_group, ["pr-comment", "--pr", "1", "--failed"]
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.output
    assert "wrong-token-value" not in result.output and TOKEN not in result.output
