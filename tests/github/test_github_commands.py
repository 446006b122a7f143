"""``reconcile github ...`` commands against the fake GitHub API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.github.api import (
    APPLY_MARKER,
    DRIFT_CLOSED_MARKER,
    DRIFT_LABEL,
    DRIFT_MARKER,
    PLAN_MARKER,
    PlanInputs,
    extract_checksum,
    extract_inputs,
)
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


def test_comment_records_the_plan_inputs_and_the_test_merge_it_was_planned_on(
    github: GitHubEnv, tmp_path: Path
) -> None:
    md, plan = write_plan(tmp_path, "### Plan\n")
    document = json.loads(plan.read_text(encoding="utf-8"))
    document["live_checksum"] = "3" * 64
    document["metadata"] = {"config_checksum": "1" * 64, "identity_checksum": "2" * 64}
    plan.write_text(json.dumps(document), encoding="utf-8")
    result = run(
        "pr-comment",
        "--pr",
        "7",
        "--markdown",
        str(md),
        "--json",
        str(plan),
        "--commit",
        "0123456789abcdef",
        "--merge-commit",
        "fedcba9876543210",
        "--base",
        "main",
    )
    assert result.exit_code == 0, result.output
    [body] = bodies(github, 7)
    assert extract_inputs(body) == PlanInputs("1" * 64, "2" * 64, "3" * 64)
    assert "Planned on the test merge of `0123456789ab` into `main` (merge commit `fedcba987654`)" in body
    assert "Planned for commit" not in body


def test_failed_comment_quotes_the_errors_escaped_and_capped(github: GitHubEnv, tmp_path: Path) -> None:
    log = tmp_path / "errors.log"
    lines = [
        "Reading the desired state...",
        "desired-state/access.yaml:3:3: error: 'a|b_*<img src=x>' is not a valid group id @team",
        "desired-state/access.yaml:9:1: warning: role 'admin' differs only in case",
        *[f"desired-state/access.yaml:{n}:1: error: problem number {n}" for n in range(100, 140)],
        "error: " + "x" * 1000,
        "41 errors.",
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("pr-comment", "--pr", "9", "--failed", "--errors", str(log), "--commit", "a" * 40)
    assert result.exit_code == 0, result.output
    [body] = bodies(github, 9)
    assert (
        "desired-state/access.yaml:3:3: error: 'a\\|b\\_\\*\\<img src=x\\>' is not a valid group id" in body
    )
    assert re.search(r"(?<!\\)<img", body) is None and "@team" not in body  # no HTML, no mention
    assert "problem number 100" in body and "problem number 128" in body
    assert "problem number 129" not in body  # capped at 30 error lines
    assert "… and 12 more in the run log" in body
    assert "warning" not in body and "Reading the desired state" not in body and "41 errors" not in body
    assert extract_checksum(body) is None and "will not apply anything" in body


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


def test_drift_issue_whose_label_was_removed_is_updated_not_duplicated(
    github: GitHubEnv, tmp_path: Path
) -> None:
    md, _ = write_plan(tmp_path, "### Plan\n")
    assert "opened issue" in run("drift", "--markdown", str(md), "--exit-code", "2").output
    [number] = github.state.issues
    github.state.issues[number]["labels"] = []
    again = run("drift", "--markdown", str(md), "--exit-code", "2")
    assert f"updated issue #{number}" in again.output
    closed = run("drift", "--markdown", str(md), "--exit-code", "0")
    assert f"closed issue #{number}" in closed.output
    assert list(github.state.issues) == [number]
    [closing] = bodies(github, number)
    assert DRIFT_CLOSED_MARKER in closing


def test_drift_issue_is_opened_once_when_the_reply_is_lost(github: GitHubEnv, tmp_path: Path) -> None:
    md, _ = write_plan(tmp_path, "### Plan\n")
    github.state.lose_reply_next = [502]
    result = run("drift", "--markdown", str(md), "--exit-code", "2")
    assert result.exit_code == 0, result.output
    assert len(github.state.issues) == 1


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


def fresh_plan(
    tmp_path: Path,
    checksum: str = CHECKSUM,
    *,
    empty: bool = False,
    inputs: tuple[str, str, str] = ("1" * 64, "2" * 64, "3" * 64),
    guards: list[dict[str, Any]] | None = None,
) -> Path:
    """A JSON plan as `reconcile plan --out` writes it, with what apply-check reads."""
    config, identity, live = inputs
    path = tmp_path / "fresh.json"
    document = {
        "format_version": 1,
        "checksum": checksum,
        "live_checksum": live,
        "empty": empty,
        "summary": {"total": 0 if empty else 3},
        "guards": guards or [],
        "metadata": {"config_checksum": config, "identity_checksum": identity},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def reviewed(github: GitHubEnv, tmp_path: Path, merge_sha: str, plan: Path) -> int:
    """A pull request merged by ``merge_sha`` whose plan comment was made from ``plan``."""
    pr = github.state.add_merged_pull(merge_sha)
    md = tmp_path / "reviewed.md"
    md.write_text("### Plan\n", encoding="utf-8")
    assert run("pr-comment", "--pr", str(pr), "--markdown", str(md), "--json", str(plan)).exit_code == 0
    return pr


def check(*args: str) -> Result:
    return CliRunner().invoke(github_group, ["apply-check", *args])


def apply_comments(github: GitHubEnv, pr: int) -> list[str]:
    return [body for body in bodies(github, pr) if APPLY_MARKER in body]


def test_apply_check_passes_the_reviewed_plan(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "c0ffee" + "0" * 34
    plan = fresh_plan(tmp_path)
    pr = reviewed(github, tmp_path, merge_sha, plan)
    result = check("--sha", merge_sha, "--plan", str(plan))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == CHECKSUM
    assert f"pull request #{pr}" in result.stderr
    assert apply_comments(github, pr) == []


def test_apply_check_with_empty_plan_has_nothing_to_apply_whatever_was_reviewed(
    github: GitHubEnv, tmp_path: Path
) -> None:
    merge_sha = "e" * 40
    reviewed(github, tmp_path, merge_sha, fresh_plan(tmp_path, CHECKSUM))
    github.state.requests.clear()
    empty = fresh_plan(tmp_path, OTHER_CHECKSUM, empty=True, inputs=("1" * 64, "9" * 64, "3" * 64))
    result = check("--sha", merge_sha, "--plan", str(empty))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Nothing to apply" in result.stderr
    assert github.state.requests == []
    assert "nothing to apply" in github.summary_path.read_text(encoding="utf-8")


CHANGED = "Changed since the review: "
DESIRED, IDENTITY, LIVE = (CHANGED + "the desired state", CHANGED + "the identity provider", CHANGED + "live")


@pytest.mark.parametrize(
    ("inputs", "named", "not_named"),
    [
        (("9" * 64, "2" * 64, "3" * 64), [DESIRED, "another pull request merged first"], [IDENTITY, LIVE]),
        (("1" * 64, "9" * 64, "3" * 64), [IDENTITY], [DESIRED, LIVE]),
        (("1" * 64, "2" * 64, "9" * 64), [LIVE], [DESIRED, IDENTITY]),
        (("9" * 64, "9" * 64, "9" * 64), [DESIRED, IDENTITY, LIVE], []),
        (("1" * 64, "2" * 64, "3" * 64), ["the reconciler itself changed"], [CHANGED]),
    ],
)
def test_apply_check_refuses_a_changed_plan_naming_the_input_on_the_pull_request(
    github: GitHubEnv,
    tmp_path: Path,
    inputs: tuple[str, str, str],
    named: list[str],
    not_named: list[str],
) -> None:
    merge_sha = "f" * 40
    pr = reviewed(github, tmp_path, merge_sha, fresh_plan(tmp_path, CHECKSUM))
    changed = fresh_plan(tmp_path, OTHER_CHECKSUM, inputs=inputs)
    result = check("--sha", merge_sha, "--plan", str(changed))
    assert result.exit_code == 1
    assert result.stdout == ""  # nothing the script could take for a checksum
    assert "apply refused" in result.stderr
    [comment] = apply_comments(github, pr)
    assert "apply refused" in comment
    assert f"`{OTHER_CHECKSUM}`" in comment and f"`{CHECKSUM}`" in comment
    assert "Run workflow" in comment and "drift" in comment
    for text in named:
        assert text in comment and text in result.stderr
    for text in not_named:
        assert text not in comment
    assert "apply refused" in github.summary_path.read_text(encoding="utf-8")

    # a second refusal updates the same comment
    assert check("--sha", merge_sha, "--plan", str(changed)).exit_code == 1
    assert len(apply_comments(github, pr)) == 1


MAX_REMOVALS = {"name": "max_removals", "passed": False, "message": "4 > 2 users", "overridable": True}
PROTECTED = {"name": "protected", "passed": False, "message": "would remove *admin*", "overridable": False}


def test_apply_check_refuses_a_blocked_plan_and_force_lifts_only_max_removals(
    github: GitHubEnv, tmp_path: Path
) -> None:
    merge_sha = "1a" * 20
    plan = fresh_plan(tmp_path, guards=[MAX_REMOVALS])
    pr = reviewed(github, tmp_path, merge_sha, plan)
    blocked = check("--sha", merge_sha, "--plan", str(plan))
    assert blocked.exit_code == 1
    [comment] = apply_comments(github, pr)
    assert "`max_removals` (force lifts it)" in comment and "**force** checked" in comment
    forced = check("--sha", merge_sha, "--plan", str(plan), "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.strip() == CHECKSUM
    assert "with --force" in forced.stderr

    plan = fresh_plan(tmp_path, guards=[MAX_REMOVALS, PROTECTED])
    never = check("--sha", merge_sha, "--plan", str(plan), "--force")
    assert never.exit_code == 1
    [comment] = apply_comments(github, pr)
    assert "`protected` (not even force lifts it)" in comment
    assert "would remove \\*admin\\*" in comment  # guard messages are escaped
    assert "max_removals" not in comment  # force lifted that one


def test_apply_check_ignores_checksum_planted_by_a_person(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "d" * 40
    pr = github.state.add_merged_pull(merge_sha)
    github.state.add_comment(pr, f"{PLAN_MARKER}\n<!-- plan-checksum: {CHECKSUM} -->", login="mallory")
    result = check("--sha", merge_sha, "--plan", str(fresh_plan(tmp_path)))
    assert result.exit_code == 1
    assert "no successful plan comment" in result.stderr
    [comment] = apply_comments(github, pr)
    assert "no successful plan comment" in comment


def test_apply_check_refuses_direct_push(github: GitHubEnv, tmp_path: Path) -> None:
    result = check("--sha", "e" * 40, "--plan", str(fresh_plan(tmp_path)))
    assert result.exit_code == 1
    assert "not merged through a pull request" in result.stderr
    assert github.state.comments == {}


def test_apply_check_counts_only_the_pull_request_whose_merge_commit_is_the_sha(
    github: GitHubEnv, tmp_path: Path
) -> None:
    pushed = "ab" * 20
    # an earlier pull request that GitHub also associates with the pushed commit
    other = github.state.add_merged_pull("cd" * 20, commit=pushed)
    md, plan = write_plan(tmp_path, "### Plan\n")
    assert run("pr-comment", "--pr", str(other), "--markdown", str(md), "--json", str(plan)).exit_code == 0
    result = check("--sha", pushed, "--plan", str(fresh_plan(tmp_path)))
    assert result.exit_code == 1
    assert "not merged through a pull request" in result.stderr
    assert apply_comments(github, other) == []


def test_apply_check_with_checksum_given_by_hand(github: GitHubEnv, tmp_path: Path) -> None:
    plan = fresh_plan(tmp_path)
    result = check("--sha", "e" * 40, "--plan", str(plan), "--explicit", CHECKSUM)
    assert result.exit_code == 0
    assert result.stdout.strip() == CHECKSUM
    assert github.state.requests == []
    other = check("--sha", "e" * 40, "--plan", str(plan), "--explicit", OTHER_CHECKSUM)
    assert other.exit_code == 1 and "the checksum given by hand" in other.stderr
    assert github.state.requests == []
    short = check("--sha", "e" * 40, "--plan", str(plan), "--explicit", CHECKSUM[:12].upper())
    assert short.exit_code == 0, short.output  # the 12 digits `reconcile plan` suggests stand for it
    assert short.stdout.strip() == CHECKSUM
    bad = check("--sha", "e" * 40, "--plan", str(plan), "--explicit", "nope")
    assert bad.exit_code == 1 and "12 to 64 hex digits" in bad.stderr


def test_apply_result_replaces_the_refusal_on_the_pull_request(github: GitHubEnv, tmp_path: Path) -> None:
    merge_sha = "2b" * 20
    plan = fresh_plan(tmp_path, guards=[MAX_REMOVALS])
    pr = reviewed(github, tmp_path, merge_sha, plan)
    assert check("--sha", merge_sha, "--plan", str(plan)).exit_code == 1
    failed = run("apply-result", "--sha", merge_sha, "--exit-code", "1", "--checksum", CHECKSUM)
    assert failed.exit_code == 0, failed.output
    [comment] = apply_comments(github, pr)
    assert "apply failed" in comment and "exit code 1" in comment and "reconciler-backup" in comment
    applied = run("apply-result", "--sha", merge_sha, "--exit-code", "0", "--checksum", CHECKSUM)
    assert applied.exit_code == 0, applied.output
    [comment] = apply_comments(github, pr)
    assert "applied" in comment and CHECKSUM in comment and "failed" not in comment
    summary = github.summary_path.read_text(encoding="utf-8")
    assert "apply refused" in summary and "applied" in summary


def test_apply_result_never_fails_the_job_because_of_github(github: GitHubEnv) -> None:
    merge_sha = "3c" * 20
    github.state.add_merged_pull(merge_sha)
    github.state.fail_next = [500] * 20
    result = run("apply-result", "--sha", merge_sha, "--exit-code", "0")
    assert result.exit_code == 0
    assert "::warning::cannot post the apply result" in result.output
    by_hand = run("apply-result", "--sha", merge_sha, "--exit-code", "0", "--explicit")
    assert by_hand.exit_code == 0 and "job summary only" in by_hand.output


def test_failed_call_never_shows_token(github: GitHubEnv) -> None:
    result = CliRunner(env={"GITHUB_TOKEN": "wrong-token-value"}).invoke(
        github_group, ["pr-comment", "--pr", "1", "--failed"]
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.output
    assert "wrong-token-value" not in result.output and TOKEN not in result.output
