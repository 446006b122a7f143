"""Loading valid desired-state files: defaults, substitution, locations, checksums and integrity rules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main as reconcile
from reconciler.desired_state.loader import (
    DEFAULT_CONFIG_PATH,
    load_desired_state,
    load_desired_state_with_warnings,
)
from reconciler.model import DesiredState, Grant, InputError, Location, RemovalThreshold

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO_ROOT / DEFAULT_CONFIG_PATH


def write(tmp_path: Path, text: str, name: str = "access.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> DesiredState:
    return load_desired_state(write(tmp_path, text), environ=environ or {})


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_text(tmp_path, text, environ)
    return [str(d) for d in caught.value.diagnostics]


# ------------------------------------------------------------------------------ the example


def test_example_file_loads_without_warnings() -> None:
    state, warnings = load_desired_state_with_warnings(EXAMPLE)
    assert warnings == []
    assert state.version == 1 and state.provider == "auth0"
    assert set(state.groups) == {"analysts", "viewers", "finance"}
    assert state.groups["finance"].parents == ("viewers",)
    assert {r: m.groups for r, m in state.role_mappings.items()} == {
        "Admin": ("adminGroup",),
        "Analyst": ("analysts",),
        "User": ("viewers",),
        "Finance Viewer": ("finance",),
    }
    assert "Contractor" not in state.role_mappings
    assert state.users["admin"].groups == ("adminGroup",)
    assert set(state.workspaces) == {"demo", "demo_west"}
    assert state.workspaces["demo_west"].hierarchy_permissions is None
    assert set(state.data_sources) == {"demo-ds"}
    assert state.organization_permissions is not None
    assert state.organization_permissions.grants == {Grant("MANAGE", "adminGroup", "userGroup")}
    assert state.policy.protected == ("admin", "adminGroup")
    assert state.policy.departed_users == "remove"
    assert state.policy.max_removals == RemovalThreshold(percent=10.0, text="10%")


def test_directory_path_reads_access_yaml_and_keeps_the_given_path(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    write(folder, "version: 1\n")
    state = load_desired_state(str(folder))
    assert state.source == f"{folder}/access.yaml"
    assert state.location_of("version") == Location(f"{folder}/access.yaml", 1, 1)


def test_relative_path_stays_relative(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "version: 1\nbogus: 1\n", "mine.yaml")
    with pytest.raises(InputError) as caught:
        load_desired_state("mine.yaml")
    assert str(caught.value.diagnostics[0]).startswith("mine.yaml:2:1: error: unknown key 'bogus'")


# ------------------------------------------------------------------------------ defaults


def test_defaults_of_a_minimal_file(tmp_path: Path) -> None:
    state = load_text(tmp_path, "version: 1\n")
    assert state.provider == "auth0"
    assert state.user_id_strategy == "strip-auth0-prefix"
    assert state.groups == {} and state.role_mappings == {} and state.users == {}
    assert state.default_groups == ()
    assert state.organization_permissions is None
    assert state.workspaces == {} and state.data_sources == {}
    policy = state.policy
    assert (policy.departed_users, policy.unmanaged_users, policy.unmanaged_groups) == (
        "remove",
        "keep",
        "keep",
    )
    assert policy.protected == ()
    assert policy.max_removals.text == "10%" and policy.max_removals.limit_for(50) == 5


def test_group_defaults_and_empty_group(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        groups:
          viewers:
          named: {name: Named}
        default_groups: [viewers, named]
        """,
    )
    assert state.groups["viewers"].name is None and state.groups["viewers"].parents == ()
    assert state.groups["named"].name == "Named"


