"""Replays of recordings made against a real GoodData server, compared with the sandbox's answers.

The sandbox is seeded with the organization the recordings' first GET answers show; each recorded request
is sent in order, and the status, the Content-Type (or its absence), the headers every recorded answer
carries, and every JSON body (modulo ordering, link hosts and trace ids) must match.

``REPLAYED`` names the cassettes that touch the sandbox's endpoints and are replayed; ``LEFT_OUT`` names the
others with the reason. Together they must name every cassette file, so a new recording cannot be ignored
silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.sandbox import GoodDataSeed, Sandbox

CASSETTES = Path(__file__).resolve().parents[1] / "reference" / "gooddata" / "cassettes"
RECORDED_BASE = "http://localhost:3000"
# Attributes of the organization the sandbox does not model.
UNMODELLED_ORGANIZATION_ATTRIBUTES = ("earlyAccess", "earlyAccessValues")

REPLAYED = [
    "users/get_declarative_users_user_groups.yaml",
    "users/get_declarative_users.yaml",
    "users/get_declarative_user_groups.yaml",
    "users/put_declarative_users_user_groups.yaml",
    "users/put_declarative_users.yaml",
    "users/put_declarative_user_groups.yaml",
    "users/load_and_put_declarative_users_user_groups.yaml",
    "users/load_and_put_declarative_users.yaml",
    "users/load_and_put_declarative_user_groups.yaml",
    "users/store_declarative_users_user_groups.yaml",
    "users/store_declarative_users.yaml",
    "users/store_declarative_user_groups.yaml",
    "users/list_users.yaml",
    "users/list_user_groups.yaml",
    "users/get_user.yaml",
    "users/get_user_group.yaml",
    "users/create_delete_user.yaml",
    "users/create_delete_user_group.yaml",
    "users/update_user.yaml",
    "users/update_user_group.yaml",
    "users/test_user_add_user_group.yaml",
    "users/test_user_add_user_groups.yaml",
    "users/test_user_remove_user_groups.yaml",
    "users/test_user_replace_user_groups.yaml",
    "permissions/get_declarative_permissions.yaml",
    "permissions/put_declarative_permissions.yaml",
    "permissions/put_declarative_organization_permissions.yaml",
    "organization/organization.yaml",
    "workspaces/demo_workspace_list.yaml",
    "workspaces/demo_get_workspace.yaml",
    "workspaces/demo_delete_non_existing_workspace.yaml",
    "workspaces/demo_update_workspace_invalid.yaml",
]

# Reads of one principal's direct grants: the recording is the only request, so the sandbox is seeded with
# exactly the grants its answer lists (plus the token's user) rather than with the shared organization.
REPLAYED_WITH_THEIR_OWN_SEED = {
    "users/test_get_user_permissions.yaml": ("user", "demo2"),
    "users/test_get_user_group_permissions.yaml": ("userGroup", "demoGroup"),
}

_ACTIONS = "calls /api/v1/actions/ endpoints that the sandbox does not serve"
LEFT_OUT = {
    "permissions/list_available_assignees.yaml": f"dashboard assignees: {_ACTIONS}",
    "permissions/list_dashboard_permissions.yaml": f"dashboard permissions: {_ACTIONS}",
    "permissions/manage_dashboard_permissions_declarative_workspace.yaml": (
        f"dashboard permissions: {_ACTIONS}; also reads the whole workspace layout (/layout/workspaces/demo)"
    ),
    "permissions/manage_organization_permissions.yaml": (
        "starts with POST /api/v1/actions/organization/managePermissions, whose effect the later layout "
        "GETs depend on; the sandbox does not serve actions endpoints"
    ),
    "users/test_api_tokens.yaml": "API tokens (/entities/users/{id}/apiTokens) are not served by the sandbox",
    "users/test_assign_permissions_bulk.yaml": f"user management permissions: {_ACTIONS}",
    "users/test_revoke_permissions_bulk.yaml": f"user management permissions: {_ACTIONS}",
    "users/test_manage_user_permissions.yaml": f"user management permissions: {_ACTIONS}",
    "users/test_manage_user_group_permissions.yaml": f"user management permissions: {_ACTIONS}",
    "workspaces/demo_get_declarative_user_data_filters.yaml": (
        "user data filters (/layout/workspaces/{id}/userDataFilters) are not served by the sandbox"
    ),
    "workspaces/demo_put_declarative_user_data_filters.yaml": (
        "user data filters and the whole workspaces layout (PUT /layout/workspaces) are not served"
    ),
    "workspaces/user_data_filters_for_user_group.yaml": (
        "user data filter entities and PUT /layout/workspaces are not served by the sandbox"
    ),
}
# Headers every recorded answer carries with a fixed value; the sandbox must send them alike.
RECORDED_FIXED_HEADERS = ("X-Content-Type-Options", "Expires", "Pragma")


def _interactions(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((CASSETTES / name).read_text("utf-8"))["interactions"])


def _first_response(name: str, uri_suffix: str) -> Any:
    for interaction in _interactions(name):
        if interaction["request"]["uri"].endswith(uri_suffix):
            return interaction["response"]["body"]["string"]
    raise AssertionError(f"{name} has no request to {uri_suffix}")


def recorded_seed() -> GoodDataSeed:
    """The organization that the recordings' first GET answers show."""
    layout = _first_response("users/get_declarative_users_user_groups.yaml", "/layout/usersAndUserGroups")
    workspaces = _first_response("workspaces/demo_workspace_list.yaml", "page=0&size=500")["data"]
    demo_permissions = _first_response("permissions/get_declarative_permissions.yaml", "/demo/permissions")
    return GoodDataSeed.from_layout(
        {
            "users": layout["users"],
            "userGroups": layout["userGroups"],
            "workspaces": [
                {
                    "id": w["id"],
                    "name": w["attributes"]["name"],
                    "parent": w.get("relationships", {}).get("parent", {}).get("data", {}).get("id"),
                }
                for w in workspaces
            ],
            "workspacePermissions": {"demo": demo_permissions},
            "organizationPermissions": [
                {"name": "MANAGE", "assignee": {"id": "adminGroup", "type": "userGroup"}}
            ],
            "organizationId": "default",
            "organizationName": "Default Organization",
        }
    )


