"""A stateful Auth0 server (token endpoint and the Management API parts the reconciler reads).

Shapes and error bodies follow Auth0's documented answers: offset paging of users capped at the first 1000
records, checkpoint paging (``from``/``take``) of role members without a cap, the users-export job whose
``location`` serves gzipped newline-delimited JSON, and ``x-ratelimit-*`` headers on every answer.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import io
import json
import random
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.http import (
    Counters,
    FaultConfig,
    FaultDecision,
    Faults,
    Handler,
    SandboxApplication,
    ServerThread,
    json_response,
    no_content,
)

DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
MAX_PER_PAGE = 100
PAGING_CAP = 1000
PAGING_CAP_MESSAGE = (
    "You can only page through the first 1000 records. "
    "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
)
_ROLE_MEMBER_FIELDS = ("user_id", "email", "name", "picture")


_PATCHABLE_USER_FIELDS = frozenset({"blocked", "email", "given_name", "family_name", "name"})


def auth0_error(status: int, message: str, error_code: str | None = None) -> dict[str, Any]:
    """A Management API error body: ``{"statusCode","error","message","errorCode"?}``."""
    names = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    names |= {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    body: dict[str, Any] = {"statusCode": status, "error": names.get(status, "Error"), "message": message}
    if error_code:
        body["errorCode"] = error_code
    return body


def error_response(status: int, message: str, error_code: str | None = None) -> Response:
    """A response carrying a Management API error body."""
    return json_response(auth0_error(status, message, error_code), status)


@dataclass
class Auth0Seed:
    """Initial contents of a sandbox Auth0 tenant, shaped like ``auth0-tenant-sample.json``."""

    tenant: str = "sandbox.auth0.com"
    users: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    role_members: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Auth0Seed:
        """A seed from the tenant-file dict ``{"tenant","users","roles","role_members"}``."""
        return cls(
            tenant=str(data.get("tenant", "sandbox.auth0.com")),
            users=copy.deepcopy(list(data.get("users", []))),
            roles=copy.deepcopy(list(data.get("roles", []))),
            role_members={k: list(v) for k, v in dict(data.get("role_members", {})).items()},
        )

    @classmethod
    def default(cls) -> Auth0Seed:
        """The tenant sample shipped with the package."""
        text = (
            resources.files("reconciler.sandbox").joinpath("data/auth0-tenant-sample.json").read_text("utf-8")
        )
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_file(cls, path: str | Path) -> Auth0Seed:
        """A seed from a JSON tenant file."""
        data = json.loads(Path(path).read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("users"), list):
            raise ValueError(f"{path}: an Auth0 seed must be a JSON object with a users list")
        return cls.from_dict(data)

    @classmethod
    def generate(cls, *, users: int, roles: int = 5, seed: int = 0, blocked_every: int = 0) -> Auth0Seed:
        """A deterministic tenant: ``users`` users with mixed subject prefixes, each holding 1-2 roles.

        Roles are named "Admin", "Analyst", "User", "Viewer", "Editor", then "Role N"; with
        ``blocked_every`` = k every k-th user is blocked.
        """
        rng = random.Random(seed)
        names = ["Admin", "Analyst", "User", "Viewer", "Editor"]
        role_list = []
        for index in range(max(1, roles)):
            name = names[index] if index < len(names) else f"Role {index + 1}"
            role_list.append(
                {"id": f"rol_{rng.getrandbits(64):016x}", "name": name, "description": f"{name} role"}
            )
        prefixes = ["auth0", "google-oauth2", "waad", "samlp|acme", "email"]
        first_names = ["Ada", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
        last_names = [
            "Novák",
            "Smith",
            "Müller",
            "Okafor",
            "Rossi",
            "Tanaka",
            "García",
            "Dubois",
            "Kim",
            "Berg",
        ]
        base_time = datetime(2024, 1, 1, tzinfo=UTC)
        user_list = []
        members: dict[str, list[str]] = {r["id"]: [] for r in role_list}
        for index in range(users):
            prefix = prefixes[index % len(prefixes)]
            local = f"{rng.getrandbits(96):024x}"
            subject = f"{prefix}|{local}"
            given, family = first_names[index % 10], last_names[(index // 10) % 10]
            created = base_time + timedelta(minutes=index * 7)
            user: dict[str, Any] = {
                "user_id": subject,
                "email": f"user{index:05d}@example.com",
                "email_verified": index % 3 != 0,
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "nickname": f"user{index:05d}",
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "updated_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "logins_count": rng.randint(0, 200),
                "identities": [
                    {
                        "connection": prefix.split("|")[0],
                        "provider": prefix.split("|")[0],
                        "user_id": local,
                        "isSocial": prefix == "google-oauth2",
                    }
                ],
                "app_metadata": {},
                "user_metadata": {},
            }
            if blocked_every and (index + 1) % blocked_every == 0:
                user["blocked"] = True
            user_list.append(user)
            for role in rng.sample(role_list, k=min(len(role_list), rng.randint(1, 2))):
                members[role["id"]].append(subject)
        return cls(tenant="sandbox.auth0.com", users=user_list, roles=role_list, role_members=members)


@dataclass
class _ExportJob:
    job: dict[str, Any]
    lines: bytes
    polls: int = 0


class Auth0State:
    """Users, roles and role members of a sandbox tenant; thread-safe, for endpoints and for tests."""

    def __init__(self, seed: Auth0Seed | None = None) -> None:
        seed = seed or Auth0Seed.default()
        self.tenant = seed.tenant
        self._lock = threading.RLock()
        self._users: dict[str, dict[str, Any]] = {u["user_id"]: copy.deepcopy(u) for u in seed.users}
        self._roles: dict[str, dict[str, Any]] = {r["id"]: copy.deepcopy(r) for r in seed.roles}
        # role id -> its members in assignment order (a dict as an ordered set: O(1) lookups)
        self._members: dict[str, dict[str, None]] = {r: {} for r in self._roles}
        for role_id, subjects in seed.role_members.items():
            if role_id not in self._roles:
                raise ValueError(f"role_members names unknown role {role_id}")
            self._members[role_id] = dict.fromkeys(s for s in subjects if s in self._users)
        self._jobs: dict[str, _ExportJob] = {}

    # ----- test-facing mutation -----

    def add_user(self, user: dict[str, Any], roles: Sequence[str] = ()) -> None:
        """Add (or replace) a user; ``roles`` are role NAMES."""
        with self._lock:
            subject = str(user["user_id"])
            role_ids = [self._role_id(name) for name in roles]
            self._users[subject] = copy.deepcopy(user)
            self._assign(subject, role_ids)

    def remove_user(self, subject: str) -> None:
        """Delete a user and its role memberships."""
        with self._lock:
            self._users.pop(subject)
            self._assign(subject, [])

    def set_roles(self, subject: str, roles: Sequence[str]) -> None:
        """Replace the roles (by name) a user holds directly."""
        with self._lock:
            if subject not in self._users:
                raise KeyError(subject)
            self._assign(subject, [self._role_id(name) for name in roles])

    def set_blocked(self, subject: str, blocked: bool = True) -> None:
        """Block or unblock a user."""
        with self._lock:
            self._users[subject]["blocked"] = blocked

    def update_user(self, subject: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH``: change the given profile fields (``blocked``, ``email``, names); the user after."""
        with self._lock:
            user = self._users[subject]
            user.update(copy.deepcopy(dict(changes)))
            return copy.deepcopy(user)

    def change_roles(self, subject: str, role_ids: Sequence[str], *, assign: bool) -> None:
        """Assign (or remove) roles by id, keeping the user's others."""
        with self._lock:
            if subject not in self._users:
                raise KeyError(subject)
            unknown = [r for r in role_ids if r not in self._roles]
            if unknown:
                raise KeyError(unknown[0])
            for role_id in role_ids:
                if assign:
                    self._members[role_id].setdefault(subject, None)
                else:
                    self._members[role_id].pop(subject, None)

    def users(self) -> list[dict[str, Any]]:
        """Deep copies of all users, in listing order."""
        with self._lock:
            return [copy.deepcopy(u) for u in self._users.values()]

    def add_role(self, name: str) -> str:
        """Create a role and return its id."""
        with self._lock:
            role_id = f"rol_{secrets.token_hex(8)}"
            self._roles[role_id] = {"id": role_id, "name": name, "description": name}
            self._members[role_id] = {}
            return role_id

    def roles_of(self, subject: str) -> list[str]:
        """Names of the roles a user holds directly."""
        with self._lock:
            return [self._roles[r]["name"] for r, members in self._members.items() if subject in members]

    def _role_id(self, name: str) -> str:
        for role_id, role in self._roles.items():
            if role["name"] == name:
                return role_id
        raise KeyError(f"no role named {name!r}")

    def _assign(self, subject: str, role_ids: list[str]) -> None:
        for role_id, members in self._members.items():
            if role_id in role_ids:
                members.setdefault(subject, None)
            else:
                members.pop(subject, None)

    # ----- endpoint-facing reads -----

    def user(self, subject: str) -> dict[str, Any] | None:
        """One user (a copy) or None."""
        with self._lock:
            user = self._users.get(subject)
            return copy.deepcopy(user) if user else None

    def roles(self) -> list[dict[str, Any]]:
        """All roles."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._roles.values()]

    def role(self, role_id: str) -> dict[str, Any] | None:
        """One role or None."""
        with self._lock:
            role = self._roles.get(role_id)
            return copy.deepcopy(role) if role else None

    def role_members(self, role_id: str, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Copies of the users holding a role directly, positions ``start`` to ``stop`` only."""
        with self._lock:
            subjects = list(self._members.get(role_id, {}))[start:stop]
            return [copy.deepcopy(self._users[s]) for s in subjects]

    def role_member_count(self, role_id: str) -> int:
        """How many users hold a role directly."""
        with self._lock:
            return len(self._members.get(role_id, {}))

    def user_roles(self, subject: str) -> list[dict[str, Any]]:
        """The roles a user holds directly."""
        with self._lock:
            return [
                copy.deepcopy(self._roles[r]) for r, members in self._members.items() if subject in members
            ]

    def create_export(
        self, fields: list[dict[str, Any]], file_format: str, connection_id: str | None
    ) -> dict[str, Any]:
        """Snapshot the users into a pending export job."""
        with self._lock:
            job_id = f"job_{secrets.token_hex(8)}"
            job: dict[str, Any] = {
                "type": "users_export",
                "status": "pending",
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "id": job_id,
                "format": file_format,
                "fields": fields,
            }
            if connection_id:
                job["connection_id"] = connection_id
            users = [
                u for u in self._users.values() if not connection_id or _connection_of(u) == connection_id
            ]
            self._jobs[job_id] = _ExportJob(job, _export_file(users, fields, file_format))
            return copy.deepcopy(job)

    def poll_export(self, job_id: str, download_url: str) -> dict[str, Any] | None:
        """The job's status: pending on the first poll, then completed with its download location."""
        with self._lock:
            export = self._jobs.get(job_id)
            if export is None:
                return None
            export.polls += 1
            if export.polls > 1 and export.job["status"] == "pending":
                export.job["status"] = "completed"
                export.job["location"] = download_url
                export.job["percentage_done"] = 100
                export.job["time_left_seconds"] = 0
            return copy.deepcopy(export.job)

    def export_file(self, job_id: str) -> bytes | None:
        """The gzipped export of a completed job."""
        with self._lock:
            export = self._jobs.get(job_id)
            if export is None or export.job["status"] != "completed":
                return None
            return export.lines


