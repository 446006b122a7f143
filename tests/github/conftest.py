"""Fixtures for the GitHub integration tests: the fake GitHub API and a GitHub Actions-like env."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .fake_github import FakeGitHubState, serve

REPOSITORY = "acme/access"
TOKEN = "ghs_testtoken_0123456789abcdef"


@dataclass
class GitHubEnv:
    """The running fake and the environment a workflow step would see."""

    state: FakeGitHubState
    url: str
    summary_path: Path
    env: dict[str, str]


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[GitHubEnv]:
    """A fake GitHub API on 127.0.0.1, with GITHUB_* variables pointing at it."""
    state = FakeGitHubState(repository=REPOSITORY, token=TOKEN)
    summary_path = tmp_path / "step-summary.md"
    with serve(state) as url:
        env = {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_API_URL": url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_STEP_SUMMARY": str(summary_path),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("RECONCILER_COMMENT_AUTHOR", raising=False)
        yield GitHubEnv(state=state, url=url, summary_path=summary_path, env=env)