@pytest.mark.parametrize(
    ("permissions", "expected_org", "expected_workspace"),
    [
        ("", None, None),
        ("permissions: {}", None, None),
        ("permissions: {organization: {}}", frozenset(), None),
        ("permissions: {workspaces: {demo: {permissions: {}}}}", None, (frozenset(), None)),
        ("permissions: {workspaces: {demo: {hierarchy_permissions: {}}}}", None, (None, frozenset())),
    ],
)
def test_missing_section_is_unmanaged_and_empty_mapping_means_no_grants(
    tmp_path: Path,
    permissions: str,
    expected_org: frozenset[Grant] | None,
    expected_workspace: tuple[frozenset[Grant] | None, frozenset[Grant] | None] | None,
) -> None:
    state = load_text(tmp_path, f"version: 1\n{permissions}\n")
    org = state.organization_permissions
    assert (None if org is None else org.grants) == expected_org
    if expected_workspace is None:
        assert state.workspaces == {}
    else:
        spec = state.workspaces["demo"]
        plain = None if spec.permissions is None else spec.permissions.grants
        hierarchy = None if spec.hierarchy_permissions is None else spec.hierarchy_permissions.grants
        assert (plain, hierarchy) == expected_workspace


def test_grants_of_groups_and_users_with_locations(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        groups: {analysts: {}}
        default_groups: [analysts]
        permissions:
          workspaces:
            demo:
              permissions:
                analysts: [ANALYZE, EXPORT]
                "user:jane": [VIEW]
          data_sources:
            demo-ds:
              permissions:
                analysts: [USE]
        """,
    )
    grant_set = state.workspaces["demo"].permissions
    assert grant_set is not None
    assert grant_set.grants == {
        Grant("ANALYZE", "analysts", "userGroup"),
        Grant("EXPORT", "analysts", "userGroup"),
        Grant("VIEW", "jane", "user"),
    }
    file = str(tmp_path / "access.yaml")
    assert grant_set.location == Location(file, 7, 7)
    assert grant_set.grant_locations[Grant("EXPORT", "analysts", "userGroup")] == Location(file, 8, 29)
    assert grant_set.grant_locations[Grant("VIEW", "jane", "user")] == Location(file, 9, 23)
    data_source = state.data_sources["demo-ds"].permissions
    assert data_source is not None and data_source.grants == {Grant("USE", "analysts", "userGroup")}


def test_users_keep_every_optional_field(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        users:
          svc: {email: svc@example.com, firstname: Service, lastname: Account, auth_id: "auth0|svc"}
          bare:
        """,
    )
    svc = state.users["svc"]
    assert (svc.email, svc.firstname, svc.lastname, svc.auth_id) == (
        "svc@example.com",
        "Service",
        "Account",
        "auth0|svc",
    )
    assert state.users["bare"].groups == () and state.users["bare"].email is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("5", RemovalThreshold(count=5, text="5")),
        ("0", RemovalThreshold(count=0, text="0")),
        ('"25%"', RemovalThreshold(percent=25.0, text="25%")),
        ('"0%"', RemovalThreshold(percent=0.0, text="0%")),
        ('"100%"', RemovalThreshold(percent=100.0, text="100%")),
        ('"2.5%"', RemovalThreshold(percent=2.5, text="2.5%")),
    ],
)
def test_max_removals(tmp_path: Path, written: str, expected: RemovalThreshold) -> None:
    state = load_text(tmp_path, f"version: 1\npolicy: {{max_removals: {written}}}\n")
    assert state.policy.max_removals == expected


@pytest.mark.parametrize("strategy", ["strip-auth0-prefix", "sanitize"])
def test_identity_user_id_strategy(tmp_path: Path, strategy: str) -> None:
    state = load_text(tmp_path, f"version: 1\nidentity: {{provider: auth0, user_id: {strategy}}}\n")
    assert state.user_id_strategy == strategy


def test_keys_stay_text_as_written(tmp_path: Path) -> None:
    state = load_text(
        tmp_path, "version: 1\ngroups:\n  no: {}\n  '123': {}\n  456: {}\ndefault_groups: ['no']\n"
    )
    assert set(state.groups) == {"no", "123", "456"}


