"""The Auth0 sandbox through auth0-python over HTTP."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.errors import BadRequestError, NotFoundError, UnauthorizedError

from reconciler.sandbox import Auth0Seed, Sandbox


def _management(sandbox: Sandbox) -> Auth0:
    host = sandbox.auth0.url.split("://", 1)[1]
    token = GetToken(
        host, sandbox.auth0.client_id, client_secret=sandbox.auth0.client_secret, protocol="http"
    ).client_credentials(f"{sandbox.auth0.url}/api/v2/")
    return Auth0(base_url=sandbox.auth0.url + "/api/v2", token=token["access_token"], max_retries=0)


AUTH0_REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "auth0.md"


@pytest.fixture
def big_tenant() -> Iterator[Sandbox]:
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=1500, roles=4, seed=7)) as running:
        yield running


@pytest.fixture
def one_role_tenant() -> Iterator[Sandbox]:
    """1,500 users who all hold the one role the tenant has."""
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=1500, roles=1, seed=11)) as running:
        yield running


@pytest.fixture
def export_tenant() -> Iterator[Sandbox]:
    """2,500 users: well past the 1,000 records offset paging can reach."""
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=2500, roles=5, seed=5)) as running:
        yield running


def _reference_paging_cap_body() -> dict[str, object]:
    """The 1000-record cap error body as the Auth0 reference notes give it."""
    text = AUTH0_REFERENCE.read_text("utf-8")
    match = re.search(r"`(\{\"statusCode\":400[^`]*\"invalid_paging\"\})`", text)
    assert match, "the Auth0 reference no longer shows the invalid_paging body"
    body: dict[str, object] = json.loads(match.group(1))
    return body


def test_token_for_both_audiences_and_listing_the_sample(sandbox: Sandbox) -> None:
    host = sandbox.auth0.url.split("://", 1)[1]
    helper = GetToken(
        host, sandbox.auth0.client_id, client_secret=sandbox.auth0.client_secret, protocol="http"
    )
    tenant_token = helper.client_credentials(f"https://{sandbox.auth0.state.tenant}/api/v2/")
    assert tenant_token["token_type"] == "Bearer"
    management = _management(sandbox)
    page = management.users.list(page=0, per_page=100, include_totals=True)
    users = list(page)
    assert len(users) == len(Auth0Seed.default().users) == 60
    assert users[0].user_id == Auth0Seed.default().users[0]["user_id"]


def test_wrong_secret_gives_401_with_auth0_body(sandbox: Sandbox) -> None:
    host = sandbox.auth0.url.split("://", 1)[1]
    helper = GetToken(host, sandbox.auth0.client_id, client_secret="wrong", protocol="http")
    with pytest.raises(Auth0Error) as raised:
        helper.client_credentials(f"{sandbox.auth0.url}/api/v2/")
    assert raised.value.status_code == 401
    assert raised.value.error_code == "access_denied"


def test_missing_or_invalid_bearer_gives_401(sandbox: Sandbox) -> None:
    missing = requests.get(sandbox.auth0.url + "/api/v2/users", timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"}
    invalid = Auth0(base_url=sandbox.auth0.url + "/api/v2", token="forged", max_retries=0)
    with pytest.raises(UnauthorizedError):
        invalid.roles.list(include_totals=True)


def test_fields_and_totals_shape(sandbox: Sandbox) -> None:
    management = _management(sandbox)
    response = management.users.list(page=1, per_page=25, include_totals=True, fields="user_id,email")
    body = response.response
    assert (body.start, body.limit, body.length, body.total) == (25, 25, 25, 60)
    assert set(body.users[0].model_dump(exclude_none=True)) == {"user_id", "email"}


def test_roles_members_by_checkpoint_and_user_roles(sandbox: Sandbox) -> None:
    management = _management(sandbox)
    roles = list(management.roles.list(include_totals=True))
    sample = Auth0Seed.default()
    assert [r.name for r in roles] == [r["name"] for r in sample.roles]
    for role in roles:
        members = [m.user_id for m in management.roles.users.list(role.id, take=7)]
        assert members == sample.role_members[role.id]
    biggest = max(sample.role_members, key=lambda r: len(sample.role_members[r]))
    calls = sandbox.auth0.counters.count("GET", f"/api/v2/roles/{biggest}/users")
    assert calls == -(-len(sample.role_members[biggest]) // 7)
    subject = sample.role_members[biggest][0]
    assert biggest in [r.id for r in management.users.roles.list(subject)]
    with pytest.raises(NotFoundError) as raised:
        management.users.get("auth0|nobody")
    assert raised.value.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }


def test_paging_cap_at_1000_records(big_tenant: Sandbox) -> None:
    management = _management(big_tenant)
    last_allowed = management.users.list(page=9, per_page=100, include_totals=True).response
    assert (last_allowed.start, last_allowed.length, last_allowed.total) == (900, 100, 1500)
    with pytest.raises(BadRequestError) as raised:
        management.users.list(page=10, per_page=100, include_totals=True)
    assert raised.value.status_code == 400
    assert raised.value.body == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": (
            "You can only page through the first 1000 records. "
            "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
        ),
        "errorCode": "invalid_paging",
    }
    # The reference notes elide the message after its first sentence ("... records. ..."); all else is exact.
    reference = _reference_paging_cap_body()
    assert set(raised.value.body) == set(reference)
    assert {k: v for k, v in raised.value.body.items() if k != "message"} == {
        k: v for k, v in reference.items() if k != "message"
    }
    reference_message = str(reference["message"])
    assert reference_message.endswith(" ...")
    assert raised.value.body["message"].startswith(reference_message.removesuffix("..."))
    with pytest.raises(BadRequestError):
        management.users.list(page=0, per_page=101, include_totals=True)


def test_role_members_have_no_cap(big_tenant: Sandbox) -> None:
    management = _management(big_tenant)
    total = 0
    for role in management.roles.list(include_totals=True):
        total += sum(1 for _ in management.roles.users.list(role.id, take=100))
    expected = sum(len(big_tenant.auth0.state.roles_of(u["user_id"])) for u in big_tenant.auth0.state.users())
    assert total == expected > 1500


def test_one_role_with_1500_members_read_by_checkpoint(one_role_tenant: Sandbox) -> None:
    state = one_role_tenant.auth0.state
    [role] = state.roles()
    assert state.role_member_count(role["id"]) == 1500  # every generated user holds the only role
    management = _management(one_role_tenant)
    members: list[str] = []
    checkpoint: str | None = None
    while True:
        page = management.roles.users.list(role["id"], take=100, from_=checkpoint)
        members += [member.user_id for member in page.items or [] if member.user_id]
        checkpoint = page.response.next
        if not checkpoint:
            break
    assert len(members) == len(set(members)) == 1500
    assert set(members) == {u["user_id"] for u in state.users()}
    path = f"/api/v2/roles/{role['id']}/users"
    assert one_role_tenant.auth0.counters.count("GET", path) == 15


def test_users_export_job_reads_2500_users(export_tenant: Sandbox) -> None:
    management = _management(export_tenant)
    job = management.jobs.users_exports.create(
        format="json", fields=[{"name": "user_id"}, {"name": "email", "export_as": "mail"}]
    )
    assert job.status == "pending"
    assert management.jobs.get(job.id).status == "pending"
    done = management.jobs.get(job.id)
    assert done.status == "completed" and done.location is not None
    download = requests.get(done.location, timeout=5)
    assert download.headers["Content-Type"] == "application/gzip"
    records = [json.loads(line) for line in gzip.decompress(download.content).decode().splitlines()]
    users = export_tenant.auth0.state.users()
    assert len(records) == len(users) == 2500
    assert all(set(record) == {"user_id", "mail"} for record in records)
    assert [(r["user_id"], r["mail"]) for r in records] == [(u["user_id"], u["email"]) for u in users]


def test_a_429_is_absorbed_by_the_sdk_retry_at_its_defaults(sandbox: Sandbox) -> None:
    host = sandbox.auth0.url.split("://", 1)[1]
    token = GetToken(
        host, sandbox.auth0.client_id, client_secret=sandbox.auth0.client_secret, protocol="http"
    ).client_credentials(f"{sandbox.auth0.url}/api/v2/")["access_token"]
    management = Auth0(base_url=sandbox.auth0.url + "/api/v2", token=token)  # default max_retries
    sandbox.auth0.counters.reset()
    sandbox.auth0.faults.add_script("GET", r"^/api/v2/roles$", "429")
    # One page (the pager's own next-page request would add a third answer): the 429, then its retry.
    roles = management.roles.list(include_totals=True, per_page=50).items or []
    assert [r.name for r in roles] == [r["name"] for r in Auth0Seed.default().roles]
    counters = sandbox.auth0.counters
    assert counters.faults_injected() == 1
    assert counters.by_endpoint()["GET /api/v2/roles"] == 2
    [throttled] = counters.answers(status=429)
    assert throttled.path == "/api/v2/roles"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert int(throttled.headers["x-ratelimit-reset"]) > 1_600_000_000
    assert throttled.headers["x-ratelimit-remaining"] == "0"
    assert [a.status for a in counters.answers()] == [429, 200]


def test_rate_limit_headers_on_every_answer(sandbox: Sandbox) -> None:
    for response in (
        requests.get(sandbox.auth0.url + "/api/v2/users", timeout=5),
        requests.get(sandbox.auth0.url + "/nowhere", timeout=5),
        requests.post(
            sandbox.auth0.url + "/oauth/token", data={"grant_type": "client_credentials"}, timeout=5
        ),
    ):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= {
            k for k, _ in response.headers.lower_items()
        }
        assert int(response.headers["x-ratelimit-reset"]) > 1_600_000_000


def test_state_mutation_is_visible(sandbox: Sandbox) -> None:
    state = sandbox.auth0.state
    role_id = state.add_role("Auditor")
    state.add_user({"user_id": "auth0|new", "email": "new@example.com"}, roles=["Auditor", "Admin"])
    management = _management(sandbox)
    assert sorted(r.name for r in management.users.roles.list("auth0|new")) == ["Admin", "Auditor"]
    assert [m.user_id for m in management.roles.users.list(role_id, take=10)] == ["auth0|new"]
    state.set_blocked("auth0|new")
    assert management.users.get("auth0|new").blocked is True
    state.set_roles("auth0|new", ["Analyst"])
    assert state.roles_of("auth0|new") == ["Analyst"]
    state.remove_user("auth0|new")
    assert list(management.roles.users.list(role_id, take=10)) == []


def test_generated_seed_is_deterministic() -> None:
    first = Auth0Seed.generate(users=50, roles=7, seed=3, blocked_every=10)
    again = Auth0Seed.generate(users=50, roles=7, seed=3, blocked_every=10)
    assert first == again
    assert [r["name"] for r in first.roles] == [
        "Admin",
        "Analyst",
        "User",
        "Viewer",
        "Editor",
        "Role 6",
        "Role 7",
    ]
    assert sum(1 for u in first.users if u.get("blocked")) == 5
    prefixes = {u["user_id"].split("|")[0] for u in first.users}
    assert {"auth0", "google-oauth2", "waad", "samlp", "email"} <= prefixes
    held = {u["user_id"]: 0 for u in first.users}
    for members in first.role_members.values():
        for subject in members:
            held[subject] += 1
    assert set(held.values()) <= {1, 2} and 1 in held.values()


def test_people_join_change_and_leave_through_auth0_python() -> None:
    """What a person trying the tool does between two plans: the Management API's own write calls."""
    with Sandbox.start() as sandbox:
        client = _management(sandbox)
        users = sandbox.auth0.state.users()
        leaving, blocked, moving = (u["user_id"] for u in users[:3])
        roles = {r.name: r.id for r in client.roles.list(per_page=50).response.roles or []}
        client.users.delete(leaving)
        updated = client.users.update(blocked, blocked=True, given_name="Renamed")
        client.users.roles.assign(moving, roles=[roles["Finance Viewer"]])
        client.users.roles.delete(moving, roles=[r for n, r in roles.items() if n != "Finance Viewer"])
        assert updated.blocked is True and updated.given_name == "Renamed"
        assert sandbox.auth0.state.user(leaving) is None
        assert sandbox.auth0.state.user(blocked)["blocked"] is True  # type: ignore[index]
        assert sandbox.auth0.state.roles_of(moving) == ["Finance Viewer"]
        with pytest.raises(ApiError) as deleted_twice:
            client.users.delete(leaving)
        assert deleted_twice.value.status_code == 404
        with pytest.raises(ApiError) as unknown_role:
            client.users.roles.assign(moving, roles=["rol_nope"])
        assert unknown_role.value.status_code == 404
        with pytest.raises(ApiError) as refused:
            client.users.update(moving, password="not through the sandbox")
        assert refused.value.status_code == 400
