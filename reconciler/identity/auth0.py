"""Auth0 adapter: reads every user and the names of the roles each one holds.

It talks to Auth0 only through auth0-python: ``GetToken`` for the client-credentials token and
the ``Auth0`` management client for roles, users, role members and the user-export job. The
export file is a plain GET of the URL the job returned (the SDK has no download helper).

The read is all or nothing: a count that does not match Auth0's own total, a role member
that is not among the users, or any request that still fails after retries raises
``IdentityFetchError`` rather than returning a partial snapshot.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx
import requests
import urllib3
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError
from auth0.management.types import CreateExportUsersFields

from reconciler.environment import Variable, checked_url, required_values
from reconciler.model import IdentityFetchError, IdentitySnapshot, IdentityUser
from reconciler.transport import RetryPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Profile fields read for each user; everything else stays in Auth0.
USER_FIELDS = ("user_id", "email", "given_name", "family_name", "name", "blocked")
#: Auth0 lets a search page through the first 1000 users only; beyond that, the export job.
PAGING_LIMIT = 1000
_MAX_PAGE_SIZE = 100
_RETRYABLE_STATUS = frozenset({408, 429})
_TOKEN_REFRESH_MARGIN = 60.0


@dataclass(frozen=True)
class Auth0Settings:
    """Where the tenant is and the machine-to-machine credentials to read it.

    ``https_assumed`` is true when ``AUTH0_DOMAIN`` had no scheme and https was chosen for it, so that
    a TLS failure can say so.
    """

    VARIABLES: ClassVar[tuple[Variable, ...]] = (
        ("AUTH0_DOMAIN",),
        ("AUTH0_CLIENT_ID",),
        ("AUTH0_CLIENT_SECRET", "AUTH0_SECRET"),
    )

    base_url: str  # scheme://host[:port], no trailing slash
    client_id: str
    client_secret: str = field(repr=False)
    audience: str
    https_assumed: bool = False

    @property
    def domain(self) -> str:
        """Host (and port) of the tenant, as ``GetToken`` wants it."""
        return urlsplit(self.base_url).netloc

    @property
    def protocol(self) -> str:
        """``https`` for a real tenant, ``http`` for a local sandbox."""
        return urlsplit(self.base_url).scheme

    @property
    def management_url(self) -> str:
        """Base URL of the Management API."""
        return f"{self.base_url}/api/v2"

    def __repr__(self) -> str:
        return (
            f"Auth0Settings(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"client_secret='***', audience={self.audience!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Auth0Settings:
        """Read ``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET`` (or ``AUTH0_SECRET``)
        and the optional ``AUTH0_AUDIENCE``.

        ``AUTH0_DOMAIN`` is a bare domain (``acme.eu.auth0.com``, reached over https) or a URL.
        """
        values = required_values(environ, cls.VARIABLES)
        url, https_assumed = checked_url("AUTH0_DOMAIN", values["AUTH0_DOMAIN"], what="a domain name")
        parts = urlsplit(url)
        base_url = f"{parts.scheme}://{parts.netloc}"
        client_id, client_secret = values["AUTH0_CLIENT_ID"], values["AUTH0_CLIENT_SECRET"]
        audience = environ.get("AUTH0_AUDIENCE", "").strip() or f"{base_url}/api/v2/"
        return cls(
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            audience=audience,
            https_assumed=https_assumed,
        )


class _RequestCounter:
    """Counts HTTP requests put on the wire (thread-safe; the SDK may be used from threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, _request: object = None) -> None:
        with self._lock:
            self.count += 1


def _status_of(error: BaseException) -> int | None:
    if isinstance(error, ApiError):
        return error.status_code
    if isinstance(error, Auth0Error):
        return error.status_code
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    return None


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError | requests.ConnectionError | requests.Timeout):
        # A TLS failure (wrong scheme, untrusted certificate) fails the same way every time.
        failure = _connection_failure(error)
        return failure is None or failure[0] != "tls"
    status = _status_of(error)
    return status is not None and (status >= 500 or status in _RETRYABLE_STATUS)


def _headers_of(error: BaseException) -> Mapping[str, Any] | None:
    if isinstance(error, ApiError | Auth0Error):
        return error.headers
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.headers
    return None