def test_unquoted_yes_no_value_asks_for_quotes(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 1\ngroups: {'no': {}}\ndefault_groups: [no]\n")
    assert len(errors) == 1
    assert (
        ":3:18: error: default_groups[0] must be a text string, not true/false; put the value in quotes"
        in errors[0]
    )


def test_merge_keys_are_supported(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        groups:
          base: &base {name: Base, parents: [top]}
          child: {<<: *base, name: Child}
          top: {}
        default_groups: [child]
        """,
    )
    assert state.groups["child"].name == "Child"
    assert state.groups["child"].parents == ("top",)


# ------------------------------------------------------------------------------ ${VAR}


@pytest.mark.parametrize(
    ("written", "environ", "expected"),
    [
        ("${NAME}", {"NAME": "Viewers"}, "Viewers"),
        ("Team ${NAME}!", {"NAME": "Viewers"}, "Team Viewers!"),
        ("${A}-${B}", {"A": "x", "B": "y"}, "x-y"),
        ("$${NAME}", {}, "${NAME}"),
        ("cost $5", {}, "cost $5"),
        ("$$${NAME}", {"NAME": "v"}, "$${NAME}"),
        ("${NAME}", {"NAME": "${OTHER}"}, "${OTHER}"),
    ],
)
def test_environment_substitution(
    tmp_path: Path, written: str, environ: dict[str, str], expected: str
) -> None:
    state = load_text(
        tmp_path, f"version: 1\ngroups:\n  g: {{name: '{written}'}}\ndefault_groups: [g]\n", environ
    )
    assert state.groups["g"].name == expected


@pytest.mark.parametrize("name", ["GOODDATA_TOKEN", "AUTH0_CLIENT_SECRET", "AUTH0_SECRET"])
def test_credentials_cannot_be_substituted(tmp_path: Path, name: str) -> None:
    errors = errors_of(
        tmp_path, f"version: 1\ngroups:\n  g:\n    name: ${{{name}}}\n", {name: "s3cr3t-value"}
    )
    assert errors == [
        f"{tmp_path / 'access.yaml'}:4:11: error: ${{{name}}} is a credential: its value would be shown "
        "in plans and written to GoodData; remove the reference"
    ]


def test_built_in_principals_are_known_without_protected(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        "version: 1\nrole_mappings: {Admin: [adminGroup]}\nusers: {admin: {groups: [adminGroup]}}\n"
        "policy: {protected: []}\n",
    )
    assert state.role_mappings["Admin"].groups == ("adminGroup",)
    assert state.policy.protected == ()


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECONCILER_TEST_GROUP", "From env")
    path = write(
        tmp_path, "version: 1\ngroups: {g: {name: '${RECONCILER_TEST_GROUP}'}}\ndefault_groups: [g]\n"
    )
    assert load_desired_state(path).groups["g"].name == "From env"


def test_substituted_values_are_never_echoed(tmp_path: Path) -> None:
    secret = "s3cr3t-value-xyz"
    text = "version: 1\npolicy:\n  departed_users: ${POLICY}\n  protected: ['${BAD_ID}']\n"
    with pytest.raises(InputError) as caught:
        load_text(tmp_path, text, {"POLICY": secret, "BAD_ID": f"bad id {secret}"})
    rendered = str(caught.value)
    assert secret not in rendered
    assert "the value from ${POLICY}" in rendered
    assert len(caught.value.diagnostics) == 2


def test_every_unset_variable_is_reported(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 1\ngroups:\n  a: {name: '${ONE}'}\n  b: {name: '${TWO}'}\n")
    assert len(errors) == 2
    assert ":3:" in errors[0] and "ONE is not set" in errors[0]
    assert ":4:" in errors[1] and "TWO is not set" in errors[1]


# ------------------------------------------------------------------------------ locations


def test_locations_of_declared_objects() -> None:
    state = load_desired_state(EXAMPLE)
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()

    def line_of(path: str) -> str:
        location = state.locations[path]
        return lines[location.line - 1][location.column - 1 :]

    assert line_of("groups.analysts").startswith("analysts:")
    assert line_of("role_mappings.Finance Viewer").startswith("Finance Viewer:")
    assert line_of("users.admin").startswith("admin:")
    assert line_of("default_groups").startswith("default_groups:")
    assert line_of("permissions.organization").startswith("organization:")
    assert line_of("permissions.workspaces.demo").startswith("demo:")
    assert line_of("permissions.workspaces.demo.hierarchy_permissions").startswith("hierarchy_permissions:")
    assert line_of("permissions.data_sources.demo-ds").startswith("demo-ds:")
    assert line_of("policy.protected").startswith("protected:")
    assert line_of("policy.max_removals").startswith("max_removals:")
    assert state.groups["finance"].location == state.locations["groups.finance"]
    assert state.role_mappings["Admin"].location == state.locations["role_mappings.Admin"]
    assert state.location_of("groups.analysts.no_such_key") == state.locations["groups.analysts"]
    assert all(loc.file == str(EXAMPLE) for loc in state.locations.values())


# ------------------------------------------------------------------------------ checksum


BASE = "version: 1\ngroups: {viewers: {name: Viewers}}\ndefault_groups: [viewers]\n"


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (BASE, True),
        (
            "# a comment\nversion: 1\ngroups:\n  viewers:\n    name: 'Viewers'\n"
            "default_groups:\n  - viewers\n",
            True,
        ),
        ("default_groups: [viewers]\ngroups: {viewers: {name: Viewers}}\nversion: 1\n", True),
        ("version: 1\ngroups: {viewers: {name: Viewer}}\ndefault_groups: [viewers]\n", False),
        (BASE + "policy: {max_removals: 3}\n", False),
    ],
)
def test_checksum_follows_content_not_formatting(tmp_path: Path, other: str, same: bool) -> None:
    first = load_text(tmp_path, BASE).checksum
    second = load_desired_state(write(tmp_path, other, "other.yaml")).checksum
    assert len(first) == 64
    assert (first == second) is same


def test_checksum_covers_substituted_values(tmp_path: Path) -> None:
    text = "version: 1\ngroups: {g: {name: '${N}'}}\ndefault_groups: [g]\n"
    one = load_text(tmp_path, text, {"N": "a"}).checksum
    assert one == load_text(tmp_path, text, {"N": "a"}).checksum
    assert one != load_text(tmp_path, text, {"N": "b"}).checksum


# ------------------------------------------------------------------------------ integrity rules


def test_protected_groups_may_be_used_without_declaring_them(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        role_mappings: {Admin: [adminGroup]}
        permissions: {organization: {adminGroup: [MANAGE]}}
        policy: {protected: [adminGroup]}
        """,
    )
    assert state.role_mappings["Admin"].groups == ("adminGroup",)


def test_user_grants_may_name_any_valid_user_id(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        "version: 1\nusers: {svc: {}}\n"
        "permissions:\n  organization: {'user:svc': [MANAGE], 'user:64f1ab': [MANAGE]}\n",
    )
    org = state.organization_permissions
    assert org is not None
    assert {g.assignee_id for g in org.grants} == {"svc", "64f1ab"}
    assert {g.assignee_type for g in org.grants} == {"user"}


def test_role_mapped_to_no_groups_is_allowed(tmp_path: Path) -> None:
    state, warnings = load_desired_state_with_warnings(
        write(tmp_path, "version: 1\nrole_mappings: {Contractor: []}\n")
    )
    assert state.role_mappings["Contractor"].groups == ()
    assert warnings == []


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        """
        version: 1
        groups:
          a: {parents: [b]}
          b: {parents: [a]}
        role_mapping: {}
        default_groups: [missing]
        policy: {departed_users: delete}
        """,
    )
    assert len(errors) == 4
    assert ":3:" in errors[0] and "cycle: a -> b -> a" in errors[0]
    assert ":5:" in errors[1] and "unknown key 'role_mapping'" in errors[1]
    assert ":6:" in errors[2] and "group 'missing'" in errors[2]
    assert ":7:" in errors[3] and "'delete' is not a valid value" in errors[3]


