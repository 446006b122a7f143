"""A stateful GoodData API server for trying the reconciler and testing it without credentials.

One ``GoodDataState`` (guarded by a lock) stands behind every endpoint: a user put through ``/layout/users``
shows in ``/entities/users`` and in ``/layout/usersAndUserGroups``, and the other way round.

Behaviour copied from recordings of a real server: layout documents, entity documents with paging,
``included`` and ``relationships``, the 302 of ``/entities/organization``, the 404 problem body, the
Content-Type of each answer (none on a 204 write) and the headers every recorded answer carries
(``X-Content-Type-Options: nosniff``, ``X-GDC-TRACE-ID``, ``Expires: 0`` and ``Pragma: no-cache``, the last
two absent from ``GET /entities/workspaces/{id}`` as recorded).

Assumptions (no recording shows the real server's choice):

* Removing a user or a user group (a declarative PUT that leaves it out, or an entity DELETE) removes every
  grant naming it: workspace permissions and hierarchy permissions, data-source permissions, organization
  permissions, user and group ``SEE`` permissions, group parents and user memberships.
* A body that breaks referential integrity (an unknown group, assignee, parent or workspace) is answered with
  the same 400 problem as a body that fails schema validation. An unknown workspace or data source in the URL
  gives the recorded 404 problem.
* Creating an entity whose id exists gives 409; deleting a workspace that still has children gives 400.
* A missing or wrong bearer token gives a 401 problem. So does the token once its user is gone (a declarative
  PUT that leaves the user out, or a DELETE of it): a deleted user loses its API tokens. A seed must contain
  the token's user (``tokenUserId``).
* Properties a request schema of the OpenAPI description does not define are ignored, neither rejected nor
  stored: the description never says ``additionalProperties: false``, and the server (Spring with Jackson's
  defaults) does not fail on unknown properties.
* A request body whose Content-Type is not JSON (``application/json`` or any ``+json`` type; a missing
  Content-Type counts as ``application/octet-stream``, as in Spring) gives a 415 problem and stores nothing.

A rejected request stores nothing.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.http import (
    WRITE_METHODS,
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
from reconciler.sandbox.schema import known_properties_only, validation_errors

DEFAULT_TOKEN = "sandbox-gooddata-token"
PROBLEM_CONTENT_TYPE = "application/problem+json"
NOT_FOUND_DETAIL = "The requested endpoint does not exist or you do not have permission to access it."
DEFAULT_PAGE_SIZE = 20
TRACE_HEADER = "X-GDC-TRACE-ID"
# Headers every recorded answer carries; the recorded workspace entity GETs lack Expires and Pragma.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}
NO_CACHE_HEADERS = {"Expires": "0", "Pragma": "no-cache"}
JSON_MEDIA_TYPES = ("application/json",)
_USER_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("authId", "authenticationId"),
    ("email", "email"),
    ("firstname", "firstname"),
    ("lastname", "lastname"),
    ("systemAccount", "systemAccount"),
)


class RequestRejected(ValueError):
    """A request the server refuses; carries the HTTP status and the problem detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def problem(status: int, detail: str) -> dict[str, Any]:
    """A problem body shaped like the real server's."""
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
    titles |= {
        409: "Conflict",
        415: "Unsupported Media Type",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return {
        "title": titles.get(status, "Error"),
        "status": status,
        "detail": detail,
        "traceId": secrets.token_hex(16),
    }


def problem_response(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A response carrying a problem body; its ``X-GDC-TRACE-ID`` header is the body's ``traceId``."""
    body = problem(status, detail)
    all_headers = {TRACE_HEADER: body["traceId"], **(headers or {})}
    return json_response(body, status, PROBLEM_CONTENT_TYPE, all_headers)


def not_found_response() -> Response:
    """The 404 answer exactly as recorded from the real server."""
    return problem_response(404, NOT_FOUND_DETAIL)


def _check_schema(schema_name: str, body: Any, *, as_array: bool = False) -> Any:
    """``body`` without the properties its schema does not define; ``RequestRejected`` if it is invalid."""
    errors = validation_errors(schema_name, body, as_array=as_array)
    if errors:
        detail = "; ".join(
            message if len(message) <= 300 else message[:297] + "..." for message in errors[:10]
        )
        raise RequestRejected(400, detail)
    return known_properties_only(schema_name, body, as_array=as_array)


def _assignee_key(assignee: dict[str, Any]) -> tuple[str, str]:
    return str(assignee["type"]), str(assignee["id"])


def _sorted_grants(grants: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (copy.deepcopy(g) for g in grants),
        key=lambda g: (g["name"], g["assignee"]["type"], g["assignee"]["id"]),
    )


@dataclass
class GoodDataSeed:
    """Initial contents of a sandbox GoodData organization (a declarative layout)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    user_groups: list[dict[str, Any]] = field(default_factory=list)
    workspaces: list[dict[str, Any]] = field(default_factory=list)
    data_sources: list[str] = field(default_factory=list)
    workspace_permissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_source_permissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    organization_permissions: list[dict[str, Any]] = field(default_factory=list)
    token_user_id: str = "admin"
    organization_id: str = "default"
    organization_name: str = "Sandbox Organization"

    @classmethod
    def default(cls) -> GoodDataSeed:
        """Bootstrap ``admin`` in ``adminGroup`` (org MANAGE); demo > demo_west, demo_east; demo-ds."""
        return cls.from_layout(
            {
                "users": [{"id": "admin", "userGroups": [{"id": "adminGroup", "type": "userGroup"}]}],
                "userGroups": [{"id": "adminGroup"}],
                "workspaces": [
                    {"id": "demo", "name": "Demo"},
                    {"id": "demo_west", "name": "Demo West", "parent": "demo"},
                    {"id": "demo_east", "name": "Demo East", "parent": "demo"},
                ],
                "dataSources": ["demo-ds"],
                "organizationPermissions": [
                    {"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}}
                ],
                "tokenUserId": "admin",
                "organizationId": "default",
            }
        )

    @classmethod
    def from_layout(cls, layout: dict[str, Any]) -> GoodDataSeed:
        """A seed from a declarative layout dict (see the module docs of ``reconciler.sandbox``)."""
        workspaces = []
        for entry in layout.get("workspaces", []):
            workspace = {"id": entry["id"], "name": entry.get("name", entry["id"])}
            parent = entry.get("parent")
            if isinstance(parent, dict):
                parent = parent.get("id")
            if parent:
                workspace["parent"] = parent
            workspaces.append(workspace)
        data_sources = [d["id"] if isinstance(d, dict) else str(d) for d in layout.get("dataSources", [])]
        return cls(
            users=copy.deepcopy(list(layout.get("users", []))),
            user_groups=copy.deepcopy(list(layout.get("userGroups", []))),
            workspaces=workspaces,
            data_sources=data_sources,
            workspace_permissions=copy.deepcopy(dict(layout.get("workspacePermissions", {}))),
            data_source_permissions=copy.deepcopy(dict(layout.get("dataSourcePermissions", {}))),
            organization_permissions=copy.deepcopy(list(layout.get("organizationPermissions", []))),
            token_user_id=str(layout.get("tokenUserId", "admin")),
            organization_id=str(layout.get("organizationId", "default")),
            organization_name=str(layout.get("organizationName", "Sandbox Organization")),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> GoodDataSeed:
        """A seed from a YAML or JSON file holding the layout dict."""
        text = Path(path).read_text("utf-8")
        layout = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        if not isinstance(layout, dict) or not isinstance(layout.get("users"), list):
            raise ValueError(f"{path}: a GoodData seed must be a mapping with a users list")
        return cls.from_layout(layout)


class GoodDataState:
    """The one store behind every endpoint of a sandbox GoodData server; thread-safe, wire format in/out."""

    def __init__(self, seed: GoodDataSeed | None = None) -> None:
        seed = seed or GoodDataSeed.default()
        self._lock = threading.RLock()
        self.token_user_id = seed.token_user_id
        self.organization_id = seed.organization_id
        self.organization_name = seed.organization_name
        self._users: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._workspaces: dict[str, dict[str, Any]] = {}
        self._workspace_permissions: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._data_source_permissions: dict[str, list[dict[str, Any]]] = {}
        self._organization_permissions: list[dict[str, Any]] = []
        for workspace in seed.workspaces:
            self._workspaces[workspace["id"]] = dict(workspace)
        for workspace_id, workspace in self._workspaces.items():
            parent = workspace.get("parent")
            if parent and parent not in self._workspaces:
                raise ValueError(f"workspace {workspace_id}: unknown parent {parent}")
            self._workspace_permissions[workspace_id] = {"permissions": [], "hierarchyPermissions": []}
        for data_source_id in seed.data_sources:
            self._data_source_permissions[data_source_id] = []
        self.put_users_and_groups({"users": seed.users, "userGroups": seed.user_groups})
        for workspace_id, doc in seed.workspace_permissions.items():
            self.put_workspace_permissions(workspace_id, doc)
        for data_source_id, doc in seed.data_source_permissions.items():
            self.put_data_source_permissions(data_source_id, doc)
        self.put_organization_permissions(seed.organization_permissions)
        if self.token_user_id not in self._users:
            raise ValueError(
                f"the seed has no user {self.token_user_id!r}, the API token's user (tokenUserId): "
                "a token whose user does not exist is refused"
            )

    # ----- reads (deep copies, wire format) -----

    def users_and_groups(self) -> dict[str, Any]:
        """The ``/layout/usersAndUserGroups`` document."""
        with self._lock:
            return {"users": self._users_layout(), "userGroups": self._groups_layout()}

    def users(self) -> list[dict[str, Any]]:
        """The users of ``/layout/users``."""
        with self._lock:
            return self._users_layout()

    def user_groups(self) -> list[dict[str, Any]]:
        """The groups of ``/layout/userGroups``."""
        with self._lock:
            return self._groups_layout()

    def has_user(self, user_id: str) -> bool:
        """Whether a user with this id exists."""
        with self._lock:
            return user_id in self._users

    def workspaces(self) -> list[dict[str, Any]]:
        """Workspaces as ``{"id", "name", "parent"?}``, sorted by id."""
        with self._lock:
            return [copy.deepcopy(self._workspaces[w]) for w in sorted(self._workspaces)]

    def data_source_ids(self) -> list[str]:
        """Ids of the data sources that exist."""
        with self._lock:
            return sorted(self._data_source_permissions)

    def workspace_permissions(self, workspace_id: str) -> dict[str, Any]:
        """The ``/layout/workspaces/{id}/permissions`` document; ``KeyError`` for an unknown workspace."""
        with self._lock:
            doc = self._workspace_permissions[workspace_id]
            return {
                "permissions": _sorted_grants(doc["permissions"]),
                "hierarchyPermissions": _sorted_grants(doc["hierarchyPermissions"]),
            }

    def data_source_permissions(self, data_source_id: str) -> dict[str, Any]:
        """The ``/layout/dataSources/{id}/permissions`` document; ``KeyError`` for an unknown data source."""
        with self._lock:
            return {"permissions": _sorted_grants(self._data_source_permissions[data_source_id])}

    def direct_permissions(self, assignee_type: str, assignee_id: str) -> dict[str, Any] | None:
        """``GET /actions/userManagement/{users|userGroups}/{id}/permissions`` without ``includeInherited``:
        the grants that name the principal itself, per workspace and data source; ``None`` if it does not
        exist."""
        with self._lock:
            known = self._users if assignee_type == "user" else self._groups
            if assignee_id not in known:
                return None

            def names(grants: list[dict[str, Any]]) -> list[str]:
                return sorted(
                    g["name"]
                    for g in grants
                    if g["assignee"]["id"] == assignee_id and g["assignee"]["type"] == assignee_type
                )

            workspaces = []
            for workspace_id in sorted(self._workspace_permissions):
                doc = self._workspace_permissions[workspace_id]
                plain, hierarchy = names(doc["permissions"]), names(doc["hierarchyPermissions"])
                if plain or hierarchy:
                    workspaces.append(
                        {
                            "hierarchyPermissions": hierarchy,
                            "id": workspace_id,
                            "name": self._workspaces[workspace_id].get("name", workspace_id),
                            "permissions": plain,
                        }
                    )
            data_sources = []
            for data_source_id in sorted(self._data_source_permissions):
                granted = names(self._data_source_permissions[data_source_id])
                if granted:
                    data_sources.append(
                        {"id": data_source_id, "name": data_source_id, "permissions": granted}
                    )
            return {"dataSources": data_sources, "workspaces": workspaces}

    def organization_permissions(self) -> list[dict[str, Any]]:
        """The ``/layout/organization/permissions`` array."""
        with self._lock:
            return _sorted_grants(self._organization_permissions)

    def snapshot(self) -> dict[str, Any]:
        """Everything, for equality checks in tests."""
        with self._lock:
            return {
                "users": self._users_layout(),
                "userGroups": self._groups_layout(),
                "workspaces": self.workspaces(),
                "workspacePermissions": {w: self.workspace_permissions(w) for w in sorted(self._workspaces)},
                "dataSourcePermissions": {
                    d: self.data_source_permissions(d) for d in sorted(self._data_source_permissions)
                },
                "organizationPermissions": self.organization_permissions(),
            }

    def _users_layout(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._users[u]) for u in sorted(self._users)]

    def _groups_layout(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._groups[g]) for g in sorted(self._groups)]

    # ----- declarative writes (validated; nothing stored when rejected) -----

    def put_users_and_groups(self, doc: dict[str, Any]) -> None:
        """Replace all users and groups, as ``PUT /layout/usersAndUserGroups``; raises ``RequestRejected``."""
        doc = _check_schema("DeclarativeUsersUserGroups", doc)
        with self._lock:
            groups = self._normalize_groups(doc["userGroups"])
            users = self._normalize_users(doc["users"])
            self._check_groups(groups, user_ids=set(users))
            self._check_users(users, group_ids=set(groups))
            self._replace(users, groups)

    def put_users(self, doc: dict[str, Any]) -> None:
        """Replace all users, as ``PUT /layout/users``; raises ``RequestRejected``."""
        doc = _check_schema("DeclarativeUsers", doc)
        with self._lock:
            users = self._normalize_users(doc["users"])
            self._check_users(users, group_ids=set(self._groups))
            for group in self._groups.values():
                self._check_grant_assignees(f"userGroup {group['id']}", group["permissions"], set(users))
            self._replace(users, copy.deepcopy(self._groups))

    def put_user_groups(self, doc: dict[str, Any]) -> None:
        """Replace all groups, as ``PUT /layout/userGroups``; raises ``RequestRejected``."""
        doc = _check_schema("DeclarativeUserGroups", doc)
        with self._lock:
            groups = self._normalize_groups(doc["userGroups"])
            self._check_groups(groups, user_ids=set(self._users))
            self._replace(copy.deepcopy(self._users), groups)

    def put_workspace_permissions(self, workspace_id: str, doc: dict[str, Any]) -> None:
        """Replace one workspace's permissions; ``KeyError`` if unknown, ``RequestRejected`` if invalid."""
        doc = _check_schema("DeclarativeWorkspacePermissions", doc)
        with self._lock:
            if workspace_id not in self._workspaces:
                raise KeyError(workspace_id)
            permissions = list(doc.get("permissions", []))
            hierarchy = list(doc.get("hierarchyPermissions", []))
            self._check_grant_assignees(f"workspace {workspace_id}", permissions + hierarchy)
            self._workspace_permissions[workspace_id] = {
                "permissions": _dedupe(permissions),
                "hierarchyPermissions": _dedupe(hierarchy),
            }

    def put_data_source_permissions(self, data_source_id: str, doc: dict[str, Any]) -> None:
        """Replace one data source's permissions; ``KeyError`` if unknown, ``RequestRejected`` if invalid."""
        doc = _check_schema("DeclarativeDataSourcePermissions", doc)
        with self._lock:
            if data_source_id not in self._data_source_permissions:
                raise KeyError(data_source_id)
            permissions = list(doc.get("permissions", []))
            self._check_grant_assignees(f"data source {data_source_id}", permissions)
            self._data_source_permissions[data_source_id] = _dedupe(permissions)

    def put_organization_permissions(self, grants: list[dict[str, Any]]) -> None:
        """Replace the organization permissions; raises ``RequestRejected``."""
        grants = _check_schema("DeclarativeOrganizationPermission", grants, as_array=True)
        with self._lock:
            self._check_grant_assignees("organization", list(grants))
            self._organization_permissions = _dedupe(grants)

    # ----- entity writes -----

    def create_user(self, user: dict[str, Any]) -> None:
        """Add one user (layout format); 409 if the id exists."""
        with self._lock:
            if user["id"] in self._users:
                raise RequestRejected(409, f"User '{user['id']}' already exists.")
            self.replace_user(user)

    def replace_user(self, user: dict[str, Any]) -> None:
        """Add or replace one user (layout format), keeping its permissions and settings if not given."""
        with self._lock:
            existing = self._users.get(user["id"], {})
            merged = {
                "permissions": existing.get("permissions", []),
                "settings": existing.get("settings", []),
            }
            merged |= user
            normalized = self._normalize_users([merged])
            self._check_users(
                normalized, group_ids=set(self._groups), user_ids=set(self._users) | {user["id"]}
            )
            self._users.update(normalized)

    def delete_user(self, user_id: str) -> None:
        """Delete one user and every grant naming it; ``KeyError`` if unknown."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(user_id)
            users = copy.deepcopy(self._users)
            del users[user_id]
            self._replace(users, copy.deepcopy(self._groups))

    def create_group(self, group: dict[str, Any]) -> None:
        """Add one group (layout format); 409 if the id exists."""
        with self._lock:
            if group["id"] in self._groups:
                raise RequestRejected(409, f"UserGroup '{group['id']}' already exists.")
            self.replace_group(group)

    def replace_group(self, group: dict[str, Any]) -> None:
        """Add or replace one group (layout format), keeping its permissions if not given."""
        with self._lock:
            existing = self._groups.get(group["id"], {})
            merged = {"permissions": existing.get("permissions", [])} | group
            groups = copy.deepcopy(self._groups)
            groups.update(self._normalize_groups([merged]))
            self._check_groups(groups, user_ids=set(self._users))
            self._groups = groups

    def delete_group(self, group_id: str) -> None:
        """Delete one group and every grant and membership naming it; ``KeyError`` if unknown."""
        with self._lock:
            if group_id not in self._groups:
                raise KeyError(group_id)
            groups = copy.deepcopy(self._groups)
            del groups[group_id]
            self._replace(copy.deepcopy(self._users), groups)

    def create_workspace(self, workspace: dict[str, Any]) -> None:
        """Add one workspace ``{"id", "name", "parent"?}``; 409 if the id exists."""
        with self._lock:
            if workspace["id"] in self._workspaces:
                raise RequestRejected(409, f"Workspace '{workspace['id']}' already exists.")
            self.replace_workspace(workspace)

    def replace_workspace(self, workspace: dict[str, Any]) -> None:
        """Add or replace one workspace; its parent must exist and must not be itself."""
        with self._lock:
            parent = workspace.get("parent")
            if parent is not None and (parent not in self._workspaces or parent == workspace["id"]):
                raise RequestRejected(
                    400, f"Workspace '{workspace['id']}': unknown parent workspace '{parent}'."
                )
            self._workspaces[workspace["id"]] = {k: v for k, v in workspace.items() if v is not None}
            self._workspace_permissions.setdefault(
                workspace["id"], {"permissions": [], "hierarchyPermissions": []}
            )

    def delete_workspace(self, workspace_id: str) -> None:
        """Delete a workspace without children, with its permissions; ``KeyError`` if unknown."""
        with self._lock:
            if workspace_id not in self._workspaces:
                raise KeyError(workspace_id)
            children = [w for w, ws in self._workspaces.items() if ws.get("parent") == workspace_id]
            if children:
                raise RequestRejected(
                    400, f"Workspace '{workspace_id}' has child workspaces: {sorted(children)}."
                )
            del self._workspaces[workspace_id]
            del self._workspace_permissions[workspace_id]

    # ----- internals -----

    def _normalize_users(self, users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for user in users:
            if user["id"] in result:
                raise RequestRejected(400, f"Duplicate user id '{user['id']}'.")
            normalized = {k: copy.deepcopy(v) for k, v in user.items() if v is not None}
            normalized["permissions"] = _dedupe(user.get("permissions") or [])
            normalized["settings"] = copy.deepcopy(user.get("settings") or [])
            normalized["userGroups"] = sorted(
                ({"id": g["id"], "type": "userGroup"} for g in _unique_ids(user.get("userGroups") or [])),
                key=lambda g: g["id"],
            )
            result[user["id"]] = normalized
        return result

    def _normalize_groups(self, groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for group in groups:
            if group["id"] in result:
                raise RequestRejected(400, f"Duplicate user group id '{group['id']}'.")
            normalized = {k: copy.deepcopy(v) for k, v in group.items() if v is not None and k != "parents"}
            parents = sorted(
                ({"id": p["id"], "type": "userGroup"} for p in _unique_ids(group.get("parents") or [])),
                key=lambda p: p["id"],
            )
            if parents:
                normalized["parents"] = parents
            normalized["permissions"] = _dedupe(group.get("permissions") or [])
            result[group["id"]] = normalized
        return result

    def _check_users(
        self, users: dict[str, dict[str, Any]], group_ids: set[str], user_ids: set[str] | None = None
    ) -> None:
        known_users = set(users) if user_ids is None else user_ids
        for user in users.values():
            for membership in user["userGroups"]:
                if membership["id"] not in group_ids:
                    raise RequestRejected(
                        400, f"User '{user['id']}': unknown user group '{membership['id']}'."
                    )
            self._check_grant_assignees(f"user {user['id']}", user["permissions"], known_users, group_ids)

    def _check_groups(self, groups: dict[str, dict[str, Any]], user_ids: set[str]) -> None:
        for group in groups.values():
            for parent in group.get("parents", []):
                if parent["id"] not in groups:
                    raise RequestRejected(
                        400, f"User group '{group['id']}': unknown parent '{parent['id']}'."
                    )
            self._check_grant_assignees(
                f"userGroup {group['id']}", group["permissions"], user_ids, set(groups)
            )

    def _check_grant_assignees(
        self,
        owner: str,
        grants: list[dict[str, Any]],
        user_ids: set[str] | None = None,
        group_ids: set[str] | None = None,
    ) -> None:
        known_users = self._users.keys() if user_ids is None else user_ids
        known_groups = self._groups.keys() if group_ids is None else group_ids
        for grant in grants:
            kind, assignee_id = _assignee_key(grant["assignee"])
            known = known_users if kind == "user" else known_groups
            if assignee_id not in known:
                raise RequestRejected(400, f"{owner}: unknown assignee {kind} '{assignee_id}'.")

    def _replace(self, users: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]]) -> None:
        """Install new users and groups and drop every grant naming one that is gone."""
        gone = {("user", u) for u in self._users if u not in users}
        gone |= {("userGroup", g) for g in self._groups if g not in groups}
        self._users, self._groups = users, groups
        if not gone:
            return
        gone_groups = {g for kind, g in gone if kind == "userGroup"}

        def keep(grants: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [g for g in grants if _assignee_key(g["assignee"]) not in gone]

        for user in self._users.values():
            user["permissions"] = keep(user["permissions"])
            user["userGroups"] = [m for m in user["userGroups"] if m["id"] not in gone_groups]
        for group in self._groups.values():
            group["permissions"] = keep(group["permissions"])
            if "parents" in group:
                group["parents"] = [p for p in group["parents"] if p["id"] not in gone_groups]
                if not group["parents"]:
                    del group["parents"]
        for doc in self._workspace_permissions.values():
            doc["permissions"] = keep(doc["permissions"])
            doc["hierarchyPermissions"] = keep(doc["hierarchyPermissions"])
        for data_source_id, grants in self._data_source_permissions.items():
            self._data_source_permissions[data_source_id] = keep(grants)
        self._organization_permissions = keep(self._organization_permissions)


def _unique_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(item["id"], item)
    return list(seen.values())


def _dedupe(grants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for grant in grants:
        kind, assignee_id = _assignee_key(grant["assignee"])
        seen.setdefault(
            (grant["name"], kind, assignee_id),
            {"name": grant["name"], "assignee": {"id": assignee_id, "type": kind}},
        )
    return list(seen.values())


# ----- entity documents -----


def _user_entity(
    user: dict[str, Any], base: str, *, links: bool, relationships: bool = True
) -> dict[str, Any]:
    attributes = {wire: user[layout] for layout, wire in _USER_ATTRIBUTES if layout in user}
    entity: dict[str, Any] = {"attributes": attributes, "id": user["id"], "type": "user"}
    if links:
        entity["links"] = {"self": f"{base}/api/v1/entities/users/{user['id']}"}
    if relationships and user.get("userGroups"):
        entity["relationships"] = {"userGroups": {"data": copy.deepcopy(user["userGroups"])}}
    return entity


def _group_entity(
    group: dict[str, Any], base: str, *, links: bool, relationships: bool = True
) -> dict[str, Any]:
    attributes = {"name": group["name"]} if "name" in group else {}
    entity: dict[str, Any] = {"attributes": attributes, "id": group["id"], "type": "userGroup"}
    if links:
        entity["links"] = {"self": f"{base}/api/v1/entities/userGroups/{group['id']}"}
    if relationships and group.get("parents"):
        entity["relationships"] = {"parents": {"data": copy.deepcopy(group["parents"])}}
    return entity


def _workspace_entity(
    workspace: dict[str, Any], base: str, *, links: bool, relationships: bool = True
) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "attributes": {"name": workspace["name"]},
        "id": workspace["id"],
        "type": "workspace",
    }
    if links:
        entity["links"] = {"self": f"{base}/api/v1/entities/workspaces/{workspace['id']}"}
    if relationships and workspace.get("parent"):
        entity["relationships"] = {"parent": {"data": {"id": workspace["parent"], "type": "workspace"}}}
    return entity


@dataclass(frozen=True)
class _EntityKind:
    """How one entity collection maps to the state."""

    path: str
    type_name: str
    in_schema: str
    patch_schema: str


_USERS = _EntityKind("users", "user", "JsonApiUserInDocument", "JsonApiUserPatchDocument")
_GROUPS = _EntityKind(
    "userGroups", "userGroup", "JsonApiUserGroupInDocument", "JsonApiUserGroupPatchDocument"
)
_WORKSPACES = _EntityKind(
    "workspaces", "workspace", "JsonApiWorkspaceInDocument", "JsonApiWorkspacePatchDocument"
)


class GoodDataApplication(SandboxApplication):
    """The GoodData endpoints; each handler reads or writes the one ``GoodDataState``."""

    def __init__(self, state: GoodDataState, token: str, faults: Faults, counters: Counters) -> None:
        self.state = state
        self.token = token
        super().__init__(faults, counters)

    def routes(self) -> Iterable[tuple[str, tuple[str, ...], Handler]]:
        """Every endpoint the sandbox answers."""
        layout = "/api/v1/layout"
        entities = "/api/v1/entities"
        return [
            (f"{layout}/usersAndUserGroups", ("GET", "PUT"), self.layout_users_and_groups),
            (f"{layout}/users", ("GET", "PUT"), self.layout_users),
            (f"{layout}/userGroups", ("GET", "PUT"), self.layout_user_groups),
            (f"{layout}/workspaces/{{id}}/permissions", ("GET", "PUT"), self.layout_workspace_permissions),
            (f"{layout}/organization/permissions", ("GET", "PUT"), self.layout_organization_permissions),
            (f"{layout}/dataSources/{{id}}/permissions", ("GET", "PUT"), self.layout_data_source_permissions),
            (f"{entities}/users", ("GET", "POST"), self.entity_collection(_USERS)),
            (f"{entities}/users/{{id}}", ("GET", "PUT", "PATCH", "DELETE"), self.entity_item(_USERS)),
            (f"{entities}/userGroups", ("GET", "POST"), self.entity_collection(_GROUPS)),
            (f"{entities}/userGroups/{{id}}", ("GET", "PUT", "PATCH", "DELETE"), self.entity_item(_GROUPS)),
            (f"{entities}/workspaces", ("GET", "POST"), self.entity_collection(_WORKSPACES)),
            (
                f"{entities}/workspaces/{{id}}",
                ("GET", "PUT", "PATCH", "DELETE"),
                self.entity_item(_WORKSPACES),
            ),
            (f"{entities}/organization", ("GET",), self.organization_redirect),
            (f"{entities}/admin/organizations/{{id}}", ("GET",), self.organization),
            ("/api/v1/profile", ("GET",), self.profile),
            ("/api/v1/actions/userManagement/users/{id}/permissions", ("GET",), self.permissions_of("user")),
            (
                "/api/v1/actions/userManagement/userGroups/{id}/permissions",
                ("GET",),
                self.permissions_of("userGroup"),
            ),
        ]

    # ----- cross-cutting -----

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        token_ok = secrets.compare_digest(authorization.encode(), f"Bearer {self.token}".encode())
        # A deleted user loses its API tokens: once the token's user is gone, the token no longer works.
        if not token_ok or not self.state.has_user(self.state.token_user_id):
            request = Request(environ)
            self.counters.record(request.method.upper(), "(unauthorized)", request.path)
            detail = "Authorization header with a valid bearer token is required."
            response = problem_response(401, detail, {"WWW-Authenticate": "Bearer"})
            return self.answer(request, self._recorded_headers(request, response))(environ, start_response)
        return super().__call__(environ, start_response)

    @staticmethod
    def _recorded_headers(request: Request, response: Response) -> Response:
        """The headers every recorded answer of the real server carries."""
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault(TRACE_HEADER, secrets.token_hex(16))
        workspace_item = request.path.startswith("/api/v1/entities/workspaces/")
        if not (request.method == "GET" and workspace_item and response.status_code == 200):
            response.headers.update(NO_CACHE_HEADERS)
        return response

    def decorate(self, request: Request, response: Response, decision: FaultDecision) -> Response:
        """The recorded headers on every answer, and rate-limit headers on a 429."""
        return super().decorate(request, self._recorded_headers(request, response), decision)

    def not_found(self, request: Request) -> Response:
        """The recorded 404 problem."""
        return not_found_response()

    def method_not_allowed(self, request: Request) -> Response:
        """A 405 problem."""
        return problem_response(405, f"Request method '{request.method}' is not supported.")

    def fault_response(self, kind: str, decision: FaultDecision) -> Response:
        """Injected errors as problems; 429 carries ``Retry-After``."""
        status = int(kind)
        headers = {"Retry-After": str(decision.retry_after_seconds)} if status == 429 else None
        return problem_response(status, f"Injected fault: HTTP {status}.", headers)

    @staticmethod
    def _body(request: Request) -> Any:
        """The JSON request body; 415 when a body comes with a Content-Type that is not JSON."""
        data = request.get_data(as_text=True)
        mimetype = request.mimetype or "application/octet-stream"
        if data and not (mimetype in JSON_MEDIA_TYPES or mimetype.endswith("+json")):
            content_type = request.headers.get("Content-Type") or "application/octet-stream"
            raise RequestRejected(415, f"Content-Type '{content_type}' is not supported.")
        try:
            return json.loads(data or "null")
        except ValueError as error:
            raise RequestRejected(400, f"Malformed JSON request body: {error}") from error

    @staticmethod
    def _base(request: Request) -> str:
        return request.host_url.rstrip("/")

    def _write(self, action: Any) -> Response:
        try:
            action()
        except RequestRejected as rejected:
            return problem_response(rejected.status, rejected.detail)
        except KeyError:
            return not_found_response()
        return no_content()

    # ----- layout -----

    def layout_users_and_groups(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/usersAndUserGroups``."""
        if request.method == "GET":
            return json_response(self.state.users_and_groups())
        return self._write(lambda: self.state.put_users_and_groups(self._body(request)))

    def layout_users(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/users``."""
        if request.method == "GET":
            return json_response({"users": self.state.users()})
        return self._write(lambda: self.state.put_users(self._body(request)))

    def layout_user_groups(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/userGroups``."""
        if request.method == "GET":
            return json_response({"userGroups": self.state.user_groups()})
        return self._write(lambda: self.state.put_user_groups(self._body(request)))

    def layout_workspace_permissions(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/workspaces/{id}/permissions``."""
        if request.method == "GET":
            try:
                return json_response(self.state.workspace_permissions(args["id"]))
            except KeyError:
                return not_found_response()
        return self._write(lambda: self.state.put_workspace_permissions(args["id"], self._body(request)))

    def layout_organization_permissions(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/organization/permissions`` (a bare array)."""
        if request.method == "GET":
            return json_response(self.state.organization_permissions())
        return self._write(lambda: self.state.put_organization_permissions(self._body(request)))

    def layout_data_source_permissions(self, request: Request, args: dict[str, str]) -> Response:
        """``GET/PUT /api/v1/layout/dataSources/{id}/permissions``."""
        if request.method == "GET":
            try:
                return json_response(self.state.data_source_permissions(args["id"]))
            except KeyError:
                return not_found_response()
        return self._write(lambda: self.state.put_data_source_permissions(args["id"], self._body(request)))

    # ----- entities -----

    def _entities(self, kind: _EntityKind) -> list[dict[str, Any]]:
        if kind is _USERS:
            return self.state.users()
        if kind is _GROUPS:
            return self.state.user_groups()
        return self.state.workspaces()

    def _entity(self, kind: _EntityKind, item: dict[str, Any], base: str, *, links: bool) -> dict[str, Any]:
        if kind is _USERS:
            return _user_entity(item, base, links=links)
        if kind is _GROUPS:
            return _group_entity(item, base, links=links)
        return _workspace_entity(item, base, links=links)

    def _included(self, kind: _EntityKind, items: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
        """Side-loaded related objects: a user's groups, a group's parents, a workspace's parent."""
        if kind is _USERS:
            ids = [g["id"] for item in items for g in item.get("userGroups", [])]
            groups = {g["id"]: g for g in self.state.user_groups()}
            return [
                _group_entity(groups[i], base, links=True, relationships=False) for i in dict.fromkeys(ids)
            ]
        if kind is _GROUPS:
            ids = [p["id"] for item in items for p in item.get("parents", [])]
            groups = {g["id"]: g for g in self.state.user_groups()}
            return [
                _group_entity(groups[i], base, links=True, relationships=False) for i in dict.fromkeys(ids)
            ]
        ids = [item["parent"] for item in items if item.get("parent")]
        workspaces = {w["id"]: w for w in self.state.workspaces()}
        return [
            _workspace_entity(workspaces[i], base, links=True, relationships=False)
            for i in dict.fromkeys(ids)
        ]

    def entity_collection(self, kind: _EntityKind) -> Handler:
        """``GET`` (paged list) and ``POST`` (create) on ``/api/v1/entities/<kind>``."""

        def handle(request: Request, args: dict[str, str]) -> Response:
            base = self._base(request)
            if request.method == "POST":
                return self._create_or_replace(kind, request, None)
            try:
                page = int(request.args.get("page", "0"))
                size = int(request.args.get("size", str(DEFAULT_PAGE_SIZE)))
            except ValueError:
                return problem_response(400, "Parameters 'page' and 'size' must be integers.")
            if page < 0 or size < 1:
                return problem_response(400, "Parameter 'page' must be >= 0 and 'size' >= 1.")
            items = self._entities(kind)[page * size : (page + 1) * size]
            body: dict[str, Any] = {"data": [self._entity(kind, item, base, links=True) for item in items]}
            if request.args.get("include"):
                included = self._included(kind, items, base)
                if included:
                    body["included"] = included
            query = {k: v for k, v in request.args.items(multi=True) if k not in ("page", "size")}
            path = f"{base}{request.path}"
            body["links"] = {"self": f"{path}?{urlencode({**query, 'page': page, 'size': size})}"}
            if items:
                body["links"]["next"] = f"{path}?{urlencode({**query, 'page': page + 1, 'size': size})}"
            return json_response(body)

        return handle

    def entity_item(self, kind: _EntityKind) -> Handler:
        """``GET``, ``PUT``, ``PATCH`` and ``DELETE`` on ``/api/v1/entities/<kind>/{id}``."""

        def handle(request: Request, args: dict[str, str]) -> Response:
            entity_id = args["id"]
            base = self._base(request)
            if request.method in ("PUT", "PATCH"):
                return self._create_or_replace(kind, request, entity_id)
            if request.method == "DELETE":
                deleters = {_USERS: self.state.delete_user, _GROUPS: self.state.delete_group}
                deleter = deleters.get(kind, self.state.delete_workspace)
                response = self._write(lambda: deleter(entity_id))
                if response.status_code == 204:
                    response.content_type = "application/vnd.gooddata.api+json"
                return response
            items = [item for item in self._entities(kind) if item["id"] == entity_id]
            if not items:
                return not_found_response()
            body: dict[str, Any] = {"data": self._entity(kind, items[0], base, links=False)}
            if request.args.get("include"):
                included = self._included(kind, items, base)
                if included:
                    body["included"] = included
            body["links"] = {"self": request.url}
            return json_response(body)

        return handle

    def _create_or_replace(self, kind: _EntityKind, request: Request, entity_id: str | None) -> Response:
        """POST (``entity_id`` None), PUT or PATCH of one entity document."""
        try:
            body = self._body(request)
            schema = kind.patch_schema if request.method == "PATCH" else kind.in_schema
            body = _check_schema(schema, body)
            data = body["data"]
            if entity_id is not None and data["id"] != entity_id:
                raise RequestRejected(
                    400, f"Id in the body '{data['id']}' does not match the URL '{entity_id}'."
                )
            existing = {item["id"]: item for item in self._entities(kind)}
            if entity_id is not None and entity_id not in existing:
                return not_found_response()
            layout_item = self._layout_from_entity(
                kind, data, existing.get(data["id"]), request.method == "PATCH"
            )
            if kind is _USERS:
                (self.state.create_user if entity_id is None else self.state.replace_user)(layout_item)
            elif kind is _GROUPS:
                (self.state.create_group if entity_id is None else self.state.replace_group)(layout_item)
            else:
                (self.state.create_workspace if entity_id is None else self.state.replace_workspace)(
                    layout_item
                )
        except RequestRejected as rejected:
            return problem_response(rejected.status, rejected.detail)
        stored = next(item for item in self._entities(kind) if item["id"] == data["id"])
        base = self._base(request)
        answer = {
            "data": self._entity_without_relationships(kind, stored, base),
            "links": {"self": f"{base}/api/v1/entities/{kind.path}/{data['id']}"},
        }
        return json_response(answer, 201 if entity_id is None else 200)

    def _entity_without_relationships(
        self, kind: _EntityKind, item: dict[str, Any], base: str
    ) -> dict[str, Any]:
        if kind is _USERS:
            return _user_entity(item, base, links=False, relationships=False)
        if kind is _GROUPS:
            return _group_entity(item, base, links=False, relationships=False)
        return _workspace_entity(item, base, links=False, relationships=False)

    @staticmethod
    def _layout_from_entity(
        kind: _EntityKind, data: dict[str, Any], existing: dict[str, Any] | None, patch: bool
    ) -> dict[str, Any]:
        """Entity ``data`` -> layout item; PUT replaces attributes and relationships, PATCH merges them."""
        attributes = data.get("attributes") or {}
        relationships = data.get("relationships") or {}
        item: dict[str, Any] = copy.deepcopy(existing) if (patch and existing) else {"id": data["id"]}
        if kind is _USERS:
            for layout_name, wire_name in _USER_ATTRIBUTES:
                if wire_name in attributes:
                    item[layout_name] = attributes[wire_name]
            if "userGroups" in relationships or not patch:
                linkage = (relationships.get("userGroups") or {}).get("data") or []
                item["userGroups"] = [{"id": g["id"], "type": "userGroup"} for g in linkage]
        elif kind is _GROUPS:
            if "name" in attributes:
                item["name"] = attributes["name"]
            if "parents" in relationships or not patch:
                linkage = (relationships.get("parents") or {}).get("data") or []
                item["parents"] = [{"id": g["id"], "type": "userGroup"} for g in linkage]
        else:
            if "name" in attributes or not patch:
                item["name"] = attributes.get("name") or data["id"]
            if "parent" in relationships or not patch:
                parent = (relationships.get("parent") or {}).get("data")
                item["parent"] = parent["id"] if parent else None
        return item

    # ----- organization and profile -----

    def organization_redirect(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v1/entities/organization`` answers 302 like the real server."""
        response = Response(b"", status=302, content_type="application/vnd.gooddata.api+json")
        response.headers["Location"] = f"/api/v1/entities/admin/organizations/{self.state.organization_id}"
        response.autocorrect_location_header = False
        return response

    def organization(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v1/entities/admin/organizations/{id}``."""
        if args["id"] != self.state.organization_id:
            return not_found_response()
        base = self._base(request)
        body = {
            "data": {
                "attributes": {
                    "allowedOrigins": [],
                    "dataCenter": "",
                    "hostname": request.host.split(":")[0],
                    "name": self.state.organization_name,
                    "region": "",
                },
                "id": self.state.organization_id,
                "type": "organization",
            },
            "links": {"self": f"{base}/api/v1/entities/admin/organizations/{self.state.organization_id}"},
        }
        return json_response(body, content_type="application/vnd.gooddata.api+json")

    def permissions_of(self, assignee_type: str) -> Handler:
        """The handler listing one user's or group's direct workspace and data source grants."""

        def handler(request: Request, args: dict[str, str]) -> Response:
            body = self.state.direct_permissions(assignee_type, args["id"])
            if body is None:
                return not_found_response()
            return json_response(body)

        return handler

    def profile(self, request: Request, args: dict[str, str]) -> Response:
        """``GET /api/v1/profile``: every field the SDK's ``Profile`` model requires."""
        base = self._base(request)
        user_id = self.state.token_user_id
        organization_id = self.state.organization_id
        body = {
            "userId": user_id,
            "organizationId": organization_id,
            "organizationName": self.state.organization_name,
            "name": user_id,
            "permissions": ["MANAGE", "SELF_CREATE_TOKEN", "BASE_UI_ACCESS"],
            "entitlements": [],
            "features": {"context": {"earlyAccess": "", "earlyAccessValues": []}, "items": {}},
            "links": {
                "self": f"{base}/api/v1/profile",
                "organization": f"{base}/api/v1/entities/admin/organizations/{organization_id}",
                "user": f"{base}/api/v1/entities/users/{user_id}",
            },
            "telemetryConfig": {
                "context": {"deploymentId": "sandbox", "organizationHash": "sandbox", "userHash": "sandbox"},
                "services": {},
            },
        }
        return json_response(body)


def _is_gooddata_write(method: str, template: str) -> bool:
    return method in WRITE_METHODS


class GoodDataServer:
    """A running sandbox GoodData server on 127.0.0.1."""

    def __init__(
        self,
        seed: GoodDataSeed | None = None,
        *,
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        faults: FaultConfig | None = None,
    ) -> None:
        self.token = token
        self.state = GoodDataState(seed)
        self.faults = Faults(faults)
        self.counters = Counters(_is_gooddata_write)
        self._app = GoodDataApplication(self.state, token, self.faults, self.counters)
        self._server = ServerThread(self._app, port, name="sandbox-gooddata")
        self.url = self._server.url
        self.port = self._server.port

    def stop(self) -> None:
        """Stop serving and release stalled requests."""
        self.faults.release_stalls()
        self._server.stop()
