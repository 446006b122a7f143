"""Request validation, referential integrity, cascades and the one shared state of the GoodData sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.sandbox import GoodDataSeed, GoodDataState, RequestRejected, Sandbox

NOT_FOUND_DETAIL = "The requested endpoint does not exist or you do not have permission to access it."


def _call(sandbox: Sandbox, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        sandbox.gooddata.url + path,
        json=body,
        headers={"Authorization": f"Bearer {sandbox.gooddata.token}"},
        timeout=5,
    )


def _user(user_id: str, groups: tuple[str, ...] = ("adminGroup",), **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "userGroups": [{"id": g, "type": "userGroup"} for g in groups], **extra}


def _grant(name: str, assignee: str, kind: str = "user") -> dict[str, Any]:
    return {"name": name, "assignee": {"id": assignee, "type": kind}}


BAD_REQUESTS = [
    pytest.param(
        "PUT", "/api/v1/layout/users", {"users": [_user("auth0|123")]}, "users[0].id", id="bad-id-pattern"
    ),
    pytest.param(
        "PUT",
        "/api/v1/layout/workspaces/demo/permissions",
        {"permissions": [_grant("OWN", "admin")], "hierarchyPermissions": []},
        "permissions[0].name",
        id="unknown-enum",
    ),
    pytest.param(
        "PUT",
        "/api/v1/layout/usersAndUserGroups",
        {"users": [_user("admin")]},
        "userGroups",
        id="missing-required",
    ),
    pytest.param(
        "PUT",
        "/api/v1/layout/users",
        {"users": [_user("admin", email="x" * 256)]},
        "too long",
        id="over-long-field",
    ),
    pytest.param(
        "PUT", "/api/v1/layout/users", {"users": [_user("admin", ("ghosts",))]}, "ghosts", id="unknown-group"
    ),
    pytest.param(
        "PUT",
        "/api/v1/layout/organization/permissions",
        [_grant("MANAGE", "nobody")],
        "nobody",
        id="unknown-assignee",
    ),
    pytest.param(
        "PUT",
        "/api/v1/layout/userGroups",
        {"userGroups": [{"id": "adminGroup", "parents": [{"id": "nope", "type": "userGroup"}]}]},
        "nope",
        id="unknown-parent-group",
    ),
    pytest.param(
        "POST",
        "/api/v1/entities/workspaces",
        {
            "data": {
                "id": "orphan",
                "type": "workspace",
                "attributes": {"name": "Orphan"},
                "relationships": {"parent": {"data": {"id": "missing", "type": "workspace"}}},
            }
        },
        "missing",
        id="unknown-parent-workspace",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "mentioned"), BAD_REQUESTS)
def test_invalid_body_rejected_with_problem_and_nothing_stored(
    sandbox: Sandbox, method: str, path: str, body: Any, mentioned: str
) -> None:
    before = sandbox.gooddata.state.snapshot()
    response = _call(sandbox, method, path, body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["title"], problem["status"]) == ("Bad Request", 400)
    assert mentioned in problem["detail"]
    assert len(problem["traceId"]) == 32
    assert sandbox.gooddata.state.snapshot() == before


def test_unknown_workspace_or_data_source_gives_recorded_404(sandbox: Sandbox) -> None:
    before = sandbox.gooddata.state.snapshot()
    requests_to_send: list[tuple[str, str, Any]] = [
        ("GET", "/api/v1/layout/workspaces/nope/permissions", None),
        (
            "PUT",
            "/api/v1/layout/workspaces/nope/permissions",
            {"permissions": [], "hierarchyPermissions": []},
        ),
        ("GET", "/api/v1/layout/dataSources/nope/permissions", None),
        ("PUT", "/api/v1/layout/dataSources/nope/permissions", {"permissions": []}),
        ("GET", "/api/v1/no/such/endpoint", None),
    ]
    for method, path, body in requests_to_send:
        response = _call(sandbox, method, path, body)
        assert response.status_code == 404, path
        problem = response.json()
        assert {k: problem[k] for k in ("detail", "status", "title")} == {
            "detail": NOT_FOUND_DETAIL,
            "status": 404,
            "title": "Not Found",
        }
    assert sandbox.gooddata.state.snapshot() == before


def test_newer_workspace_permission_names_accepted(sandbox: Sandbox) -> None:
    names = ["CREATE_METRIC", "MANAGE_VISUALIZATIONS", "CREATE_VISUALIZATION", "CREATE_COMPUTED_ATTRIBUTE"]
    doc = {"permissions": [_grant(n, "admin") for n in names], "hierarchyPermissions": []}
    assert _call(sandbox, "PUT", "/api/v1/layout/workspaces/demo_west/permissions", doc).status_code == 204
    stored = sandbox.gooddata.state.workspace_permissions("demo_west")["permissions"]
    assert sorted(g["name"] for g in stored) == sorted(names)


def test_removing_user_and_group_removes_every_grant_naming_them() -> None:
    state = GoodDataState(GoodDataSeed.default())
    state.put_users_and_groups(
        {
            "users": [
                _user("admin"),
                _user("jane", ("analysts",), permissions=[_grant("SEE", "joe")]),
                _user("joe", ("analysts",)),
            ],
            "userGroups": [
                {"id": "adminGroup"},
                {"id": "analysts", "parents": [{"id": "adminGroup", "type": "userGroup"}]},
                {"id": "sub", "parents": [{"id": "analysts", "type": "userGroup"}]},
            ],
        }
    )
    state.put_workspace_permissions(
        "demo",
        {
            "permissions": [_grant("VIEW", "joe"), _grant("ANALYZE", "analysts", "userGroup")],
            "hierarchyPermissions": [_grant("MANAGE", "joe"), _grant("VIEW", "jane")],
        },
    )
    state.put_data_source_permissions("demo-ds", {"permissions": [_grant("USE", "analysts", "userGroup")]})
    state.put_organization_permissions(
        [_grant("MANAGE", "adminGroup", "userGroup"), _grant("BASE_UI_ACCESS", "joe")]
    )
    state.delete_user("joe")
    state.delete_group("analysts")
    assert state.workspace_permissions("demo") == {
        "permissions": [],
        "hierarchyPermissions": [_grant("VIEW", "jane")],
    }
    assert state.data_source_permissions("demo-ds") == {"permissions": []}
    assert state.organization_permissions() == [_grant("MANAGE", "adminGroup", "userGroup")]
    users = {u["id"]: u for u in state.users_and_groups()["users"]}
    assert users["jane"]["userGroups"] == [] and users["jane"]["permissions"] == []
    groups = {g["id"]: g for g in state.users_and_groups()["userGroups"]}
    assert set(groups) == {"adminGroup", "sub"} and "parents" not in groups["sub"]
    # A declarative PUT that leaves a user out removes that user's grants too.
    state.put_users({"users": [u for u in state.users_and_groups()["users"] if u["id"] != "jane"]})
    assert state.workspace_permissions("demo") == {"permissions": [], "hierarchyPermissions": []}


def test_state_shortcut_validates_like_the_endpoint() -> None:
    state = GoodDataState()
    before = state.snapshot()
    with pytest.raises(RequestRejected) as raised:
        state.put_users_and_groups({"users": [_user("x", ("nope",))], "userGroups": []})
    assert raised.value.status == 400
    assert state.snapshot() == before


def test_entity_writes_and_layout_share_one_state(sandbox: Sandbox) -> None:
    group = {"data": {"id": "analysts", "type": "userGroup", "attributes": {"name": "Analysts"}}}
    assert _call(sandbox, "POST", "/api/v1/entities/userGroups", group).status_code == 201
    assert _call(sandbox, "POST", "/api/v1/entities/userGroups", group).status_code == 409
    user = {
        "data": {
            "id": "jane",
            "type": "user",
            "attributes": {"authenticationId": "auth0|jane", "email": "jane@example.com"},
            "relationships": {"userGroups": {"data": [{"id": "analysts", "type": "userGroup"}]}},
        }
    }
    created = _call(sandbox, "POST", "/api/v1/entities/users", user)
    assert created.status_code == 201
    assert created.json()["data"] == {
        "attributes": {"authenticationId": "auth0|jane", "email": "jane@example.com"},
        "id": "jane",
        "type": "user",
    }
    layout = _call(sandbox, "GET", "/api/v1/layout/usersAndUserGroups").json()
    jane = next(u for u in layout["users"] if u["id"] == "jane")
    assert jane == {
        "id": "jane",
        "authId": "auth0|jane",
        "email": "jane@example.com",
        "permissions": [],
        "settings": [],
        "userGroups": [{"id": "analysts", "type": "userGroup"}],
    }
    listed = _call(sandbox, "GET", "/api/v1/entities/users?include=userGroups&page=0&size=500").json()
    assert {i["id"] for i in listed["included"]} == {"adminGroup", "analysts"}
    assert _call(sandbox, "DELETE", "/api/v1/entities/userGroups/analysts").status_code == 204
    after = _call(sandbox, "GET", "/api/v1/entities/users/jane?include=userGroups").json()
    assert "relationships" not in after["data"]
    assert _call(sandbox, "DELETE", "/api/v1/entities/users/jane").status_code == 204
    assert _call(sandbox, "GET", "/api/v1/entities/users/jane").status_code == 404
    assert [u["id"] for u in sandbox.gooddata.state.users_and_groups()["users"]] == ["admin"]


def test_seed_from_yaml_file(tmp_path: Any) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "users:\n  - id: admin\n    userGroups: [{id: adminGroup, type: userGroup}]\n"
        "userGroups:\n  - id: adminGroup\n"
        "workspaces:\n  - {id: top, name: Top}\n  - {id: child, name: Child, parent: top}\n"
        "dataSources: [warehouse]\n"
        "workspacePermissions:\n  child:\n"
        "    permissions: [{name: VIEW, assignee: {id: admin, type: user}}]\n"
        "    hierarchyPermissions: []\n"
        "dataSourcePermissions:\n  warehouse:\n"
        "    permissions: [{name: USE, assignee: {id: admin, type: user}}]\n"
        "organizationPermissions: [{name: MANAGE, assignee: {id: adminGroup, type: userGroup}}]\n"
    )
    state = GoodDataState(GoodDataSeed.from_file(path))
    snapshot = state.snapshot()
    assert snapshot["workspaces"] == [
        {"id": "child", "name": "Child", "parent": "top"},
        {"id": "top", "name": "Top"},
    ]
    assert snapshot["workspacePermissions"]["child"]["permissions"] == [_grant("VIEW", "admin")]
    assert snapshot["dataSourcePermissions"] == {"warehouse": {"permissions": [_grant("USE", "admin")]}}


def test_token_stops_working_once_its_user_is_deleted(sandbox: Sandbox) -> None:
    assert _call(sandbox, "GET", "/api/v1/profile").json()["userId"] == "admin"
    # The write itself is accepted: it is the token's user that goes, and a deleted user loses its tokens.
    assert _call(sandbox, "PUT", "/api/v1/layout/users", {"users": []}).status_code == 204
    assert not sandbox.gooddata.state.has_user("admin")
    for path in ("/api/v1/profile", "/api/v1/layout/users", "/api/v1/entities/workspaces"):
        response = _call(sandbox, "GET", path)
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == "application/problem+json"
        assert (response.json()["title"], response.json()["status"]) == ("Unauthorized", 401)
    # A token whose user is back (same id) works again: the sandbox has one token, bound to that user id.
    sandbox.gooddata.state.put_users({"users": [_user("admin")]})
    assert _call(sandbox, "GET", "/api/v1/profile").status_code == 200


def test_deleting_the_token_user_entity_also_revokes_the_token(sandbox: Sandbox) -> None:
    assert _call(sandbox, "DELETE", "/api/v1/entities/users/admin").status_code == 204
    assert _call(sandbox, "GET", "/api/v1/entities/users/admin").status_code == 401


def test_seed_without_the_token_user_is_refused() -> None:
    with pytest.raises(ValueError, match="'robot'"):
        GoodDataState(GoodDataSeed.from_layout({"users": [{"id": "admin"}], "tokenUserId": "robot"}))


def test_unknown_properties_are_ignored_not_stored(sandbox: Sandbox) -> None:
    setting = {"id": "tz", "type": "TIMEZONE", "content": {"value": "Europe/Prague", "free": {"form": 1}}}
    doc = {
        "users": [
            _user("admin", bogus={"nested": True}, settings=[{**setting, "junk": 1}]),
            {**_user("jane"), "userGroups": [{"id": "adminGroup", "type": "userGroup", "extra": "x"}]},
        ],
        "alsoBogus": [1, 2],
    }
    assert _call(sandbox, "PUT", "/api/v1/layout/users", doc).status_code == 204
    users = _call(sandbox, "GET", "/api/v1/layout/users").json()["users"]
    assert users == [
        {
            "id": "admin",
            "permissions": [],
            "settings": [setting],  # a setting's content is a free-form object: kept whole
            "userGroups": [{"id": "adminGroup", "type": "userGroup"}],
        },
        {
            "id": "jane",
            "permissions": [],
            "settings": [],
            "userGroups": [{"id": "adminGroup", "type": "userGroup"}],
        },
    ]
    # Accepted, not rejected: the schemas do not forbid additional properties.
    grants = [{**_grant("MANAGE", "adminGroup", "userGroup"), "why": "audit"}]
    grants[0]["assignee"]["name"] = "Admins"
    assert _call(sandbox, "PUT", "/api/v1/layout/organization/permissions", grants).status_code == 204
    stored = _call(sandbox, "GET", "/api/v1/layout/organization/permissions").json()
    assert stored == [_grant("MANAGE", "adminGroup", "userGroup")]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
    ids=["text", "form", "xml", "missing"],
)
def test_body_with_a_non_json_content_type_gets_415_and_nothing_stored(
    sandbox: Sandbox, content_type: str | None
) -> None:
    before = sandbox.gooddata.state.snapshot()
    headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    # requests sends no Content-Type for raw bytes unless told, which is the "missing" case.
    response = requests.put(
        sandbox.gooddata.url + "/api/v1/layout/organization/permissions",
        data=b"[]",
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) == {"title", "status", "detail", "traceId"}
    assert (problem["title"], problem["status"]) == ("Unsupported Media Type", 415)
    assert f"'{content_type or 'application/octet-stream'}'" in problem["detail"]
    assert problem["traceId"] == response.headers["X-GDC-TRACE-ID"]
    assert sandbox.gooddata.state.snapshot() == before
    assert sandbox.gooddata.counters.writes() == 0


def test_json_content_types_with_parameters_or_suffix_are_accepted(sandbox: Sandbox) -> None:
    url = sandbox.gooddata.url + "/api/v1/layout/organization/permissions"
    for content_type in ("application/json; charset=utf-8", "application/vnd.gooddata.api+json"):
        headers = {"Authorization": f"Bearer {sandbox.gooddata.token}", "Content-Type": content_type}
        assert requests.put(url, data=b"[]", headers=headers, timeout=5).status_code == 204, content_type
    assert sandbox.gooddata.state.organization_permissions() == []
