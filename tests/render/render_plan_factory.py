"""Hand-built plans for the renderer tests: every change kind, hostile values, and big plans."""

from __future__ import annotations

from typing import Any

from reconciler.model import Diagnostic, Document, Grant, Location
from reconciler.plan import FieldChange, GrantChange, GroupChange, GuardResult, Plan, UserChange

DESIRED_CHECKSUM = "d" * 64
LIVE_CHECKSUM = "e" * 64


def make_plan(
    *,
    users: tuple[UserChange, ...] = (),
    groups: tuple[GroupChange, ...] = (),
    grants: tuple[GrantChange, ...] = (),
    warnings: tuple[Diagnostic, ...] = (),
    guards: tuple[GuardResult, ...] = (),
    metadata: dict[str, Any] | None = None,
    writes: tuple[Document, ...] | None = None,
) -> Plan:
    """A plan whose writes follow from its changes (one document per touched object)."""
    if writes is None:
        documents: list[Document] = []
        if users or groups:
            documents.append(Document("users_and_groups", "", {"users": [], "userGroups": []}))
        seen: set[tuple[str, str]] = set()
        for change in grants:
            kind = {
                "organization": "organization_permissions",
                "workspace": "workspace_permissions",
                "data_source": "data_source_permissions",
            }[change.scope]
            if (kind, change.target) not in seen:
                seen.add((kind, change.target))
                documents.append(Document(kind, change.target, {"permissions": []}))  # type: ignore[arg-type]
        writes = tuple(documents)
    return Plan(
        user_changes=users,
        group_changes=groups,
        grant_changes=grants,
        writes=writes,
        replaced={},
        desired_checksum=DESIRED_CHECKSUM,
        live_checksum=LIVE_CHECKSUM,
        warnings=warnings,
        guards=guards,
        metadata=metadata if metadata is not None else {},
    )


def grant(
    scope: str,
    target: str,
    action: str,
    name: str,
    assignee: str,
    *,
    user: bool = False,
    hierarchy: bool = False,
) -> GrantChange:
    """One grant change; ``user=True`` assigns it to a user instead of a group."""
    return GrantChange(
        scope=scope,  # type: ignore[arg-type]
        target=target,
        action=action,  # type: ignore[arg-type]
        grant=Grant(name, assignee, "user" if user else "userGroup"),
        hierarchy=hierarchy,
    )


def full_plan() -> Plan:
    """Every kind of change, a warning, a passed guard and a failed overridable guard."""
    users = (
        UserChange(
            "create",
            "jane",
            "new in auth0",
            auth_id="auth0|jane1",
            email="jane.doe@acme-analytics.com",
            groups_added=("analysts", "admins"),
        ),
        UserChange(
            "update",
            "bob",
            "role change",
            auth_id="auth0|bob1",
            email="bob@acme-analytics.com",
            groups_added=("viewers",),
            groups_removed=("editors",),
            fields=(FieldChange("email", "bob.old@acme-analytics.com", "bob@acme-analytics.com"),),
        ),
        UserChange(
            "update",
            "dan",
            "departed from auth0",
            auth_id="auth0|dan1",
            email="dan@acme-analytics.com",
            groups_removed=("analysts",),
            stripped=True,
        ),
        UserChange(
            "delete", "carl", "departed from auth0", auth_id="auth0|carl1", email="carl@acme-analytics.com"
        ),
    )
    groups = (
        GroupChange("create", "analysts", "new in desired state", name="Analysts", parents_added=("all",)),
        GroupChange(
            "update",
            "editors",
            "name changed",
            name="Editors",
            fields=(FieldChange("name", "Old editors", "Editors"),),
            parents_removed=("legacy",),
        ),
        GroupChange("delete", "legacy", "unmanaged group removed"),
    )
    grants = (
        grant("organization", "", "create", "MANAGE", "admins"),
        grant("workspace", "demo", "create", "ANALYZE", "analysts"),
        grant("workspace", "demo", "delete", "VIEW", "carl", user=True),
        grant("workspace", "demo", "create", "MANAGE", "admins", hierarchy=True),
        grant("data_source", "pg-main", "create", "USE", "analysts"),
        grant("data_source", "pg-main", "delete", "MANAGE", "editors"),
    )
    warnings = (
        Diagnostic("warning", "role Contractors has no members", Location("access.yaml", 12, 5)),
        Diagnostic("warning", "auth0 user without email skipped"),
    )
    guards = (
        GuardResult("lockout", True, "the token user keeps MANAGE", overridable=False),
        GuardResult("max_removals", False, "4 removals exceed the limit of 2", overridable=True),
    )
    return make_plan(
        users=users,
        groups=groups,
        grants=grants,
        warnings=warnings,
        guards=guards,
        metadata={"privileged_groups": ["admins"], "host": "https://example.gooddata.com"},
    )


def big_plan(changes: int) -> Plan:
    """A plan of ``changes`` changes: a quarter new users, the rest grants spread over 50 workspaces."""
    user_count = changes // 4
    users = tuple(
        UserChange(
            "create",
            f"user{index:05d}",
            "new in auth0",
            auth_id=f"samlp|acme|user{index:05d}",
            email=f"user{index:05d}@acme-analytics.com",
            groups_added=("analysts",),
        )
        for index in range(user_count)
    )
    grants = tuple(
        grant("workspace", f"ws{index % 50:02d}", "create", "VIEW", f"user{index:05d}", user=True)
        for index in range(changes - user_count)
    )
    return make_plan(users=users, grants=grants)
