"""Frozen domain types shared by every part of the reconciler.

Three families live here:

* the *desired state* as read from the YAML file (``DesiredState`` and its specs), every
  object carrying the ``Location`` it came from so that later errors can name ``file:line``;
* the *identity provider snapshot* (``IdentitySnapshot``): who exists in the IdP and which
  roles they hold;
* the *live GoodData organisation* (``LiveOrganization``): the raw declarative documents as the
  API returns them, in wire format (camelCase keys), so that no field the reconciler does not
  manage is ever lost on the way back.

Nothing in this module imports an SDK or performs I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: GoodData's identifier pattern for users, groups, workspaces and assignees.
ID_PATTERN = re.compile(r"^(?!\.)[.A-Za-z0-9_-]{1,255}$")
#: Longest ``authId``, ``email``, ``firstname``, ``lastname`` or group ``name`` GoodData accepts.
MAX_TEXT_LENGTH = 255

WORKSPACE_PERMISSIONS: frozenset[str] = frozenset(
    {
        "MANAGE",
        "ANALYZE",
        "EXPORT",
        "EXPORT_TABULAR",
        "EXPORT_PDF",
        "CREATE_AUTOMATION",
        "USE_AI_ASSISTANT",
        "WRITE_KNOWLEDGE_DOCUMENTS",
        "READ_KNOWLEDGE_DOCUMENTS",
        "CREATE_FILTER_VIEW",
        "CREATE_METRIC",
        "MANAGE_VISUALIZATIONS",
        "CREATE_VISUALIZATION",
        "CREATE_COMPUTED_ATTRIBUTE",
        "VIEW",
    }
)
ORGANIZATION_PERMISSIONS: frozenset[str] = frozenset({"MANAGE", "SELF_CREATE_TOKEN", "BASE_UI_ACCESS"})
DATA_SOURCE_PERMISSIONS: frozenset[str] = frozenset({"MANAGE", "USE"})

#: The bootstrap principals every GoodData organisation starts with; always protected.
BOOTSTRAP_ADMIN_USER = "admin"
BOOTSTRAP_ADMIN_GROUP = "adminGroup"

#: Environment variables holding credentials: redacted from output, refused as ``${VAR}`` in the file.
SECRET_VARIABLES = ("AUTH0_CLIENT_SECRET", "AUTH0_SECRET", "GOODDATA_TOKEN")

AssigneeType = Literal["user", "userGroup"]
DepartedPolicy = Literal["remove", "strip", "keep"]
UnmanagedPolicy = Literal["keep", "remove"]
UserIdStrategy = Literal["strip-auth0-prefix", "sanitize"]

JsonDict = dict[str, Any]


def is_valid_id(value: str) -> bool:
    """Return True when ``value`` is a valid GoodData identifier."""
    return bool(ID_PATTERN.match(value))


# --------------------------------------------------------------------------------------------
# Locations and diagnostics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Location:
    """A position in a desired-state file (1-based line and column)."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the inputs; ``level`` decides whether it blocks the run."""

    level: Literal["error", "warning"]
    message: str
    location: Location | None = None
    subject: str | None = None  # the object it is about (a user id, a group id, an IdP subject)

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.level}: {self.message}"


class ReconcilerError(Exception):
    """Base class of every error the reconciler reports as a clean one-line message."""


class InputError(ReconcilerError):
    """The inputs are invalid; carries every diagnostic so that all are reported at once."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


# --------------------------------------------------------------------------------------------
# Grants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Grant:
    """One permission granted to one user or group, e.g. ``ANALYZE`` to group ``analysts``."""

    name: str
    assignee_id: str
    assignee_type: AssigneeType

    def to_wire(self) -> JsonDict:
        """The grant as GoodData's declarative layout spells it."""
        return {"name": self.name, "assignee": {"id": self.assignee_id, "type": self.assignee_type}}

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> Grant:
        """Parse ``{"name": ..., "assignee": {"id": ..., "type": ...}}``."""
        assignee = item["assignee"]
        return cls(name=item["name"], assignee_id=assignee["id"], assignee_type=assignee["type"])

    @property
    def assignee_key(self) -> str:
        """The key the desired-state file uses: a group id, or ``user:<id>``."""
        return f"user:{self.assignee_id}" if self.assignee_type == "user" else self.assignee_id


# --------------------------------------------------------------------------------------------
# Desired state (the YAML file)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSpec:
    """A user group the file manages."""

    id: str
    name: str | None
    parents: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class UserSpec:
    """A user listed explicitly under ``users:`` (bootstrap admin, service accounts)."""

    id: str
    groups: tuple[str, ...]
    location: Location
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    auth_id: str | None = None


@dataclass(frozen=True)
class RoleMapping:
    """IdP role name -> the groups its holders get."""

    role: str
    groups: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class GrantSet:
    """A complete set of grants the file manages for one object, with each grant's location."""

    grants: frozenset[Grant]
    location: Location
    grant_locations: Mapping[Grant, Location] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class WorkspaceSpec:
    """Managed grants of one workspace; ``None`` means that list is not managed (carried over)."""

    id: str
    location: Location
    permissions: GrantSet | None = None
    hierarchy_permissions: GrantSet | None = None


