"""A small GitHub REST client: the plan comment on a pull request and the drift issue.

Only the handful of endpoints the GitOps loop needs. The token is sent in a header and never
appears in a log line or an exception message. Transient failures (5xx, 429 and GitHub's
secondary rate limit, connection errors) are retried a bounded number of times.

A create (``POST``) is not blindly retried: when its reply is lost, GitHub may have created the
comment or issue anyway, so before trying again the client looks it up by its hidden marker and
returns it if it is there. That is why every comment and issue it creates carries a marker.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from reconciler.model import ReconcilerError
from reconciler.transport import RetryPolicy

#: Hidden marker that identifies the reconciler's plan comment on a pull request.
PLAN_MARKER = "<!-- gooddata-access-reconciler:plan -->"
#: Hidden marker that identifies the reconciler's drift issue.
DRIFT_MARKER = "<!-- gooddata-access-reconciler:drift -->"
#: Hidden marker of the comment that closes the drift issue.
DRIFT_CLOSED_MARKER = "<!-- gooddata-access-reconciler:drift-closed -->"
#: Hidden marker of the comment on a merged pull request that says how its apply went.
APPLY_MARKER = "<!-- gooddata-access-reconciler:apply -->"
#: Label carried by the drift issue.
DRIFT_LABEL = "gooddata-drift"
#: The login GitHub Actions' built-in token posts as.
DEFAULT_BOT_LOGIN = "github-actions[bot]"

_CHECKSUM_PATTERN = re.compile(r"<!--\s*plan-checksum:\s*([0-9a-f]{64})\s*-->")
_INPUTS_PATTERN = re.compile(
    r"<!--\s*plan-inputs:\s*config=([0-9a-f]{64})\s+identity=([0-9a-f]{64})\s+live=([0-9a-f]{64})\s*-->"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
_DEFAULT_API_URL = "https://api.github.com"
_PAGE_SIZE = 100
#: Hard stop on paging so that a misbehaving server cannot keep us looping.
_MAX_PAGES = 200


class GitHubError(ReconcilerError):
    """A GitHub API call failed; the message names the call and GitHub's reason, never the token."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _TransientGitHubError(GitHubError):
    """A failure worth retrying (5xx, 429, secondary rate limit), with the answer's headers
    (``Retry-After``, ``x-ratelimit-reset``) that say how long to wait."""

    def __init__(self, message: str, *, status: int | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message, status=status)
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Comment:
    """An issue or pull-request comment."""

    id: int
    body: str
    author: str


@dataclass(frozen=True)
class Issue:
    """An issue as far as the drift loop cares."""

    number: int
    title: str
    body: str
    state: str
    author: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class PullRequest:
    """A pull request associated with a commit."""

    number: int
    state: str
    merged: bool
    merge_commit_sha: str | None


@dataclass(frozen=True)
class PlanInputs:
    """Checksums of what a plan was computed from: the desired-state file, the identity
    provider's users and roles, and the live GoodData state (``docs/plan-json.md``)."""

    config: str
    identity: str
    live: str

    @classmethod
    def of_plan(cls, plan: Mapping[str, Any] | None) -> PlanInputs | None:
        """The inputs recorded in a JSON plan, or None when any checksum is missing."""
        if not plan:
            return None
        metadata = plan.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        values = (
            metadata.get("config_checksum"),
            metadata.get("identity_checksum"),
            plan.get("live_checksum"),
        )
        if not all(isinstance(value, str) and _SHA256.fullmatch(value) for value in values):
            return None
        config, identity, live = (str(value) for value in values)
        return cls(config=config, identity=identity, live=live)

    def marker(self) -> str:
        """The hidden marker that records these inputs in a comment."""
        return f"<!-- plan-inputs: config={self.config} identity={self.identity} live={self.live} -->"

    def changed_since(self, reviewed: PlanInputs) -> list[str]:
        """What differs from ``reviewed``, in words, desired state first."""
        changed = []
        if self.config != reviewed.config:
            changed.append("the desired state (the desired-state file on the merged branch)")
        if self.identity != reviewed.identity:
            changed.append("the identity provider (its users or their roles)")
        if self.live != reviewed.live:
            changed.append("live GoodData (access was changed there, or another apply ran)")
        return changed


def extract_inputs(body: str) -> PlanInputs | None:
    """The plan inputs recorded in a comment body, or None."""
    match = _INPUTS_PATTERN.search(body)
    return PlanInputs(*match.groups()) if match else None


def checksum_marker(checksum: str) -> str:
    """The hidden marker that records the reviewed plan's checksum in a comment."""
    return f"<!-- plan-checksum: {checksum} -->"


def extract_checksum(body: str) -> str | None:
    """The plan checksum recorded in a comment body, or None."""
    match = _CHECKSUM_PATTERN.search(body)
    return match.group(1) if match else None


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, _TransientGitHubError | requests.ConnectionError | requests.Timeout)


def _headers_of(error: BaseException) -> Mapping[str, str] | None:
    return error.headers if isinstance(error, _TransientGitHubError) else None


