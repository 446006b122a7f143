"""Failures to reach Auth0, or replies refusing the credentials, say what happened and what to check."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.model import IdentityFetchError
from reconciler.sandbox import Sandbox
from reconciler.sandbox.http import ServerThread
from reconciler.transport import RetryPolicy

SECRET = "auth0-secret-that-must-not-leak"
ISSUED_TOKEN = "issued-access-token-that-must-not-leak"
QUICK = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)


def _fetch_error(environ: dict[str, str], policy: RetryPolicy = QUICK) -> str:
    with pytest.raises(IdentityFetchError) as caught:
        Auth0Provider(Auth0Settings.from_env(environ), policy=policy).fetch()
    message = str(caught.value)
    for secret in (SECRET, ISSUED_TOKEN, environ.get("AUTH0_CLIENT_SECRET", SECRET)):
        assert secret not in message
    assert "\n" not in message
    return message


def test_a_refused_connection_is_named_with_the_url_and_the_attempts(closed_port: int) -> None:
    base_url = f"http://127.0.0.1:{closed_port}"
    environ = {"AUTH0_DOMAIN": base_url, "AUTH0_CLIENT_ID": "id", "AUTH0_CLIENT_SECRET": SECRET}
    assert _fetch_error(environ) == (
        f"POST {base_url}/oauth/token failed: connection refused (after 2 attempts); check AUTH0_DOMAIN"
    )


def test_tls_to_a_plain_http_server_explains_the_assumed_scheme(sandbox: Sandbox) -> None:
    domain = sandbox.env()["AUTH0_DOMAIN"].removeprefix("http://")
    environ = {**sandbox.env(), "AUTH0_DOMAIN": domain}
    assert _fetch_error(environ) == (
        f"POST https://{domain}/oauth/token failed: TLS error (wrong version number); "
        "AUTH0_DOMAIN has no scheme, so https was assumed; write http://... for a plain-HTTP server"
    )


def test_tls_error_with_an_explicit_https_scheme_points_at_the_domain(sandbox: Sandbox) -> None:
    https_url = sandbox.env()["AUTH0_DOMAIN"].replace("http://", "https://")
    environ = {**sandbox.env(), "AUTH0_DOMAIN": https_url}
    assert _fetch_error(environ) == (
        f"POST {https_url}/oauth/token failed: TLS error (wrong version number); check AUTH0_DOMAIN"
    )


def test_a_token_refused_for_the_audience_names_the_credentials(sandbox: Sandbox) -> None:
    environ = {**sandbox.env(), "AUTH0_AUDIENCE": "https://elsewhere.example/api/v2/"}
    message = _fetch_error(environ)
    assert message.startswith("POST /oauth/token failed: 403")
    assert message.endswith("; check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_SECRET)")


def _tenant_without_scopes(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Issues a token, then refuses every Management API call for want of a scope, as Auth0 does."""
    if environ["PATH_INFO"] == "/oauth/token":
        status = "200 OK"
        body: dict[str, Any] = {"access_token": ISSUED_TOKEN, "expires_in": 86400, "token_type": "Bearer"}
    else:
        status = "403 Forbidden"
        body = {
            "statusCode": 403,
            "error": "Forbidden",
            "message": "Insufficient scope, expected any of: read:roles",
            "errorCode": "insufficient_scope",
        }
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def test_a_management_call_refused_for_scopes_names_the_scopes() -> None:
    server = ServerThread(_tenant_without_scopes, name="auth0-without-scopes")
    try:
        environ = {"AUTH0_DOMAIN": server.url, "AUTH0_CLIENT_ID": "id", "AUTH0_CLIENT_SECRET": SECRET}
        message = _fetch_error(environ)
    finally:
        server.stop()
    assert message == (
        "GET /api/v2/roles failed: 403 Insufficient scope, expected any of: read:roles; "
        "the application needs the scopes read:users, read:roles and read:role_members"
    )
