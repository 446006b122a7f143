"""Fault injection and counters of the sandbox servers."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from gooddata_api_client.exceptions import ServiceException
from gooddata_sdk import GoodDataSdk

from reconciler.sandbox import FaultConfig, Sandbox


def _get(sandbox: Sandbox, path: str = "/api/v1/layout/organization/permissions") -> requests.Response:
    return requests.get(
        sandbox.gooddata.url + path, headers={"Authorization": f"Bearer {sandbox.gooddata.token}"}, timeout=5
    )


def test_latency_is_applied(sandbox: Sandbox) -> None:
    # A lower bound only: the sleep must have happened, however fast the machine.
    sandbox.gooddata.faults.configure(FaultConfig(latency_ms=120))
    started = time.perf_counter()
    assert _get(sandbox).status_code == 200
    assert time.perf_counter() - started >= 0.12


def test_rate_budget_answers_429_with_retry_headers(sandbox: Sandbox) -> None:
    sandbox.gooddata.faults.configure(FaultConfig(requests_per_second=2))
    statuses = []
    throttled = None
    for _ in range(6):
        response = _get(sandbox)
        statuses.append(response.status_code)
        if response.status_code == 429:
            throttled = response
    assert 429 in statuses and statuses[0] == 200
    assert throttled is not None
    assert int(throttled.headers["Retry-After"]) >= 1
    assert int(throttled.headers["x-ratelimit-reset"]) >= int(time.time())
    assert throttled.json()["status"] == 429


def test_scripted_503_then_success(sandbox: Sandbox, sdk: GoodDataSdk) -> None:
    sandbox.gooddata.faults.add_script("GET", r"/layout/usersAndUserGroups$", "503", times=1)
    with pytest.raises(ServiceException):
        sdk.catalog_user.get_declarative_users_user_groups()
    assert [u.id for u in sdk.catalog_user.get_declarative_users_user_groups().users] == ["admin"]
    assert sandbox.gooddata.counters.faults_injected() == 1
    assert sandbox.gooddata.counters.by_endpoint()["GET /api/v1/layout/usersAndUserGroups"] == 2


def test_drop_closes_the_connection(sandbox: Sandbox) -> None:
    sandbox.gooddata.faults.add_script("*", r"permissions", "drop")
    with pytest.raises(requests.ConnectionError):
        _get(sandbox)
    assert _get(sandbox).status_code == 200


def test_stall_holds_the_answer_until_released(sandbox: Sandbox) -> None:
    sandbox.gooddata.faults.add_script("GET", r"permissions", "stall")
    with pytest.raises(requests.Timeout):
        requests.get(
            sandbox.gooddata.url + "/api/v1/layout/organization/permissions",
            headers={"Authorization": f"Bearer {sandbox.gooddata.token}"},
            timeout=0.3,
        )
    sandbox.gooddata.faults.reset()
    assert _get(sandbox).status_code == 200


def test_random_faults_reproducible_with_a_seed() -> None:
    def run() -> list[int]:
        config = FaultConfig(error_rate=0.5, error_kinds=("500", "503"), seed=42)
        with Sandbox.start(gooddata_faults=config) as running:
            return [_get(running).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {500, 503, 200} <= set(first)


def test_fault_config_given_at_start_applies_to_auth0(sandbox: Sandbox) -> None:
    with Sandbox.start(auth0_faults=FaultConfig(script=[("POST", "/oauth/token", "500", 1)])) as running:
        first = requests.post(running.auth0.url + "/oauth/token", data={}, timeout=5)
        second = requests.post(running.auth0.url + "/oauth/token", data={}, timeout=5)
        assert (first.status_code, second.status_code) == (500, 403)
        assert "x-ratelimit-reset" in first.headers


def test_counters_by_endpoint_and_writes(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
    base = sandbox.gooddata.url
    requests.get(base + "/api/v1/layout/workspaces/demo/permissions", headers=headers, timeout=5)
    empty: dict[str, list[str]] = {"permissions": [], "hierarchyPermissions": []}
    requests.put(
        base + "/api/v1/layout/workspaces/demo_west/permissions", json=empty, headers=headers, timeout=5
    )
    requests.put(base + "/api/v1/layout/workspaces/nope/permissions", json=empty, headers=headers, timeout=5)
    counters = sandbox.gooddata.counters
    assert counters.by_endpoint() == {
        "GET /api/v1/layout/workspaces/{id}/permissions": 1,
        "PUT /api/v1/layout/workspaces/{id}/permissions": 2,
    }
    assert counters.writes() == 1
    assert counters.count("PUT") == 2
    assert counters.count(path_prefix="/api/v1/layout/workspaces/demo") == 2
    counters.reset()
    assert (counters.count(), counters.writes(), counters.by_endpoint()) == (0, 0, {})


def test_fault_config_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultConfig(error_kinds=("418",))


def _put_demo_west(sandbox: Sandbox, grants: list[dict[str, Any]]) -> requests.Response:
    return requests.put(
        sandbox.gooddata.url + "/api/v1/layout/workspaces/demo_west/permissions",
        json={"permissions": grants, "hierarchyPermissions": []},
        headers={"Authorization": f"Bearer {sandbox.gooddata.token}"},
        timeout=5,
    )


VIEW_BY_ADMIN = [{"name": "VIEW", "assignee": {"id": "admin", "type": "user"}}]


def test_reply_lost_applies_the_write_then_drops_the_connection(sandbox: Sandbox) -> None:
    assert sandbox.gooddata.state.workspace_permissions("demo_west")["permissions"] == []
    sandbox.gooddata.faults.add_script("PUT", r"/demo_west/permissions$", "reply_lost")
    with pytest.raises(requests.ConnectionError):
        _put_demo_west(sandbox, VIEW_BY_ADMIN)
    assert sandbox.gooddata.state.workspace_permissions("demo_west")["permissions"] == VIEW_BY_ADMIN
    assert sandbox.gooddata.counters.faults_injected() == 1
    assert sandbox.gooddata.counters.writes() == 1
    assert sandbox.gooddata.counters.answers() == []  # nothing was sent back
    # Used up after one request: the next one is answered.
    assert _put_demo_west(sandbox, []).status_code == 204


def test_lost_acknowledges_the_write_without_storing_it(sandbox: Sandbox) -> None:
    sandbox.gooddata.faults.add_script("PUT", r"/demo_west/permissions$", "lost")
    response = _put_demo_west(sandbox, VIEW_BY_ADMIN)
    assert (response.status_code, response.content) == (204, b"")
    assert sandbox.gooddata.state.workspace_permissions("demo_west")["permissions"] == []
    assert (sandbox.gooddata.counters.faults_injected(), sandbox.gooddata.counters.writes()) == (1, 0)


def test_reply_lost_on_an_unknown_path_drops_without_acting(sandbox: Sandbox) -> None:
    before = sandbox.gooddata.state.snapshot()
    sandbox.gooddata.faults.add_script("PUT", r"/nope/", "reply_lost")
    with pytest.raises(requests.ConnectionError):
        requests.put(
            sandbox.gooddata.url + "/api/v1/layout/workspaces/nope/permissions",
            json={"permissions": [], "hierarchyPermissions": []},
            headers={"Authorization": f"Bearer {sandbox.gooddata.token}"},
            timeout=5,
        )
    assert sandbox.gooddata.state.snapshot() == before
    assert sandbox.gooddata.counters.writes() == 0


def test_write_faults_are_only_scripted() -> None:
    assert "reply_lost" not in FaultConfig().error_kinds
    assert "lost" not in FaultConfig().error_kinds
    FaultConfig(error_kinds=("reply_lost",))  # accepted when asked for explicitly


def test_answer_log_keeps_status_and_headers(sandbox: Sandbox) -> None:
    sandbox.gooddata.faults.add_script("GET", r"permissions$", "503")
    assert _get(sandbox).status_code == 503
    assert _get(sandbox).status_code == 200
    answers = sandbox.gooddata.counters.answers()
    assert [(a.method, a.path, a.status) for a in answers] == [
        ("GET", "/api/v1/layout/organization/permissions", 503),
        ("GET", "/api/v1/layout/organization/permissions", 200),
    ]
    assert answers[0].headers["Content-Type"] == "application/problem+json"
    assert [a.status for a in sandbox.gooddata.counters.answers(status=503)] == [503]
    sandbox.gooddata.counters.reset()
    assert sandbox.gooddata.counters.answers() == []
