"""Small builders for the pure-core tests: a desired state, an IdP snapshot and a live organisation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import (
    DataSourceSpec,
    DesiredState,
    Grant,
    GrantSet,
    GroupSpec,
    IdentitySnapshot,
    IdentityUser,
    LiveOrganization,
    Location,
    Policy,
    RemovalThreshold,
    RoleMapping,
    UserSpec,
    WorkspaceSpec,
)

HERE = Location("access.yaml", 1, 1)


def grants(spec: Mapping[str, Iterable[str]]) -> GrantSet:
    """``{"analysts": ["VIEW"], "user:jane": ["VIEW"]}`` -> GrantSet."""
    items: set[Grant] = set()
    for key, names in spec.items():
        if key.startswith("user:"):
            items.update(Grant(n, key[5:], "user") for n in names)
        else:
            items.update(Grant(n, key, "userGroup") for n in names)
    return GrantSet(frozenset(items), HERE)


def desired(
    *,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
    roles: Mapping[str, Iterable[str]] | None = None,
    default_groups: Iterable[str] = (),
    users: Mapping[str, Iterable[str]] | None = None,
    organization: Mapping[str, Iterable[str]] | None = None,
    workspaces: Mapping[str, Mapping[str, Mapping[str, Iterable[str]]]] | None = None,
    data_sources: Mapping[str, Mapping[str, Mapping[str, Iterable[str]]]] | None = None,
    user_id: str = "strip-auth0-prefix",
    **policy: Any,
) -> DesiredState:
    """A DesiredState from plain values, as the loader would build it."""
    group_specs = {
        gid: GroupSpec(gid, g.get("name"), tuple(g.get("parents", ())), HERE)
        for gid, g in (groups or {}).items()
    }
    if "max_removals" in policy and not isinstance(policy["max_removals"], RemovalThreshold):
        value = policy["max_removals"]
        policy["max_removals"] = (
            RemovalThreshold(percent=float(value[:-1]), text=value)
            if isinstance(value, str)
            else RemovalThreshold(count=value, text=str(value))
        )
    if "protected" in policy:
        policy["protected"] = tuple(policy["protected"])
    return DesiredState(
        source="access.yaml",
        version=1,
        provider="auth0",
        user_id_strategy=user_id,  # type: ignore[arg-type]
        groups=group_specs,
        role_mappings={r: RoleMapping(r, tuple(g), HERE) for r, g in (roles or {}).items()},
        default_groups=tuple(default_groups),
        users={uid: UserSpec(uid, tuple(g), HERE) for uid, g in (users or {}).items()},
        organization_permissions=grants(organization) if organization is not None else None,
        workspaces={
            ws: WorkspaceSpec(
                ws,
                HERE,
                grants(spec["permissions"]) if "permissions" in spec else None,
                grants(spec["hierarchy_permissions"]) if "hierarchy_permissions" in spec else None,
            )
            for ws, spec in (workspaces or {}).items()
        },
        data_sources={
            ds: DataSourceSpec(ds, HERE, grants(spec["permissions"]) if "permissions" in spec else None)
            for ds, spec in (data_sources or {}).items()
        },
        policy=Policy(**policy),
        checksum="config-checksum",
    )


def idp(*users: IdentityUser, roles: Iterable[str] = ("Admin", "Analyst", "User")) -> IdentitySnapshot:
    """An IdP snapshot holding ``users``."""
    return IdentitySnapshot("auth0", tuple(users), frozenset(roles), len(users))


def person(subject: str, *roles: str, blocked: bool = False, email: str | None = None) -> IdentityUser:
    """An IdP user; the email defaults to one derived from the subject."""
    local = subject.split("|")[-1]
    return IdentityUser(
        subject, email or f"{local}@example.com", local.title(), "Doe", blocked, frozenset(roles)
    )


def live_user(user_id: str, *groups: str, auth_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A live user in wire format."""
    body: dict[str, Any] = {
        "id": user_id,
        "userGroups": [{"id": g, "type": "userGroup"} for g in groups],
        "permissions": [],
        "settings": [],
    }
    if auth_id:
        body["authId"] = auth_id
    body.update(extra)
    return body


def live_group(group_id: str, name: str | None = None, parents: Iterable[str] = ()) -> dict[str, Any]:
    """A live group in wire format."""
    body: dict[str, Any] = {"id": group_id, "permissions": []}
    if name:
        body["name"] = name
    if parents:
        body["parents"] = [{"id": p, "type": "userGroup"} for p in parents]
    return body


def wire(spec: Mapping[str, Iterable[str]]) -> list[dict[str, Any]]:
    """Wire-format grant list from ``{"analysts": ["VIEW"], "user:jane": ["VIEW"]}``."""
    return [g.to_wire() for g in sorted(grants(spec).grants)]


def live(
    *,
    users: Iterable[dict[str, Any]] = (),
    groups: Iterable[dict[str, Any]] = (),
    workspaces: Mapping[str, str | None] | None = None,
    workspace_permissions: Mapping[str, dict[str, Any]] | None = None,
    data_source_permissions: Mapping[str, dict[str, Any]] | None = None,
    organization: Mapping[str, Iterable[str]] | None = None,
    token_user: str = "admin",
    missing_data_sources: Iterable[str] = (),
) -> LiveOrganization:
    """A live organisation; by default the bootstrap admin in adminGroup with organization MANAGE."""
    user_list = list(users) or [live_user("admin", "adminGroup")]
    group_list = list(groups) or [live_group("adminGroup")]
    return LiveOrganization(
        organization_id="default",
        token_user_id=token_user,
        users_and_groups={"users": user_list, "userGroups": group_list},
        workspaces=workspaces if workspaces is not None else {"demo": None, "demo_west": "demo"},
        workspace_permissions=workspace_permissions or {},
        data_source_permissions=data_source_permissions or {},
        organization_permissions=tuple(
            wire(organization if organization is not None else {"adminGroup": ["MANAGE"]})
        ),
        missing_data_sources=frozenset(missing_data_sources),
    )