def _gave_up(error: BaseException, attempts: int) -> GitHubError:
    if isinstance(error, GitHubError):
        return GitHubError(f"{error} (gave up after {attempts} attempts)", status=error.status)
    return GitHubError(f"cannot reach GitHub: {type(error).__name__} (gave up after {attempts} attempts)")


_T = TypeVar("_T")


class GitHubClient:
    """Calls the GitHub REST API for one repository.

    ``bot_login`` restricts which comments and issues count as ours: only those written by that
    login (``"*"`` accepts any author). This keeps a reviewer from planting a plan checksum.
    """

    def __init__(
        self,
        *,
        token: str,
        repository: str,
        api_url: str = _DEFAULT_API_URL,
        bot_login: str = DEFAULT_BOT_LOGIN,
        timeout: float = 30.0,
        max_attempts: int = 5,
        max_wait_seconds: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        if not token:
            raise GitHubError("GITHUB_TOKEN is not set")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise GitHubError(f"GITHUB_REPOSITORY must look like owner/name, got {repository!r}")
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login
        self.timeout = timeout
        # the same policy as the other adapters: GitHub's secondary rate limit sends Retry-After
        self._policy = RetryPolicy(
            attempts=max_attempts, base_delay=1.0, max_delay=max_wait_seconds, timeout=timeout
        )
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "gooddata-access-reconciler",
            }
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> GitHubClient:
        """Build a client from ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY``, ``GITHUB_API_URL`` and
        ``RECONCILER_COMMENT_AUTHOR`` (the bot login, default ``github-actions[bot]``)."""
        env = os.environ if environ is None else environ
        return cls(
            token=env.get("GITHUB_TOKEN", ""),
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=env.get("GITHUB_API_URL") or _DEFAULT_API_URL,
            bot_login=env.get("RECONCILER_COMMENT_AUTHOR") or DEFAULT_BOT_LOGIN,
            **kwargs,
        )

    # ---------------------------------------------------------------------------------------
    # transport
    # ---------------------------------------------------------------------------------------

    def _request(
        self, method: str, url: str, *, json_body: Any = None, params: Any = None
    ) -> requests.Response:
        attempts = 0
        try:
            for attempt in self._policy.retrying(_is_transient, _headers_of, label=f"GitHub {method}"):
                with attempt:
                    attempts += 1
                    return self._send_once(method, url, json_body, params)
        except (_TransientGitHubError, requests.ConnectionError, requests.Timeout) as error:
            raise _gave_up(error, attempts) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _send_once(self, method: str, url: str, json_body: Any, params: Any) -> requests.Response:
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}{url}"
        response = self._session.request(method, url, json=json_body, params=params, timeout=self.timeout)
        if response.status_code < 400:
            return response
        path = url.removeprefix(self.api_url).split("?")[0]
        reason = _error_reason(response)
        message = f"GitHub {method} {path} failed: HTTP {response.status_code}: {reason}"
        if _is_retryable_response(response, reason):
            raise _TransientGitHubError(message, status=response.status_code, headers=response.headers)
        raise GitHubError(message, status=response.status_code)

    def _create(
        self,
        path: str,
        payload: Mapping[str, Any],
        parse: Callable[[Mapping[str, Any]], _T],
        find_again: Callable[[], _T | None],
    ) -> _T:
        """POST ``payload``; after a transient failure, return what ``find_again`` finds (the
        first request did create it, only its reply was lost) instead of creating a duplicate."""
        error: BaseException | None = None
        for attempt in range(1, self._policy.attempts + 1):
            if error is not None:
                time.sleep(self._policy.wait_seconds(attempt - 1, _headers_of(error)))
                found = find_again()
                if found is not None:
                    return found
            try:
                return parse(self._send_once("POST", path, payload, None).json())
            except (_TransientGitHubError, requests.ConnectionError, requests.Timeout) as caught:
                error = caught
        assert error is not None
        raise _gave_up(error, self._policy.attempts)

    def _paged(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        url: str | None = path
        query: Mapping[str, Any] | None = {**params, "per_page": _PAGE_SIZE}
        for _ in range(_MAX_PAGES):
            if url is None:
                return
            response = self._request("GET", url, params=query)
            yield from response.json()
            match = _NEXT_LINK.search(response.headers.get("Link", ""))
            url = match.group(1) if match else None
            query = None  # the next link carries its own query string
        raise GitHubError(f"GitHub GET {path}: more than {_MAX_PAGES} pages, giving up")

    def _is_ours(self, author: str) -> bool:
        return self.bot_login == "*" or author == self.bot_login

    # ---------------------------------------------------------------------------------------
    # pull-request comments
    # ---------------------------------------------------------------------------------------

    def list_comments(self, issue_number: int) -> Iterator[Comment]:
        """Every comment on an issue or pull request, oldest first, across all pages."""
        for item in self._paged(f"/repos/{self.repository}/issues/{issue_number}/comments", {}):
            yield _comment(item)

    def find_comment(self, issue_number: int, marker: str = PLAN_MARKER) -> Comment | None:
        """Our comment carrying ``marker`` on that pull request, or None."""
        for comment in self.list_comments(issue_number):
            if marker in comment.body and self._is_ours(comment.author):
                return comment
        return None

    def create_comment(self, issue_number: int, body: str, marker: str) -> Comment:
        """Post a new comment carrying ``marker`` (prepended if the body lacks it).

        When a reply is lost, the comment is looked up by ``marker`` before posting again, so a
        retry never leaves two: use a marker that no other comment of ours on that issue carries.
        """
        if marker not in body:
            body = f"{marker}\n{body}"
        return self._create(
            f"/repos/{self.repository}/issues/{issue_number}/comments",
            {"body": body},
            _comment,
            lambda: self.find_comment(issue_number, marker),
        )

    def update_comment(self, comment_id: int, body: str) -> Comment:
        """Replace a comment's body."""
        item = self._request(
            "PATCH", f"/repos/{self.repository}/issues/comments/{comment_id}", json_body={"body": body}
        ).json()
        return _comment(item)

    def upsert_comment(self, issue_number: int, body: str, marker: str = PLAN_MARKER) -> tuple[Comment, bool]:
        """Update our marked comment in place, or create it; returns (comment, created)."""
        if marker not in body:
            body = f"{marker}\n{body}"
        existing = self.find_comment(issue_number, marker)
        if existing is None:
            return self.create_comment(issue_number, body, marker), True
        return self.update_comment(existing.id, body), False

    # ---------------------------------------------------------------------------------------
    # drift issue
    # ---------------------------------------------------------------------------------------

    def find_open_issue(self, marker: str = DRIFT_MARKER, label: str = DRIFT_LABEL) -> Issue | None:
        """Our oldest open issue whose body carries ``marker``, or None (pull requests skipped).

        The marker decides, not the label: issues with ``label`` are searched first (one short
        list), then every open issue, so an issue whose label someone removed is still found.
        """
        base = {"state": "open", "sort": "created", "direction": "asc"}
        for params in ({**base, "labels": label}, base):
            for item in self._paged(f"/repos/{self.repository}/issues", params):
                if "pull_request" in item:
                    continue
                issue = _issue(item)
                if marker in issue.body and self._is_ours(issue.author):
                    return issue
        return None

    def create_issue(
        self, title: str, body: str, labels: tuple[str, ...] = (DRIFT_LABEL,), marker: str = DRIFT_MARKER
    ) -> Issue:
        """Open an issue carrying ``marker`` (prepended if the body lacks it).

        When a reply is lost, the open issue with ``marker`` is looked up before posting again.
        """
        if marker not in body:
            body = f"{marker}\n{body}"
        return self._create(
            f"/repos/{self.repository}/issues",
            {"title": title, "body": body, "labels": list(labels)},
            _issue,
            lambda: self.find_open_issue(marker, labels[0] if labels else DRIFT_LABEL),
        )

    def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        state_reason: str | None = None,
    ) -> Issue:
        """Change an issue's title, body or state (``open``/``closed``)."""
        changes = {"title": title, "body": body, "state": state, "state_reason": state_reason}
        payload = {key: value for key, value in changes.items() if value is not None}
        item = self._request("PATCH", f"/repos/{self.repository}/issues/{number}", json_body=payload).json()
        return _issue(item)

    # ---------------------------------------------------------------------------------------
    # commits
    # ---------------------------------------------------------------------------------------

    def pulls_for_commit(self, sha: str) -> list[PullRequest]:
        """Pull requests associated with a commit (for a merge commit: the one it merged)."""
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", sha):
            raise GitHubError(f"not a commit SHA: {sha!r}")
        pulls = []
        for item in self._paged(f"/repos/{self.repository}/commits/{sha}/pulls", {}):
            pulls.append(
                PullRequest(
                    number=int(item["number"]),
                    state=str(item.get("state", "")),
                    merged=bool(item.get("merged_at")),
                    merge_commit_sha=item.get("merge_commit_sha"),
                )
            )
        return pulls


def _login(item: Mapping[str, Any]) -> str:
    user = item.get("user") or {}
    return str(user.get("login", ""))


def _comment(item: Mapping[str, Any]) -> Comment:
    return Comment(id=int(item["id"]), body=item.get("body") or "", author=_login(item))


def _issue(item: Mapping[str, Any]) -> Issue:
    labels = tuple(
        str(label["name"] if isinstance(label, Mapping) else label) for label in item.get("labels") or ()
    )
    return Issue(
        number=int(item["number"]),
        title=str(item.get("title") or ""),
        body=item.get("body") or "",
        state=str(item.get("state") or ""),
        author=_login(item),
        labels=labels,
    )


def _error_reason(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.reason or "no details"
    if isinstance(payload, Mapping):
        return str(payload.get("message") or response.reason or "no details")[:300]
    return response.reason or "no details"


def _is_retryable_response(response: requests.Response, reason: str) -> bool:
    if response.status_code >= 500 or response.status_code == 429:
        return True
    if response.status_code == 403:
        return "rate limit" in reason.lower() or response.headers.get("x-ratelimit-remaining") == "0"
    return False
