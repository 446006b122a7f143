"""Replays of recordings made against a real GoodData server, compared with the sandbox's answers.

The sandbox is seeded with the organization the recordings' first GET answers show; each recorded request
is sent in order, and the status (and for JSON GETs the body, modulo ordering, link hosts and trace ids)
must match.
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
    "users/list_users.yaml",
    "users/list_user_groups.yaml",
    "users/get_user.yaml",
    "users/get_user_group.yaml",
    "users/create_delete_user.yaml",
    "users/create_delete_user_group.yaml",
    "users/update_user.yaml",
    "users/update_user_group.yaml",
    "permissions/get_declarative_permissions.yaml",
    "permissions/put_declarative_permissions.yaml",
    "permissions/put_declarative_organization_permissions.yaml",
    "organization/organization.yaml",
    "workspaces/demo_workspace_list.yaml",
    "workspaces/demo_get_workspace.yaml",
]


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


def test_every_replayed_cassette_avoids_action_endpoints() -> None:
    for name in REPLAYED:
        assert all("/api/v1/actions/" not in i["request"]["uri"] for i in _interactions(name)), name


@pytest.mark.parametrize("name", REPLAYED)
def test_cassette_replay_matches_the_real_server(name: str) -> None:
    with Sandbox.start(gooddata_seed=recorded_seed()) as running:
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
            recorded_body = recorded["body"]["string"]
            if request["method"] == "GET" and isinstance(recorded_body, (dict, list)):
                assert canonical(response.json(), base) == canonical(recorded_body, base), where
            if recorded["status"]["code"] == 302:
                assert response.headers["Location"] == recorded["headers"]["Location"][0], where
