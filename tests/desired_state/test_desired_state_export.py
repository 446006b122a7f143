"""Rendering a plain-dict desired state as YAML, and reading it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.desired_state.export import SCHEMA_COMMENT, render_desired_state_yaml
from reconciler.desired_state.loader import DEFAULT_CONFIG_PATH, load_desired_state

EXAMPLE = Path(__file__).resolve().parent.parent.parent / DEFAULT_CONFIG_PATH


def render_and_load(tmp_path: Path, data: dict[str, Any]) -> tuple[str, Any]:
    text = render_desired_state_yaml(data)
    path = tmp_path / "access.yaml"
    path.write_text(text, encoding="utf-8")
    return text, load_desired_state(path, environ={})


def test_example_round_trips_to_the_same_content(tmp_path: Path) -> None:
    original = load_desired_state(EXAMPLE)
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    text, loaded = render_and_load(tmp_path, data)
    assert text.splitlines()[0] == SCHEMA_COMMENT
    assert loaded.checksum == original.checksum
    assert {g: (s.name, s.parents) for g, s in loaded.groups.items()} == {
        g: (s.name, s.parents) for g, s in original.groups.items()
    }
    assert original.organization_permissions is not None
    assert loaded.organization_permissions.grants == original.organization_permissions.grants
    for workspace_id, spec in original.workspaces.items():
        for list_name in ("permissions", "hierarchy_permissions"):
            before, after = getattr(spec, list_name), getattr(loaded.workspaces[workspace_id], list_name)
            assert (None if before is None else before.grants) == (None if after is None else after.grants)
    assert {r: m.groups for r, m in loaded.role_mappings.items()} == {
        r: m.groups for r, m in original.role_mappings.items()
    }
    assert loaded.policy == original.policy


def test_keys_follow_the_documented_order_and_user_keys_are_quoted() -> None:
    data = {
        "policy": {"max_removals": 3, "protected": ["admin"], "departed_users": "strip"},
        "permissions": {
            "workspaces": {
                "demo": {"hierarchy_permissions": {"g": ["MANAGE"]}, "permissions": {"user:jane": ["VIEW"]}}
            }
        },
        "users": {"svc": {"auth_id": "auth0|svc", "email": "svc@example.com", "groups": ["g"]}},
        "groups": {"zeta": {"parents": ["g"], "name": "Zeta"}, "g": {}},
        "version": 1,
    }
    lines = render_desired_state_yaml(data).splitlines()
    top = [line.split(":")[0] for line in lines if line and not line.startswith((" ", "#"))]
    assert top == ["version", "groups", "users", "permissions", "policy"]
    assert lines.index("  zeta:") < lines.index("  g: {}")  # ids keep the order given
    assert lines.index("    name: Zeta") < lines.index("    parents:")
    assert lines.index("    groups:") < lines.index("    email: svc@example.com")
    assert lines.index("    email: svc@example.com") < lines.index("    auth_id: auth0|svc")
    assert lines.index("      permissions:") < lines.index("      hierarchy_permissions:")
    assert '        "user:jane":' in lines
    assert lines.index("  departed_users: strip") < lines.index("  protected:")
    assert lines.index("  protected:") < lines.index("  max_removals: 3")


def test_block_style_for_non_empty_collections() -> None:
    text = render_desired_state_yaml(
        {"version": 1, "default_groups": ["a", "b"], "groups": {"a": {}, "b": {}}}
    )
    assert "default_groups:\n  - a\n  - b\n" in text
    assert "[a" not in text


def test_literal_dollar_brace_survives_the_round_trip(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "groups": {"g": {"name": "Costs ${not-a-variable} $${kept}"}},
        "default_groups": ["g"],
    }
    text, loaded = render_and_load(tmp_path, data)
    assert "$${not-a-variable}" in text
    assert loaded.groups["g"].name == "Costs ${not-a-variable} $${kept}"


def test_values_that_look_like_other_types_stay_text(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "groups": {"no": {"name": "2024"}, "123": {"name": "yes"}},
        "default_groups": ["no", "123"],
        "policy": {"max_removals": "10%"},
    }
    _, loaded = render_and_load(tmp_path, data)
    assert loaded.groups["no"].name == "2024"
    assert loaded.groups["123"].name == "yes"
    assert loaded.default_groups == ("no", "123")
    assert loaded.policy.max_removals.percent == 10.0


def test_schema_reference_can_be_overridden() -> None:
    text = render_desired_state_yaml({"version": 1}, schema_ref="schema.json")
    assert text == "# yaml-language-server: $schema=schema.json\nversion: 1\n"
