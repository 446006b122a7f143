"""The complete plan as JSON, for machines and for the plan artifact.

The shape is documented in ``docs/plan-json.md`` and versioned by ``format_version``; within a
version, fields are only ever added. Emails are not masked: this is the complete plan.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from reconciler.plan import ACTION_ORDER, FieldChange, GrantChange, GroupChange, Plan, UserChange
from reconciler.render.rows import count_flags

FORMAT_VERSION = 1


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: mappings with string keys (sorted), lists, finite numbers, strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return [json_safe(item) for item in sorted(value, key=str)]
    return str(value)


def _fields(fields: tuple[FieldChange, ...]) -> list[dict[str, Any]]:
    return [
        {"field": item.field, "before": json_safe(item.before), "after": json_safe(item.after)}
        for item in fields
    ]


def _user(change: UserChange) -> dict[str, Any]:
    return {
        "action": change.action,
        "id": change.user_id,
        "auth_id": change.auth_id,
        "email": change.email,
        "reason": change.reason,
        "groups_added": list(change.groups_added),
        "groups_removed": list(change.groups_removed),
        "fields": _fields(change.fields),
        "stripped": change.stripped,
    }


def _group(change: GroupChange) -> dict[str, Any]:
    return {
        "action": change.action,
        "id": change.group_id,
        "name": change.name,
        "reason": change.reason,
        "parents_added": list(change.parents_added),
        "parents_removed": list(change.parents_removed),
        "fields": _fields(change.fields),
    }


def _grant(change: GrantChange) -> dict[str, Any]:
    return {
        "scope": change.scope,
        "target": change.target,
        "action": change.action,
        "permission": change.grant.name,
        "assignee": {"id": change.grant.assignee_id, "type": change.grant.assignee_type},
        "hierarchy": change.hierarchy,
    }


def _grant_key(change: GrantChange) -> tuple[Any, ...]:
    grant = change.grant
    return (
        change.scope,
        change.target,
        change.hierarchy,
        grant.assignee_type,
        grant.assignee_id,
        grant.name,
        ACTION_ORDER[change.action],
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as the documented ``format_version`` 1 dictionary.

    Users and groups are sorted by id, grants by object, assignee and permission; ``writes``
    keep their apply order.
    """
    counts = plan.counts
    removals, privilege_increases = count_flags(plan)
    return {
        "format_version": FORMAT_VERSION,
        "checksum": plan.checksum,
        "desired_checksum": plan.desired_checksum,
        "live_checksum": plan.live_checksum,
        "empty": plan.is_empty,
        "summary": {
            "users_created": counts.users_created,
            "users_updated": counts.users_updated,
            "users_deleted": counts.users_deleted,
            "users_stripped": counts.users_stripped,
            "groups_created": counts.groups_created,
            "groups_updated": counts.groups_updated,
            "groups_deleted": counts.groups_deleted,
            "grants_added": counts.grants_added,
            "grants_revoked": counts.grants_revoked,
            "total": counts.total,
        },
        "users": [
            _user(c) for c in sorted(plan.user_changes, key=lambda c: (c.user_id, ACTION_ORDER[c.action]))
        ],
        "groups": [
            _group(c) for c in sorted(plan.group_changes, key=lambda c: (c.group_id, ACTION_ORDER[c.action]))
        ],
        "grants": [_grant(c) for c in sorted(plan.grant_changes, key=_grant_key)],
        "writes": [{"kind": document.kind, "target": document.target} for document in plan.writes],
        "guards": [
            {"name": g.name, "passed": g.passed, "message": g.message, "overridable": g.overridable}
            for g in plan.guards
        ],
        "warnings": [
            {
                "level": w.level,
                "message": w.message,
                "location": str(w.location) if w.location is not None else None,
            }
            for w in plan.warnings
        ],
        "privilege_increases": privilege_increases,
        "removals": removals,
        "metadata": json_safe(plan.metadata),
    }


def render_json(plan: Plan) -> str:
    """``plan_to_dict`` as indented JSON ending with a newline; the same plan gives the same bytes."""
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
