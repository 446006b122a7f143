"""The Auth0 adapter against the sandbox Auth0 server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

from reconciler.identity import IdentityProvider
from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.model import IdentityFetchError
from reconciler.sandbox import Auth0Seed, Sandbox
from reconciler.transport import RetryPolicy

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=5.0)
USERS = "GET /api/v2/users"
ROLES = "GET /api/v2/roles"
MEMBERS = "GET /api/v2/roles/{id}/users"
TOKEN = "POST /oauth/token"
EXPORT = "POST /api/v2/jobs/users-exports"


def sample_tenant() -> dict[str, Any]:
    text = resources.files("reconciler.sandbox").joinpath("data/auth0-tenant-sample.json").read_text("utf-8")
    tenant: dict[str, Any] = json.loads(text)
    return tenant


@pytest.fixture()
def sample(sandbox: Sandbox) -> Sandbox:
    sandbox.auth0.faults.reset()
    sandbox.auth0.counters.reset()
    return sandbox


def provider_for(sandbox: Sandbox, policy: RetryPolicy = FAST, **overrides: str) -> Auth0Provider:
    return Auth0Provider(Auth0Settings.from_env({**sandbox.env(), **overrides}), policy=policy)


def run_when(condition: Callable[[], bool], action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` in a thread as soon as ``condition`` holds; after 10 seconds give up without acting."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + 10.0
        while not condition():
            if time.monotonic() > deadline:
                return  # never act late: the test's own assertions then say what did not happen
            time.sleep(0.005)
        action()

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def test_sample_tenant_is_read_completely_within_the_request_budget(sample: Sandbox) -> None:
    tenant = sample_tenant()
    provider: IdentityProvider = provider_for(sample)  # statically checked against the Protocol

    snapshot = provider.fetch()

    role_names = {role["id"]: role["name"] for role in tenant["roles"]}
    expected_roles: dict[str, set[str]] = {user["user_id"]: set() for user in tenant["users"]}
    for role_id, members in tenant["role_members"].items():
        for subject in members:
            expected_roles[subject].add(role_names[role_id])
    assert snapshot.provider == "auth0"
    assert snapshot.reported_total == 60
    assert len(snapshot.users) == 60
    assert snapshot.role_names == frozenset(role_names.values())
    by_subject = {user.subject: user for user in snapshot.users}
    assert set(by_subject) == set(expected_roles)
    for source in tenant["users"]:
        user = by_subject[source["user_id"]]
        assert user.roles == frozenset(expected_roles[source["user_id"]])
        assert user.blocked is bool(source.get("blocked", False))
        assert user.email == source.get("email")
        assert user.given_name == source.get("given_name")
        assert user.family_name == source.get("family_name")
    assert sum(user.blocked for user in snapshot.users) == sum(
        bool(u.get("blocked")) for u in tenant["users"]
    )

    # token 1 + roles 1 + users 1 + one member page per role (5): 8 requests, as the sandbox saw them.
    counts = sample.auth0.counters.by_endpoint()
    assert counts == {TOKEN: 1, ROLES: 1, USERS: 1, MEMBERS: 5}
    assert snapshot.requests == sample.auth0.counters.count() == 8
    assert snapshot.requests <= len(role_names) + len(snapshot.users) // 100 + 3


def test_small_pages_are_followed_to_the_end(sample: Sandbox) -> None:
    provider = Auth0Provider(Auth0Settings.from_env(sample.env()), policy=FAST, page_size=7)
    snapshot = provider.fetch()
    assert len(snapshot.users) == 60
    assert sample.auth0.counters.by_endpoint()[USERS] == 9  # ceil(60 / 7)


def test_state_changes_are_seen_by_the_next_read(sample: Sandbox) -> None:
    subject = "auth0|added-for-test"
    sample.auth0.state.add_user(
        {"user_id": subject, "email": "new.person@example.com", "given_name": "New"}, roles=["Analyst"]
    )
    try:
        snapshot = provider_for(sample).fetch()
        added = next(user for user in snapshot.users if user.subject == subject)
        assert added.roles == frozenset({"Analyst"})
        assert added.family_name is None
        assert added.blocked is False
        assert snapshot.reported_total == 61

        sample.auth0.state.set_blocked(subject)
        sample.auth0.state.set_roles(subject, ["Admin", "User"])
        changed = next(user for user in provider_for(sample).fetch().users if user.subject == subject)
        assert changed.blocked is True
        assert changed.roles == frozenset({"Admin", "User"})
    finally:
        sample.auth0.state.remove_user(subject)


@pytest.mark.parametrize("kind", ["503", "429", "500", "drop"])
def test_transient_faults_on_reads_are_retried(sample: Sandbox, kind: str) -> None:
    expected = provider_for(sample).fetch()
    sample.auth0.counters.reset()
    sample.auth0.faults.add_script("GET", r"^/api/v2/users$", kind, times=2)
    sample.auth0.faults.add_script("GET", r"^/api/v2/roles/[^/]+/users$", kind, times=1)

    snapshot = provider_for(sample).fetch()

    assert snapshot.users == expected.users
    assert snapshot.requests == 8 + 3
    assert sample.auth0.counters.faults_injected() == 3


def test_token_request_is_retried_on_503(sample: Sandbox) -> None:
    sample.auth0.faults.add_script("POST", r"^/oauth/token$", "503", times=2)
    snapshot = provider_for(sample).fetch()
    assert len(snapshot.users) == 60
    assert sample.auth0.counters.by_endpoint()[TOKEN] == 3
    assert snapshot.requests == 10


def test_faults_beyond_the_retry_budget_give_a_clean_error(sample: Sandbox) -> None:
    sample.auth0.faults.add_script("GET", r"^/api/v2/users$", "503", times=10)
    with pytest.raises(IdentityFetchError) as caught:
        provider_for(sample, RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)).fetch()
    message = str(caught.value)
    assert message.startswith("GET /api/v2/users failed: 503")
    assert "\n" not in message
    assert sample.env()["AUTH0_CLIENT_SECRET"] not in message
    assert "Bearer" not in message
    assert sample.auth0.counters.by_endpoint()[USERS] == 3


def test_wrong_secret_is_a_clean_error_and_not_retried(sample: Sandbox) -> None:
    wrong = "definitely-wrong-secret-value"
    with pytest.raises(IdentityFetchError) as caught:
        provider_for(sample, AUTH0_CLIENT_SECRET=wrong).fetch()
    message = str(caught.value)
    assert message.startswith("POST /oauth/token failed: 401")
    assert message.endswith("; check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_SECRET)")
    assert wrong not in message
    assert sample.env()["AUTH0_CLIENT_SECRET"] not in message
    assert caught.value.__cause__ is None
    assert sample.auth0.counters.by_endpoint() == {TOKEN: 1}


def test_a_stalled_server_hits_the_timeout(sample: Sandbox) -> None:
    sample.auth0.faults.add_script("GET", r"^/api/v2/roles$", "stall", times=1)
    policy = RetryPolicy(attempts=1, timeout=0.3)
    try:
        with pytest.raises(IdentityFetchError) as caught:
            provider_for(sample, policy).fetch()
    finally:
        sample.auth0.faults.release_stalls()
    base_url = Auth0Settings.from_env(sample.env()).base_url
    assert str(caught.value) == f"GET {base_url}/api/v2/roles failed: timed out waiting for the reply (0.3 s)"


def test_a_role_member_missing_from_the_users_means_the_tenant_changed(sample: Sandbox) -> None:
    subject = "auth0|joined-during-the-read"
    sample.auth0.faults.add_script("GET", r"^/api/v2/roles/[^/]+/users$", "stall", times=1)
    roles = ["Admin", "Analyst", "Contractor", "Finance Viewer", "User"]

    def join() -> None:
        sample.auth0.state.add_user({"user_id": subject, "email": "late@example.com"}, roles=roles)
        sample.auth0.faults.release_stalls()

    thread = run_when(lambda: sample.auth0.counters.by_endpoint().get(MEMBERS, 0) >= 1, join)
    try:
        with pytest.raises(IdentityFetchError) as caught:
            provider_for(sample).fetch()
    finally:
        thread.join(timeout=10)
        sample.auth0.state.remove_user(subject)
    assert "re-run" in str(caught.value)
    assert "not among the users" in str(caught.value)


def test_export_job_reads_more_than_a_thousand_users() -> None:
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=1500, roles=5, seed=1)) as big:
        snapshot = provider_for(big).fetch()
        counts = big.auth0.counters.by_endpoint()
        state_users = big.auth0.state.users()
        expected_roles = {
            user["user_id"]: set(big.auth0.state.roles_of(user["user_id"])) for user in state_users
        }
    assert snapshot.reported_total == 1500
    assert len(snapshot.users) == 1500
    assert len({user.subject for user in snapshot.users}) == 1500
    assert counts[EXPORT] == 1
    assert counts[USERS] == 1  # only the first page, for the total
    assert all(user.roles == frozenset(expected_roles[user.subject]) for user in snapshot.users)
    assert any(user.roles for user in snapshot.users)
    # One member request per role per 100 members, never one per user.
    assert counts[MEMBERS] <= 5 + sum(len(roles) for roles in expected_roles.values()) // 100
    assert snapshot.requests == sum(counts.values())


def test_export_count_must_match_the_total() -> None:
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=1100, roles=2, seed=2)) as big:
        leaving = big.auth0.state.users()[0]["user_id"]
        big.auth0.faults.add_script("POST", r"^/api/v2/jobs/users-exports$", "stall", times=1)

        def leave() -> None:
            big.auth0.state.remove_user(leaving)
            big.auth0.faults.release_stalls()

        thread = run_when(lambda: big.auth0.counters.by_endpoint().get(EXPORT, 0) >= 1, leave)
        try:
            with pytest.raises(IdentityFetchError) as caught:
                provider_for(big).fetch()
        finally:
            thread.join(timeout=10)
    assert "reported 1100 users but 1099 were read" in str(caught.value)
    assert "re-run" in str(caught.value)
