"""Table-driven tests of the merge rules in reconciler.diff (no network, no SDK)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from reconciler.canonical import canonical_users_and_groups
from reconciler.diff import compute_plan, derive_user_id
from reconciler.model import IdentityUser, InputError, UserSpec
from reconciler.plan import Plan
from reconciler.safety import check_max_removals

from .builders import HERE, desired, idp, live, live_group, live_user, person, wire

BASE_GROUPS = {"adminGroup": {}, "analysts": {"name": "Analysts"}, "viewers": {"name": "Viewers"}}
BASE_ROLES = {"Admin": ["adminGroup"], "Analyst": ["analysts"], "User": ["viewers"]}
LIVE_GROUPS = [live_group("adminGroup"), live_group("analysts", "Analysts"), live_group("viewers", "Viewers")]


def final_users(plan: Plan, before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The users document after the plan's last users write (or the live one)."""
    doc = before
    for write in plan.writes:
        if write.kind == "users_and_groups":
            doc = write.body
    return {u["id"]: u for u in canonical_users_and_groups(doc)["users"]}


def groups_of(user: dict[str, Any]) -> list[str]:
    return sorted(g["id"] for g in user.get("userGroups", []))


@pytest.mark.parametrize(
    ("subject", "strategy", "expected"),
    [
        ("auth0|64f1", "strip-auth0-prefix", "64f1"),
        ("google-oauth2|1093", "strip-auth0-prefix", "google-oauth2_1093"),
        ("samlp|acme|jdoe", "strip-auth0-prefix", "samlp_acme_jdoe"),
        ("email|5f3a", "strip-auth0-prefix", "email_5f3a"),
        ("auth0|64f1", "sanitize", "auth0_64f1"),
        ("waad|a.b@c", "strip-auth0-prefix", "waad_a.b_c"),
        ("auth0|.hidden", "strip-auth0-prefix", "_hidden"),
    ],
)
def test_derive_user_id(subject: str, strategy: Any, expected: str) -> None:
    assert derive_user_id(subject, strategy) == expected


# Rule 1: who is desired ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity_user", "default_groups", "expected_groups"),
    [
        (person("auth0|u1", "Analyst"), [], ["analysts"]),
        (person("auth0|u1", "Analyst", "User"), [], ["analysts", "viewers"]),  # union over all roles
        (person("auth0|u1", "Contractor"), [], None),  # no mapped role, no default -> no account
        (person("auth0|u1", "Contractor"), ["viewers"], ["viewers"]),  # default_groups
        (person("auth0|u1"), ["viewers"], ["viewers"]),  # no role at all -> default_groups
        (person("auth0|u1", "Analyst", blocked=True), [], None),  # blocked -> no account
        (person("auth0|u1", "Guest"), ["viewers"], []),  # a mapped role with no groups: an account
        (person("auth0|u1", "Guest", "User"), [], ["viewers"]),  # union with an empty mapping
    ],
)
def test_desired_users_from_roles(
    identity_user: Any, default_groups: list[str], expected_groups: Any
) -> None:
    state = desired(groups=BASE_GROUPS, roles={**BASE_ROLES, "Guest": []}, default_groups=default_groups)
    organization = live(groups=LIVE_GROUPS)
    plan = compute_plan(state, idp(identity_user), organization)
    users = final_users(plan, organization.users_and_groups)
    if expected_groups is None:
        assert "u1" not in users
        assert [c.user_id for c in plan.user_changes] == []
    else:
        assert groups_of(users["u1"]) == expected_groups
        change = next(c for c in plan.user_changes if c.user_id == "u1")
        assert (change.action, change.auth_id, change.groups_added) == (
            "create",
            "auth0|u1",
            tuple(expected_groups),
        )
        assert users["u1"]["authId"] == "auth0|u1"
        assert users["u1"]["email"] == "u1@example.com"


