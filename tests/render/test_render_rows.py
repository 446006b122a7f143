"""The shared row model: sections, flags, masking and the summary sentence."""

from __future__ import annotations

import pytest
from render_plan_factory import full_plan, grant, make_plan

from reconciler.plan import FieldChange, GroupChange, UserChange
from reconciler.render.rows import (
    EMPTY_PLAN_MESSAGE,
    build_sections,
    count_flags,
    is_privilege_increase,
    is_removal,
    mask_email,
    mask_emails_in,
    plain_text,
    summary_line,
)


def test_mask_email_hides_local_part_and_domain() -> None:
    masked = mask_email("chloe.muller@acme-analytics.com")
    assert masked == "c***@a***.com"
    assert "chloe" not in masked and "acme-analytics" not in masked


@pytest.mark.parametrize(
    ("email", "expected"),
    [("a@b.co.uk", "a***@b***.uk"), ("x@localhost", "x***@l***"), ("not-an-email", "n***"), ("", "")],
)
def test_mask_email_edge_cases(email: str, expected: str) -> None:
    assert mask_email(email) == expected


def test_mask_emails_in_masks_only_the_address_part() -> None:
    assert mask_emails_in("samlp|acme|jdoe@acme.com") == "samlp|acme|j***@a***.com"
    assert mask_emails_in("auth0|123") == "auth0|123"


def test_sections_come_in_documented_order() -> None:
    sections = build_sections(full_plan())
    assert [(s.category, s.target) for s in sections] == [
        ("users", ""),
        ("groups", ""),
        ("organization_grants", ""),
        ("workspace_grants", "demo"),
        ("data_source_grants", "pg-main"),
    ]
    assert [plain_text(s.title) for s in sections][3] == "Workspace demo grants"


def test_rows_are_ordered_create_update_delete_then_by_id() -> None:
    users = build_sections(full_plan())[0]
    assert [(row.action, plain_text(row.subject).split()[1]) for row in users.rows] == [
        ("create", "jane"),
        ("update", "bob"),
        ("update", "dan"),
        ("delete", "carl"),
    ]


def test_flags_on_rows() -> None:
    rows = [row for section in build_sections(full_plan()) for row in section.rows]
    removals = sorted(plain_text(row.subject).split(" (")[0] for row in rows if row.removal)
    assert removals == [
        "MANAGE -> group editors",
        "VIEW -> user carl",
        "group legacy",
        "user bob",
        "user carl",
        "user dan",
    ]
    increases = [plain_text(row.subject).split(" (")[0] for row in rows if row.privilege_increase]
    assert increases == ["user jane", "MANAGE -> group admins", "MANAGE -> group admins"]


def test_is_privilege_increase_rules() -> None:
    assert is_privilege_increase(grant("workspace", "w", "create", "MANAGE", "g"))
    assert is_privilege_increase(grant("data_source", "d", "create", "MANAGE", "g"))
    assert is_privilege_increase(grant("organization", "", "create", "SELF_CREATE_TOKEN", "g"))
    assert not is_privilege_increase(grant("workspace", "w", "create", "VIEW", "g"))
    assert not is_privilege_increase(grant("organization", "", "delete", "MANAGE", "g"))
    joining = UserChange("update", "u", "role change", groups_added=("admins",))
    assert is_privilege_increase(joining, privileged_groups={"admins"})
    assert not is_privilege_increase(joining, privileged_groups={"other"})
    nested = GroupChange("update", "g", "parents", parents_added=("admins",))
    assert is_privilege_increase(nested, privileged_groups={"admins"})


def test_summary_line_full_plan() -> None:
    assert summary_line(full_plan()) == (
        "Plan: 1 user to create, 2 to update (1 stripped), 1 to remove; "
        "1 group to create, 1 to update, 1 to remove; 4 grants to add, 2 to revoke."
    )


def test_summary_line_singular_and_plural() -> None:
    one = make_plan(grants=(grant("workspace", "w", "create", "VIEW", "g"),))
    assert summary_line(one) == "Plan: 1 grant to add."
    users = tuple(UserChange("delete", f"u{i}", "departed") for i in range(3))
    assert summary_line(make_plan(users=users)) == "Plan: 3 users to remove."
    groups = (GroupChange("update", "g", "parents", parents_added=("p",)),)
    assert summary_line(make_plan(groups=groups)) == "Plan: 1 group to update."


def test_summary_line_empty_plan() -> None:
    assert (
        summary_line(make_plan()) == EMPTY_PLAN_MESSAGE == "No changes. GoodData matches the desired state."
    )


def test_a_lost_group_membership_is_a_removal() -> None:
    loses = UserChange("update", "bob", "role change", groups_removed=("editors",))
    gains = UserChange("update", "ann", "role change", groups_added=("viewers",))
    renamed = UserChange("update", "eve", "profile", fields=(FieldChange("email", "a@x.io", "b@x.io"),))
    assert is_removal(loses)
    assert not is_removal(gains)
    assert not is_removal(renamed)
    assert count_flags(make_plan(users=(loses, gains, renamed))) == (1, 0)
