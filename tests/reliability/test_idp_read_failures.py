"""An Auth0 read that fails on any endpoint, after every retry, aborts the run: exit 1, nothing written.

Each case first loads GoodData (so a partial read would have people to remove), then makes one
Auth0 endpoint fail on every attempt and runs ``reconcile apply --yes`` through the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sandbox import Auth0Seed, Sandbox

from ..secret_scan import leaks, secrets_of
from .harness import EXAMPLE

# Well over the retry policy's attempts, so that every attempt fails.
ALWAYS = 50


def apply(sandbox: Sandbox, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["apply", "--yes", "--config", str(EXAMPLE), *extra], env=sandbox.env())
    assert "Traceback" not in result.output
    assert not leaks([result.output], secrets_of(sandbox))
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    """250 generated users: three pages of users, role member lists over one checkpoint page."""
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=250, roles=5, seed=7)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def large() -> Iterator[Sandbox]:
    """1,200 generated users: over Auth0's 1,000-record cap, so the export job is used."""
    with Sandbox.start(auth0_seed=Auth0Seed.generate(users=1200, roles=5, seed=7)) as sandbox:
        yield sandbox


def loaded(sandbox: Sandbox) -> Sandbox:
    sandbox.auth0.faults.reset()
    code, stderr = apply(sandbox)
    assert code == 0, stderr
    assert len(sandbox.gooddata.state.users_and_groups()["users"]) > 100
    return sandbox


def analyst_role_id(sandbox: Sandbox) -> str:
    [role] = [r for r in sandbox.auth0.state.roles() if r["name"] == "Analyst"]
    return str(role["id"])


def analyst_role_path(sandbox: Sandbox) -> str:
    return rf"^/api/v2/roles/{re.escape(analyst_role_id(sandbox))}/users$"


CASES = [
    ("small", "POST", r"^/oauth/token$", "503", "POST /oauth/token"),
    ("small", "GET", r"^/api/v2/roles$", "503", "GET /api/v2/roles"),
    ("small", "GET", r"^/api/v2/users$", "500", "GET /api/v2/users"),
    ("small", "GET", r"^/api/v2/users$", "drop", "/api/v2/users"),
    ("small", "GET", r"^/api/v2/users$", "429", "GET /api/v2/users"),
    ("small", "GET", "analyst members", "503", "GET /api/v2/roles/{analyst}/users failed"),
    ("large", "POST", r"^/api/v2/jobs/users-exports$", "503", "POST /api/v2/jobs/users-exports"),
    ("large", "GET", r"^/api/v2/jobs/[^/]+$", "503", "GET /api/v2/jobs/job_"),
    ("large", "GET", r"^/sandbox/exports/", "503", "/sandbox/exports/"),
]


@pytest.mark.parametrize(
    ("tenant", "method", "path", "kind", "named"),
    CASES,
    ids=[f"{c[0]}-{c[1]} {c[2]}-{c[3]}" for c in CASES],
)
def test_an_exhausted_auth0_read_aborts_before_any_write(
    request: pytest.FixtureRequest, tenant: str, method: str, path: str, kind: str, named: str
) -> None:
    sandbox = loaded(request.getfixturevalue(tenant))
    before = sandbox.gooddata.state.snapshot()
    pattern = analyst_role_path(sandbox) if path == "analyst members" else path
    sandbox.gooddata.counters.reset()
    sandbox.auth0.counters.reset()
    sandbox.auth0.faults.add_script(method, pattern, kind, times=ALWAYS)
    try:
        code, stderr = apply(sandbox, "--force")  # --force never lifts a failed read
    finally:
        sandbox.auth0.faults.reset()
    assert code == 1, stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    named = named.replace("{analyst}", analyst_role_id(sandbox))
    assert named in error and f"{method} " in error and "failed" in error, error
    assert sandbox.gooddata.counters.writes() == 0
    assert sandbox.gooddata.state.snapshot() == before
    assert sandbox.auth0.counters.faults_injected() >= 2  # it was retried before giving up


def test_one_failed_attempt_is_retried_and_the_run_converges(small: Sandbox) -> None:
    sandbox = loaded(small)
    sandbox.auth0.counters.reset()
    sandbox.auth0.faults.add_script("GET", analyst_role_path(sandbox), "503", times=1)
    code, stderr = apply(sandbox)
    assert code == 0, stderr
    assert sandbox.auth0.counters.faults_injected() == 1
    assert (
        "No changes."
        in CliRunner().invoke(main, ["plan", "--config", str(EXAMPLE)], env=sandbox.env()).stdout
    )
