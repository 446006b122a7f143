"""Markdown rendering: content, escaping, masking and the size cap."""

from __future__ import annotations

import re

import pytest
from render_plan_factory import big_plan, full_plan, grant, make_plan

from reconciler.model import Diagnostic, Location
from reconciler.plan import FieldChange, GroupChange, UserChange
from reconciler.render.markdown import escape_html, escape_markdown, render_markdown


def _details_balanced(text: str) -> bool:
    depth = 0
    for tag in re.findall(r"</?details>", text):
        depth += -1 if tag.startswith("</") else 1
        if depth not in (0, 1):
            return False
    return depth == 0


def test_heading_table_and_summary_first() -> None:
    text = render_markdown(full_plan())
    assert text.startswith("## GoodData access plan\n\n| | Create / add | Update | Remove / revoke |\n")
    assert "| Users | 1 | 2 (1 stripped) | 1 |" in text
    assert "| Groups | 1 | 1 | 1 |" in text
    assert "| Grants | 4 | – | 2 |" in text
    assert "| **Total: 13** | 6 | 3 | 4 |" in text
    assert "**Plan: 1 user to create, 2 to update (1 stripped), 1 to remove;" in text


def test_needs_attention_before_the_sections() -> None:
    text = render_markdown(full_plan())
    attention = text.index("### Needs attention")
    assert attention < text.index("<details>")
    block = text[attention : text.index("<details>")]
    assert (
        "- ⛔ **blocked by safety guard max\\_removals:** 4 removals exceed the limit of 2 "
        "(apply with `--force` to override)"
    ) in block
    assert "- ⚠️ **warning:** access.yaml:12:5: role Contractors has no members" in block
    assert "- **6 removals**" in block
    assert "  - ✏️ user bob (authId auth0\\|bob1, email " in block  # loses a group membership
    assert "- **3 privilege increases**" in block
    assert "  - ➖ VIEW -> user carl on workspace demo" in block
    assert "  - ➕ MANAGE -> group admins on organization — **privilege increase**" in block


def test_attention_lists_only_the_first_few() -> None:
    users = tuple(UserChange("delete", f"user{i:02d}", "departed") for i in range(8))
    block = render_markdown(make_plan(users=users)).split("<details>")[0]
    assert "- **8 removals**" in block
    assert "user04" in block and "user05" not in block
    assert "  - …and 3 more" in block


def test_privilege_increases_list_the_new_grants_before_who_joins() -> None:
    users = tuple(UserChange("create", f"user{i:02d}", "new", groups_added=("admins",)) for i in range(8))
    grants = (grant("organization", "", "create", "MANAGE", "admins"),)
    plan = make_plan(users=users, grants=grants, metadata={"privileged_groups": ["admins"]})
    block = render_markdown(plan).split("<details>")[0]
    items = block[block.index("- **9 privilege increases**") :].splitlines()
    assert items[1] == "  - ➕ MANAGE -> group admins on organization — **privilege increase**"
    assert items[2].startswith("  - ➕ user user00")
    assert items[6] == "  - …and 4 more"


def test_one_collapsible_section_per_category_with_counts() -> None:
    text = render_markdown(full_plan())
    summaries = re.findall(r"<details><summary>(.*?)</summary>", text)
    assert summaries == [
        "Users (4)",
        "Groups (3)",
        "Organization grants (1)",
        "Workspace demo grants (3)",
        "Data source pg-main grants (2)",
    ]
    assert _details_balanced(text)


def test_every_change_kind_is_shown() -> None:
    text = render_markdown(full_plan(), show_emails=True)
    for line in [
        "- ➕ user jane (authId auth0\\|jane1, email jane.doe@acme-analytics.com): groups +analysts +admins;",
        "- ✏️ user bob (authId auth0\\|bob1, email bob@acme-analytics.com): groups +viewers -editors; "
        "email: bob.old@acme-analytics.com -> bob@acme-analytics.com; reason: role change",
        "- ✏️ user dan (authId auth0\\|dan1, email dan@acme-analytics.com): "
        "stripped: account kept, groups and grants dropped",
        "- ➖ user carl (authId auth0\\|carl1, email carl@acme-analytics.com): removed from GoodData;",
        '- ➕ group analysts "Analysts": parents +all; reason: new in desired state',
        '- ✏️ group editors "Editors": parents -legacy; name: Old editors -> Editors; reason: name changed',
        "- ➖ group legacy: removed from GoodData; reason: unmanaged group removed",
        "- ➕ MANAGE -> group admins: hierarchy: also applies to child workspaces — **privilege increase**",
        "- ➖ MANAGE -> group editors",
    ]:
        assert line in text


def test_footer_has_checksums() -> None:
    plan = full_plan()
    text = render_markdown(plan)
    footer = text[text.rindex("---") :]
    assert plan.checksum[:12] in footer
    assert plan.checksum not in footer
    assert plan.desired_checksum in footer and plan.live_checksum in footer


