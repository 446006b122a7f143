"""Failures to reach GoodData, or replies refusing the token, say what happened and what to check."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from reconciler.gooddata import GoodDataClient, GoodDataSettings
from reconciler.model import GoodDataError
from reconciler.sandbox import Sandbox
from reconciler.sandbox.http import ServerThread
from reconciler.transport import RetryPolicy

TOKEN = "gd-token-that-must-not-leak"
QUICK = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)


def _profile_error(settings: GoodDataSettings, policy: RetryPolicy = QUICK) -> tuple[str, GoodDataClient]:
    client = GoodDataClient(settings, policy=policy)
    with pytest.raises(GoodDataError) as caught:
        client.profile()
    message = str(caught.value)
    assert TOKEN not in message
    assert "\n" not in message
    return message, client


def test_a_refused_connection_is_named_with_the_url_and_the_attempts(closed_port: int) -> None:
    settings = GoodDataSettings.from_env(
        {"GOODDATA_HOST": f"http://127.0.0.1:{closed_port}", "GOODDATA_TOKEN": TOKEN}
    )
    message, client = _profile_error(settings)
    assert message == (
        f"GET http://127.0.0.1:{closed_port}/api/v1/profile failed: connection refused (after 2 attempts); "
        "check GOODDATA_HOST"
    )
    assert client.requests == 2


def test_tls_to_a_plain_http_server_explains_the_assumed_scheme(sandbox: Sandbox) -> None:
    bare_host = sandbox.env()["GOODDATA_HOST"].removeprefix("http://")
    settings = GoodDataSettings.from_env({"GOODDATA_HOST": bare_host, "GOODDATA_TOKEN": TOKEN})
    assert settings.https_assumed
    message, client = _profile_error(settings)
    assert message == (
        f"GET https://{bare_host}/api/v1/profile failed: TLS error (wrong version number); "
        "GOODDATA_HOST has no scheme, so https was assumed; write http://... for a plain-HTTP server"
    )
    assert client.requests == 1  # a TLS failure is not retried


def test_tls_error_with_an_explicit_https_scheme_points_at_the_host(sandbox: Sandbox) -> None:
    https_host = sandbox.env()["GOODDATA_HOST"].replace("http://", "https://")
    settings = GoodDataSettings.from_env({"GOODDATA_HOST": https_host, "GOODDATA_TOKEN": TOKEN})
    assert not settings.https_assumed
    message, _client = _profile_error(settings)
    assert message == (
        f"GET {https_host}/api/v1/profile failed: TLS error (wrong version number); check GOODDATA_HOST"
    )


def _answering(status: int, title: str) -> Callable[..., Iterable[bytes]]:
    body = json.dumps({"title": title, "status": status, "detail": "Access denied"}).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(
            f"{status} {title}",
            [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


@pytest.mark.parametrize(
    ("status", "title", "hint"),
    [
        (401, "Unauthorized", "check GOODDATA_TOKEN"),
        (403, "Forbidden", "the token's user needs organization MANAGE"),
    ],
)
def test_refused_token_replies_say_what_to_check(status: int, title: str, hint: str) -> None:
    server = ServerThread(_answering(status, title), name="gooddata-refusing")
    try:
        message, client = _profile_error(GoodDataSettings(server.url, TOKEN))
    finally:
        server.stop()
    assert message == f"GET /api/v1/profile failed: {status} {title} - Access denied; {hint}"
    assert client.requests == 1
