"""The plan: every change the reconciler would make, as data.

A ``Plan`` is computed by ``reconciler.diff.compute_plan`` and then rendered (text,
Markdown, JSON), checked by the safety guards, saved, and applied; all of them read the same
objects. Nothing here performs I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from reconciler.model import Diagnostic, Document, Grant

ChangeAction = Literal["create", "update", "delete"]
#: Display and sort order of actions: what appears, what changes, what goes away.
ACTION_ORDER: Mapping[str, int] = {"create": 0, "update": 1, "delete": 2}
GrantScope = Literal["organization", "workspace", "data_source"]


@dataclass(frozen=True)
class FieldChange:
    """One scalar field of a user or group that changes (``email``, ``firstname``, ``name``...)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class UserChange:
    """A user created, updated (groups or profile fields) or deleted."""

    action: ChangeAction
    user_id: str
    reason: str  # why, in words: "auth0 roles: Analyst", "departed from auth0 (...)", "role change (...)"
    auth_id: str | None = None
    email: str | None = None
    groups_added: tuple[str, ...] = ()
    groups_removed: tuple[str, ...] = ()
    fields: tuple[FieldChange, ...] = ()
    stripped: bool = False  # departed user kept, its groups and grants dropped


@dataclass(frozen=True)
class GroupChange:
    """A user group created, updated (name or parents) or deleted."""

    action: ChangeAction
    group_id: str
    reason: str
    name: str | None = None
    parents_added: tuple[str, ...] = ()
    parents_removed: tuple[str, ...] = ()
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, order=True)
class GrantChange:
    """One grant added (``create``) or revoked (``delete``) on one object.

    ``target`` is the workspace or data source id, ``""`` for the organisation.
    ``hierarchy`` marks a workspace hierarchy grant (it also applies to child workspaces).
    """

    scope: GrantScope
    target: str
    action: Literal["create", "delete"]
    grant: Grant
    hierarchy: bool = False


@dataclass(frozen=True)
class GuardResult:
    """The verdict of one safety guard on a plan."""

    name: str  # "max_removals", "protected", "lockout", "idp_completeness"
    passed: bool
    message: str
    overridable: bool  # True when --force lifts it (thresholds only)


@dataclass(frozen=True)
class PlanCounts:
    """How many objects each kind of change touches."""

    users_created: int = 0
    users_updated: int = 0
    users_deleted: int = 0
    users_stripped: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_deleted: int = 0
    grants_added: int = 0
    grants_revoked: int = 0

    @property
    def total(self) -> int:
        """All changes; ``users_stripped`` is a subset of ``users_updated`` and not added again."""
        return (
            self.users_created
            + self.users_updated
            + self.users_deleted
            + self.groups_created
            + self.groups_updated
            + self.groups_deleted
            + self.grants_added
            + self.grants_revoked
        )


@dataclass(frozen=True)
class Plan:
    """Changes, the documents that carry them, and what they were computed from."""

    user_changes: tuple[UserChange, ...]
    group_changes: tuple[GroupChange, ...]
    grant_changes: tuple[GrantChange, ...]
    writes: tuple[Document, ...]  # in apply order; only documents whose content changes
    replaced: Mapping[tuple[str, str], Any]  # (kind, target) -> live body each write replaces
    desired_checksum: str
    live_checksum: str
    warnings: tuple[Diagnostic, ...] = ()
    guards: tuple[GuardResult, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)  # config path, host, IdP, timings

    @property
    def is_empty(self) -> bool:
        """True when applying would write nothing."""
        return not self.writes

    @property
    def counts(self) -> PlanCounts:
        """Counts by kind of change."""
        users = self.user_changes
        groups = self.group_changes
        return PlanCounts(
            users_created=sum(1 for c in users if c.action == "create"),
            users_updated=sum(1 for c in users if c.action == "update"),
            users_deleted=sum(1 for c in users if c.action == "delete"),
            users_stripped=sum(1 for c in users if c.stripped),
            groups_created=sum(1 for c in groups if c.action == "create"),
            groups_updated=sum(1 for c in groups if c.action == "update"),
            groups_deleted=sum(1 for c in groups if c.action == "delete"),
            grants_added=sum(1 for c in self.grant_changes if c.action == "create"),
            grants_revoked=sum(1 for c in self.grant_changes if c.action == "delete"),
        )

    @cached_property
    def checksum(self) -> str:
        """Identifies this exact plan: the same inputs and live state give the same checksum."""
        payload = {
            "desired": self.desired_checksum,
            "live": self.live_checksum,
            "writes": [[d.kind, d.target, d.body] for d in self.writes],
        }
        return sha256_of(payload)

    def failed_guards(self, *, force: bool = False) -> tuple[GuardResult, ...]:
        """Guards that block an apply; ``force`` lifts only the overridable ones."""
        return tuple(g for g in self.guards if not g.passed and not (force and g.overridable))


def sha256_of(value: Any) -> str:
    """SHA-256 of the canonical JSON form of ``value`` (sorted keys, no whitespace)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