def test_file_users_are_desired_and_keep_live_fields() -> None:
    state = desired(groups=BASE_GROUPS, users={"svc-etl": ["analysts"]})
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("svc-etl", "viewers", systemAccount=True)],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(), organization)
    user = final_users(plan, organization.users_and_groups)["svc-etl"]
    assert groups_of(user) == ["analysts"]
    assert user["systemAccount"] is True
    [change] = plan.user_changes
    assert (change.action, change.groups_added, change.groups_removed) == (
        "update",
        ("analysts",),
        ("viewers",),
    )


# Rule 2: matching ------------------------------------------------------------------------------


MATCHING = [
    pytest.param(
        [live_user("jane.legacy", "viewers", auth_id="auth0|u1")],
        [person("auth0|u1", "Analyst")],
        {},
        {("update", "jane.legacy")},
        ("auth0|u1", "role change"),
        id="matched by authId: keeps its live id, never recreated",
    ),
    pytest.param(
        [live_user("u1", "analysts")],
        [person("auth0|u1", "Analyst")],
        {},
        {("update", "u1")},
        ("auth0|u1", "adopted"),
        id="derived id and no authId: adopted",
    ),
    pytest.param(
        [live_user("svc", "viewers", auth_id="auth0|svc-login")],
        [],
        {"svc": ["viewers"]},
        set(),
        ("auth0|svc-login", ""),
        id="a file user keeps the authId it has live",
    ),
    pytest.param(
        [live_user("u1", "analysts", auth_id="okta|u1")],
        [person("auth0|u1", "Analyst")],
        {},
        "GoodData user 'u1' has authId 'okta|u1', but the IdP user 'auth0|u1' maps to the same id",
        None,
        id="derived id with another authId: a conflict",
    ),
    pytest.param(
        [],
        [person("samlp|a|b", "User"), person("samlp|a_b", "User")],
        {},
        "IdP users 'samlp|a_b' and 'samlp|a|b' both map to GoodData user id 'samlp_a_b'; fix the IdP data",
        None,
        id="two subjects that sanitise to one id: an error naming both",
    ),
    pytest.param(
        [],
        [person("auth0|google-oauth2_7", "User"), person("google-oauth2|7", "User")],
        {},
        "both map to GoodData user id 'google-oauth2_7'; use identity.user_id: sanitize",
        None,
        id="a stripped auth0 subject meeting a sanitised one: sanitize helps",
    ),
    pytest.param(
        [live_user("a", auth_id="auth0|x"), live_user("b", auth_id="auth0|x")],
        [],
        {},
        "live GoodData users 'a', 'b' share authId 'auth0|x'",
        None,
        id="two live users sharing an authId: an error",
    ),
]


@pytest.mark.parametrize(("live_users", "idp_users", "file_users", "expected", "kept"), MATCHING)
def test_matching_live_users(
    live_users: list[dict[str, Any]],
    idp_users: list[IdentityUser],
    file_users: dict[str, list[str]],
    expected: set[tuple[str, str]] | str,
    kept: tuple[str, str] | None,
) -> None:
    """``expected``: the user changes, or a fragment of the error; ``kept``: the live user's authId
    after the plan and the start of its change's reason ("" for no change)."""
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, users={"admin": ["adminGroup"], **file_users})
    organization = live(users=[live_user("admin", "adminGroup"), *live_users], groups=LIVE_GROUPS)
    if isinstance(expected, str):
        with pytest.raises(InputError) as caught:
            compute_plan(state, idp(*idp_users), organization)
        assert expected in str(caught.value)
        return
    assert kept is not None
    auth_id, reason = kept
    plan = compute_plan(state, idp(*idp_users), organization)
    assert {(c.action, c.user_id) for c in plan.user_changes} == expected
    assert [c.reason for c in plan.user_changes if not c.reason.startswith(reason)] == []
    users = final_users(plan, organization.users_and_groups)
    [live_one] = live_users
    assert set(users) == {"admin", live_one["id"]}  # nobody created, deleted or recreated
    assert users[live_one["id"]]["authId"] == auth_id


