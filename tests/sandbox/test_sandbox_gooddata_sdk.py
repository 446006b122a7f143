"""The GoodData sandbox through the real gooddata-sdk over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from gooddata_api_client.api.user_authorization_api import UserAuthorizationApi
from gooddata_api_client.exceptions import NotFoundException
from gooddata_sdk import (
    CatalogDeclarativeOrganizationPermission,
    CatalogDeclarativeUser,
    CatalogDeclarativeUserGroup,
    CatalogDeclarativeUsersUserGroups,
    CatalogDeclarativeWorkspacePermissions,
    CatalogUser,
    GoodDataSdk,
)
from gooddata_sdk.catalog.identifier import CatalogAssigneeIdentifier, CatalogDeclarativeUserGroupIdentifier
from gooddata_sdk.catalog.permission.declarative_model.permission import (
    CatalogDeclarativeSingleWorkspacePermission,
    CatalogDeclarativeWorkspaceHierarchyPermission,
)

from reconciler.sandbox import GoodDataSeed, Sandbox


def _group_ref(group_id: str) -> CatalogDeclarativeUserGroupIdentifier:
    return CatalogDeclarativeUserGroupIdentifier(id=group_id, type="userGroup")


def _declarative_org(
    users: list[tuple[str, str, list[str]]], groups: list[str]
) -> CatalogDeclarativeUsersUserGroups:
    return CatalogDeclarativeUsersUserGroups(
        users=[
            CatalogDeclarativeUser(id=uid, auth_id=auth, user_groups=[_group_ref(g) for g in gids])
            for uid, auth, gids in users
        ],
        user_groups=[CatalogDeclarativeUserGroup(id=g) for g in groups],
    )


def test_default_seed_as_the_sdk_reads_it(sdk: GoodDataSdk) -> None:
    layout = sdk.catalog_user.get_declarative_users_user_groups()
    assert [u.id for u in layout.users] == ["admin"]
    assert [g.id for g in layout.users[0].user_groups] == ["adminGroup"]
    assert [g.id for g in layout.user_groups] == ["adminGroup"]
    workspaces = {w.id: w.parent_id for w in sdk.catalog_workspace.list_workspaces()}
    assert workspaces == {"demo": None, "demo_west": "demo", "demo_east": "demo"}
    org = sdk.catalog_permission.get_declarative_organization_permissions()
    assert [(p.name, p.assignee.id, p.assignee.type) for p in org] == [("MANAGE", "adminGroup", "userGroup")]


def test_put_users_and_groups_shows_in_every_view(sdk: GoodDataSdk) -> None:
    doc = _declarative_org(
        [("admin", "", ["adminGroup"]), ("jane", "auth0|jane", ["analysts"])], ["adminGroup", "analysts"]
    )
    doc.users[0].auth_id = None
    sdk.catalog_user.put_declarative_users_user_groups(doc)
    users = {u.id: u for u in sdk.catalog_user.list_users()}
    assert set(users) == {"admin", "jane"}
    assert users["jane"].attributes is not None
    assert users["jane"].attributes.authentication_id == "auth0|jane"
    assert [g.id for g in users["jane"].relationships.user_groups.data] == ["analysts"]  # type: ignore[union-attr]
    assert sorted(g.id for g in sdk.catalog_user.list_user_groups()) == ["adminGroup", "analysts"]
    layout = sdk.catalog_user.get_declarative_users()
    assert sorted(u.id for u in layout.users) == ["admin", "jane"]


def test_entity_create_and_delete_show_in_layout(sandbox: Sandbox, sdk: GoodDataSdk) -> None:
    sdk.catalog_user.create_or_update_user(
        CatalogUser.init(user_id="bob", authentication_id="google-oauth2|42", user_group_ids=["adminGroup"])
    )
    layout = sandbox.gooddata.state.users_and_groups()
    bob = next(u for u in layout["users"] if u["id"] == "bob")
    assert bob["authId"] == "google-oauth2|42"
    assert bob["userGroups"] == [{"id": "adminGroup", "type": "userGroup"}]
    assert sdk.catalog_user.get_user("bob").attributes.authentication_id == "google-oauth2|42"  # type: ignore[union-attr]
    sdk.catalog_user.delete_user("bob")
    assert [u.id for u in sdk.catalog_user.list_users()] == ["admin"]
    with pytest.raises(NotFoundException):
        sdk.catalog_user.get_user("bob")


def test_workspace_and_organization_permissions_round_trip(sdk: GoodDataSdk) -> None:
    sdk.catalog_user.put_declarative_users_user_groups(
        _declarative_org([("admin", "a", ["adminGroup"]), ("jane", "j", [])], ["adminGroup"])
    )
    jane = CatalogAssigneeIdentifier(id="jane", type="user")
    admins = CatalogAssigneeIdentifier(id="adminGroup", type="userGroup")
    permissions = CatalogDeclarativeWorkspacePermissions(
        permissions=[CatalogDeclarativeSingleWorkspacePermission(name="CREATE_METRIC", assignee=jane)],
        hierarchy_permissions=[
            CatalogDeclarativeWorkspaceHierarchyPermission(name="ANALYZE", assignee=admins)
        ],
    )
    sdk.catalog_permission.put_declarative_permissions("demo", permissions)
    read = sdk.catalog_permission.get_declarative_permissions("demo")
    assert [(p.name, p.assignee.id) for p in read.permissions] == [("CREATE_METRIC", "jane")]
    assert [(p.name, p.assignee.id) for p in read.hierarchy_permissions] == [("ANALYZE", "adminGroup")]
    sdk.catalog_permission.put_declarative_organization_permissions(
        [
            CatalogDeclarativeOrganizationPermission(name="MANAGE", assignee=admins),
            CatalogDeclarativeOrganizationPermission(name="BASE_UI_ACCESS", assignee=jane),
        ]
    )
    org = sdk.catalog_permission.get_declarative_organization_permissions()
    assert sorted((p.name, p.assignee.id) for p in org) == [
        ("BASE_UI_ACCESS", "jane"),
        ("MANAGE", "adminGroup"),
    ]


def test_data_source_permissions_through_the_raw_layout_api(sdk: GoodDataSdk) -> None:
    from gooddata_api_client.model.declarative_data_source_permissions import DeclarativeDataSourcePermissions

    layout_api = sdk.client.layout_api
    body = DeclarativeDataSourcePermissions._from_openapi_data(
        permissions=[{"name": "USE", "assignee": {"id": "adminGroup", "type": "userGroup"}}],
        _check_type=False,
    )
    layout_api.set_data_source_permissions("demo-ds", body)
    read = layout_api.get_data_source_permissions("demo-ds", _check_return_type=False)
    assert [(p["name"], p["assignee"]["id"]) for p in read["permissions"]] == [("USE", "adminGroup")]
    with pytest.raises(NotFoundException):
        layout_api.get_data_source_permissions("no-such-ds", _check_return_type=False)


def test_profile_parses_with_the_generated_client(sdk: GoodDataSdk) -> None:
    profile = UserAuthorizationApi(sdk.client._api_client).get_profile()
    assert profile.user_id == "admin"
    assert profile.organization_id == "default"


def test_profile_user_is_configurable() -> None:
    seed = GoodDataSeed.from_layout(
        {"users": [{"id": "robot"}], "tokenUserId": "robot", "organizationId": "acme"}
    )
    with Sandbox.start(gooddata_seed=seed) as running:
        sdk = GoodDataSdk.create(running.gooddata.url, running.gooddata.token)
        profile = UserAuthorizationApi(sdk.client._api_client).get_profile()
        assert (profile.user_id, profile.organization_id) == ("robot", "acme")
        assert sdk.catalog_organization.get_organization().id == "acme"


def test_missing_or_wrong_bearer_gives_401(sandbox: Sandbox) -> None:
    url = sandbox.gooddata.url + "/api/v1/layout/usersAndUserGroups"
    missing = requests.get(url, timeout=5)
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["status"] == 401
    assert sandbox.gooddata.token not in wrong.text


def test_organization_redirect_like_the_real_server(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.gooddata.url + "/api/v1/entities/organization",
        headers={"Authorization": f"Bearer {sandbox.gooddata.token}"},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/api/v1/entities/admin/organizations/default"


def test_entity_paging_honours_page_and_size(sandbox: Sandbox) -> None:
    # The token's user (admin) must stay, or the token stops working.
    users = [{"id": "admin", "userGroups": []}] + [{"id": f"u{i:03d}", "userGroups": []} for i in range(6)]
    sandbox.gooddata.state.put_users_and_groups({"users": users, "userGroups": []})
    headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
    url = sandbox.gooddata.url + "/api/v1/entities/users"
    pages = [
        requests.get(url, params={"page": p, "size": 3}, headers=headers, timeout=5).json() for p in range(4)
    ]
    assert [[u["id"] for u in page["data"]] for page in pages] == [
        ["admin", "u000", "u001"],
        ["u002", "u003", "u004"],
        ["u005"],
        [],
    ]
    assert pages[0]["links"]["next"].endswith("page=1&size=3")
    assert "next" not in pages[3]["links"]


def test_workspace_listing_pages_past_500(sdk: GoodDataSdk) -> None:
    layout: dict[str, Any] = {"users": [{"id": "admin"}], "workspaces": [{"id": "root", "name": "Root"}]}
    layout["workspaces"] += [{"id": f"w{i:04d}", "name": f"W {i}", "parent": "root"} for i in range(1200)]
    with Sandbox.start(gooddata_seed=GoodDataSeed.from_layout(layout)) as running:
        big = GoodDataSdk.create(running.gooddata.url, running.gooddata.token)
        workspaces = big.catalog_workspace.list_workspaces()
        assert len(workspaces) == 1201
        assert {w.parent_id for w in workspaces if w.id != "root"} == {"root"}
        assert running.gooddata.counters.by_endpoint()["GET /api/v1/entities/workspaces"] == 3


def test_connections_stay_open_between_requests(sandbox: Sandbox) -> None:
    # Not a timing assertion: checks that keep-alive works, so each request does not pay a new connection.
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", sandbox.gooddata.port, timeout=5)
    headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
    put_headers = {**headers, "Content-Type": "application/json"}
    connection.request("PUT", "/api/v1/layout/organization/permissions", body=b"[]", headers=put_headers)
    assert connection.getresponse().read() == b""
    first_socket = connection.sock
    connection.request("GET", "/api/v1/layout/organization/permissions", headers=headers)
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"[]")
    assert first_socket is not None and connection.sock is first_socket
    connection.close()


def test_a_429_is_absorbed_by_the_sdk_retry_at_its_defaults(sandbox: Sandbox) -> None:
    sdk = GoodDataSdk.create(sandbox.gooddata.url, sandbox.gooddata.token)  # default retry policy
    sandbox.gooddata.faults.add_script("GET", r"^/api/v1/layout/usersAndUserGroups$", "429")
    layout = sdk.catalog_user.get_declarative_users_user_groups()
    assert [u.id for u in layout.users] == ["admin"]
    assert [g.id for g in layout.user_groups] == ["adminGroup"]
    counters = sandbox.gooddata.counters
    assert counters.faults_injected() == 1
    assert counters.by_endpoint()["GET /api/v1/layout/usersAndUserGroups"] == 2
    [throttled] = counters.answers(status=429)
    assert throttled.path == "/api/v1/layout/usersAndUserGroups"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert int(throttled.headers["x-ratelimit-reset"]) > 1_600_000_000
    assert throttled.headers["Content-Type"] == "application/problem+json"
    assert [a.status for a in counters.answers()] == [429, 200]
