"""Shared helpers for the reliability tests: adapters with a fast retry policy and live-state facts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.gooddata.client import GoodDataClient, GoodDataSettings
from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.plan import Plan
from reconciler.sandbox import Sandbox
from reconciler.transport import RetryPolicy

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state" / "access.yaml"
WORKSPACES = ("demo", "demo_west", "demo_east")
DATA_SOURCES = ("demo-ds",)


def adapters(env: Mapping[str, str], policy: RetryPolicy) -> tuple[Auth0Provider, GoodDataClient]:
    """The production adapters, built from the sandbox's environment."""
    return (
        Auth0Provider(Auth0Settings.from_env(env), policy=policy),
        GoodDataClient(GoodDataSettings.from_env(env), policy=policy),
    )


Fact = tuple[str, ...]


def facts_of(users_and_groups: Mapping[str, Any], grant_docs: Mapping[str, Any]) -> set[Fact]:
    """Every user, group, membership and grant as a comparable fact."""
    found: set[Fact] = set()
    for user in users_and_groups.get("users", []):
        found.add(("user", user["id"]))
        found.update(("member", user["id"], g["id"]) for g in user.get("userGroups") or ())
    for group in users_and_groups.get("userGroups", []):
        found.add(("group", group["id"]))
    for name, doc in grant_docs.items():
        items = (
            doc
            if isinstance(doc, list)
            else [*doc.get("permissions", []), *doc.get("hierarchyPermissions", [])]
        )
        found.update(("grant", name, g["name"], g["assignee"]["id"]) for g in items)
    return found


def live_facts(sandbox: Sandbox) -> set[Fact]:
    """Facts of the sandbox's current GoodData state."""
    state = sandbox.gooddata.state
    docs: dict[str, Any] = {f"ws:{w}": state.workspace_permissions(w) for w in WORKSPACES}
    docs.update({f"ds:{d}": state.data_source_permissions(d) for d in DATA_SOURCES})
    docs["organization"] = state.organization_permissions()
    return facts_of(state.users_and_groups(), docs)


def planned_facts(plan: Plan, sandbox: Sandbox) -> set[Fact]:
    """Facts of the state the plan leads to (the last write of each document wins)."""
    state = sandbox.gooddata.state
    users = state.users_and_groups()
    docs: dict[str, Any] = {f"ws:{w}": state.workspace_permissions(w) for w in WORKSPACES}
    docs.update({f"ds:{d}": state.data_source_permissions(d) for d in DATA_SOURCES})
    docs["organization"] = state.organization_permissions()
    for write in plan.writes:
        if write.kind == "users_and_groups":
            users = write.body
        elif write.kind == "workspace_permissions":
            docs[f"ws:{write.target}"] = write.body
        elif write.kind == "data_source_permissions":
            docs[f"ds:{write.target}"] = write.body
        else:
            docs["organization"] = write.body
    return facts_of(users, docs)