def test_users_auth_id_links_an_idp_user_to_an_existing_account() -> None:
    state = dataclasses.replace(
        desired(groups=BASE_GROUPS, roles=BASE_ROLES),
        users={"alice": UserSpec("alice", ("viewers",), HERE, auth_id="auth0|alice1")},
    )
    before = live(users=[live_user("admin", "adminGroup"), live_user("alice", "viewers")], groups=LIVE_GROUPS)
    plan = compute_plan(state, idp(person("auth0|alice1", "Analyst")), before)
    [change] = plan.user_changes  # no second account alice1 with the same authId
    assert (change.action, change.user_id, change.groups_added) == ("update", "alice", ("analysts",))
    assert change.reason == "adopted: linked by users.alice.auth_id, authId set"
    after = final_users(plan, before.users_and_groups)
    assert set(after) == {"admin", "alice"} and after["alice"]["authId"] == "auth0|alice1"
    linked = live(
        users=[live_user("admin", "adminGroup"), {**after["alice"]}], groups=LIVE_GROUPS
    )  # the next run: matched by authId, nothing to do
    assert compute_plan(state, idp(person("auth0|alice1", "Analyst")), linked).user_changes == ()


def test_two_file_users_with_one_auth_id_are_an_error() -> None:
    state = dataclasses.replace(
        desired(groups=BASE_GROUPS, roles=BASE_ROLES),
        users={
            "a": UserSpec("a", ("viewers",), HERE, auth_id="okta|x"),
            "b": UserSpec("b", ("viewers",), HERE, auth_id="okta|x"),
        },
    )
    with pytest.raises(InputError) as caught:
        compute_plan(state, idp(), live(groups=LIVE_GROUPS))
    assert "users.b and users.a have the same auth_id 'okta|x'" in str(caught.value)


def test_idp_names_over_255_characters_are_an_error() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    long_name = person("auth0|u1", "User", email="x" * 250 + "@example.com")
    with pytest.raises(InputError) as caught:
        compute_plan(state, idp(long_name), live(groups=LIVE_GROUPS))
    assert "email of 262 characters" in str(caught.value)


def test_missing_email_is_a_warning_and_the_user_is_still_created() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    no_email = IdentityUser("auth0|u1", None, None, None, False, frozenset({"User"}))
    plan = compute_plan(state, idp(no_email), live(groups=LIVE_GROUPS))
    assert [w.message for w in plan.warnings] == [
        "IdP user 'auth0|u1' has no email; the GoodData user gets none"
    ]
    user = final_users(plan, {})["u1"]
    assert "email" not in user and "firstname" not in user and user["authId"] == "auth0|u1"


def test_duplicate_emails_are_a_warning() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    plan = compute_plan(
        state,
        idp(
            person("auth0|a", "User", email="same@example.com"),
            person("auth0|b", "User", email="same@example.com"),
        ),
        live(groups=LIVE_GROUPS),
    )
    assert any("share the email" in w.message for w in plan.warnings)
    assert len([c for c in plan.user_changes if c.action == "create"]) == 2


# Rule 3: departed and unmanaged ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected_action", "expected_groups", "stripped"),
    [
        ("remove", "delete", None, False),
        ("strip", "update", [], True),
        ("keep", None, ["analysts"], False),
    ],
)
def test_departed_users_follow_policy(
    policy: str, expected_action: Any, expected_groups: Any, stripped: bool
) -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, departed_users=policy, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "analysts", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
        workspace_permissions={
            "demo": {"permissions": wire({"user:gone": ["VIEW"]}), "hierarchyPermissions": []}
        },
        workspaces={"demo": None},
    )
    state = desired(
        groups=BASE_GROUPS,
        roles=BASE_ROLES,
        departed_users=policy,
        max_removals=5,
        workspaces={"demo": {"hierarchy_permissions": {}}},
    )
    plan = compute_plan(state, idp(), organization)
    users = final_users(plan, organization.users_and_groups)
    changes = [c for c in plan.user_changes if c.user_id == "gone"]
    if expected_action is None:
        assert changes == [] and groups_of(users["gone"]) == ["analysts"]
        assert plan.grant_changes == ()
    else:
        [change] = changes
        assert (change.action, change.stripped, change.groups_removed) == (
            expected_action,
            stripped,
            ("analysts",),
        )
        assert "departed from auth0" in change.reason
        if expected_groups is None:
            assert "gone" not in users
        else:
            assert groups_of(users["gone"]) == expected_groups
        # the departed user's direct grant goes in both cases, even though plain grants are not managed
        assert [(c.action, c.grant.assignee_id) for c in plan.grant_changes] == [("delete", "gone")]


