"""Edge cases a well-behaved sandbox never shows, against a tiny local server: a server that ignores
paging must not make the adapter loop forever, and a short-lived token is fetched again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.model import IdentityFetchError
from reconciler.transport import RetryPolicy

SAME_PAGE = [{"user_id": f"auth0|{number}", "email": f"u{number}@example.com"} for number in range(100)]


class LocalServer(ThreadingHTTPServer):
    """Settings the handler reads: the users total, the members checkpoint, the token lifetime."""

    total = 100
    next_checkpoint: str | None = None
    expires_in = 3600
    token_requests = 0
    api_requests = 0


class IgnoresPaging(BaseHTTPRequestHandler):
    """Answers every users request with the same first page, and every member page with the same next."""

    server: LocalServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.token_requests += 1
        token = f"local-token-{self.server.token_requests}"
        self.reply({"access_token": token, "expires_in": self.server.expires_in, "token_type": "Bearer"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        server = self.server
        server.api_requests += 1
        if path == "/api/v2/roles":
            self.reply({"start": 0, "limit": 100, "total": 1, "roles": [{"id": "rol_1", "name": "Analyst"}]})
        elif path == "/api/v2/users":
            self.reply({"start": 0, "limit": 100, "length": 100, "total": server.total, "users": SAME_PAGE})
        else:
            page: dict[str, Any] = {"users": SAME_PAGE[:1]}
            if server.next_checkpoint:
                page["next"] = server.next_checkpoint
            self.reply(page)


@pytest.fixture()
def server() -> Iterator[LocalServer]:
    httpd = LocalServer(("127.0.0.1", 0), IgnoresPaging)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def provider_for(httpd: LocalServer) -> Auth0Provider:
    environ = {
        "AUTH0_DOMAIN": f"http://127.0.0.1:{httpd.server_address[1]}",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "secret",
    }
    return Auth0Provider(Auth0Settings.from_env(environ), policy=RetryPolicy(attempts=1))


def test_a_repeated_users_page_is_an_error_not_a_loop(server: LocalServer) -> None:
    server.total = 250
    with pytest.raises(IdentityFetchError, match=r"GET /api/v2/users failed: Auth0 repeated a page"):
        provider_for(server).fetch()


def test_a_repeated_checkpoint_is_an_error_not_a_loop(server: LocalServer) -> None:
    server.next_checkpoint = "same-checkpoint"
    with pytest.raises(IdentityFetchError, match=r"repeated a checkpoint"):
        provider_for(server).fetch()


def test_the_token_is_cached_for_its_lifetime(server: LocalServer) -> None:
    snapshot = provider_for(server).fetch()
    assert len(snapshot.users) == 100
    assert snapshot.users[0].roles == frozenset({"Analyst"})
    assert server.token_requests == 1
    assert server.api_requests == 3  # roles, users, one member page
    assert snapshot.requests == 4


def test_an_expired_token_is_fetched_again(server: LocalServer) -> None:
    server.expires_in = 0
    snapshot = provider_for(server).fetch()
    assert len(snapshot.users) == 100
    assert server.token_requests == server.api_requests == 3
    assert snapshot.requests == 6
