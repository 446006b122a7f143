"""The GoodData adapter against the sandbox GoodData server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.gooddata import GoodDataClient, GoodDataSettings
from reconciler.model import Document, GoodDataError, LiveOrganization
from reconciler.sandbox import GoodDataSeed, Sandbox
from reconciler.transport import RetryPolicy

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=5.0)
USERS_AND_GROUPS = r"^/api/v1/layout/usersAndUserGroups$"

# Users and groups in id order, as GoodData lists them, so that the JSON can be compared byte for byte.
RICH_USERS_AND_GROUPS: dict[str, Any] = {
    "users": [
        {
            "id": "admin",
            "permissions": [],
            "settings": [],
            "userGroups": [{"id": "adminGroup", "type": "userGroup"}],
        },
        {
            "id": "etl-bot",
            "systemAccount": True,
            "permissions": [{"name": "SEE", "assignee": {"id": "jane.doe", "type": "user"}}],
            "settings": [{"id": "fmt", "type": "FORMAT_LOCALE", "content": {"value": "en-GB"}}],
            "userGroups": [],
        },
        {
            "id": "jane.doe",
            "authId": "auth0|64f0c0ffee",
            "email": "jane.doe@example.com",
            "firstname": "Jane",
            "lastname": "Doe",
            "systemAccount": False,
            "settings": [
                {"id": "locale", "type": "LOCALE", "content": {"value": "cs-CZ"}},
                {"id": "timezone", "type": "TIMEZONE", "content": {"value": "Europe/Prague"}},
            ],
            "permissions": [{"name": "SEE", "assignee": {"id": "analysts", "type": "userGroup"}}],
            "userGroups": [{"id": "analysts", "type": "userGroup"}],
        },
    ],
    "userGroups": [
        {"id": "adminGroup", "permissions": []},
        {
            "id": "analysts",
            "name": "Analysts",
            "parents": [{"id": "adminGroup", "type": "userGroup"}],
            "permissions": [{"name": "SEE", "assignee": {"id": "admin", "type": "user"}}],
        },
    ],
}

# Grants in the order the server lists them (by name), for the same byte-for-byte comparison.
WORKSPACE_PERMISSIONS: dict[str, Any] = {
    "permissions": [
        {"name": "CREATE_METRIC", "assignee": {"id": "jane.doe", "type": "user"}},
        {"name": "VIEW", "assignee": {"id": "analysts", "type": "userGroup"}},
    ],
    "hierarchyPermissions": [{"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}}],
}


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@pytest.fixture()
def seeded(sandbox: Sandbox) -> Sandbox:
    sandbox.gooddata.faults.reset()
    sandbox.gooddata.counters.reset()
    return sandbox


@pytest.fixture()
def fresh() -> Iterator[Sandbox]:
    """A sandbox of its own, for tests that write."""
    with Sandbox.start(gooddata_seed=GoodDataSeed.default()) as running:
        yield running


def client_for(sandbox: Sandbox, policy: RetryPolicy = FAST, token: str | None = None) -> GoodDataClient:
    env = sandbox.env()
    return GoodDataClient(
        GoodDataSettings(env["GOODDATA_HOST"], token or env["GOODDATA_TOKEN"]), policy=policy
    )


def read_all(client: GoodDataClient) -> LiveOrganization:
    return client.read(
        workspace_ids=["demo", "demo_west", "no_such_workspace"],
        data_source_ids=["demo-ds", "missing-ds"],
        organization_permissions=True,
    )


def test_reads_the_seeded_organization(seeded: Sandbox) -> None:
    client = client_for(seeded)
    live = read_all(client)

    assert live.organization_id == "default"
    assert live.token_user_id == "admin"
    assert dict(live.workspaces) == {"demo": None, "demo_west": "demo", "demo_east": "demo"}
    assert [user["id"] for user in live.users_and_groups["users"]] == ["admin"]
    assert live.users_and_groups["users"][0]["userGroups"] == [{"id": "adminGroup", "type": "userGroup"}]
    assert [group["id"] for group in live.users_and_groups["userGroups"]] == ["adminGroup"]
    assert set(live.workspace_permissions) == {"demo", "demo_west"}
    assert live.workspace_permissions["demo"] == {"permissions": [], "hierarchyPermissions": []}
    assert live.data_source_permissions == {"demo-ds": {"permissions": []}}
    assert live.missing_data_sources == frozenset({"missing-ds"})
    assert live.organization_permissions == (
        {"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}},
    )
    # profile, usersAndUserGroups, workspaces, 2 workspace + 2 data source permissions, organization
    assert client.requests == 8
    assert seeded.gooddata.counters.count() == 8


def test_organization_permissions_are_not_read_unless_asked(seeded: Sandbox) -> None:
    live = client_for(seeded).read(workspace_ids=[], data_source_ids=[], organization_permissions=False)
    assert live.organization_permissions is None
    assert seeded.gooddata.counters.count(path_prefix="/api/v1/layout/organization") == 0


def test_read_document_reports_absent_objects_as_none(seeded: Sandbox) -> None:
    client = client_for(seeded)
    assert client.read_document("workspace_permissions", "no_such_workspace") is None
    assert client.read_document("data_source_permissions", "missing-ds") is None
    assert client.read_document("data_source_permissions", "demo-ds") == {"permissions": []}
    assert client.read_document("organization_permissions") == [
        {"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}}
    ]


def test_write_then_read_round_trips_every_field(fresh: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="reconciler.gooddata.client")
    client = client_for(fresh)
    organization = [
        {"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}},
        {"name": "SELF_CREATE_TOKEN", "assignee": {"id": "analysts", "type": "userGroup"}},
    ]
    data_source = {"permissions": [{"name": "USE", "assignee": {"id": "analysts", "type": "userGroup"}}]}
    documents = [
        Document("users_and_groups", "", copy.deepcopy(RICH_USERS_AND_GROUPS)),
        Document("workspace_permissions", "demo", copy.deepcopy(WORKSPACE_PERMISSIONS)),
        Document("data_source_permissions", "demo-ds", data_source),
        Document("organization_permissions", "", organization),
    ]
    for document in documents:
        client.write(document)

    for document in documents:
        read_back = client.read_document(document.kind, document.target)
        assert canonical(read_back) == canonical(document.body), document.label
    # The caller's documents are not altered by the conversion to the generated models.
    assert canonical(documents[0].body) == canonical(RICH_USERS_AND_GROUPS)
    assert fresh.gooddata.state.workspace_permissions("demo") == WORKSPACE_PERMISSIONS
    assert fresh.gooddata.counters.writes() == 4
    assert caplog.records == []  # every document went through the generated models


def _weekly(body: dict[str, Any]) -> dict[str, Any]:
    # An integer inside free-form setting content: a type-checking conversion turns 7 into 7.0.
    body["users"][1]["settings"].append({"id": "weekStart", "type": "WEEK_START", "content": {"value": 7}})
    return body


def test_free_form_content_goes_through_the_model_unchanged(
    fresh: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="reconciler.gooddata.client")
    body = _weekly(copy.deepcopy(RICH_USERS_AND_GROUPS))
    client = client_for(fresh)
    client.write(Document("users_and_groups", "", body))
    assert canonical(client.read_document("users_and_groups")) == canonical(body)
    assert caplog.records == []  # the generated model carried it: no fallback


def test_a_body_the_model_would_alter_is_sent_unchanged(
    fresh: Sandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gooddata-api-client whose conversion checks types, as it does with its own defaults: 7 -> 7.0.
    from gooddata_api_client.model_utils import validate_and_convert_types

    def checking(value: Any, types: Any, path: Any, spec_naming: bool, _check: bool, **kwargs: Any) -> Any:
        return validate_and_convert_types(value, types, path, spec_naming, True, **kwargs)

    monkeypatch.setattr("reconciler.gooddata.client.validate_and_convert_types", checking)
    caplog.set_level(logging.WARNING, logger="reconciler.gooddata.client")
    body = _weekly(copy.deepcopy(RICH_USERS_AND_GROUPS))
    client = client_for(fresh)
    client.write(Document("users_and_groups", "", body))
    assert canonical(client.read_document("users_and_groups")) == canonical(body)
    assert [record.getMessage() for record in caplog.records] == [
        "users and groups: gooddata-api-client would alter the document; sending it unchanged"
    ]


def test_workspace_permissions_without_hierarchy_are_refused(fresh: Sandbox) -> None:
    client = client_for(fresh)
    with pytest.raises(GoodDataError, match="hierarchyPermissions"):
        client.write(Document("workspace_permissions", "demo", {"permissions": []}))
    assert fresh.gooddata.counters.count() == 0


@pytest.mark.parametrize("kind", ["503", "500", "429", "drop"])
def test_transient_faults_on_reads_are_retried(seeded: Sandbox, kind: str) -> None:
    seeded.gooddata.faults.add_script("GET", USERS_AND_GROUPS, kind, times=2)
    seeded.gooddata.faults.add_script("GET", r"^/api/v1/entities/workspaces$", kind, times=1)
    client = client_for(seeded)

    live = read_all(client)

    assert [user["id"] for user in live.users_and_groups["users"]] == ["admin"]
    assert set(live.workspaces) == {"demo", "demo_west", "demo_east"}
    assert client.requests == 8 + 3
    assert seeded.gooddata.counters.faults_injected() == 3


def test_a_put_is_retried_after_a_server_error(fresh: Sandbox) -> None:
    fresh.gooddata.faults.add_script("PUT", r"/permissions$", "503", times=2)
    client = client_for(fresh)
    grants = {
        "permissions": [{"name": "ANALYZE", "assignee": {"id": "adminGroup", "type": "userGroup"}}],
        "hierarchyPermissions": [{"name": "VIEW", "assignee": {"id": "admin", "type": "user"}}],
    }
    client.write(Document("workspace_permissions", "demo_west", copy.deepcopy(grants)))
    assert fresh.gooddata.state.workspace_permissions("demo_west") == grants
    assert client.requests == 3


def test_the_sdk_does_not_retry_on_its_own(seeded: Sandbox) -> None:
    seeded.gooddata.faults.add_script("GET", USERS_AND_GROUPS, "429", times=5)
    client = client_for(seeded, RetryPolicy(attempts=1))
    with pytest.raises(GoodDataError) as caught:
        client.read_document("users_and_groups")
    assert str(caught.value).startswith("GET /api/v1/layout/usersAndUserGroups failed: 429")
    assert seeded.gooddata.counters.count() == 1
    assert client.requests == 1


def test_faults_beyond_the_retry_budget_give_a_clean_error(seeded: Sandbox) -> None:
    seeded.gooddata.faults.add_script("GET", USERS_AND_GROUPS, "503", times=10)
    client = client_for(seeded, RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05))
    with pytest.raises(GoodDataError) as caught:
        client.read_document("users_and_groups")
    message = str(caught.value)
    assert message.startswith("GET /api/v1/layout/usersAndUserGroups failed: 503")
    assert "\n" not in message
    assert seeded.env()["GOODDATA_TOKEN"] not in message
    assert client.requests == 3


def test_dropped_connections_beyond_the_budget_give_a_clean_error(seeded: Sandbox) -> None:
    seeded.gooddata.faults.add_script("GET", r"^/api/v1/profile$", "drop", times=10)
    client = client_for(seeded, RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05))
    with pytest.raises(GoodDataError) as caught:
        client.profile()
    host = seeded.env()["GOODDATA_HOST"]
    assert str(caught.value).startswith(
        f"GET {host}/api/v1/profile failed: connection failed (RemoteDisconnected) (after 2 attempts)"
    )
    assert client.requests == 2
    assert seeded.gooddata.counters.count() == 2  # urllib3 made no attempt of its own


def test_wrong_token_is_a_clean_error_and_not_retried(seeded: Sandbox) -> None:
    wrong = "wrong-token-value-123"
    client = client_for(seeded, token=wrong)
    with pytest.raises(GoodDataError) as caught:
        client.read(workspace_ids=[], data_source_ids=[], organization_permissions=False)
    message = str(caught.value)
    assert message.startswith("GET /api/v1/profile failed: 401")
    assert message.endswith("; check GOODDATA_TOKEN")
    assert wrong not in message
    assert "Bearer" not in message
    assert client.requests == 1


def test_a_stalled_server_hits_the_timeout(seeded: Sandbox) -> None:
    seeded.gooddata.faults.add_script("GET", USERS_AND_GROUPS, "stall", times=1)
    client = client_for(seeded, RetryPolicy(attempts=1, timeout=0.3))
    try:
        with pytest.raises(GoodDataError) as caught:
            client.read_document("users_and_groups")
    finally:
        seeded.gooddata.faults.release_stalls()
    host = seeded.env()["GOODDATA_HOST"]
    assert str(caught.value) == (
        f"GET {host}/api/v1/layout/usersAndUserGroups failed: timed out waiting for the reply (0.3 s)"
    )


def test_a_stall_is_retried_within_the_budget(seeded: Sandbox) -> None:
    seeded.gooddata.faults.add_script("GET", USERS_AND_GROUPS, "stall", times=1)
    client = client_for(seeded, RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=0.3))
    try:
        document = client.read_document("users_and_groups")
    finally:
        seeded.gooddata.faults.release_stalls()
    assert [user["id"] for user in document["users"]] == ["admin"]
    assert client.requests == 2


def test_granted_objects_lists_direct_grants_only(fresh: Sandbox) -> None:
    client = client_for(fresh)
    client.write(Document("users_and_groups", "", copy.deepcopy(RICH_USERS_AND_GROUPS)))
    client.write(Document("workspace_permissions", "demo_east", copy.deepcopy(WORKSPACE_PERMISSIONS)))
    client.write(
        Document(
            "data_source_permissions",
            "demo-ds",
            {"permissions": [{"name": "USE", "assignee": {"id": "jane.doe", "type": "user"}}]},
        )
    )
    fresh.gooddata.counters.reset()
    assert client.granted_objects("user", "jane.doe") == (["demo_east"], ["demo-ds"])
    assert client.granted_objects("userGroup", "analysts") == (["demo_east"], [])
    # admin is in adminGroup, which holds MANAGE on demo_east: inherited, so not listed
    assert client.granted_objects("user", "admin") == ([], [])
    assert fresh.gooddata.counters.count() == 3
    with pytest.raises(GoodDataError) as caught:
        client.granted_objects("user", "nobody")
    assert str(caught.value).startswith(
        "GET /api/v1/actions/userManagement/users/nobody/permissions failed: 404"
    )