def test_departed_users_that_are_kept_are_named_in_a_warning() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, departed_users="keep")
    organization = live(
        users=[
            live_user("admin", "adminGroup"),
            *[live_user(f"gone{i}", "viewers", auth_id=f"auth0|gone{i}") for i in range(7)],
            live_user("stripped", auth_id="auth0|stripped"),  # no groups left: nothing to warn about
        ],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(), organization)
    assert plan.user_changes == ()
    assert [w.message for w in plan.warnings] == [
        "7 users that left auth0 or lost every mapped role keep their groups (departed_users: keep, "
        "or protected): gone0, gone1, gone2, gone3, gone4 …"
    ]


def test_a_protected_id_gooddata_lacks_is_a_warning() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, protected=["admin", "robto"])
    organization = live(users=[live_user("admin", "adminGroup"), live_user("robot")], groups=LIVE_GROUPS)
    plan = compute_plan(state, idp(), organization)
    assert [w.message for w in plan.warnings] == [
        "protected 'robto' is neither a user nor a group in GoodData; did you mean 'robot'?"
    ]


def test_a_user_stripped_earlier_is_no_change_and_trips_no_guard() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, departed_users="strip", max_removals=0)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(), organization)
    assert plan.user_changes == ()
    assert plan.writes == ()
    assert check_max_removals(plan, state=state, live=organization).passed


def test_blocked_user_loses_access_with_reason() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("u1", "analysts", auth_id="auth0|u1")],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(person("auth0|u1", "Analyst", blocked=True)), organization)
    [change] = plan.user_changes
    assert (change.action, change.reason) == ("delete", "blocked in auth0 (departed_users: remove)")


@pytest.mark.parametrize(("policy", "deleted"), [("keep", False), ("remove", True)])
def test_unmanaged_users_follow_policy(policy: str, deleted: bool) -> None:
    state = desired(groups=BASE_GROUPS, unmanaged_users=policy, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("manual", "viewers")], groups=LIVE_GROUPS
    )
    plan = compute_plan(state, idp(), organization)
    assert ("manual" not in final_users(plan, organization.users_and_groups)) is deleted
    assert [c.action for c in plan.user_changes] == (["delete"] if deleted else [])


@pytest.mark.parametrize(("policy", "deleted"), [("keep", False), ("remove", True)])
def test_unmanaged_groups_follow_policy(policy: str, deleted: bool) -> None:
    state = desired(groups=BASE_GROUPS, unmanaged_groups=policy, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("manual", "temp")],
        groups=[*LIVE_GROUPS, live_group("temp", "Temporary")],
    )
    plan = compute_plan(state, idp(), organization)
    assert [(c.action, c.group_id) for c in plan.group_changes] == ([("delete", "temp")] if deleted else [])
    users = final_users(plan, organization.users_and_groups)
    assert groups_of(users["manual"]) == ([] if deleted else ["temp"])


def test_protected_principals_are_never_changed() -> None:
    state = desired(
        groups={**BASE_GROUPS, "adminGroup": {"name": "Renamed"}},
        users={"admin": ["viewers"]},
        organization={"analysts": ["MANAGE"]},
        protected=["admin", "adminGroup"],
        unmanaged_users="remove",
        max_removals=5,
    )
    organization = live(groups=LIVE_GROUPS)
    plan = compute_plan(state, idp(), organization)
    assert [c.user_id for c in plan.user_changes] == []
    assert [c.group_id for c in plan.group_changes] == []
    # adminGroup keeps its organization MANAGE even though the file does not list it
    assert [(c.action, c.grant.assignee_id) for c in plan.grant_changes] == [("create", "analysts")]
    assert (
        "permissions.organization: MANAGE of protected 'adminGroup' is kept although the file does not "
        "list it (protected principals never lose grants)"
    ) in [w.message for w in plan.warnings]
    assert {w.message.split(";")[0] for w in plan.warnings} >= {
        "user 'admin' is protected",
        "group 'adminGroup' is protected",
    }


