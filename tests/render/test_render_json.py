"""JSON rendering: the documented shape, round-trips and determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

from render_plan_factory import full_plan, make_plan

from reconciler.model import Location
from reconciler.plan import UserChange
from reconciler.render.json import plan_to_dict, render_json

TOP_LEVEL_KEYS = [
    "format_version",
    "checksum",
    "desired_checksum",
    "live_checksum",
    "empty",
    "summary",
    "users",
    "groups",
    "grants",
    "writes",
    "guards",
    "warnings",
    "privilege_increases",
    "removals",
    "metadata",
]


def test_round_trip_equals_plan_to_dict() -> None:
    plan = full_plan()
    text = render_json(plan)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "format_version": 1,\n')
    assert json.loads(text) == plan_to_dict(plan)


def test_documented_keys_and_values() -> None:
    plan = full_plan()
    data = json.loads(render_json(plan))
    assert list(data) == TOP_LEVEL_KEYS
    assert data["checksum"] == plan.checksum
    assert data["desired_checksum"] == "d" * 64
    assert data["empty"] is False
    assert data["summary"] == {
        "users_created": 1,
        "users_updated": 2,
        "users_deleted": 1,
        "users_stripped": 1,
        "groups_created": 1,
        "groups_updated": 1,
        "groups_deleted": 1,
        "grants_added": 4,
        "grants_revoked": 2,
        "total": 13,
    }
    assert data["privilege_increases"] == 3
    assert data["removals"] == 6  # bob loses a group membership
    assert [u["id"] for u in data["users"]] == ["bob", "carl", "dan", "jane"]
    bob = data["users"][0]
    assert bob == {
        "action": "update",
        "id": "bob",
        "auth_id": "auth0|bob1",
        "email": "bob@acme-analytics.com",
        "reason": "role change",
        "groups_added": ["viewers"],
        "groups_removed": ["editors"],
        "fields": [
            {"field": "email", "before": "bob.old@acme-analytics.com", "after": "bob@acme-analytics.com"},
        ],
        "stripped": False,
    }
    assert data["users"][2]["stripped"] is True
    assert data["groups"][1] == {
        "action": "update",
        "id": "editors",
        "name": "Editors",
        "reason": "name changed",
        "parents_added": [],
        "parents_removed": ["legacy"],
        "fields": [{"field": "name", "before": "Old editors", "after": "Editors"}],
    }
    hierarchy = [g for g in data["grants"] if g["hierarchy"]]
    assert hierarchy == [
        {
            "scope": "workspace",
            "target": "demo",
            "action": "create",
            "permission": "MANAGE",
            "assignee": {"id": "admins", "type": "userGroup"},
            "hierarchy": True,
        }
    ]
    assert {(g["scope"], g["target"]) for g in data["grants"]} == {
        ("organization", ""),
        ("workspace", "demo"),
        ("data_source", "pg-main"),
    }
    assert data["writes"] == [
        {"kind": "users_and_groups", "target": ""},
        {"kind": "organization_permissions", "target": ""},
        {"kind": "workspace_permissions", "target": "demo"},
        {"kind": "data_source_permissions", "target": "pg-main"},
    ]
    assert data["guards"][1] == {
        "name": "max_removals",
        "passed": False,
        "message": "4 removals exceed the limit of 2",
        "overridable": True,
    }
    assert data["warnings"] == [
        {"level": "warning", "message": "role Contractors has no members", "location": "access.yaml:12:5"},
        {"level": "warning", "message": "auth0 user without email skipped", "location": None},
    ]
    assert data["metadata"] == {"host": "https://example.gooddata.com", "privileged_groups": ["admins"]}


def test_emails_are_not_masked() -> None:
    text = render_json(full_plan())
    assert "jane.doe@acme-analytics.com" in text
    assert "***" not in text


def test_empty_plan() -> None:
    data = plan_to_dict(make_plan())
    assert data["empty"] is True
    assert data["summary"]["total"] == 0
    assert data["users"] == data["groups"] == data["grants"] == data["writes"] == []
    assert data["privilege_increases"] == data["removals"] == 0


def test_metadata_made_json_safe_and_sorted() -> None:
    metadata = {
        "z": {"b": 1, "a": (1, 2)},
        "path": Path("desired-state") / "access.yaml",
        "roles": frozenset({"b", "a"}),
        "ratio": math.nan,
        "where": Location("a.yaml", 2, 3),
    }
    data = plan_to_dict(make_plan(metadata=metadata))
    assert data["metadata"] == {
        "path": str(Path("desired-state") / "access.yaml"),
        "ratio": "nan",
        "roles": ["a", "b"],
        "where": "a.yaml:2:3",
        "z": {"a": [1, 2], "b": 1},
    }
    assert list(data["metadata"]) == ["path", "ratio", "roles", "where", "z"]
    json.loads(render_json(make_plan(metadata=metadata)))


def test_deterministic_bytes() -> None:
    assert render_json(full_plan()).encode() == render_json(full_plan()).encode()


def test_non_ascii_kept_readable() -> None:
    plan = make_plan(metadata={"owner": "Chloé Müller"})
    assert '"owner": "Chloé Müller"' in render_json(plan)


def test_a_user_losing_a_group_membership_counts_as_a_removal() -> None:
    plan = make_plan(
        users=(UserChange("update", "bob", "role change", groups_removed=("editors", "viewers")),)
    )
    assert plan_to_dict(plan)["removals"] == 1
