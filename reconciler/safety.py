"""Safety guards evaluated on every plan, by ``plan`` and again by ``apply`` before any write.

* ``max_removals`` — users removed or stripped, group memberships lost and grants revoked, each
  measured against ``policy.max_removals`` of its live population; additions never count.
  The only guard that ``--force`` lifts.
* ``protected`` — no change touches the bootstrap admin, ``adminGroup``, the token's user or
  ``policy.protected``.
* ``lockout`` — after the plan at least one user holds organization ``MANAGE`` (directly or
  through a group and its parents), and the token's user keeps the ``MANAGE`` it has now.
* ``idp_completeness`` — the IdP answer is complete (count equals its total), not empty while
  GoodData holds users that came from it, and does not remove or strip more than
  ``policy.max_removals`` of those users. ``--force`` never lifts it: a real mass departure is let
  through by raising ``max_removals`` in the file, a change that is reviewed like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.canonical import group_and_ancestors
from reconciler.model import DesiredState, Grant, IdentitySnapshot, LiveOrganization
from reconciler.plan import GuardResult, Plan


def with_guards(
    plan: Plan,
    *,
    state: DesiredState,
    idp: IdentitySnapshot,
    live: LiveOrganization,
    protected: Iterable[str],
) -> Plan:
    """Return ``plan`` with the verdict of every guard attached."""
    guards = (
        check_max_removals(plan, state=state, live=live),
        check_protected(plan, protected=frozenset(protected)),
        check_lockout(plan, live=live),
        check_idp_completeness(plan, state=state, idp=idp, live=live),
    )
    return dataclasses.replace(plan, guards=guards)


def check_max_removals(plan: Plan, *, state: DesiredState, live: LiveOrganization) -> GuardResult:
    """Removals of each kind against ``policy.max_removals`` of that kind's live population."""
    threshold = state.policy.max_removals
    users = live.users_and_groups.get("users", [])
    memberships = sum(len(u.get("userGroups") or ()) for u in users)
    grants = _live_grant_count(live)
    users_removed = sum(1 for c in plan.user_changes if c.action == "delete" or c.stripped)
    memberships_lost = sum(len(c.groups_removed) for c in plan.user_changes if c.action != "create")
    grants_revoked = sum(1 for c in plan.grant_changes if c.action == "delete")
    over = []
    for label, count, population in (
        ("users removed or stripped", users_removed, len(users)),
        ("group memberships lost", memberships_lost, memberships),
        ("grants revoked", grants_revoked, grants),
    ):
        limit = threshold.limit_for(population)
        if count > limit:
            over.append(f"{count} {label} (limit {limit} of {population} at max_removals {threshold.text})")
    if over:
        return GuardResult("max_removals", False, "too many removals: " + "; ".join(over), overridable=True)
    return GuardResult(
        "max_removals",
        True,
        f"{users_removed} users, {memberships_lost} memberships, {grants_revoked} grants removed "
        f"(max_removals {threshold.text})",
        overridable=True,
    )


def _live_grant_count(live: LiveOrganization) -> int:
    total = len(live.organization_permissions or ())
    for doc in live.workspace_permissions.values():
        total += len(doc.get("permissions") or ()) + len(doc.get("hierarchyPermissions") or ())
    for doc in live.data_source_permissions.values():
        total += len(doc.get("permissions") or ())
    return total


def check_protected(plan: Plan, *, protected: frozenset[str]) -> GuardResult:
    """No user, group or revoked grant of the plan names a protected principal."""
    touched = sorted(
        {c.user_id for c in plan.user_changes if c.user_id in protected}
        | {c.group_id for c in plan.group_changes if c.action != "create" and c.group_id in protected}
        | {
            c.grant.assignee_id
            for c in plan.grant_changes
            if c.action == "delete" and c.grant.assignee_id in protected
        }
    )
    if touched:
        return GuardResult(
            "protected",
            False,
            f"the plan changes protected principals: {', '.join(touched)}",
            overridable=False,
        )
    return GuardResult("protected", True, f"protected: {', '.join(sorted(protected))}", overridable=False)


