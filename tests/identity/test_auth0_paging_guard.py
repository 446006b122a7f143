"""A server that ignores paging must not make the adapter loop forever (a throwaway local server)."""

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


class IgnoresPaging(BaseHTTPRequestHandler):
    """Answers every users request with the same first page, and every member request with the same next."""

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
        self.reply({"access_token": "local-token", "expires_in": 3600, "token_type": "Bearer"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        server: Any = self.server
        if path == "/api/v2/roles":
            self.reply({"start": 0, "limit": 100, "total": 1, "roles": [{"id": "rol_1", "name": "Analyst"}]})
        elif path == "/api/v2/users":
            self.reply({"start": 0, "limit": 100, "length": 100, "total": server.total, "users": SAME_PAGE})
        else:
            self.reply({"users": SAME_PAGE[:1], "next": "same-checkpoint"})


@pytest.fixture()
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), IgnoresPaging)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def provider_for(httpd: ThreadingHTTPServer) -> Auth0Provider:
    environ = {
        "AUTH0_DOMAIN": f"http://127.0.0.1:{httpd.server_address[1]}",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "secret",
    }
    return Auth0Provider(Auth0Settings.from_env(environ), policy=RetryPolicy(attempts=1))


def test_a_repeated_users_page_is_an_error_not_a_loop(server: ThreadingHTTPServer) -> None:
    server.total = 250  # type: ignore[attr-defined]
    with pytest.raises(IdentityFetchError, match=r"GET /api/v2/users failed: Auth0 repeated a page"):
        provider_for(server).fetch()


def test_a_repeated_checkpoint_is_an_error_not_a_loop(server: ThreadingHTTPServer) -> None:
    server.total = 100  # type: ignore[attr-defined]
    with pytest.raises(IdentityFetchError, match=r"repeated a checkpoint"):
        provider_for(server).fetch()
