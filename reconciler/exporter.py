"""``reconcile export``: a desired-state file from a live GoodData organization.

The file lists every live group, every live user (with its ``authId``), every workspace's grants
and the organization grants, with ``departed_users: keep``, so that the first plan against it is
empty. Teams then add ``role_mappings`` and remove users from ``users:`` as the IdP takes over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reconciler.desired_state.export import render_desired_state_yaml
from reconciler.engine import GoodDataPort
from reconciler.model import BOOTSTRAP_ADMIN_GROUP, BOOTSTRAP_ADMIN_USER, Grant, JsonDict, ReconcilerError


def export_desired_state(
    gooddata: GoodDataPort,
    *,
    data_source_ids: Iterable[str] = (),
    progress: Callable[[str], None] = lambda _: None,
    schema_ref: str | None = None,
) -> str:
    """Read the live organization and return it as desired-state YAML (``schema_ref``: the path or
    URL its ``yaml-language-server`` comment points editors at)."""
    data_sources = sorted(set(data_source_ids))
    live = gooddata.read(workspace_ids=(), data_source_ids=data_sources, organization_permissions=True)
    if live.missing_data_sources:
        missing = ", ".join(sorted(live.missing_data_sources))
        raise ReconcilerError(f"--data-source: no data source {missing} in GoodData")
    progress(
        f"Read {len(live.users_and_groups.get('users', []))} users and {len(live.workspaces)} workspaces."
    )
    workspaces: dict[str, Any] = {}
    for workspace_id in sorted(live.workspaces):
        doc = gooddata.read_document("workspace_permissions", workspace_id)
        workspaces[workspace_id] = {
            "permissions": grants_by_assignee(doc.get("permissions")),
            "hierarchy_permissions": grants_by_assignee(doc.get("hierarchyPermissions")),
        }
    permissions: dict[str, Any] = {
        "organization": grants_by_assignee(live.organization_permissions),
        "workspaces": workspaces,
    }
    if data_sources:
        permissions["data_sources"] = {
            ds: {"permissions": grants_by_assignee(live.data_source_permissions[ds].get("permissions"))}
            for ds in data_sources
            if ds in live.data_source_permissions
        }
    protected = sorted({BOOTSTRAP_ADMIN_USER, BOOTSTRAP_ADMIN_GROUP, live.token_user_id})
    data: JsonDict = {
        "version": 1,
        "identity": {"provider": "auth0", "user_id": "strip-auth0-prefix"},
        "groups": {
            group["id"]: _group_entry(group)
            for group in sorted(live.users_and_groups.get("userGroups", []), key=lambda g: g["id"])
        },
        "role_mappings": {},
        "default_groups": [],
        "users": {
            user["id"]: _user_entry(user)
            for user in sorted(live.users_and_groups.get("users", []), key=lambda u: u["id"])
        },
        "permissions": permissions,
        "policy": {
            "departed_users": "keep",
            "unmanaged_users": "keep",
            "unmanaged_groups": "keep",
            "protected": protected,
            "max_removals": "10%",
        },
    }
    return render_desired_state_yaml(data, schema_ref=schema_ref)


def grants_by_assignee(items: Iterable[Any] | None) -> dict[str, list[str]]:
    """Wire-format grants as the file spells them: ``{group or user:<id>: [PERMISSION, ...]}``."""
    result: dict[str, list[str]] = {}
    for grant in sorted(Grant.from_wire(item) for item in items or ()):
        result.setdefault(grant.assignee_key, []).append(grant.name)
    return {key: sorted(names) for key, names in sorted(result.items())}


def _group_entry(group: JsonDict) -> JsonDict:
    entry: JsonDict = {}
    if group.get("name"):
        entry["name"] = group["name"]
    parents = sorted(p["id"] for p in group.get("parents") or ())
    if parents:
        entry["parents"] = parents
    return entry


def _user_entry(user: JsonDict) -> JsonDict:
    entry: JsonDict = {"groups": sorted(g["id"] for g in user.get("userGroups") or ())}
    for wire, key in (
        ("authId", "auth_id"),
        ("email", "email"),
        ("firstname", "firstname"),
        ("lastname", "lastname"),
    ):
        if user.get(wire):
            entry[key] = user[wire]
    return entry