def test_token_user_is_protected() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("robot", "adminGroup", auth_id="auth0|robot")],
        groups=LIVE_GROUPS,
        token_user="robot",
    )
    plan = compute_plan(state, idp(), organization)
    assert "robot" in final_users(plan, organization.users_and_groups)
    assert plan.user_changes == ()


# Rule 4: carried over ----------------------------------------------------------------------------


def test_unmanaged_fields_are_carried_over() -> None:
    settings = [{"id": "locale", "type": "LOCALE", "content": {"value": "fr-FR"}}]
    see = [{"name": "SEE", "assignee": {"id": "viewers", "type": "userGroup"}}]
    state = desired(
        groups=BASE_GROUPS, roles=BASE_ROLES, workspaces={"demo": {"permissions": {"viewers": ["VIEW"]}}}
    )
    organization = live(
        users=[
            live_user("admin", "adminGroup"),
            live_user(
                "u1",
                "viewers",
                "manual-group",
                auth_id="auth0|u1",
                settings=settings,
                permissions=see,
                systemAccount=False,
            ),
        ],
        groups=[*LIVE_GROUPS, live_group("manual-group")],
        workspace_permissions={
            "demo": {"permissions": [], "hierarchyPermissions": wire({"analysts": ["MANAGE"]})}
        },
        workspaces={"demo": None},
    )
    plan = compute_plan(state, idp(person("auth0|u1", "Analyst")), organization)
    user = final_users(plan, organization.users_and_groups)["u1"]
    assert user["settings"] == settings and user["permissions"] == see and user["systemAccount"] is False
    assert groups_of(user) == ["analysts", "manual-group"]  # membership of an unmanaged group kept
    workspace = next(w for w in plan.writes if w.kind == "workspace_permissions")
    assert workspace.body["hierarchyPermissions"] == wire({"analysts": ["MANAGE"]})
    assert workspace.body["permissions"] == wire({"viewers": ["VIEW"]})


def test_role_change_moves_user_between_groups() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("u1", "viewers", auth_id="auth0|u1")],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(person("auth0|u1", "Analyst")), organization)
    [change] = plan.user_changes
    assert (change.groups_added, change.groups_removed) == (("analysts",), ("viewers",))
    assert change.reason.startswith("role change")


def test_profile_fields_come_from_the_idp() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    organization = live(
        users=[
            live_user("admin", "adminGroup"),
            live_user("u1", "viewers", auth_id="auth0|u1", email="old@x.com"),
        ],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(person("auth0|u1", "User", email="new@x.com")), organization)
    [change] = plan.user_changes
    assert {f.field: (f.before, f.after) for f in change.fields} == {
        "email": ("old@x.com", "new@x.com"),
        "firstname": (None, "U1"),
        "lastname": (None, "Doe"),
    }


def test_nothing_changes_writes_nothing() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, organization={"adminGroup": ["MANAGE"]})
    first = compute_plan(state, idp(person("auth0|u1", "User")), live(groups=LIVE_GROUPS))
    users = final_users(first, {})
    again = live(users=list(users.values()), groups=LIVE_GROUPS)
    second = compute_plan(state, idp(person("auth0|u1", "User")), again)
    assert second.is_empty and second.user_changes == () and second.grant_changes == ()


# Rule 5: references after reading ------------------------------------------------------------------


def test_missing_workspace_and_data_source_are_errors() -> None:
    state = desired(
        groups=BASE_GROUPS,
        workspaces={"demo_wset": {"permissions": {}}},
        data_sources={"gone-ds": {"permissions": {}}},
    )
    with pytest.raises(InputError) as caught:
        compute_plan(state, idp(), live(groups=LIVE_GROUPS, missing_data_sources=["gone-ds"]))
    message = str(caught.value)
    assert "workspace 'demo_wset' does not exist in GoodData; did you mean 'demo_west'?" in message
    assert "data source 'gone-ds' does not exist in GoodData" in message


