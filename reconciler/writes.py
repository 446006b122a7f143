"""Which documents a plan writes, and in which order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.canonical import (
    canonical_data_source_permissions,
    canonical_users_and_groups,
    canonical_workspace_permissions,
    grants_of,
    wire_grants,
)
from reconciler.model import Document, JsonDict, LiveOrganization


@dataclass
class GrantDocs:
    """Desired grant documents by object, in wire format (``organization`` None: not written)."""

    workspaces: dict[str, JsonDict] = field(default_factory=dict)
    data_sources: dict[str, JsonDict] = field(default_factory=dict)
    organization: list[JsonDict] | None = None


def order_writes(
    live: LiveOrganization,
    desired_doc: JsonDict,
    grant_docs: GrantDocs,
    gone: frozenset[str],
    stripped: frozenset[str] = frozenset(),
) -> tuple[list[Document], dict[tuple[str, str], Any]]:
    """Only documents whose content changes, in a safe order.

    Users and groups are written before the grants that name them, and grants are revoked
    before the principals they name are deleted (``gone``) or lose their groups (``stripped``), so
    that a run stopped in between leaves the departure visible to the next plan. Only when one plan
    needs both (grants naming a principal it creates, and live grants naming one it takes away) is
    the users document written twice: first without the departures, then — after the grants — with
    them.
    """
    replaced: dict[tuple[str, str], Any] = {}
    grant_writes: list[Document] = []
    for workspace_id, doc in grant_docs.workspaces.items():
        before = canonical_workspace_permissions(live.workspace_permissions.get(workspace_id, {}))
        if before != doc:
            grant_writes.append(Document("workspace_permissions", workspace_id, doc))
            replaced[("workspace_permissions", workspace_id)] = live.workspace_permissions.get(
                workspace_id, {}
            )
    for data_source_id, doc in grant_docs.data_sources.items():
        before = canonical_data_source_permissions(live.data_source_permissions.get(data_source_id, {}))
        if before != doc:
            grant_writes.append(Document("data_source_permissions", data_source_id, doc))
            replaced[("data_source_permissions", data_source_id)] = live.data_source_permissions[
                data_source_id
            ]
    if grant_docs.organization is not None:
        before_org = wire_grants(grants_of(live.organization_permissions))
        if before_org != grant_docs.organization:
            grant_writes.append(Document("organization_permissions", "", grant_docs.organization))
            replaced[("organization_permissions", "")] = list(live.organization_permissions or ())

    final = canonical_users_and_groups(desired_doc)
    live_canonical = canonical_users_and_groups(live.users_and_groups)
    if final == live_canonical:
        return grant_writes, replaced
    replaced[("users_and_groups", "")] = live.users_and_groups
    final_write = Document("users_and_groups", "", final)
    leaving = gone | stripped
    # the live body each grant write replaces is already in ``replaced``
    revoke_first = bool(leaving) and any(
        _names_any(replaced[(d.kind, d.target)], leaving) for d in grant_writes
    )
    if not revoke_first:
        return [final_write, *grant_writes], replaced
    created = _principal_ids(final) - _principal_ids(live.users_and_groups)
    if not any(_names_any(d.body, created) for d in grant_writes):
        return [*grant_writes, final_write], replaced
    interim = _with_live_principals(final, live.users_and_groups, leaving)
    writes = [Document("users_and_groups", "", interim)] if interim != live_canonical else []
    return [*writes, *grant_writes, final_write], replaced


def _principal_ids(doc: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(item["id"] for key in ("users", "userGroups") for item in doc.get(key, []))


def _names_any(body: Any, ids: frozenset[str]) -> bool:
    items: list[Any] = []
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        items = list(body.get("permissions", [])) + list(body.get("hierarchyPermissions", []))
    return any(item["assignee"]["id"] in ids for item in items)


def _with_live_principals(final: JsonDict, live_doc: Mapping[str, Any], leaving: frozenset[str]) -> JsonDict:
    """The final document with the principals it deletes or strips as they are live (the interim write)."""
    users = [u for u in final["users"] if u["id"] not in leaving]
    users += [u for u in live_doc.get("users", []) if u["id"] in leaving]
    groups = [g for g in final["userGroups"] if g["id"] not in leaving]
    groups += [g for g in live_doc.get("userGroups", []) if g["id"] in leaving]
    return canonical_users_and_groups({"users": users, "userGroups": groups})