class _TokenSource:
    """Fetches a client-credentials token once and hands it out until shortly before it expires."""

    def __init__(self, settings: Auth0Settings, policy: RetryPolicy, counter: _RequestCounter) -> None:
        self._settings = settings
        self._policy = policy
        self._counter = counter
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._client = GetToken(
            settings.domain,
            settings.client_id,
            client_secret=settings.client_secret,
            protocol=settings.protocol,
            timeout=policy.timeout,
        )

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message."""
        return tuple(value for value in (self._settings.client_secret, self._token) if value)

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._refresh()
            assert self._token is not None
            return self._token

    def _request_once(self) -> Any:
        self._counter.add()
        return self._client.client_credentials(self._settings.audience)

    def _refresh(self) -> None:
        reply: Any = None
        attempts = 0
        try:
            for attempt in self._policy.retrying(_is_retryable, _headers_of, label="POST /oauth/token"):
                with attempt:
                    attempts += 1
                    reply = self._request_once()
        except (Auth0Error, requests.RequestException) as error:
            # Raised as IdentityFetchError so that the caller's own retry loop does not retry it again.
            message = _failure_message("POST /oauth/token", error, attempts, self._settings, self._policy)
            raise IdentityFetchError(_scrub(message, self.secrets())) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("access_token"), str):
            raise IdentityFetchError("POST /oauth/token failed: the reply holds no access_token")
        lifetime = reply.get("expires_in")
        expires_in = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        margin = min(_TOKEN_REFRESH_MARGIN, expires_in / 10)
        self._token = reply["access_token"]
        self._expires_at = time.monotonic() + expires_in - margin


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps: causes, contexts, urllib3's ``reason`` and wrapped arguments."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped: list[object] = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped.extend(current.args)
        pending.extend(item for item in wrapped if isinstance(item, BaseException))


def _connection_failure(error: BaseException) -> tuple[str, str] | None:
    """The kind (``tls``, ``dns``, ``refused``, ``timeout``, ``other``) and a description of a failure to
    reach the server, or ``None`` when the server did answer.

    The whole chain is searched, since each library wraps the socket error its own way; urllib3's
    ``NewConnectionError`` subclasses its ``TimeoutError``, so a refusal is looked for before a timeout.
    """
    if not isinstance(error, httpx.TransportError | requests.ConnectionError | requests.Timeout):
        return None
    chain = list(_exception_chain(error))
    for item in chain:
        if isinstance(item, ssl.SSLError):
            reason = item.reason if isinstance(item.reason, str) and item.reason else "handshake failed"
            return "tls", f"TLS error ({reason.replace('_', ' ').lower()})"
    if any(isinstance(item, requests.exceptions.SSLError | urllib3.exceptions.SSLError) for item in chain):
        return "tls", "TLS error (handshake failed)"
    if any(isinstance(item, socket.gaierror | urllib3.exceptions.NameResolutionError) for item in chain):
        return "dns", "host name not found"
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "refused", "connection refused"
    if isinstance(error, httpx.ConnectTimeout | requests.ConnectTimeout):
        return "timeout", "timed out connecting"
    if isinstance(error, httpx.TimeoutException | requests.Timeout):
        return "timeout", "timed out waiting for the reply"
    innermost = chain[-1] if len(chain) > 1 else error
    return "other", f"connection failed ({type(innermost).__name__})"


_TOKEN_REFUSED_HINT = "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_SECRET)"
_SCOPES_HINT = "the application needs the scopes read:users, read:roles and read:role_members"


def _failure_message(
    label: str, error: BaseException, attempts: int, settings: Auth0Settings, policy: RetryPolicy
) -> str:
    """One line: the request, what happened and what to check; never a secret, a token or a query string.

    A reply from Auth0 names the path only; a failure to reach the tenant names the whole URL, since
    the domain is then the likely culprit.
    """
    failure = _connection_failure(error)
    method, _, target = label.partition(" ")
    if failure is None:
        message = f"{label} failed: {_describe_error(error)}"
        status = _status_of(error)
        if target == "/oauth/token" and status in (401, 403):
            return f"{message}; {_TOKEN_REFUSED_HINT}"
        if target.startswith("/api/v2/") and status == 403:
            return f"{message}; {_SCOPES_HINT}"
        return message
    kind, what = failure
    if kind == "timeout" and what.endswith("reply"):
        what = f"{what} ({policy.timeout:g} s)"
    if attempts > 1:
        what = f"{what} (after {attempts} attempts)"
    if not target.startswith("/"):
        # Not the tenant (the export download): the URL is already complete and AUTH0_DOMAIN not at fault.
        return f"{label} failed: {what}"
    message = f"{method} {settings.base_url}{target} failed: {what}"
    if kind == "tls" and settings.https_assumed:
        return (
            f"{message}; AUTH0_DOMAIN has no scheme, so https was assumed; "
            "write http://... for a plain-HTTP server"
        )
    if kind in ("tls", "dns", "refused") or what.startswith("timed out connecting"):
        return f"{message}; check AUTH0_DOMAIN"
    return message


def _describe_error(error: BaseException) -> str:
    """One line about what went wrong, without URLs (a download URL may carry a signature)."""
    status = _status_of(error)
    if isinstance(error, ApiError):
        body = error.body
        detail = ""
        if isinstance(body, Mapping):
            detail = str(body.get("message") or body.get("error") or "")
        elif isinstance(body, str):
            detail = body
        return f"{status} {detail}".strip()
    if isinstance(error, Auth0Error):
        return f"{status} {error.error_code}: {error.message}".strip()
    if isinstance(error, httpx.HTTPStatusError):
        return f"{status} {error.response.reason_phrase}".strip()
    if isinstance(error, ParsingError):
        return f"unexpected reply (status {error.status_code}) that auth0-python cannot parse"
    failure = _connection_failure(error)
    if failure is not None:
        return failure[1]
    return type(error).__name__


class Auth0Provider:
    """Reads an Auth0 tenant completely: users, their blocked flag and the names of their roles."""

    name = "auth0"

    def __init__(
        self,
        settings: Auth0Settings,
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, safe as a default
        page_size: int = 100,
        export_timeout: float = 600.0,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._page_size = max(1, min(page_size, _MAX_PAGE_SIZE))
        self._export_timeout = export_timeout

    def __repr__(self) -> str:
        return f"Auth0Provider({self._settings!r})"

    # ---------------------------------------------------------------------------------------
    # The read
    # ---------------------------------------------------------------------------------------

    def fetch(self) -> IdentitySnapshot:
        """Read every user and role of the tenant; raise ``IdentityFetchError`` if anything is off."""
        counter = _RequestCounter()
        tokens = _TokenSource(self._settings, self._policy, counter)
        http = httpx.Client(
            timeout=self._policy.timeout,
            follow_redirects=True,
            event_hooks={"request": [counter.add]},
        )
        try:
            with self._clean_errors(tokens):
                client = Auth0(
                    base_url=self._settings.management_url,
                    token=tokens,
                    timeout=self._policy.timeout,
                    # Retries are ours (tenacity, with this policy), so that every failure
                    # counts against one budget and the waits follow the policy.
                    max_retries=0,
                    httpx_client=http,
                )
                roles = self._read_roles(client)
                users, total = self._read_users(client, http)
                memberships = self._read_memberships(client, roles, users)
        finally:
            http.close()
        identity_users = tuple(
            IdentityUser(
                subject=subject,
                email=_text(record.get("email")),
                given_name=_text(record.get("given_name")),
                family_name=_text(record.get("family_name")),
                blocked=bool(record.get("blocked")),
                roles=frozenset(memberships.get(subject, ())),
            )
            for subject, record in sorted(users.items())
        )
        return IdentitySnapshot(
            provider=self.name,
            users=identity_users,
            role_names=frozenset(roles.values()),
            reported_total=total,
            requests=counter.count,
        )

    @contextmanager
    def _clean_errors(self, tokens: _TokenSource) -> Iterator[None]:
        """Turn any SDK or transport failure into an ``IdentityFetchError`` with no secret in it."""
        try:
            yield
        except IdentityFetchError as error:
            raise IdentityFetchError(_scrub(str(error), tokens.secrets())) from None
        except (ApiError, ParsingError, Auth0Error, httpx.HTTPError, requests.RequestException) as error:
            raise IdentityFetchError(
                _scrub(f"Auth0 request failed: {_describe_error(error)}", tokens.secrets())
            ) from None

    def _call(self, label: str, send: Callable[[], T]) -> T:
        """Run one SDK call with the retry policy; a final failure names the request."""
        attempts = 0
        try:
            for attempt in self._policy.retrying(_is_retryable, _headers_of, label=label):
                with attempt:
                    attempts += 1
                    return send()
        except IdentityFetchError:
            raise
        except (ApiError, ParsingError, httpx.HTTPError) as error:
            message = _failure_message(label, error, attempts, self._settings, self._policy)
            raise IdentityFetchError(message) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _read_roles(self, client: Auth0) -> dict[str, str]:
        """Role id -> role name, every page."""
        roles: dict[str, str] = {}
        page = 0
        while True:
            reply = self._call("GET /api/v2/roles", _roles_page(client, page))
            items = reply.roles or []
            known = len(roles)
            for role in items:
                if role.id and role.name:
                    roles[role.id] = role.name
            read_so_far = page * _MAX_PAGE_SIZE + len(items)
            if not items or read_so_far >= (reply.total or 0):
                break
            if len(roles) == known:
                raise IdentityFetchError("GET /api/v2/roles failed: Auth0 repeated a page (paging ignored)")
            page += 1
        return roles

    def _read_users(self, client: Auth0, http: httpx.Client) -> tuple[dict[str, dict[str, Any]], int]:
        """Subject -> profile fields, and Auth0's own total."""
        fields = ",".join(USER_FIELDS)

        def page_of(page: int) -> Any:
            return self._call(
                "GET /api/v2/users",
                lambda: (
                    client.users.list(
                        page=page,
                        per_page=self._page_size,
                        include_totals=True,
                        fields=fields,
                        include_fields=True,
                    ).response
                ),
            )

        first = page_of(0)
        total = int(first.total or 0)
        if total > PAGING_LIMIT:
            users = self._export_users(client, http)
        else:
            users = {}
            reply = first
            page = 0
            while True:
                items = reply.users or []
                known = len(users)
                for user in items:
                    if user.user_id:
                        users[user.user_id] = {name: getattr(user, name, None) for name in USER_FIELDS}
                if not items or page * self._page_size + len(items) >= int(reply.total or 0):
                    break
                if len(users) == known:
                    raise IdentityFetchError(
                        "GET /api/v2/users failed: Auth0 repeated a page (paging ignored)"
                    )
                page += 1
                reply = page_of(page)
        if len(users) != total:
            raise IdentityFetchError(
                f"Auth0 reported {total} users but {len(users)} were read; "
                "the tenant probably changed during the read, re-run"
            )
        return users, total

    def _export_users(self, client: Auth0, http: httpx.Client) -> dict[str, dict[str, Any]]:
        """Every user through the export job (no 1000-user cap)."""
        job = self._call(
            "POST /api/v2/jobs/users-exports",
            lambda: client.jobs.users_exports.create(
                format="json", fields=[CreateExportUsersFields(name=name) for name in USER_FIELDS]
            ),
        )
        job_id = job.id
        deadline = time.monotonic() + self._export_timeout
        poll = 0
        while True:
            status = self._call(f"GET /api/v2/jobs/{job_id}", lambda: client.jobs.get(job_id))
            if status.status == "completed":
                break
            if status.status in ("failed", "cancelled"):
                raise IdentityFetchError(f"the Auth0 user export job ended as {status.status!r}")
            if time.monotonic() >= deadline:
                raise IdentityFetchError(
                    f"the Auth0 user export job did not finish within {self._export_timeout:g} seconds"
                )
            poll += 1
            pause = min(self._policy.max_delay, 5.0, max(self._policy.base_delay, 0.01) * 2 ** min(poll, 10))
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        if not status.location:
            raise IdentityFetchError("the Auth0 user export job completed without a download location")
        location: str = status.location
        parts = urlsplit(location)
        label = f"GET {parts.scheme}://{parts.netloc}{parts.path}"  # never the query: it is a signature

        def download() -> bytes:
            response = http.get(location)
            response.raise_for_status()
            return response.content

        raw = self._call(label, download)
        return _parse_export(raw)

    def _read_memberships(
        self, client: Auth0, roles: Mapping[str, str], users: Mapping[str, Any]
    ) -> dict[str, set[str]]:
        """Subject -> role names, one request per role per page of members."""
        memberships: dict[str, set[str]] = {}
        for role_id, role_name in sorted(roles.items()):
            checkpoint: str | None = None
            seen_checkpoints: set[str] = set()
            while True:
                reply = self._call(
                    f"GET /api/v2/roles/{role_id}/users", _members_page(client, role_id, checkpoint)
                )
                for member in reply.users or []:
                    subject = member.user_id
                    if not subject:
                        continue
                    if subject not in users:
                        raise IdentityFetchError(
                            f"role {role_name!r} has a member that is not among the users read; "
                            "the tenant changed during the read, re-run"
                        )
                    memberships.setdefault(subject, set()).add(role_name)
                checkpoint = reply.next or None
                if not checkpoint:
                    break
                if checkpoint in seen_checkpoints:
                    raise IdentityFetchError(
                        f"GET /api/v2/roles/{role_id}/users failed: "
                        "Auth0 repeated a checkpoint (paging ignored)"
                    )
                seen_checkpoints.add(checkpoint)
        return memberships


def _roles_page(client: Auth0, page: int) -> Callable[[], Any]:
    return lambda: client.roles.list(page=page, per_page=_MAX_PAGE_SIZE, include_totals=True).response


def _members_page(client: Auth0, role_id: str, checkpoint: str | None) -> Callable[[], Any]:
    return lambda: client.roles.users.list(role_id, take=_MAX_PAGE_SIZE, from_=checkpoint).response


def _parse_export(raw: bytes) -> dict[str, dict[str, Any]]:
    """Parse the gzip-compressed newline-delimited JSON export (or plain, if already inflated)."""
    try:
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        users: dict[str, dict[str, Any]] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            subject = record.get("user_id")
            if isinstance(subject, str) and subject:
                users[subject] = record
        return users
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise IdentityFetchError(
            f"the Auth0 user export file is unreadable ({type(error).__name__})"
        ) from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _scrub(message: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        message = message.replace(secret, "***")
    return message