def test_two_separate_cycles_are_both_named(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        """
        version: 1
        groups:
          a: {parents: [b]}
          b: {parents: [a]}
          c: {parents: [d]}
          d: {parents: [e]}
          e: {parents: [c]}
        default_groups: [a, c]
        """,
    )
    assert [e.split("cycle: ")[1].split(";")[0] for e in errors] == ["a -> b -> a", "c -> d -> e -> c"]


def test_diamond_parents_are_not_a_cycle(tmp_path: Path) -> None:
    state = load_text(
        tmp_path,
        """
        version: 1
        groups:
          top: {}
          left: {parents: [top]}
          right: {parents: [top]}
          bottom: {parents: [left, right]}
        default_groups: [bottom]
        """,
    )
    assert state.groups["bottom"].parents == ("left", "right")


def test_unsupported_version_stops_other_checks(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 2\nnew_v2_key: {}\n")
    assert errors == [
        f"{tmp_path}/access.yaml:1:10: error: version: 2 is not supported; this reconciler reads version 1 "
        "— convert the file to version 1 or use a reconciler that reads this version"
    ]


# ------------------------------------------------------------------------------ warnings


def test_warnings_do_not_block(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        groups:
          used: {}
          unused: {}
        default_groups: [used]
        permissions:
          workspaces:
            demo: {}
            other: {permissions: {used: []}}
        """,
    )
    state, warnings = load_desired_state_with_warnings(path)
    assert set(state.groups) == {"used", "unused"}
    messages = [(w.location.line if w.location else 0, w.message) for w in warnings]
    assert all(w.level == "warning" for w in warnings)
    assert [line for line, _ in messages] == [4, 8, 9]
    assert "group 'unused' is declared but no role mapping" in messages[0][1]
    assert "permissions.workspaces.demo lists no permissions" in messages[1][1]
    assert "permissions.workspaces.other.permissions.used grants nothing" in messages[2][1]
    assert load_desired_state(path) == state


# ------------------------------------------------------------------------------ the validation command


def test_validation_command(tmp_path: Path) -> None:
    good = CliRunner().invoke(reconcile, ["validate", "--config", str(EXAMPLE)])
    assert good.exit_code == 0 and "valid — 3 groups, 4 role mappings" in good.stderr
    bad = write(tmp_path, "version: 1\nrole_mapping: {}\n")
    result = CliRunner().invoke(reconcile, ["validate", "--config", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:1: error: unknown key 'role_mapping'; did you mean 'role_mappings'?" in result.stderr


# ------------------------------------------------------------------------------ large and hostile inputs


def test_long_parent_chain_is_checked_without_recursion(tmp_path: Path) -> None:
    chain = "".join(f"  g{i}: {{parents: [g{i + 1}]}}\n" for i in range(3000))
    state = load_text(tmp_path, f"version: 1\ngroups:\n{chain}  g3000: {{}}\ndefault_groups: [g0]\n")
    assert len(state.groups) == 3001
    looped = chain.replace("[g3000]", "[g0]")
    errors = errors_of(tmp_path, f"version: 1\ngroups:\n{looped}default_groups: [g0]\n")
    assert len(errors) == 1 and "cycle: g0 -> g1 -> " in errors[0] and errors[0].count(" -> ") == 3000


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    errors = errors_of(tmp_path, "version: 1\nx: " + "[" * depth + "]" * depth + "\n")
    assert len(errors) == 1 and "nested" in errors[0] and "deep" in errors[0]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert load_desired_state(path).version == 1


def test_the_bootstrap_user_is_not_a_group(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 1\nusers: {svc: {groups: [admin]}}\n")
    assert errors == [
        f"{tmp_path / 'access.yaml'}:2:24: error: group 'admin' (users.svc.groups[0]) is not declared under "
        "groups:; declare it under groups:, or list it in policy.protected if it exists only in GoodData"
    ]
