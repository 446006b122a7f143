"""``GitHubClient`` against the fake GitHub API: auth, retries, paging."""

from __future__ import annotations

import time

import pytest

from reconciler.github.api import (
    DRIFT_LABEL,
    DRIFT_MARKER,
    PLAN_MARKER,
    GitHubClient,
    GitHubError,
    PlanInputs,
    extract_checksum,
    extract_inputs,
)

from .conftest import TOKEN, GitHubEnv


def client(github: GitHubEnv, **kwargs: object) -> GitHubClient:
    return GitHubClient.from_env(github.env, **{"max_wait_seconds": 0, **kwargs})


def test_requests_without_the_token_are_rejected(github: GitHubEnv) -> None:
    anonymous = GitHubClient(token="not-the-token", repository="acme/access", api_url=github.url)
    with pytest.raises(GitHubError) as caught:
        anonymous.find_comment(1)
    assert caught.value.status == 401
    assert "not-the-token" not in str(caught.value) and TOKEN not in str(caught.value)


def test_missing_token_or_repository_is_reported() -> None:
    with pytest.raises(GitHubError, match="GITHUB_TOKEN is not set"):
        GitHubClient.from_env({"GITHUB_REPOSITORY": "acme/access"})
    with pytest.raises(GitHubError, match="owner/name"):
        GitHubClient.from_env({"GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "nope"})


def test_server_errors_are_retried(github: GitHubEnv) -> None:
    github.state.fail_next = [502, 503]
    _comment, created = client(github).upsert_comment(4, "hello")
    assert created
    assert github.state.comments[4][0]["body"].endswith("hello")
    assert sum(1 for method, _ in github.state.requests if method == "GET") == 3


def test_a_rate_limit_is_waited_out_as_github_asks(github: GitHubEnv) -> None:
    github.state.fail_next = [429]
    github.state.fail_headers = {"Retry-After": "1"}
    started = time.perf_counter()
    assert client(github, max_wait_seconds=5).find_comment(4) is None
    assert time.perf_counter() - started >= 0.8  # GitHub's Retry-After, not the backoff's first 0-1 s
    assert len(github.state.requests) == 2


def test_retries_are_bounded(github: GitHubEnv) -> None:
    github.state.fail_next = [500] * 10
    with pytest.raises(GitHubError, match=r"HTTP 500.*gave up after 3 attempts"):
        client(github, max_attempts=3).find_comment(4)
    assert len(github.state.requests) == 3


def test_client_errors_are_not_retried(github: GitHubEnv) -> None:
    github.state.fail_next = [422]
    with pytest.raises(GitHubError, match="HTTP 422"):
        client(github).create_issue("t", "b")
    assert len(github.state.requests) == 1


def posts(github: GitHubEnv) -> int:
    return sum(1 for method, _ in github.state.requests if method == "POST")


def test_a_create_whose_reply_was_lost_is_found_again_not_duplicated(github: GitHubEnv) -> None:
    gh = client(github)
    github.state.lose_reply_next = [502]  # GitHub created the comment, the reply never arrived
    comment = gh.create_comment(12, "the plan", PLAN_MARKER)
    assert [c["id"] for c in github.state.comments[12]] == [comment.id]
    assert posts(github) == 1  # looked up by its marker instead of posted again

    github.state.lose_reply_next = [504]
    issue = gh.create_issue("drift", "the drift")
    assert [i["number"] for i in github.state.issues.values()] == [issue.number]
    assert DRIFT_MARKER in issue.body
    assert posts(github) == 2


def test_a_create_that_failed_before_github_did_it_is_posted_again_once(github: GitHubEnv) -> None:
    gh = client(github)
    github.state.fail_next = [503]  # nothing was created
    comment = gh.create_comment(12, "the plan", PLAN_MARKER)
    assert [c["id"] for c in github.state.comments[12]] == [comment.id]
    assert posts(github) == 2
    assert comment.body.startswith(PLAN_MARKER)


def test_a_create_is_not_posted_again_when_it_cannot_be_looked_up(github: GitHubEnv) -> None:
    github.state.fail_next = [500] * 20
    with pytest.raises(GitHubError, match=r"HTTP 500.*gave up after 3 attempts"):
        client(github, max_attempts=3).create_issue("t", "b")
    assert posts(github) == 1  # the look-up failed too: posting blindly could make a duplicate
    assert len(github.state.requests) == 1 + 3
    assert github.state.issues == {}


def test_a_create_gives_up_after_the_attempts(github: GitHubEnv) -> None:
    github.state.fail_next_post = [500] * 5  # every POST fails; the look-ups in between work
    with pytest.raises(GitHubError, match=r"HTTP 500.*gave up after 3 attempts"):
        client(github, max_attempts=3).create_comment(3, "b", PLAN_MARKER)
    assert posts(github) == 3
    assert sum(1 for method, _ in github.state.requests if method == "GET") == 2
    assert github.state.comments.get(3, []) == []


def test_drift_issue_is_found_by_its_marker_when_its_label_was_removed(github: GitHubEnv) -> None:
    gh = client(github)
    gh.create_issue("unrelated", "no marker here", ("bug",), marker="<!-- other -->")
    ours = gh.create_issue("drift", "body")
    github.state.issues[ours.number]["labels"] = []  # someone took the label off
    found = gh.find_open_issue(DRIFT_MARKER, DRIFT_LABEL)
    assert found is not None and found.number == ours.number
    assert found.labels == ()


def test_issue_list_skips_pull_requests_and_pages(github: GitHubEnv) -> None:
    github.state.page_size_cap = 1
    gh = client(github)
    first = gh.create_issue("other", "unrelated", ("gooddata-drift",), marker="<!-- other -->")
    ours = gh.create_issue("drift", "<!-- gooddata-access-reconciler:drift -->\nbody")
    found = gh.find_open_issue()
    assert found is not None and found.number == ours.number != first.number
    gh.update_issue(ours.number, state="closed")
    assert gh.find_open_issue() is None


def test_pulls_for_commit_rejects_non_sha(github: GitHubEnv) -> None:
    with pytest.raises(GitHubError, match="not a commit SHA"):
        client(github).pulls_for_commit("main; rm -rf /")


def test_extract_checksum() -> None:
    assert extract_checksum("x <!-- plan-checksum: " + "0" * 64 + " --> y") == "0" * 64
    assert extract_checksum("<!-- plan-checksum: short -->") is None


def test_plan_inputs_round_trip_and_name_what_changed() -> None:
    plan = {
        "live_checksum": "3" * 64,
        "metadata": {"config_checksum": "1" * 64, "identity_checksum": "2" * 64},
    }
    inputs = PlanInputs.of_plan(plan)
    assert inputs == PlanInputs("1" * 64, "2" * 64, "3" * 64)
    assert extract_inputs(f"text {inputs.marker()} text") == inputs
    assert inputs.changed_since(inputs) == []
    changed = PlanInputs("1" * 64, "9" * 64, "9" * 64).changed_since(inputs)
    assert [text.split(" (")[0] for text in changed] == ["the identity provider", "live GoodData"]
    assert PlanInputs.of_plan({"live_checksum": "3" * 64}) is None
    assert extract_inputs("<!-- plan-inputs: config=1 identity=2 live=3 -->") is None