def _connection_of(user: dict[str, Any]) -> str | None:
    identities = user.get("identities") or []
    return str(identities[0].get("connection")) if identities else None


def _field_value(user: dict[str, Any], name: str) -> Any:
    value: Any = user
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _export_file(users: list[dict[str, Any]], fields: list[dict[str, Any]], file_format: str) -> bytes:
    if not fields:
        fields = [{"name": n} for n in ("user_id", "email", "name", "created_at", "updated_at")]
    if file_format == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow([f.get("export_as") or f["name"] for f in fields])
        for user in users:
            writer.writerow(["" if (v := _field_value(user, f["name"])) is None else v for f in fields])
        return gzip.compress(text.getvalue().encode())
    lines = []
    for user in users:
        record = {}
        for spec in fields:
            value = _field_value(user, spec["name"])
            if value is not None:
                record[spec.get("export_as") or spec["name"]] = value
        lines.append(json.dumps(record, ensure_ascii=False))
    return gzip.compress(("\n".join(lines) + ("\n" if lines else "")).encode())


def _select_fields(user: dict[str, Any], fields: str | None, include_fields: bool) -> dict[str, Any]:
    if not fields:
        return user
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if include_fields:
        return {k: v for k, v in user.items() if k in names}
    return {k: v for k, v in user.items() if k not in names}


