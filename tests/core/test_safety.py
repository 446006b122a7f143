"""Each safety guard: a plan that trips it, and one that passes (with --force where allowed)."""

from __future__ import annotations

import pytest

from reconciler.diff import compute_plan, protected_principals
from reconciler.model import Grant, IdentitySnapshot
from reconciler.plan import Plan, UserChange
from reconciler.safety import check_idp_completeness, check_protected, managers, with_guards

from .builders import desired, idp, live, live_group, live_user, person

GROUPS = {"adminGroup": {}, "analysts": {"name": "Analysts"}, "viewers": {"name": "Viewers"}}
ROLES = {"Admin": ["adminGroup"], "Analyst": ["analysts"], "User": ["viewers"]}
LIVE_GROUPS = [live_group("adminGroup"), live_group("analysts"), live_group("viewers")]


def guarded(state, snapshot, organization) -> Plan:  # type: ignore[no-untyped-def]
    plan = compute_plan(state, snapshot, organization)
    return with_guards(
        plan,
        state=state,
        idp=snapshot,
        live=organization,
        protected=protected_principals(state, organization),
    )


def team(count: int) -> list[dict]:  # type: ignore[type-arg]
    return [live_user(f"u{i}", "viewers", auth_id=f"auth0|u{i}") for i in range(count)]


def verdict(plan: Plan, name: str) -> bool:
    return next(g for g in plan.guards if g.name == name).passed


def locals_(count: int) -> list[dict]:  # type: ignore[type-arg]
    """Live users that did not come from the IdP (no authId)."""
    return [live_user(f"l{i}", "viewers") for i in range(count)]


@pytest.mark.parametrize(
    ("live_count", "leaving", "threshold", "passes"),
    [
        (59, 6, "10%", True),  # 6 of 60 users (admin too) is exactly 10%
        (59, 7, "10%", False),
        (8, 1, "10%", False),  # no small-organisation blind spot: 10% of 9 users (admin too) allows none
        (20, 3, 3, True),  # a count
        (20, 4, 3, False),
        (20, 0, 0, True),
    ],
)
def test_max_removals(live_count: int, leaving: int, threshold: object, passes: bool) -> None:
    users = locals_(live_count)
    state = desired(
        groups=GROUPS,
        users={u["id"]: ["viewers"] for u in users[leaving:]} | {"admin": ["adminGroup"]},
        unmanaged_users="remove",
        max_removals=threshold,
    )
    organization = live(users=[live_user("admin", "adminGroup"), *users], groups=LIVE_GROUPS)
    plan = guarded(state, idp(), organization)
    assert verdict(plan, "max_removals") is passes
    assert plan.counts.users_deleted == leaving
    blocked = plan.failed_guards()
    assert (blocked == ()) is passes
    assert plan.failed_guards(force=True) == ()  # --force lifts the threshold


@pytest.mark.parametrize(
    ("linked", "local", "leaving", "threshold", "passes"),
    [
        (60, 0, 6, "10%", True),
        (60, 0, 7, "10%", False),
        (10, 500, 2, "10%", False),  # 500 local users do not dilute the IdP's share: 2 of 10 leave
        (10, 500, 2, "20%", True),  # raising max_removals in the file lets a real departure through
        (20, 0, 4, 3, False),
    ],
)
def test_idp_departures_over_the_threshold_are_not_forced(
    linked: int, local: int, leaving: int, threshold: object, passes: bool
) -> None:
    users = team(linked)
    state = desired(groups=GROUPS, roles=ROLES, max_removals=threshold)
    staying = [person(u["authId"], "User") for u in users[leaving:]]
    organization = live(users=[live_user("admin", "adminGroup"), *users, *locals_(local)], groups=LIVE_GROUPS)
    plan = guarded(state, idp(*staying), organization)
    assert plan.counts.users_deleted == leaving
    guard = next(g for g in plan.guards if g.name == "idp_completeness")
    assert guard.passed is passes, guard.message
    assert (guard in plan.failed_guards(force=True)) is not passes  # --force does not lift it
    if not passes:
        assert f"would remove or strip {leaving} of the {linked} GoodData users" in guard.message
        assert "raise policy.max_removals" in guard.message


def test_additions_never_trip_the_threshold() -> None:
    state = desired(groups=GROUPS, roles=ROLES, max_removals=0)
    newcomers = [person(f"auth0|n{i}", "User") for i in range(50)]
    plan = guarded(state, idp(*newcomers), live(groups=LIVE_GROUPS))
    assert plan.counts.users_created == 50
    assert verdict(plan, "max_removals")