@dataclass(frozen=True)
class DataSourceSpec:
    """Managed grants of one data source; ``None`` means not managed."""

    id: str
    location: Location
    permissions: GrantSet | None = None


@dataclass(frozen=True)
class RemovalThreshold:
    """``policy.max_removals``: an absolute count, or a percentage of the live users."""

    count: int | None = None
    percent: float | None = None
    text: str = "10%"

    def limit_for(self, population: int) -> int:
        """How many removals are allowed out of ``population``.

        A percentage is rounded down and there is no minimum population below which the guard
        is off: with "10%", 9 live users allow no removal without ``--force``, 60 allow 6.
        """
        if self.count is not None:
            return self.count
        percent = self.percent if self.percent is not None else 10.0
        return int(population * percent / 100)


@dataclass(frozen=True)
class Policy:
    """What to do with departed and unmanaged principals, and the safety limits."""

    departed_users: DepartedPolicy = "remove"
    unmanaged_users: UnmanagedPolicy = "keep"
    unmanaged_groups: UnmanagedPolicy = "keep"
    protected: tuple[str, ...] = ()
    max_removals: RemovalThreshold = field(default_factory=RemovalThreshold)


@dataclass(frozen=True)
class DesiredState:
    """The parsed and checked desired-state file."""

    source: str  # the file path as the user gave it
    version: int
    provider: str
    user_id_strategy: UserIdStrategy
    groups: Mapping[str, GroupSpec]
    role_mappings: Mapping[str, RoleMapping]
    default_groups: tuple[str, ...]
    users: Mapping[str, UserSpec]
    organization_permissions: GrantSet | None
    workspaces: Mapping[str, WorkspaceSpec]
    data_sources: Mapping[str, DataSourceSpec]
    policy: Policy
    checksum: str  # sha256 of the canonical content, for saved plans
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, hash=False)
    #: ``locations`` maps dotted paths ("groups.analysts", "role_mappings.Admin",
    #: "policy.protected") to where they were written, for errors found after reading.

    def location_of(self, path: str) -> Location | None:
        """Where ``path`` (a dotted key path) was written, or the nearest enclosing key."""
        while path:
            if path in self.locations:
                return self.locations[path]
            path = path.rpartition(".")[0]
        return None


# --------------------------------------------------------------------------------------------
# Identity provider snapshot
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityUser:
    """One IdP user; ``subject`` is the OIDC ``sub`` (Auth0 ``user_id``), GoodData's ``authId``."""

    subject: str
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    blocked: bool = False
    roles: frozenset[str] = frozenset()  # role names, not ids


@dataclass(frozen=True)
class IdentitySnapshot:
    """Everything read from the IdP. Adapters raise instead of returning a partial snapshot."""

    provider: str
    users: tuple[IdentityUser, ...]
    role_names: frozenset[str]
    reported_total: int  # the IdP's own count; equal to len(users) or the adapter has raised
    requests: int = 0  # HTTP requests the read took, for reports and benchmarks


class IdentityFetchError(ReconcilerError):
    """The IdP could not be read completely; never turned into removals."""


# --------------------------------------------------------------------------------------------
# Live GoodData organisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveOrganization:
    """The live GoodData documents the reconciler reads, in wire format (camelCase keys).

    ``users_and_groups`` is the body of ``GET /api/v1/layout/usersAndUserGroups``.
    ``workspace_permissions`` and ``data_source_permissions`` hold the bodies of the
    ``.../permissions`` layouts for the objects the desired state names and that exist, and of the
    objects it does not name that grant something to a user or group the plan removes or strips;
    ``organization_permissions`` is the bare list, or ``None`` when not read (not managed).
    """

    organization_id: str
    token_user_id: str
    users_and_groups: JsonDict
    workspaces: Mapping[str, str | None]  # workspace id -> parent id
    workspace_permissions: Mapping[str, JsonDict]
    data_source_permissions: Mapping[str, JsonDict]
    organization_permissions: tuple[JsonDict, ...] | None
    missing_data_sources: frozenset[str] = frozenset()


class GoodDataError(ReconcilerError):
    """A GoodData request failed after retries; the message names the request, never the token."""


# --------------------------------------------------------------------------------------------
# Documents the apply writes
# --------------------------------------------------------------------------------------------

DocumentKind = Literal[
    "users_and_groups", "workspace_permissions", "data_source_permissions", "organization_permissions"
]


@dataclass(frozen=True)
class Document:
    """One declarative document, identified by kind and target (workspace or data source id)."""

    kind: DocumentKind
    target: str  # "" for organisation-wide documents
    body: Any  # wire-format JSON (dict, or list for organisation permissions)

    @property
    def label(self) -> str:
        """Human name of the document, e.g. ``workspace demo permissions``."""
        names = {
            "users_and_groups": "users and groups",
            "workspace_permissions": f"workspace {self.target} permissions",
            "data_source_permissions": f"data source {self.target} permissions",
            "organization_permissions": "organization permissions",
        }
        return names[self.kind]