def _bool_arg(request: Request, name: str, default: bool) -> bool:
    value = request.args.get(name)
    return default if value is None else value.lower() == "true"


class _Paging:
    """Offset paging arguments, validated the way Auth0 does."""

    def __init__(self, request: Request) -> None:
        self.page = int(request.args.get("page", "0"))
        self.per_page = int(request.args.get("per_page", "50"))
        self.include_totals = _bool_arg(request, "include_totals", False)

    def problem(self) -> Response | None:
        if self.page < 0:
            return error_response(
                400,
                "Query validation error: 'Too small: must be at least 0' on property page",
                "invalid_query_string",
            )
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            message = (
                f"Query validation error: 'Too big: must be at most {MAX_PER_PAGE}' on property per_page"
            )
            return error_response(400, message, "invalid_query_string")
        if self.page * self.per_page + self.per_page > PAGING_CAP:
            return error_response(400, PAGING_CAP_MESSAGE, "invalid_paging")
        return None

    def slice(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return items[self.page * self.per_page : (self.page + 1) * self.per_page]


class Auth0Application(SandboxApplication):
    """The Auth0 endpoints; each handler reads the one ``Auth0State``."""

    def __init__(
        self, state: Auth0State, client_id: str, client_secret: str, faults: Faults, counters: Counters
    ) -> None:
        self.state = state
        self.client_id = client_id
        self.client_secret = client_secret
        self._tokens: set[str] = set()
        self._tokens_lock = threading.Lock()
        super().__init__(faults, counters)

    def routes(self) -> Iterable[tuple[str, tuple[str, ...], Handler]]:
        """Every endpoint the sandbox answers."""
        return [
            ("/oauth/token", ("POST",), self.token),
            ("/api/v2/users", ("GET",), self.managed(self.list_users)),
            ("/api/v2/users/{id}", ("GET", "PATCH", "DELETE"), self.managed(self.user_item)),
            ("/api/v2/users/{id}/roles", ("GET", "POST", "DELETE"), self.managed(self.user_roles)),
            ("/api/v2/roles", ("GET",), self.managed(self.list_roles)),
            ("/api/v2/roles/{id}", ("GET",), self.managed(self.get_role)),
            ("/api/v2/roles/{id}/users", ("GET",), self.managed(self.list_role_users)),
            ("/api/v2/jobs/users-exports", ("POST",), self.managed(self.create_users_export)),
            ("/api/v2/jobs/{id}", ("GET",), self.managed(self.get_job)),
            ("/sandbox/exports/{id}", ("GET",), self.download_export),
        ]

    # ----- cross-cutting -----

    def not_found(self, request: Request) -> Response:
        """Auth0's answer to an unknown path."""
        return error_response(404, "Not Found")

    def method_not_allowed(self, request: Request) -> Response:
        """Auth0 answers unknown method/path pairs as not found."""
        return error_response(404, "Not Found")

    def fault_response(self, kind: str, decision: FaultDecision) -> Response:
        """Injected errors in Auth0's error shape; 429 carries ``Retry-After``."""
        status = int(kind)
        if status == 429:
            response = error_response(429, "Global limit has been reached", "too_many_requests")
            response.headers["Retry-After"] = str(decision.retry_after_seconds)
            return response
        return error_response(status, f"Injected fault: HTTP {status}")

    def decorate(self, request: Request, response: Response, decision: FaultDecision) -> Response:
        """``x-ratelimit-limit/remaining/reset`` (epoch seconds) on every answer."""
        response.headers["x-ratelimit-limit"] = str(decision.limit)
        response.headers["x-ratelimit-remaining"] = (
            "0" if response.status_code == 429 else str(decision.remaining)
        )
        response.headers["x-ratelimit-reset"] = str(decision.reset_epoch)
        return response

    def managed(self, handler: Handler) -> Handler:
        """Require a bearer token issued by ``/oauth/token``."""

        def handle(request: Request, args: dict[str, str]) -> Response:
            authorization = request.headers.get("Authorization", "")
            if not authorization.lower().startswith("bearer "):
                return error_response(401, "Missing authentication")
            with self._tokens_lock:
                valid = authorization[7:].strip() in self._tokens
            if not valid:
                response = json_response(
                    {**auth0_error(401, "Invalid token"), "attributes": {"error": "Invalid token"}}, 401
                )
                return response
            try:
                return handler(request, args)
            except ValueError:
                return error_response(
                    400, "Query validation error: invalid query string", "invalid_query_string"
                )

        return handle

    # ----- endpoints -----

    def issued_tokens(self) -> frozenset[str]:
        """Every access token handed out so far."""
        with self._tokens_lock:
            return frozenset(self._tokens)

    def token(self, request: Request, args: dict[str, str]) -> Response:
        """``POST /oauth/token``: client credentials, JSON or form body."""
        body = (request.get_json(silent=True) or {}) if request.is_json else request.form.to_dict()
        if body.get("grant_type") != "client_credentials":
            grant = body.get("grant_type")
            return json_response(
                {"error": "unsupported_grant_type", "error_description": f"Unsupported grant type: {grant}"},
                403,
            )
        client_ok = secrets.compare_digest(str(body.get("client_id", "")).encode(), self.client_id.encode())
        secret_ok = secrets.compare_digest(
            str(body.get("client_secret", "")).encode(), self.client_secret.encode()
        )
        if not (client_ok and secret_ok):
            return json_response({"error": "access_denied", "error_description": "Unauthorized"}, 401)
        audience = str(body.get("audience", ""))
        accepted = {f"https://{self.state.tenant}/api/v2/", f"{request.host_url.rstrip('/')}/api/v2/"}
        if audience not in accepted:
            description = f"Service not enabled within domain: {audience}"
            return json_response({"error": "access_denied", "error_description": description}, 403)
        access_token = secrets.token_urlsafe(32)
        with self._tokens_lock:
            self._tokens.add(access_token)
        return json_response(
            {
                "access_token": access_token,
                "expires_in": 86400,
                "scope": "read:users read:roles read:role_members create:users_exports read:users_exports",
                "token_type": "Bearer",
            }
        )

    def list_users(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/users`` with offset paging, the 1000-record cap and ``fields``."""
        paging = _Paging(request)
        problem = paging.problem()
        if problem is not None:
            return problem
        users = self.state.users()
        include_fields = _bool_arg(request, "include_fields", True)
        page = [_select_fields(u, request.args.get("fields"), include_fields) for u in paging.slice(users)]
        if not paging.include_totals:
            return json_response(page)
        return json_response(
            {
                "start": paging.page * paging.per_page,
                "limit": paging.per_page,
                "length": len(page),
                "total": len(users),
                "users": page,
            }
        )

    def user_item(self, request: Request, args: dict[str, str]) -> Response:
        """``GET``, ``PATCH`` (blocked, email, names) and ``DELETE /api/v2/users/{id}``: people join,
        change and leave while the sandbox runs (the reconciler itself only reads)."""
        user = self.state.user(args["id"])
        if user is None:
            return error_response(404, "The user does not exist.", "inexistent_user")
        if request.method == "DELETE":
            self.state.remove_user(args["id"])
            return no_content()
        if request.method == "PATCH":
            changes = request.get_json(silent=True)
            if not isinstance(changes, dict) or set(changes) - _PATCHABLE_USER_FIELDS:
                allowed = ", ".join(sorted(_PATCHABLE_USER_FIELDS))
                return error_response(400, f"Payload validation error: only {allowed} can be changed here.")
            return json_response(self.state.update_user(args["id"], changes))
        include_fields = _bool_arg(request, "include_fields", True)
        return json_response(_select_fields(user, request.args.get("fields"), include_fields))

    def user_roles(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/users/{id}/roles`` (direct assignments); ``POST`` / ``DELETE`` with
        ``{"roles": [role ids]}`` assign or remove roles."""
        if self.state.user(args["id"]) is None:
            return error_response(404, "The user does not exist.", "inexistent_user")
        if request.method == "GET":
            return self._offset_roles(request, self.state.user_roles(args["id"]))
        body = request.get_json(silent=True)
        roles = body.get("roles") if isinstance(body, dict) else None
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            return error_response(
                400, "Payload validation error: 'roles' must be a non-empty array of role ids."
            )
        try:
            self.state.change_roles(args["id"], roles, assign=request.method == "POST")
        except KeyError:
            return error_response(404, "The role does not exist.", "inexistent_role")
        return no_content()

    def list_roles(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/roles``."""
        roles = self.state.roles()
        name_filter = request.args.get("name_filter")
        if name_filter:
            roles = [r for r in roles if name_filter.lower() in str(r["name"]).lower()]
        return self._offset_roles(request, roles)

    def _offset_roles(self, request: Request, roles: list[dict[str, Any]]) -> Response:
        paging = _Paging(request)
        problem = paging.problem()
        if problem is not None:
            return problem
        page = paging.slice(roles)
        if not paging.include_totals:
            return json_response(page)
        return json_response(
            {
                "start": paging.page * paging.per_page,
                "limit": paging.per_page,
                "total": len(roles),
                "roles": page,
            }
        )

    def get_role(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/roles/{id}``."""
        role = self.state.role(args["id"])
        if role is None:
            return error_response(404, "The role does not exist.", "inexistent_role")
        return json_response(role)

    def list_role_users(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/roles/{id}/users``: checkpoint paging with ``from``/``take``, else offset."""
        role_id = args["id"]
        if self.state.role(role_id) is None:
            return error_response(404, "The role does not exist.", "inexistent_role")
        total = self.state.role_member_count(role_id)

        def members(start: int, stop: int) -> list[dict[str, Any]]:
            return [
                {k: u[k] for k in _ROLE_MEMBER_FIELDS if k in u}
                for u in self.state.role_members(role_id, start, stop)
            ]

        if "from" in request.args or "take" in request.args:
            take = int(request.args.get("take", "50"))
            if not 1 <= take <= MAX_PER_PAGE:
                message = (
                    f"Query validation error: 'Too big: must be at most {MAX_PER_PAGE}' on property take"
                )
                return error_response(400, message, "invalid_query_string")
            start = _decode_checkpoint(request.args.get("from"))
            if start is None:
                return error_response(400, "Invalid 'from' parameter", "invalid_query_string")
            body: dict[str, Any] = {"users": members(start, start + take)}
            if start + take < total:
                body["next"] = _encode_checkpoint(start + take)
            return json_response(body)
        paging = _Paging(request)
        problem = paging.problem()
        if problem is not None:
            return problem
        first = paging.page * paging.per_page
        page = members(first, first + paging.per_page)
        if not paging.include_totals:
            return json_response(page)
        return json_response({"start": first, "limit": paging.per_page, "total": total, "users": page})

    def create_users_export(self, request: Request, args: dict[str, str]) -> Response:
        """``POST /api/v2/jobs/users-exports``."""
        body = request.get_json(silent=True) or {}
        file_format = body.get("format", "csv")
        if file_format not in ("json", "csv"):
            return error_response(
                400, "Payload validation error: 'format' must be one of json, csv", "invalid_body"
            )
        fields = [
            {k: v for k, v in f.items() if k in ("name", "export_as")}
            for f in body.get("fields", [])
            if "name" in f
        ]
        job = self.state.create_export(fields, file_format, body.get("connection_id"))
        if body.get("limit") is not None:
            job["limit"] = body["limit"]
        return json_response(job, 201)

    def get_job(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v2/jobs/{id}``: pending on the first poll, then completed."""
        location = f"{request.host_url.rstrip('/')}/sandbox/exports/{args['id']}"
        job = self.state.poll_export(args["id"], location)
        if job is None:
            return error_response(404, "The job does not exist.", "inexistent_job")
        return json_response(job)

    def download_export(self, request: Request, args: dict[str, str]) -> Response:
        """The export file (like a presigned URL: no bearer token)."""
        data = self.state.export_file(args["id"])
        if data is None:
            return error_response(404, "Not Found")
        return Response(data, content_type="application/gzip")


def _encode_checkpoint(offset: int) -> str:
    return base64.urlsafe_b64encode(f"cp:{offset}".encode()).decode().rstrip("=")


def _decode_checkpoint(value: str | None) -> int | None:
    if not value:
        return 0
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        prefix, _, offset = text.partition(":")
        return int(offset) if prefix == "cp" and int(offset) >= 0 else None
    except ValueError:
        return None


def _is_auth0_write(method: str, template: str) -> bool:
    return method != "GET" and method != "HEAD"


class Auth0Server:
    """A running sandbox Auth0 server on 127.0.0.1."""

    def __init__(
        self,
        seed: Auth0Seed | None = None,
        *,
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        faults: FaultConfig | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.state = Auth0State(seed)
        self.faults = Faults(faults)
        self.counters = Counters(_is_auth0_write)
        self._app = Auth0Application(self.state, client_id, client_secret, self.faults, self.counters)
        self._server = ServerThread(self._app, port, name="sandbox-auth0")
        self.url = self._server.url
        self.port = self._server.port
        self.audience = f"{self.url}/api/v2/"

    def issued_tokens(self) -> frozenset[str]:
        """Every access token ``/oauth/token`` has handed out (tests scan outputs for them)."""
        return self._app.issued_tokens()

    def stop(self) -> None:
        """Stop serving and release stalled requests."""
        self.faults.release_stalls()
        self._server.stop()