@pytest.mark.parametrize(
    ("mapped_role", "expected"),
    [
        (
            "analyst",
            "role 'analyst' does not exist in auth0; the IdP has 'Analyst' (role names are case-sensitive)",
        ),
        ("Analsyt", "role 'Analsyt' does not exist in auth0; did you mean 'Analyst'?"),
    ],
)
def test_missing_role_is_a_warning_naming_the_closest(mapped_role: str, expected: str) -> None:
    state = desired(groups=BASE_GROUPS, roles={mapped_role: ["analysts"]})
    plan = compute_plan(state, idp(), live(groups=LIVE_GROUPS))
    assert [w.message for w in plan.warnings] == [expected]


def test_grant_to_unknown_user_is_an_error() -> None:
    state = desired(groups=BASE_GROUPS, workspaces={"demo": {"permissions": {"user:nobody": ["VIEW"]}}})
    with pytest.raises(InputError) as caught:
        compute_plan(state, idp(), live(groups=LIVE_GROUPS, workspaces={"demo": None}))
    assert "user 'nobody' does not exist in GoodData" in str(caught.value)


@pytest.mark.parametrize("policy", ["remove", "strip"])
def test_a_grant_the_file_gives_a_leaving_user_is_dropped_with_a_warning(policy: str) -> None:
    state = desired(
        groups=BASE_GROUPS,
        departed_users=policy,
        max_removals=5,
        workspaces={"demo": {"permissions": {"user:gone": ["VIEW"], "viewers": ["VIEW"]}}},
    )
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "viewers", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
        workspaces={"demo": None},
        workspace_permissions={
            "demo": {"permissions": wire({"user:gone": ["VIEW"]}), "hierarchyPermissions": []}
        },
    )
    plan = compute_plan(state, idp(), organization)  # no error: the rest of the plan still lands
    assert [w.message for w in plan.warnings] == [
        "permissions.workspaces.demo: user 'gone' leaves in this plan, so its VIEW listed here is not given; "
        "remove it from the file"
    ]
    assert {(c.action, c.grant.assignee_id) for c in plan.grant_changes} == {
        ("create", "viewers"),
        ("delete", "gone"),
    }


# Write ordering ---------------------------------------------------------------------------------------


def test_principals_written_before_grants_and_grants_revoked_before_deletion() -> None:
    state = desired(
        groups={**BASE_GROUPS, "finance": {"name": "Finance"}},
        roles=BASE_ROLES,
        workspaces={"demo": {"permissions": {"finance": ["VIEW"]}}},
        max_removals=5,
    )
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "viewers", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
        workspace_permissions={
            "demo": {"permissions": wire({"user:gone": ["VIEW"]}), "hierarchyPermissions": []}
        },
        workspaces={"demo": None},
    )
    plan = compute_plan(state, idp(), organization)
    kinds = [w.kind for w in plan.writes]
    assert kinds == ["users_and_groups", "workspace_permissions", "users_and_groups"]
    interim, _, final = (w.body for w in plan.writes)
    assert {u["id"] for u in interim["users"]} == {"admin", "gone"}  # not yet deleted
    assert "finance" in {g["id"] for g in interim["userGroups"]}  # created before the grant names it
    assert {u["id"] for u in final["users"]} == {"admin"}


def test_grants_revoked_then_one_users_write_when_the_plan_creates_nothing_they_name() -> None:
    state = desired(
        groups=BASE_GROUPS,
        roles=BASE_ROLES,
        workspaces={"demo": {"permissions": {"viewers": ["VIEW"]}}},
        max_removals=5,
    )
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "viewers", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
        workspace_permissions={
            "demo": {"permissions": wire({"user:gone": ["VIEW"]}), "hierarchyPermissions": []}
        },
        workspaces={"demo": None},
    )
    plan = compute_plan(state, idp(person("auth0|new", "User")), organization)
    assert [w.kind for w in plan.writes] == ["workspace_permissions", "users_and_groups"]
    assert {u["id"] for u in plan.writes[1].body["users"]} == {"admin", "new"}


