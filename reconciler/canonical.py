"""Order-independent forms of GoodData's declarative documents, for comparison and checksums."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import Grant, IdentitySnapshot, JsonDict, LiveOrganization
from reconciler.plan import sha256_of


def group_ids(refs: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """Sorted ids of ``[{"id": ..., "type": "userGroup"}, ...]``."""
    return sorted({ref["id"] for ref in refs or ()})


def group_and_ancestors(group_id: str, parents: Mapping[str, Iterable[str]]) -> set[str]:
    """``group_id`` and every group above it through ``parents`` (id -> parent ids); no recursion,
    since parent chains can be long, and safe on cycles in live data."""
    seen: set[str] = set()
    stack = [group_id]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(parents.get(current, ()))
    return seen


def group_refs(ids: Iterable[str]) -> list[JsonDict]:
    """Wire-format group references, sorted and without duplicates."""
    return [{"id": group_id, "type": "userGroup"} for group_id in sorted(set(ids))]


def grants_of(items: Iterable[Mapping[str, Any]] | None) -> frozenset[Grant]:
    """Grants of a wire-format grant list (``None`` is no grants)."""
    return frozenset(Grant.from_wire(item) for item in items or ())


def wire_grants(grants: Iterable[Grant]) -> list[JsonDict]:
    """Grants as a sorted wire-format list."""
    return [g.to_wire() for g in sorted(set(grants))]


def canonical_users_and_groups(doc: Mapping[str, Any]) -> JsonDict:
    """Order-independent form of a usersAndUserGroups document, for comparison and checksums."""
    users = []
    for user in sorted(doc.get("users", []), key=lambda u: u["id"]):
        item = dict(user)
        item["userGroups"] = group_refs(group_ids(user.get("userGroups")))
        users.append(item)
    groups = []
    for group in sorted(doc.get("userGroups", []), key=lambda g: g["id"]):
        item = dict(group)
        if "parents" in item:
            item["parents"] = group_refs(group_ids(group.get("parents")))
        groups.append(item)
    return {"users": users, "userGroups": groups}


def canonical_workspace_permissions(doc: Mapping[str, Any]) -> JsonDict:
    """Order-independent form of a workspace permissions document (both keys always present)."""
    return {
        "permissions": wire_grants(grants_of(doc.get("permissions"))),
        "hierarchyPermissions": wire_grants(grants_of(doc.get("hierarchyPermissions"))),
    }


def canonical_data_source_permissions(doc: Mapping[str, Any]) -> JsonDict:
    """Order-independent form of a data source permissions document."""
    return {"permissions": wire_grants(grants_of(doc.get("permissions")))}


def live_checksum(live: LiveOrganization) -> str:
    """Checksum of every live document the plan was computed from."""
    return sha256_of(
        {
            "usersAndUserGroups": canonical_users_and_groups(live.users_and_groups),
            "workspaces": {
                k: canonical_workspace_permissions(v) for k, v in live.workspace_permissions.items()
            },
            "dataSources": {
                k: canonical_data_source_permissions(v) for k, v in live.data_source_permissions.items()
            },
            "organization": wire_grants(grants_of(live.organization_permissions)),
        }
    )


def identity_checksum(idp: IdentitySnapshot) -> str:
    """Checksum of what the plan uses from the IdP snapshot."""
    return sha256_of(
        sorted(
            [u.subject, u.email, u.given_name, u.family_name, u.blocked, sorted(u.roles)] for u in idp.users
        )
    )