def test_empty_plan() -> None:
    text = render_markdown(make_plan())
    assert "**No changes. GoodData matches the desired state.**" in text
    assert "<details>" not in text and "| Users |" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("samlp|acme|jdoe", "samlp\\|acme\\|jdoe"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("*Bold* _it_ `code`", "\\*Bold\\* \\_it\\_ \\`code\\`"),
        ("[x](http://e) #1 a\\b ~~s~~ &amp;", "\\[x\\](http://e) \\#1 a\\\\b \\~\\~s\\~\\~ \\&amp;"),
        ("two\nlines\r\nhere", "two lines here"),
        ("ping @admins", "ping @&#8203;admins"),
        ("jane@acme.com", "jane@acme.com"),
    ],
)
def test_escape_markdown(value: str, expected: str) -> None:
    assert escape_markdown(value) == expected


def test_escape_html() -> None:
    assert escape_html('<b>"x" & y</b>') == "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"


def test_hostile_values_are_escaped_everywhere() -> None:
    plan = make_plan(
        users=(
            UserChange(
                "create",
                "jdoe",
                "new in <auth0>",
                auth_id="samlp|acme|jdoe",
                email="j@acme.com",
                groups_added=("*stars*",),
            ),
        ),
        groups=(GroupChange("create", "g_1", "new", name="**Bold** <img src=x>"),),
        grants=(grant("workspace", "<script>", "create", "VIEW", "g_1"),),
        warnings=(Diagnostic("warning", "role `x|y` unused", Location("a_b.yaml", 1)),),
    )
    text = render_markdown(plan)
    assert "samlp\\|acme\\|jdoe" in text
    assert "samlp|acme" not in text
    assert "+\\*stars\\*" in text
    assert '"\\*\\*Bold\\*\\* \\<img src=x\\>"' in text
    assert "new in \\<auth0\\>" in text
    assert "<summary>Workspace &lt;script&gt; grants (1)</summary>" in text
    assert not re.search(r"(?<!\\)<(script|img)", text)
    assert "a\\_b.yaml:1:1: role \\`x\\|y\\` unused" in text


def test_emails_masked_by_default_everywhere() -> None:
    plan = make_plan(
        users=(
            UserChange(
                "update",
                "chloe",
                "email changed",
                auth_id="samlp|acme|chloe.muller@acme-analytics.com",
                email="chloe.muller@acme-analytics.com",
                fields=(FieldChange("email", "chloe@old-domain.org", "chloe.muller@acme-analytics.com"),),
            ),
        ),
        warnings=(Diagnostic("warning", "duplicate email chloe.muller@acme-analytics.com"),),
    )
    masked = render_markdown(plan)
    assert "chloe.muller" not in masked and "acme-analytics" not in masked and "old-domain" not in masked
    assert "email: c\\*\\*\\*@&#8203;o\\*\\*\\*.org -> c\\*\\*\\*@&#8203;a\\*\\*\\*.com" in masked
    shown = render_markdown(plan, show_emails=True)
    assert "email chloe.muller@acme-analytics.com" in shown
    assert "email: chloe@old-domain.org -> chloe.muller@acme-analytics.com" in shown


def test_many_warnings_get_their_own_section() -> None:
    warnings = tuple(Diagnostic("warning", f"problem {i}") for i in range(15))
    text = render_markdown(make_plan(warnings=warnings))
    attention = text[: text.index("<details>")]
    assert "problem 9" in attention and "problem 10" not in attention
    assert "- …and 5 more warnings (listed below)" in attention
    assert "<details><summary>All warnings (15)</summary>" in text
    assert "- **warning:** problem 14" in text


def test_small_plan_is_not_truncated() -> None:
    text = render_markdown(full_plan())
    assert "Plan truncated" not in text


@pytest.mark.parametrize("changes", [5_000, 20_000])
def test_cap_on_large_plans(changes: int) -> None:
    plan = big_plan(changes)
    text = render_markdown(plan)
    assert len(text) <= 60_000
    assert _details_balanced(text)
    shown = len(re.findall(r"^- ➕ ", text, flags=re.MULTILINE))
    assert 0 < shown < changes
    assert text.endswith(
        f"> **Plan truncated:** {changes - shown} of {changes} changes not shown. "
        "The complete plan is in the JSON plan artifact.\n"
    )
    assert text.index("Plan checksum") < text.index("Plan truncated")


def test_cap_with_custom_limit_and_hint() -> None:
    plan = big_plan(5_000)
    text = render_markdown(
        plan, max_chars=10_000, full_plan_hint="See [the artifact](https://example.com/a)."
    )
    assert len(text) <= 10_000
    assert _details_balanced(text)
    assert text.endswith("See [the artifact](https://example.com/a).\n")


def test_cap_cuts_between_rows_and_sections() -> None:
    text = render_markdown(big_plan(5_000), max_chars=20_000)
    body = text[text.index("<details>") : text.rindex("</details>")]
    for line in body.splitlines():
        assert line == "" or line.startswith(("- ", "<details>")), line
    assert text.count("<details>") == text.count("</details>") >= 1


def test_cap_never_exceeded_even_when_tiny() -> None:
    text = render_markdown(full_plan(), max_chars=300)
    assert len(text) <= 300
    assert _details_balanced(text)


def test_deterministic() -> None:
    assert render_markdown(big_plan(2_000)) == render_markdown(big_plan(2_000))


def test_a_user_losing_a_group_membership_is_listed_as_a_removal() -> None:
    plan = make_plan(users=(UserChange("update", "bob", "role change", groups_removed=("editors",)),))
    block = render_markdown(plan).split("<details>")[0]
    assert "- **1 removal**\n  - ✏️ user bob: groups -editors; reason: role change\n" in block