def check_lockout(plan: Plan, *, live: LiveOrganization) -> GuardResult:
    """Someone keeps organization MANAGE, and the token's user keeps what it has."""
    users_doc: Mapping[str, Any] = live.users_and_groups
    organization: Any = live.organization_permissions
    for document in plan.writes:
        if document.kind == "users_and_groups":
            users_doc = document.body
        elif document.kind == "organization_permissions":
            organization = document.body
    if organization is None:
        return GuardResult("lockout", True, "organization permissions were not read", overridable=False)
    before = managers(live.users_and_groups, live.organization_permissions or ())
    after = managers(users_doc, organization)
    if not after:
        return GuardResult(
            "lockout",
            False,
            "after the plan no user would hold organization MANAGE; the organisation would be locked out",
            overridable=False,
        )
    token_user = live.token_user_id
    if token_user in before and token_user not in after:
        return GuardResult(
            "lockout",
            False,
            f"the API token's user '{token_user}' would lose organization MANAGE "
            "and could not run the next apply",
            overridable=False,
        )
    return GuardResult("lockout", True, f"{len(after)} users hold organization MANAGE", overridable=False)


def managers(users_doc: Mapping[str, Any], organization: Iterable[Any]) -> frozenset[str]:
    """Users holding organization MANAGE directly or through a group or any of its ancestors."""
    grants = [Grant.from_wire(item) for item in organization]
    direct_users = {g.assignee_id for g in grants if g.name == "MANAGE" and g.assignee_type == "user"}
    manager_groups = {g.assignee_id for g in grants if g.name == "MANAGE" and g.assignee_type == "userGroup"}
    parents = {
        group["id"]: [p["id"] for p in group.get("parents") or ()]
        for group in users_doc.get("userGroups", [])
    }

    # the groups whose members manage: the MANAGE holders and every group below one of them
    inheriting = manager_groups | {g for g in parents if group_and_ancestors(g, parents) & manager_groups}
    return frozenset(
        user["id"]
        for user in users_doc.get("users", [])
        if user["id"] in direct_users or {ref["id"] for ref in user.get("userGroups") or ()} & inheriting
    )


def check_idp_completeness(
    plan: Plan, *, state: DesiredState, idp: IdentitySnapshot, live: LiveOrganization
) -> GuardResult:
    """The IdP answer is whole, not empty while GoodData has users from that IdP, and does not take
    away more than ``max_removals`` of the users GoodData has from it (other users do not dilute it)."""
    if len(idp.users) != idp.reported_total:
        return GuardResult(
            "idp_completeness",
            False,
            f"{idp.provider} returned {len(idp.users)} users but reports {idp.reported_total}",
            overridable=False,
        )
    linked = sum(1 for u in live.users_and_groups.get("users", []) if u.get("authId"))
    if not idp.users and linked:
        return GuardResult(
            "idp_completeness",
            False,
            f"{idp.provider} returned no users while GoodData has {linked} users from it; refusing to treat "
            "an empty answer as everyone leaving",
            overridable=False,
        )
    departed = sum(1 for c in plan.user_changes if c.auth_id and (c.action == "delete" or c.stripped))
    threshold = state.policy.max_removals
    limit = threshold.limit_for(linked)
    if departed > limit:
        return GuardResult(
            "idp_completeness",
            False,
            f"the {idp.provider} answer, with the file's role mappings, would remove or strip {departed} of "
            f"the {linked} GoodData users from it (limit {limit} at max_removals {threshold.text}); if they "
            "really left, raise policy.max_removals in the desired state for this change",
            overridable=False,
        )
    return GuardResult(
        "idp_completeness",
        True,
        f"{len(idp.users)} of {idp.reported_total} IdP users read; {departed} of {linked} GoodData users "
        f"from it leave (limit {limit})",
        overridable=False,
    )
