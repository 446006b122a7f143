"""The main job end to end: CLI -> auth0-python and gooddata-sdk -> HTTP -> sandbox."""

from __future__ import annotations

import json
import threading
import time

from click.testing import CliRunner

from reconciler.cli import main

from .conftest import Harness

CHLOE = "auth0|b6589fc6ab0dc82cf12099d1"  # role User
EMMA = "auth0|92cfceb39d57d914ed8b14d0"  # roles Analyst and User
ANALYST = "auth0|0a57cb53ba59c46fc4b69252"  # role Analyst
BLOCKED = "auth0|bc33ea4e26e5e1af14083214"


def apply(harness: Harness, *args: str) -> None:
    run = harness.reconcile("apply", "--yes", *args)
    assert run.exit_code == 0, run.output
    assert "Apply complete" in run.stderr or "No changes." in run.stdout


def test_first_apply_creates_everything_and_the_next_plan_is_empty(harness: Harness) -> None:
    first = harness.reconcile("plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 52 users to create; 3 groups to create; 9 grants to add." in first.stdout
    apply(harness)
    state = harness.sandbox.gooddata.state
    assert len(harness.users()) == 53  # 52 from Auth0 + admin
    assert {g["id"] for g in state.users_and_groups()["userGroups"]} == {
        "adminGroup",
        "analysts",
        "viewers",
        "finance",
    }
    assert {
        (p["name"], p["assignee"]["id"]) for p in state.workspace_permissions("demo_west")["permissions"]
    } == {
        ("VIEW", "finance"),
        ("EXPORT_PDF", "finance"),
    }
    assert harness.groups_of("b6589fc6ab0dc82cf12099d1") == ["viewers"]
    assert harness.users()["b6589fc6ab0dc82cf12099d1"]["authId"] == CHLOE
    again = harness.reconcile("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes. GoodData matches the desired state." in again.stdout


def test_request_budget_and_one_write_per_changed_document(harness: Harness) -> None:
    auth0, gooddata = harness.sandbox.auth0.counters, harness.sandbox.gooddata.counters
    auth0.reset()
    run = harness.reconcile("plan")
    assert run.exit_code == 0, run.output
    roles, users = 5, 60
    assert auth0.count() <= roles + users // 100 + 3
    assert auth0.by_endpoint().get("GET /api/v2/users/{id}/roles", 0) == 0  # never one request per user
    assert gooddata.writes() == 0  # plan never writes
    gooddata.reset()
    apply(harness)
    writes = {k: v for k, v in gooddata.by_endpoint().items() if not k.startswith("GET")}
    assert writes == {
        "PUT /api/v1/layout/usersAndUserGroups": 1,
        "PUT /api/v1/layout/workspaces/{id}/permissions": 2,
        "PUT /api/v1/layout/dataSources/{id}/permissions": 1,
    }
    gooddata.reset()
    apply(harness)  # nothing to do: no write at all
    assert gooddata.writes() == 0


def test_departed_user_is_removed_or_stripped(harness: Harness) -> None:
    apply(harness)
    harness.sandbox.auth0.state.remove_user(CHLOE)
    plan = harness.reconcile("plan")
    assert "- user b6589fc6ab0dc82cf12099d1" in plan.stdout and "departed from auth0" in plan.stdout
    apply(harness)
    assert "b6589fc6ab0dc82cf12099d1" not in harness.users()

    harness.edit(policy={"departed_users": "strip"})
    harness.sandbox.auth0.state.remove_user(ANALYST)
    apply(harness)
    assert harness.groups_of("0a57cb53ba59c46fc4b69252") == []  # account kept, access gone
    again = harness.reconcile("plan", "--detailed-exitcode")  # a stripped user is no change next time
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout and "removal" not in again.stdout


def test_a_departure_with_a_direct_grant_is_one_users_write_after_the_grants(harness: Harness) -> None:
    apply(harness)
    demo = harness.sandbox.gooddata.state.workspace_permissions("demo")
    demo["permissions"].append(
        {"name": "VIEW", "assignee": {"id": "b6589fc6ab0dc82cf12099d1", "type": "user"}}
    )
    harness.sandbox.gooddata.state.put_workspace_permissions("demo", demo)
    harness.sandbox.auth0.state.remove_user(CHLOE)
    harness.sandbox.auth0.state.set_roles(EMMA, ["Analyst"])  # and an unrelated role change
    harness.sandbox.gooddata.counters.reset()
    apply(harness)
    writes = {k: v for k, v in harness.sandbox.gooddata.counters.by_endpoint().items() if k.startswith("PUT")}
    assert writes == {
        "PUT /api/v1/layout/workspaces/{id}/permissions": 1,
        "PUT /api/v1/layout/usersAndUserGroups": 1,
    }
    assert "b6589fc6ab0dc82cf12099d1" not in harness.users()
    assert harness.groups_of("92cfceb39d57d914ed8b14d0") == ["analysts"]


def test_role_change_and_two_roles(harness: Harness) -> None:
    apply(harness)
    assert harness.groups_of("92cfceb39d57d914ed8b14d0") == ["analysts", "viewers"]  # two roles, both groups
    harness.sandbox.auth0.state.set_roles(CHLOE, ["Analyst"])
    plan = harness.reconcile("plan")
    assert "groups +analysts -viewers" in plan.stdout
    apply(harness)
    assert harness.groups_of("b6589fc6ab0dc82cf12099d1") == ["analysts"]


def test_blocked_user_loses_access(harness: Harness) -> None:
    apply(harness)
    assert "bc33ea4e26e5e1af14083214" not in harness.users()  # blocked from the start: never created
    harness.sandbox.auth0.state.set_blocked(CHLOE)
    plan = harness.reconcile("plan")
    assert "blocked in auth0" in plan.stdout
    apply(harness)
    assert "b6589fc6ab0dc82cf12099d1" not in harness.users()


def test_live_user_with_matching_auth_id_is_kept_not_recreated(harness: Harness) -> None:
    state = harness.sandbox.gooddata.state
    doc = state.users_and_groups()
    doc["users"].append(
        {
            "id": "chloe.legacy",
            "authId": CHLOE,
            "email": "old@example.com",
            "userGroups": [],
            "settings": [{"id": "locale", "type": "LOCALE", "content": {"value": "fr-FR"}}],
            "permissions": [],
            "systemAccount": False,
        }
    )
    state.put_users_and_groups(doc)
    plan = harness.reconcile("plan", "--format", "json")
    changes = {u["id"]: u for u in json.loads(plan.stdout)["users"]}
    assert changes["chloe.legacy"]["action"] == "update"
    assert "b6589fc6ab0dc82cf12099d1" not in changes
    apply(harness)
    user = harness.users()["chloe.legacy"]
    assert user["email"] == "chloe.muller@acme-analytics.com"
    assert user["settings"] == [{"id": "locale", "type": "LOCALE", "content": {"value": "fr-FR"}}]
    assert "b6589fc6ab0dc82cf12099d1" not in harness.users()


def test_hierarchy_grants_settings_and_system_account_survive(harness: Harness) -> None:
    state = harness.sandbox.gooddata.state
    doc = state.users_and_groups()
    doc["users"].append(
        {"id": "etl-bot", "systemAccount": True, "userGroups": [], "settings": [], "permissions": []}
    )
    state.put_users_and_groups(doc)
    east = {
        "permissions": [],
        "hierarchyPermissions": [{"name": "VIEW", "assignee": {"id": "etl-bot", "type": "user"}}],
    }
    state.put_workspace_permissions("demo_east", east)
    apply(harness)
    assert harness.users()["etl-bot"]["systemAccount"] is True
    assert state.workspace_permissions("demo_east") == east  # an unlisted workspace is untouched
    hierarchy = state.workspace_permissions("demo")["hierarchyPermissions"]
    assert hierarchy == [{"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}}]
    # demo_west lists only plain permissions: live hierarchy grants there are carried over
    west = state.workspace_permissions("demo_west")
    west["hierarchyPermissions"] = [{"name": "VIEW", "assignee": {"id": "viewers", "type": "userGroup"}}]
    state.put_workspace_permissions("demo_west", west)
    apply(harness)
    assert state.workspace_permissions("demo_west")["hierarchyPermissions"] == west["hierarchyPermissions"]


def test_plan_json_is_the_only_thing_on_stdout(harness: Harness) -> None:
    run = harness.reconcile("plan", "--format", "json")
    assert run.exit_code == 0
    document = json.loads(run.stdout)
    assert document["summary"]["users_created"] == 52 and document["format_version"] == 1
    assert "Reading auth0" in run.stderr


def test_markdown_plan_masks_emails_and_escapes_subjects(harness: Harness) -> None:
    run = harness.reconcile("plan", "--format", "markdown")
    assert run.exit_code == 0
    assert "chloe.muller@acme-analytics.com" not in run.stdout
    assert "samlp\\|acme-okta\\|" in run.stdout
    shown = harness.reconcile("plan", "--format", "markdown", "--show-emails")
    assert "chloe.muller" in shown.stdout


def test_max_removals_guard_blocks_until_forced(harness: Harness) -> None:
    apply(harness)
    # the file revokes 2 of the 10 live grants it manages; 10% allows 1
    text = harness.config.read_text(encoding="utf-8")
    text = text.replace("        viewers: [VIEW]\n", "").replace(
        "finance: [VIEW, EXPORT_PDF]", "finance: [VIEW]"
    )
    harness.config.write_text(text, encoding="utf-8")
    plan = harness.reconcile("plan")
    assert "max_removals: too many removals: 2 grants revoked (limit 1 of 10" in plan.stdout
    assert "--force" in plan.stdout
    writes = harness.sandbox.gooddata.counters.writes()
    refused = harness.reconcile("apply", "--yes")
    assert refused.exit_code == 1 and "too many removals: 2 grants revoked" in refused.stderr
    assert harness.sandbox.gooddata.counters.writes() == writes
    apply(harness, "--force")
    state = harness.sandbox.gooddata.state
    assert ("VIEW", "viewers") not in {
        (g["name"], g["assignee"]["id"]) for g in state.workspace_permissions("demo")["permissions"]
    }
    assert [g["name"] for g in state.workspace_permissions("demo_west")["permissions"]] == ["VIEW"]


SIX_LEAVERS = [
    CHLOE,
    EMMA,
    ANALYST,
    "auth0|8effee409c625e1a2d8f5033",
    "auth0|b1d5781111d84f7b3fe45a08",
    "auth0|b3f0c7f6bb763af1be91d9e7",
]


def test_idp_departures_over_the_threshold_need_the_file_not_force(harness: Harness) -> None:
    apply(harness)
    for subject in SIX_LEAVERS:  # 6 of the 52 GoodData users from Auth0; 10% allows 5
        harness.sandbox.auth0.state.remove_user(subject)
    writes = harness.sandbox.gooddata.counters.writes()
    for args in ((), ("--force",)):
        refused = harness.reconcile("apply", "--yes", *args)
        assert refused.exit_code == 1, refused.output
        assert (
            "idp_completeness: the auth0 answer, with the file's role mappings, would remove or strip "
            "6 of the 52" in refused.stderr
        )
    assert harness.sandbox.gooddata.counters.writes() == writes
    harness.edit(policy={"max_removals": "15%"})  # the reviewed way to let a real departure through
    apply(harness)
    assert "b6589fc6ab0dc82cf12099d1" not in harness.users() and len(harness.users()) == 47


def test_force_never_lifts_the_lockout_guard(harness: Harness) -> None:
    # GoodData as someone set it up: the token's user (admin) manages the organisation only through
    # group ops, whose parent admins holds MANAGE; the file declares ops without that parent
    state = harness.sandbox.gooddata.state
    state.put_users_and_groups(
        {
            "users": [{"id": "admin", "userGroups": [{"id": "ops", "type": "userGroup"}]}],
            "userGroups": [
                {"id": "adminGroup"},
                {"id": "admins", "name": "Admins"},
                {"id": "ops", "name": "Ops", "parents": [{"id": "admins", "type": "userGroup"}]},
            ],
        }
    )
    state.put_organization_permissions(
        [{"name": "MANAGE", "assignee": {"id": "admins", "type": "userGroup"}}]
    )
    harness.edit(
        groups={"ops": {"name": "Ops"}, "admins": {"name": "Admins"}},
        permissions={"organization": {"admins": ["MANAGE"], "adminGroup": ["MANAGE"]}},
        users={"admin": {"groups": ["ops"]}},
    )
    before = state.snapshot()
    for args in ((), ("--force",)):
        refused = harness.reconcile("apply", "--yes", *args)
        assert refused.exit_code == 1, refused.output
        assert "lockout: the API token's user 'admin' would lose organization MANAGE" in refused.stderr
    assert state.snapshot() == before


def test_saved_plan_is_applied_only_while_nothing_changed(harness: Harness) -> None:
    plan_file = harness.folder / "plan.json"
    saved = harness.reconcile("plan", "--out", str(plan_file))
    assert saved.exit_code == 0 and plan_file.exists()
    checksum = json.loads(plan_file.read_text())["checksum"]
    # someone changes GoodData between review and apply
    harness.sandbox.gooddata.state.put_workspace_permissions(
        "demo_east",
        {"permissions": [{"name": "VIEW", "assignee": {"id": "adminGroup", "type": "userGroup"}}]},
    )
    harness.reconcile("plan")  # (unrelated workspace: the live checksum only covers documents we read)
    harness.sandbox.auth0.state.set_roles(CHLOE, ["Analyst"])
    stale = harness.reconcile("apply", str(plan_file), "--yes")
    assert stale.exit_code == 1
    assert "stale: the identity provider's users or roles changed" in stale.stderr
    assert harness.sandbox.gooddata.counters.writes() == 0  # the set-up above bypassed HTTP
    wrong = harness.reconcile("apply", "--yes", "--checksum", checksum)
    assert wrong.exit_code == 1 and "plan again" in wrong.stderr
    fresh = harness.folder / "fresh.json"
    harness.reconcile("plan", "--out", str(fresh))
    apply(harness, str(fresh))


def test_export_gives_a_file_whose_first_plan_is_empty(harness: Harness) -> None:
    apply(harness)
    exported = harness.folder / "exported.yaml"
    run = harness.run("export", "--out", str(exported), "--data-source", "demo-ds")
    assert run.exit_code == 0, run.output
    first = exported.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    # the reference resolves, from the exported file's folder, to the schema this installation ships
    schema = (exported.parent / first.split("$schema=", 1)[1]).resolve()
    assert json.loads(schema.read_text())["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    plan = harness.run("plan", "--config", str(exported), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.stdout


def test_apply_backs_up_and_restore_puts_documents_back(harness: Harness) -> None:
    before = harness.sandbox.gooddata.state.snapshot()
    backups = harness.folder / "backups"
    apply(harness, "--backup-dir", str(backups))
    [folder] = list(backups.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == [
        "000-users_and_groups.json",
        "001-workspace_permissions-demo.json",
        "002-workspace_permissions-demo_west.json",
        "003-data_source_permissions-demo-ds.json",
    ]
    run = harness.run("restore", str(folder), "--yes", "--force")  # it takes away 52 of 53 users
    assert run.exit_code == 0, run.output
    assert harness.sandbox.gooddata.state.snapshot() == before


def test_failed_write_stops_apply_and_the_next_run_converges(harness: Harness) -> None:
    harness.sandbox.gooddata.faults.add_script("PUT", r"/workspaces/demo_west/permissions", "500", times=50)
    failed = harness.reconcile("apply", "--yes")
    assert failed.exit_code == 1
    assert "Applied: users and groups, workspace demo permissions" in failed.stderr
    assert "Not applied: workspace demo_west permissions, data source demo-ds permissions" in failed.stderr
    assert "apply stopped: PUT /api/v1/layout/workspaces/demo_west/permissions failed: 500" in failed.stderr
    harness.sandbox.gooddata.faults.reset()
    apply(harness)
    assert harness.reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_apply_fails_when_gooddata_does_not_match_afterwards(harness: Harness) -> None:
    # the server acknowledges the last write but does not keep it
    harness.sandbox.gooddata.faults.add_script("PUT", r"/dataSources/demo-ds/permissions$", "lost")
    run = harness.reconcile("apply", "--yes")
    assert run.exit_code == 1, run.output
    assert "GoodData does not match the desired state after apply" in run.stderr
    assert "Plan: 2 grants to add." in run.stderr  # the verifying plan is shown
    assert len(harness.users()) == 53
    assert harness.sandbox.gooddata.state.data_source_permissions("demo-ds")["permissions"] == []


def test_usage_errors_exit_1_not_2(harness: Harness) -> None:
    run = harness.reconcile("plan", "--detailed-exitcode", "--format", "yaml")
    assert run.exit_code == 1 and "Invalid value for '--format'" in run.stderr


def test_checksum_must_be_a_real_checksum_and_plan_prints_it(harness: Harness) -> None:
    plan = harness.reconcile("plan")
    [line] = [x for x in plan.stderr.splitlines() if x.startswith("Plan checksum: ")]
    checksum = line.split()[2]
    assert len(checksum) == 64
    for bad in ("", "a", "xyz123456789"):
        refused = harness.reconcile("apply", "--yes", "--checksum", bad)
        assert refused.exit_code == 1 and "12 to 64 hex digits" in refused.stderr
    assert harness.sandbox.gooddata.counters.writes() == 0
    apply(harness, "--checksum", checksum[:12])
    assert len(harness.users()) == 53


def test_saved_plan_from_another_file_says_so(harness: Harness) -> None:
    other = harness.folder / "other.yaml"
    other.write_text(harness.config.read_text().replace('max_removals: "10%"', "max_removals: 5"))
    assert other.read_text() != harness.config.read_text()
    plan_file = harness.folder / "plan.json"
    assert harness.run("plan", "--config", str(other), "--out", str(plan_file)).exit_code == 0
    refused = harness.reconcile("apply", str(plan_file), "--yes")
    assert refused.exit_code == 1
    assert f"was made from {other}, not {harness.config}; pass --config {other}" in refused.stderr
    assert "live GoodData state changed" not in refused.stderr
    assert harness.sandbox.gooddata.counters.writes() == 0
    # without --config, apply uses the file the saved plan names
    applied = harness.run("apply", str(plan_file), "--yes")
    assert applied.exit_code == 0, applied.output
    assert len(harness.users()) == 53


def test_files_apply_and_plan_write_are_private_and_bad_paths_are_one_line(harness: Harness) -> None:
    plan_file = harness.folder / "plan.json"
    assert harness.reconcile("plan", "--out", str(plan_file)).exit_code == 0
    assert plan_file.stat().st_mode & 0o777 == 0o600
    backups = harness.folder / "backups"
    apply(harness, "--backup-dir", str(backups))
    [run] = list(backups.iterdir())
    assert {p.stat().st_mode & 0o777 for p in run.iterdir()} == {0o600}
    harness.sandbox.gooddata.counters.reset()
    nowhere = harness.folder / "nowhere"
    export = harness.run("export", "--out", str(nowhere / "access.yaml"))
    assert export.exit_code == 1
    assert export.stderr == f"error: {nowhere / 'access.yaml'}: the folder {nowhere} does not exist\n"
    assert harness.sandbox.gooddata.counters.count() == 0  # refused before reading anything
    harness.sandbox.auth0.state.remove_user(CHLOE)
    blocker = harness.folder / "a-file"
    blocker.write_text("not a folder")
    writes = harness.sandbox.gooddata.counters.writes()
    refused = harness.reconcile("apply", "--yes", "--backup-dir", str(blocker / "sub"))
    assert refused.exit_code == 1 and "cannot create the backup folder" in refused.stderr
    assert "unexpected failure" not in refused.stderr
    assert harness.sandbox.gooddata.counters.writes() == writes


def test_plan_out_into_a_missing_folder_fails_before_reading(harness: Harness) -> None:
    run = harness.reconcile("plan", "--out", str(harness.folder / "nowhere" / "plan.json"))
    assert run.exit_code == 1 and "does not exist" in run.stderr
    assert harness.sandbox.auth0.counters.count() == 0


def test_export_of_an_unknown_data_source_is_an_error(harness: Harness) -> None:
    run = harness.run("export", "--data-source", "nope")
    assert run.exit_code == 1 and "no data source nope in GoodData" in run.stderr


def test_restore_previews_backs_up_and_refuses_a_lockout(harness: Harness) -> None:
    backups = harness.folder / "backups"
    apply(harness, "--backup-dir", str(backups))
    root_hint = harness.run("restore", str(backups), "--yes")
    assert root_hint.exit_code == 1 and "this is the backup root" in root_hint.stderr
    [folder] = list(backups.iterdir())
    writes = harness.sandbox.gooddata.counters.writes()
    unforced = harness.run("restore", str(folder), "--yes")
    assert unforced.exit_code == 1
    assert unforced.stderr.endswith(
        "error: restore refused: it removes 52 of the 53 live users (more than 5); review the preview "
        "above and pass --force if that is what you want\n"
    )
    assert harness.sandbox.gooddata.counters.writes() == writes
    restored = harness.run(
        "restore", str(folder), "--yes", "--force", "--backup-dir", str(harness.folder / "undo")
    )
    assert restored.exit_code == 0, restored.output
    assert (
        "users and groups: +0 -52 ~0 users (removed: 0a57cb53ba59c46fc4b69252, 12c6fc06c99a462375eeb3f4, "
        "1b6453892473a467d07372d4, 22d200f8670dbdb3e253a90e, 77de68daecd823babbb58edb and 47 more), "
        "+0 -3 ~0 groups (removed: analysts, finance, viewers)"
    ) in restored.stderr
    assert (
        "workspace demo permissions: +0 -5 grants (revoked: ANALYZE -> analysts, EXPORT -> analysts, "
        "MANAGE -> admin, MANAGE -> adminGroup, VIEW -> viewers)"
    ) in restored.stderr
    stray = harness.folder / "stray"
    stray.mkdir()
    (stray / "settings.json").write_text('{"theme": "dark"}')
    not_a_backup = harness.run("restore", str(stray), "--yes")
    assert not_a_backup.exit_code == 1
    assert not_a_backup.stderr == (
        f"error: {stray / 'settings.json'}: not a backup document (no kind, target, body); "
        "pass a folder that `reconcile apply` wrote under --backup-dir\n"
    )
    [undo] = list((harness.folder / "undo").iterdir())  # the restore itself can be undone
    assert len(list(undo.glob("*.json"))) == 4
    locked = harness.folder / "locked"
    locked.mkdir()
    (locked / "000-users_and_groups.json").write_text(
        json.dumps({"kind": "users_and_groups", "target": "", "body": {"users": [], "userGroups": []}})
    )
    writes = harness.sandbox.gooddata.counters.writes()
    refused = harness.run("restore", str(locked), "--yes", "--force")  # --force never lifts the lock-out
    assert refused.exit_code == 1 and "restore refused" in refused.stderr and "locked out" in refused.stderr
    assert harness.sandbox.gooddata.counters.writes() == writes


def test_restore_refuses_another_organisations_backup_and_missing_objects(harness: Harness) -> None:
    backups = harness.folder / "backups"
    apply(harness, "--backup-dir", str(backups))
    [folder] = list(backups.iterdir())
    record = json.loads((folder / "001-workspace_permissions-demo.json").read_text())
    assert record["host"] == harness.sandbox.gooddata.url and record["organization_id"] == "default"
    elsewhere = harness.folder / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "000-workspace_permissions-demo.json").write_text(
        json.dumps({**record, "host": "https://x.example"})
    )
    other_org = harness.folder / "other-org"
    other_org.mkdir()
    (other_org / "000-workspace_permissions-demo.json").write_text(
        json.dumps({**record, "organization_id": "acme"})
    )
    gone = harness.folder / "gone"
    gone.mkdir()
    (gone / "000-workspace_permissions-nope.json").write_text(json.dumps({**record, "target": "nope"}))
    writes = harness.sandbox.gooddata.counters.writes()
    for path, message in [
        (elsewhere, f"the backup was taken from https://x.example, not {harness.sandbox.gooddata.url}"),
        (other_org, "the backup was taken from organization 'acme', not 'default'"),
        (gone, "workspace nope permissions cannot be put back: the workspace 'nope' no longer exists"),
    ]:
        run = harness.run("restore", str(path), "--yes", "--force")
        assert run.exit_code == 1 and message in run.stderr, run.stderr
    assert harness.sandbox.gooddata.counters.writes() == writes


def test_every_missing_variable_is_named_before_any_request(harness: Harness) -> None:
    unset = {name: None for name in harness.sandbox.env()}
    result = CliRunner().invoke(main, ["plan", "--config", str(harness.config)], env=unset)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: environment variables AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET or AUTH0_SECRET, "
        "GOODDATA_HOST, GOODDATA_TOKEN are not set\n"
    )


def test_a_password_in_gooddata_host_is_refused_and_not_shown(harness: Harness) -> None:
    host = {"GOODDATA_HOST": "http://user:hunter2pass@127.0.0.1:1"}
    run = harness.run("plan", "--config", str(harness.config), env=host)
    assert run.exit_code == 1
    assert "GOODDATA_HOST holds a user name or password" in run.stderr and "hunter2" not in run.output


def test_debug_shows_each_retry_without_secrets(harness: Harness) -> None:
    harness.sandbox.gooddata.faults.add_script("GET", r"^/api/v1/profile$", "503", times=1)
    harness.sandbox.auth0.faults.add_script("GET", r"^/api/v2/roles$", "429", times=1)
    run = harness.run("--debug", "plan", "--config", str(harness.config))
    assert run.exit_code == 0, run.output
    assert "GET /api/v1/profile: attempt 1 of 6 failed (ServiceException 503); retrying in " in run.stderr
    assert (
        "GET /api/v2/roles: attempt 1 of 6 failed (TooManyRequestsError 429); retrying in 1.00 s"
        in run.stderr
    )


def grant_on_demo_east(harness: Harness, user_id: str) -> None:
    """Someone grants a user VIEW on demo_east, a workspace the example file does not list."""
    state = harness.sandbox.gooddata.state
    doc = state.workspace_permissions("demo_east")
    doc["permissions"].append({"name": "VIEW", "assignee": {"id": user_id, "type": "user"}})
    state.put_workspace_permissions("demo_east", doc)


def demo_east_assignees(harness: Harness) -> set[str]:
    doc = harness.sandbox.gooddata.state.workspace_permissions("demo_east")
    return {g["assignee"]["id"] for g in doc["permissions"] + doc["hierarchyPermissions"]}


def test_a_leaving_users_grants_on_unlisted_workspaces_are_revoked_in_the_open(harness: Harness) -> None:
    apply(harness)
    chloe, analyst = "b6589fc6ab0dc82cf12099d1", "0a57cb53ba59c46fc4b69252"
    grant_on_demo_east(harness, chloe)
    grant_on_demo_east(harness, analyst)
    grant_on_demo_east(harness, "92cfceb39d57d914ed8b14d0")  # Emma stays, and so does her grant
    harness.sandbox.auth0.state.remove_user(CHLOE)
    plan = harness.reconcile("plan")
    assert "Workspace demo_east grants (1):\n  - VIEW -> user b6589fc6ab0dc82cf12099d1\n" in plan.stdout
    assert "Documents to write, in order: workspace demo_east permissions, users and groups" in plan.stdout
    backups = harness.folder / "backups"
    apply(harness, "--backup-dir", str(backups))
    assert demo_east_assignees(harness) == {analyst, "92cfceb39d57d914ed8b14d0"}
    [run] = list(backups.iterdir())
    assert sorted(p.name for p in run.iterdir()) == [
        "000-workspace_permissions-demo_east.json",
        "001-users_and_groups.json",
    ]

    harness.edit(policy={"departed_users": "strip"})  # strip takes the grant away too, and keeps the account
    harness.sandbox.auth0.state.remove_user(ANALYST)
    harness.sandbox.gooddata.counters.reset()
    apply(harness)
    assert demo_east_assignees(harness) == {"92cfceb39d57d914ed8b14d0"}
    assert harness.groups_of(analyst) == []
    calls = harness.sandbox.gooddata.counters.by_endpoint()
    assert calls["GET /api/v1/actions/userManagement/users/{id}/permissions"] == 1  # the verify plan: none
    assert calls["GET /api/v1/layout/workspaces/{id}/permissions"] == 2 * 2 + 1  # two plans; demo_east once


def test_a_stopped_strip_converges_because_grants_go_first(harness: Harness) -> None:
    apply(harness)
    analyst = "0a57cb53ba59c46fc4b69252"
    grant_on_demo_east(harness, analyst)
    harness.edit(policy={"departed_users": "strip"})
    harness.sandbox.auth0.state.remove_user(ANALYST)
    harness.sandbox.gooddata.faults.add_script("PUT", r"/layout/usersAndUserGroups$", "500", times=50)
    stopped = harness.reconcile("apply", "--yes")
    assert stopped.exit_code == 1 and "Applied: workspace demo_east permissions" in stopped.stderr
    assert demo_east_assignees(harness) == set() and harness.groups_of(analyst) == ["analysts"]
    harness.sandbox.gooddata.faults.reset()
    apply(harness)
    assert harness.groups_of(analyst) == []
    assert harness.reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_an_empty_idp_answer_is_refused_without_a_lookup_per_user(harness: Harness) -> None:
    apply(harness)
    for user in harness.sandbox.auth0.state.users():
        harness.sandbox.auth0.state.remove_user(user["user_id"])
    harness.sandbox.gooddata.counters.reset()
    run = harness.reconcile("plan")
    assert "idp_completeness: auth0 returned no users while GoodData has 52 users from it" in run.stdout
    calls = harness.sandbox.gooddata.counters.by_endpoint()
    assert not any("userManagement" in endpoint for endpoint in calls), calls
    assert harness.sandbox.gooddata.counters.count() == 7


def test_the_plan_counts_every_gooddata_read(harness: Harness) -> None:
    apply(harness)
    harness.sandbox.auth0.state.remove_user(CHLOE)  # one leaving user: one permissions lookup
    run = harness.reconcile("plan", "--format", "json")
    assert json.loads(run.stdout)["metadata"]["gooddata_read_requests"] == 8


def test_a_verification_that_fails_says_what_was_written(harness: Harness) -> None:
    gooddata = harness.sandbox.gooddata

    def break_reads_after_the_writes() -> None:
        deadline = time.monotonic() + 20
        while gooddata.counters.writes() < 4 and time.monotonic() < deadline:
            time.sleep(0.002)
        gooddata.faults.add_script("GET", r"^/api/v1/profile$", "500", times=50)

    watcher = threading.Thread(target=break_reads_after_the_writes, daemon=True)
    watcher.start()
    run = harness.reconcile("apply", "--yes")
    watcher.join()
    gooddata.faults.reset()
    assert run.exit_code == 1
    assert run.stderr.splitlines()[-1] == (
        "error: apply wrote 4 documents, but the plan made to verify it failed: "
        "GET /api/v1/profile failed: 500 Internal Server Error - Injected fault: HTTP 500."
    )
    assert "nothing was written" not in run.stderr
    assert len(harness.users()) == 53
