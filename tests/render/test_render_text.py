"""Terminal rendering."""

from __future__ import annotations

from render_plan_factory import big_plan, full_plan, make_plan

from reconciler.model import Diagnostic, Location
from reconciler.plan import GuardResult, UserChange
from reconciler.render.text import render_text


def test_every_change_kind_on_its_own_line() -> None:
    text = render_text(full_plan())
    lines = text.splitlines()
    expected = [
        "  + user jane (authId auth0|jane1, email jane.doe@acme-analytics.com): groups +analysts +admins; "
        "reason: new in auth0  [privilege increase]",
        "  ~ user bob (authId auth0|bob1, email bob@acme-analytics.com): groups +viewers -editors; "
        "email: bob.old@acme-analytics.com -> bob@acme-analytics.com; reason: role change",
        "  ~ user dan (authId auth0|dan1, email dan@acme-analytics.com): "
        "stripped: account kept, groups and grants dropped; groups -analysts; "
        "reason: departed from auth0",
        "  - user carl (authId auth0|carl1, email carl@acme-analytics.com): removed from GoodData; "
        "reason: departed from auth0",
        '  + group analysts "Analysts": parents +all; reason: new in desired state',
        '  ~ group editors "Editors": parents -legacy; name: Old editors -> Editors; reason: name changed',
        "  - group legacy: removed from GoodData; reason: unmanaged group removed",
        "Organization grants (1):",
        "  + MANAGE -> group admins  [privilege increase]",
        "Workspace demo grants (3):",
        "  + ANALYZE -> group analysts",
        "  - VIEW -> user carl",
        "  + MANAGE -> group admins: hierarchy: also applies to child workspaces  [privilege increase]",
        "Data source pg-main grants (2):",
        "  + USE -> group analysts",
        "  - MANAGE -> group editors",
    ]
    for line in expected:
        assert line in lines


def test_summary_and_attention_lines_come_last() -> None:
    lines = render_text(full_plan()).splitlines()
    assert lines[-3] == (
        "Plan: 1 user to create, 2 to update (1 stripped), 1 to remove; "
        "1 group to create, 1 to update, 1 to remove; 4 grants to add, 2 to revoke."
    )
    assert lines[-2] == "Needs attention: 6 removals, 3 privilege increases."
    assert lines[-1] == "Blocked: apply refuses this plan (max_removals: apply --force lifts it)."
    assert lines[-4].startswith("Documents to write, in order: users and groups, organization permissions")


def test_guards_and_warnings_come_before_changes() -> None:
    text = render_text(full_plan())
    blocked = text.index(
        "Blocked by safety guards:\n"
        "  max_removals: 4 removals exceed the limit of 2 (apply with --force to override)\n"
    )
    warning = text.index("access.yaml:12:5: warning: role Contractors has no members")
    first_change = text.index("+ user jane")
    assert blocked < first_change and warning < first_change
    assert "warning: auth0 user without email skipped" in text
    assert "the token user keeps MANAGE" not in text  # passed guards are not shown


def test_non_overridable_guard_has_no_force_hint() -> None:
    plan = make_plan(
        users=(UserChange("delete", "robot", "departed"),),
        guards=(GuardResult("lockout", False, "the token user would lose MANAGE", False),),
    )
    text = render_text(plan)
    assert "Blocked by safety guards:\n  lockout: the token user would lose MANAGE\n" in text
    assert "--force" not in text
    assert text.endswith(
        "Blocked: apply refuses this plan "
        "(lockout: change the desired state or GoodData, no flag lifts it).\n"
    )


def test_empty_plan() -> None:
    assert render_text(make_plan()) == "No changes. GoodData matches the desired state.\n"


def test_empty_plan_still_shows_warnings() -> None:
    plan = make_plan(warnings=(Diagnostic("warning", "unused role", Location("a.yaml", 3)),))
    text = render_text(plan)
    assert "a.yaml:3:1: warning: unused role" in text
    assert text.endswith("No changes. GoodData matches the desired state.\n")


def test_colour_only_when_asked() -> None:
    plain = render_text(full_plan())
    coloured = render_text(full_plan(), color=True)
    assert "\x1b[" not in plain
    assert "\x1b[32m  + user jane" not in coloured  # the indent stays outside the colour
    assert "\x1b[32m+ user jane" in coloured
    assert "\x1b[31m- user carl" in coloured
    assert "\x1b[33m~ user bob" in coloured


def test_masking_emails_in_text() -> None:
    text = render_text(full_plan(), show_emails=False)
    assert "acme-analytics.com" not in text
    assert "email j***@a***.com" in text
    assert "email: b***@a***.com -> b***@a***.com" in text


def test_one_line_per_change_for_ten_thousand_changes() -> None:
    plan = big_plan(10_000)
    lines = render_text(plan).splitlines()
    change_lines = [line for line in lines if line.startswith("  + ")]
    assert len(change_lines) == 10_000


def test_deterministic() -> None:
    assert render_text(full_plan()) == render_text(full_plan())


def test_a_user_losing_a_group_membership_needs_attention() -> None:
    plan = make_plan(users=(UserChange("update", "bob", "role change", groups_removed=("editors",)),))
    assert render_text(plan).splitlines()[-1] == "Needs attention: 1 removal."
