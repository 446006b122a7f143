"""``GitHubClient`` against the fake GitHub API: auth, retries, paging."""

from __future__ import annotations

import pytest

from reconciler.github.api import GitHubClient, GitHubError, extract_checksum

from .conftest import TOKEN, GitHubEnv


def client(github: GitHubEnv, **kwargs: object) -> GitHubClient:
    return GitHubClient.from_env(github.env, max_wait_seconds=0, **kwargs)


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


def test_issue_list_skips_pull_requests_and_pages(github: GitHubEnv) -> None:
    github.state.page_size_cap = 1
    gh = client(github)
    first = gh.create_issue("other", "unrelated", ("gooddata-drift",))
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