def canonical(value: Any, base: str) -> Any:
    """Lists sorted, recorded host replaced, trace ids and unmodelled organization attributes dropped."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "traceId" or key in UNMODELLED_ORGANIZATION_ATTRIBUTES:
                continue
            result[key] = canonical(item, base)
        return result
    if isinstance(value, list):
        return sorted((canonical(item, base) for item in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str):
        return value.replace(RECORDED_BASE, base).replace("localhost", "127.0.0.1")
    return value


def test_every_cassette_is_replayed_or_left_out_with_a_reason() -> None:
    on_disk = {str(path.relative_to(CASSETTES)) for path in CASSETTES.rglob("*.yaml")}
    assert len(REPLAYED) == len(set(REPLAYED))
    assert not set(REPLAYED) & set(LEFT_OUT)
    assert not set(REPLAYED_WITH_THEIR_OWN_SEED) & (set(REPLAYED) | set(LEFT_OUT))
    assert set(REPLAYED) | set(REPLAYED_WITH_THEIR_OWN_SEED) | set(LEFT_OUT) == on_disk
    assert all(reason.strip() for reason in LEFT_OUT.values())


def test_every_replayed_cassette_avoids_action_endpoints() -> None:
    for name in REPLAYED:
        assert all("/api/v1/actions/" not in i["request"]["uri"] for i in _interactions(name)), name


def _recorded_header(recorded: dict[str, Any], name: str) -> str | None:
    values = recorded["headers"].get(name)
    return None if values is None else str(values[0])


def seed_from_grants(assignee_type: str, assignee_id: str, answer: dict[str, Any]) -> GoodDataSeed:
    """An organization in which ``assignee_id`` holds exactly the grants a recorded answer lists."""
    assignee = {"id": assignee_id, "type": assignee_type}
    users = [{"id": "admin", "userGroups": [{"id": "adminGroup", "type": "userGroup"}]}]
    groups = [{"id": "adminGroup"}]
    (users if assignee_type == "user" else groups).append({"id": assignee_id})
    return GoodDataSeed.from_layout(
        {
            "users": users,
            "userGroups": groups,
            "workspaces": [{"id": w["id"], "name": w["name"]} for w in answer["workspaces"]],
            "dataSources": [d["id"] for d in answer["dataSources"]],
            "workspacePermissions": {
                w["id"]: {
                    "permissions": [{"name": n, "assignee": assignee} for n in w["permissions"]],
                    "hierarchyPermissions": [
                        {"name": n, "assignee": assignee} for n in w["hierarchyPermissions"]
                    ],
                }
                for w in answer["workspaces"]
            },
            "dataSourcePermissions": {
                d["id"]: {"permissions": [{"name": n, "assignee": assignee} for n in d["permissions"]]}
                for d in answer["dataSources"]
            },
        }
    )


def _replay(name: str, seed: GoodDataSeed) -> None:
    with Sandbox.start(gooddata_seed=seed) as running:
        base = running.gooddata.url
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {running.gooddata.token}"
        for index, interaction in enumerate(_interactions(name)):
            request, recorded = interaction["request"], interaction["response"]
            url = request["uri"].replace(RECORDED_BASE, base)
            body = request.get("body")
            response = session.request(
                request["method"],
                url,
                data=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json"} if body is not None else {},
                allow_redirects=False,
                timeout=10,
            )
            where = f"{name} #{index} {request['method']} {request['uri']}"
            assert response.status_code == recorded["status"]["code"], where
            assert response.headers.get("Content-Type") == _recorded_header(recorded, "Content-Type"), where
            for header in RECORDED_FIXED_HEADERS:
                assert response.headers.get(header) == _recorded_header(recorded, header), (where, header)
            assert len(response.headers.get("X-GDC-TRACE-ID", "")) == 32, where
            recorded_body = recorded["body"]["string"]
            if isinstance(recorded_body, (dict, list)):
                assert canonical(response.json(), base) == canonical(recorded_body, base), where
            else:
                assert response.content == recorded_body.encode(), where
            if recorded["status"]["code"] == 302:
                assert response.headers["Location"] == recorded["headers"]["Location"][0], where


@pytest.mark.parametrize("name", REPLAYED)
def test_cassette_replay_matches_the_real_server(name: str) -> None:
    _replay(name, recorded_seed())


@pytest.mark.parametrize("name", sorted(REPLAYED_WITH_THEIR_OWN_SEED))
def test_principal_permissions_replay_matches_the_real_server(name: str) -> None:
    [interaction] = _interactions(name)
    assignee_type, assignee_id = REPLAYED_WITH_THEIR_OWN_SEED[name]
    _replay(name, seed_from_grants(assignee_type, assignee_id, interaction["response"]["body"]["string"]))