def test_unlisted_documents_lose_only_the_leaving_principals_grants_and_go_first() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, departed_users="strip", max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "viewers", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
        workspaces={"demo": None, "demo_east": "demo"},
        # demo_east is not listed in the file: read because it grants something to a leaving user
        workspace_permissions={
            "demo_east": {
                "permissions": wire({"user:gone": ["VIEW"], "analysts": ["ANALYZE"]}),
                "hierarchyPermissions": wire({"user:gone": ["VIEW"]}),
            }
        },
    )
    plan = compute_plan(state, idp(), organization)
    assert [(c.target, c.action, c.grant.assignee_id, c.hierarchy) for c in plan.grant_changes] == [
        ("demo_east", "delete", "gone", False),
        ("demo_east", "delete", "gone", True),
    ]
    assert [w.kind for w in plan.writes] == ["workspace_permissions", "users_and_groups"]
    assert plan.writes[0].body == {"permissions": wire({"analysts": ["ANALYZE"]}), "hierarchyPermissions": []}


def test_single_users_write_when_deletions_have_no_grants() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES, max_removals=5)
    organization = live(
        users=[live_user("admin", "adminGroup"), live_user("gone", "viewers", auth_id="auth0|gone")],
        groups=LIVE_GROUPS,
    )
    plan = compute_plan(state, idp(person("auth0|new", "User")), organization)
    assert [w.kind for w in plan.writes] == ["users_and_groups"]
    assert {(c.action, c.user_id) for c in plan.user_changes} == {("create", "new"), ("delete", "gone")}


def test_groups_below_a_manage_group_are_privileged() -> None:
    state = desired(
        groups={**BASE_GROUPS, "ops": {"name": "Ops", "parents": ["admins"]}, "admins": {"name": "Admins"}},
        organization={"admins": ["MANAGE"], "adminGroup": ["MANAGE"]},
    )
    plan = compute_plan(state, idp(), live(groups=LIVE_GROUPS))
    assert plan.metadata["privileged_groups"] == ["adminGroup", "admins", "ops"]


@pytest.mark.parametrize("departed", ["remove", "strip", "keep"])
def test_the_live_documents_are_never_modified(departed: str) -> None:
    settings = [{"id": "locale", "type": "LOCALE", "content": {"value": "fr-FR"}}]
    state = desired(
        groups=BASE_GROUPS,
        roles=BASE_ROLES,
        departed_users=departed,
        unmanaged_groups="remove",
        max_removals=50,
        workspaces={"demo": {"permissions": {"viewers": ["VIEW"]}}},
    )
    organization = live(
        users=[
            live_user("admin", "adminGroup", "legacy", settings=settings),
            live_user("u1", "viewers", "legacy", auth_id="auth0|u1", settings=settings),
            live_user("gone", "analysts", "legacy", auth_id="auth0|gone", settings=settings),
        ],
        groups=[*LIVE_GROUPS, live_group("legacy", "Legacy", parents=["viewers"])],
        workspace_permissions={
            "demo": {
                "permissions": wire({"user:gone": ["VIEW"], "legacy": ["VIEW"]}),
                "hierarchyPermissions": [],
            }
        },
        workspaces={"demo": None},
    )
    before = copy.deepcopy(organization)
    plan = compute_plan(state, idp(person("auth0|u1", "Analyst")), organization)
    assert plan.user_changes and plan.group_changes and plan.grant_changes
    assert organization == before


def test_checksums_are_stable_and_sensitive() -> None:
    state = desired(groups=BASE_GROUPS, roles=BASE_ROLES)
    organization = live(groups=LIVE_GROUPS)
    one = compute_plan(state, idp(person("auth0|u1", "User")), organization)
    two = compute_plan(state, idp(person("auth0|u1", "User")), organization)
    other = compute_plan(state, idp(person("auth0|u1", "Analyst")), organization)
    assert one.checksum == two.checksum and one.live_checksum == two.live_checksum
    assert other.desired_checksum != one.desired_checksum and other.checksum != one.checksum
