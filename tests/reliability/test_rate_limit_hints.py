"""Both adapters wait as long as a 429 answer tells them to (``Retry-After``), not their own backoff.

The policy's own backoff is a millisecond here; the sandbox's 429 answers ask for a second. A run
that absorbs one 429 therefore takes at least about a second only if the hint was honoured.
"""

from __future__ import annotations

import time

import pytest

from reconciler.gooddata import GoodDataClient, GoodDataSettings
from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.sandbox import Sandbox
from reconciler.transport import RetryPolicy

TINY_BACKOFF = RetryPolicy(attempts=3, base_delay=0.001, max_delay=10.0, timeout=5.0)
HINTED_WAIT = 0.8  # the sandbox asks for 1 s (Retry-After: 1, x-ratelimit-reset: the next second)


@pytest.mark.parametrize("path", [r"^/oauth/token$", r"^/api/v2/roles$", r"^/api/v2/users$"])
def test_auth0_adapter_honours_retry_after(sandbox: Sandbox, path: str) -> None:
    sandbox.auth0.counters.reset()
    sandbox.auth0.faults.add_script("*", path, "429", times=1)
    started = time.perf_counter()
    snapshot = Auth0Provider(Auth0Settings.from_env(sandbox.env()), policy=TINY_BACKOFF).fetch()
    elapsed = time.perf_counter() - started
    assert sandbox.auth0.counters.faults_injected() == 1
    assert len(snapshot.users) == snapshot.reported_total == 60
    assert elapsed >= HINTED_WAIT, f"a 429 was retried after {elapsed:.3f} s, not after its Retry-After"


@pytest.mark.parametrize("path", [r"^/api/v1/profile$", r"^/api/v1/layout/usersAndUserGroups$"])
def test_gooddata_adapter_honours_retry_after(sandbox: Sandbox, path: str) -> None:
    sandbox.gooddata.counters.reset()
    sandbox.gooddata.faults.add_script("GET", path, "429", times=1)
    client = GoodDataClient(GoodDataSettings.from_env(sandbox.env()), policy=TINY_BACKOFF)
    started = time.perf_counter()
    live = client.read(workspace_ids=["demo"], data_source_ids=[], organization_permissions=True)
    elapsed = time.perf_counter() - started
    assert sandbox.gooddata.counters.faults_injected() == 1
    assert live.token_user_id == "admin" and live.users_and_groups["users"]
    assert elapsed >= HINTED_WAIT, f"a 429 was retried after {elapsed:.3f} s, not after its Retry-After"