def test_membership_losses_count_as_removals() -> None:
    users = team(10)
    state = desired(groups=GROUPS, roles=ROLES, max_removals="10%")
    # every user moves from viewers to analysts: 10 memberships lost out of 11
    plan = guarded(
        state,
        idp(*[person(u["authId"], "Analyst") for u in users]),
        live(users=[live_user("admin", "adminGroup"), *users], groups=LIVE_GROUPS),
    )
    guard = next(g for g in plan.guards if g.name == "max_removals")
    assert not guard.passed and "10 group memberships lost" in guard.message


def test_the_token_users_own_manage_grant_stays_so_there_is_no_lockout() -> None:
    state = desired(groups=GROUPS, roles=ROLES, organization={"analysts": ["BASE_UI_ACCESS"]})
    organization = live(
        groups=LIVE_GROUPS,
        token_user="robot",
        users=[live_user("admin", "viewers"), live_user("robot", "viewers")],
        organization={"user:robot": ["MANAGE"]},
    )
    plan = guarded(state, idp(), organization)
    # robot is the token user: its own grant is protected and stays, so no lock-out
    assert verdict(plan, "lockout")
    assert check_protected(plan, protected=frozenset({"robot"})).passed


def test_lockout_trips_when_the_last_manager_group_loses_manage() -> None:
    state = desired(
        groups=GROUPS, roles=ROLES, organization={"analysts": ["BASE_UI_ACCESS"]}, protected=["viewers"]
    )
    organization = live(
        groups=LIVE_GROUPS, users=[live_user("admin", "viewers")], organization={"analysts": ["MANAGE"]}
    )
    plan = guarded(state, idp(), organization)
    guard = next(g for g in plan.guards if g.name == "lockout")
    assert not guard.passed and "locked out" in guard.message
    assert not guard.overridable and guard in plan.failed_guards(force=True)


def test_lockout_trips_when_the_token_user_loses_manage_through_a_group_parent() -> None:
    state = desired(
        groups={**GROUPS, "ops": {"name": "Ops", "parents": []}}, roles=ROLES, protected=["admins"]
    )
    organization = live(
        groups=[*LIVE_GROUPS, live_group("ops", "Ops", parents=["admins"]), live_group("admins")],
        token_user="robot",
        users=[live_user("admin", "adminGroup"), live_user("robot", "ops")],
        organization={"adminGroup": ["MANAGE"], "admins": ["MANAGE"]},
    )
    plan = guarded(state, idp(), organization)
    [change] = [c for c in plan.group_changes if c.group_id == "ops"]
    assert change.parents_removed == ("admins",)
    guard = next(g for g in plan.guards if g.name == "lockout")
    assert not guard.passed
    assert guard.message == (
        "the API token's user 'robot' would lose organization MANAGE and could not run the next apply"
    )
    assert guard in plan.failed_guards(force=True)


def test_managers_follow_group_parents() -> None:
    doc = {
        "users": [live_user("jane", "team"), live_user("joe", "other")],
        "userGroups": [live_group("team", parents=["admins"]), live_group("admins"), live_group("other")],
    }
    grants = [Grant("MANAGE", "admins", "userGroup").to_wire()]
    assert managers(doc, grants) == frozenset({"jane"})


def test_protected_guard_trips_on_a_plan_touching_a_protected_user() -> None:
    plan = Plan((UserChange("delete", "admin", "hand-made"),), (), (), (), {}, "d", "l")
    guard = check_protected(plan, protected=frozenset({"admin", "adminGroup"}))
    assert not guard.passed and guard.message == "the plan changes protected principals: admin"
    assert not guard.overridable


@pytest.mark.parametrize(
    ("snapshot", "linked", "passes", "fragment"),
    [
        (IdentitySnapshot("auth0", (), frozenset(), 0), 3, False, "returned no users while GoodData has 3"),
        (
            IdentitySnapshot("auth0", (person("auth0|a"),), frozenset(), 2),
            0,
            False,
            "returned 1 users but reports 2",
        ),
        (IdentitySnapshot("auth0", (), frozenset(), 0), 0, True, "0 of 0"),
        (idp(person("auth0|a")), 3, True, "1 of 1"),
    ],
)
def test_idp_completeness(snapshot: IdentitySnapshot, linked: int, passes: bool, fragment: str) -> None:
    organization = live(users=[live_user("admin", "adminGroup"), *team(linked)], groups=LIVE_GROUPS)
    state = desired(groups=GROUPS, roles=ROLES, max_removals=5)
    plan = compute_plan(state, snapshot, organization)
    guard = check_idp_completeness(plan, state=state, idp=snapshot, live=organization)
    assert guard.passed is passes and fragment in guard.message and not guard.overridable
