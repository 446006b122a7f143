"""A stand-in for the GitHub REST API on 127.0.0.1, with state tests can inspect.

Implements what ``reconciler.github.api`` calls: issue comments (list with Link-header paging,
create, update), issues (list filtered by state and label, create, update), and the pull
requests of a commit. Every request must carry the expected bearer token. Every request body
received is kept (``received``) so that tests can scan it for secrets. ``fail_next`` answers
an error without doing anything (``fail_next_post``: to POSTs only); ``lose_reply_next`` does
the work and then answers an error (a reply lost on the way back).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BOT_LOGIN = "github-actions[bot]"


@dataclass
class FakeGitHubState:
    """Everything the fake server holds; tests read and seed it directly."""

    repository: str
    token: str
    page_size_cap: int = 100
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue number -> comments
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # every request body, as sent
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    fail_headers: dict[str, str] = field(default_factory=dict)  # headers of those answers (Retry-After)
    lose_reply_next: list[int] = field(default_factory=list)  # do the next requests, then answer these
    fail_next_post: list[int] = field(default_factory=list)  # like fail_next, for POST requests only
    next_id: int = 1000
    next_number: int = 1

    def new_id(self) -> int:
        """A fresh comment id."""
        self.next_id += 1
        return self.next_id

    def new_number(self) -> int:
        """A fresh issue/pull-request number (they share one sequence, as on GitHub)."""
        number = self.next_number
        self.next_number += 1
        return number

    def add_comment(self, issue_number: int, body: str, login: str = BOT_LOGIN) -> dict[str, Any]:
        """Seed a comment written by ``login``."""
        comment = {"id": self.new_id(), "body": body, "user": {"login": login}}
        self.comments.setdefault(issue_number, []).append(comment)
        return comment

    def add_merged_pull(self, merge_sha: str, number: int | None = None, *, commit: str | None = None) -> int:
        """Seed a pull request merged by ``merge_sha``, listed among the pull requests of
        ``commit`` (default: the merge commit itself); returns its number."""
        number = number or self.new_number()
        self.commit_pulls.setdefault(commit or merge_sha, []).append(
            {
                "number": number,
                "state": "closed",
                "merged_at": "2026-01-01T00:00:00Z",
                "merge_commit_sha": merge_sha,
            }
        )
        return number

    def all_comments(self) -> list[dict[str, Any]]:
        """Every comment on every issue and pull request."""
        return [comment for comments in self.comments.values() for comment in comments]

    def bodies(self) -> list[str]:
        """Every body the fake holds or received: comments, issues and raw request bodies."""
        held = [str(c["body"]) for c in self.all_comments()]
        held += [f"{issue['title']}\n{issue['body']}" for issue in self.issues.values()]
        return held + self.received

    def issues_with_label(self, label: str) -> list[dict[str, Any]]:
        """Issues (any state) that carry ``label``."""
        return [issue for issue in self.issues.values() if label in [lab["name"] for lab in issue["labels"]]]


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json", headers=headers)


class FakeGitHub:
    """The WSGI application; see ``serve`` to run it."""

    def __init__(self, state: FakeGitHubState) -> None:
        self.state = state
        self.base_url = ""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        state = self.state
        state.requests.append((request.method, request.full_path.rstrip("?")))
        if data := request.get_data(as_text=True):
            state.received.append(data)
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            return _json({"message": "Bad credentials"}, 401)
        if state.fail_next:
            return _json({"message": "Server Error"}, state.fail_next.pop(0), headers=state.fail_headers)
        if state.fail_next_post and request.method == "POST":
            return _json({"message": "Server Error"}, state.fail_next_post.pop(0))
        response = self.route(request)
        if state.lose_reply_next and response.status_code < 400:
            return _json({"message": "Bad Gateway"}, state.lose_reply_next.pop(0))
        return response

    def route(self, request: Request) -> Response:
        """Do what the request asks."""
        state = self.state
        prefix = f"/repos/{state.repository}/"
        if not request.path.startswith(prefix):
            return _json({"message": "Not Found"}, 404)
        parts = request.path[len(prefix) :].strip("/").split("/")
        body = request.get_json(silent=True) or {}
        match request.method, parts:
            case "GET", ["issues", number, "comments"]:
                return self._page(request, state.comments.get(int(number), []))
            case "POST", ["issues", number, "comments"]:
                return _json(state.add_comment(int(number), str(body["body"])), 201)
            case "PATCH", ["issues", "comments", comment_id]:
                return self._update_comment(int(comment_id), str(body["body"]))
            case "GET", ["issues"]:
                return self._list_issues(request)
            case "POST", ["issues"]:
                return self._create_issue(body)
            case "PATCH", ["issues", number]:
                return self._update_issue(int(number), body)
            case "GET", ["commits", sha, "pulls"]:
                return self._page(request, state.commit_pulls.get(sha, []))
        return _json({"message": "Not Found"}, 404)

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = min(int(request.args.get("per_page", 30)), self.state.page_size_cap)
        page = int(request.args.get("page", 1))
        start = (page - 1) * per_page
        headers = {}
        if start + per_page < len(items):
            query = {**request.args.to_dict(), "page": page + 1, "per_page": per_page}
            headers["Link"] = f'<{request.host_url.rstrip("/")}{request.path}?{urlencode(query)}>; rel="next"'
        return _json(items[start : start + per_page], headers=headers)

    def _update_comment(self, comment_id: int, text: str) -> Response:
        for comments in self.state.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    if comment["user"]["login"] != BOT_LOGIN:
                        return _json({"message": "Resource not accessible by integration"}, 403)
                    comment["body"] = text
                    return _json(comment)
        return _json({"message": "Not Found"}, 404)

    def _list_issues(self, request: Request) -> Response:
        wanted_state = request.args.get("state", "open")
        labels = [label for label in request.args.get("labels", "").split(",") if label]
        matching = [
            issue
            for issue in sorted(self.state.issues.values(), key=lambda item: item["number"])
            if (wanted_state == "all" or issue["state"] == wanted_state)
            and all(label in [lab["name"] for lab in issue["labels"]] for label in labels)
        ]
        return self._page(request, matching)

    def _create_issue(self, body: dict[str, Any]) -> Response:
        number = self.state.new_number()
        issue = {
            "number": number,
            "title": body["title"],
            "body": body.get("body", ""),
            "state": "open",
            "state_reason": None,
            "labels": [{"name": name} for name in body.get("labels", [])],
            "user": {"login": BOT_LOGIN},
        }
        self.state.issues[number] = issue
        return _json(issue, 201)

    def _update_issue(self, number: int, body: dict[str, Any]) -> Response:
        issue = self.state.issues.get(number)
        if issue is None:
            return _json({"message": "Not Found"}, 404)
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        return _json(issue)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are recorded in the state; no access log on stderr."""


@contextmanager
def serve(state: FakeGitHubState) -> Iterator[str]:
    """Run the fake on a free port of 127.0.0.1; yields its base URL."""
    app = FakeGitHub(state)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        app.base_url = f"http://127.0.0.1:{server.server_port}"
        yield app.base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)
