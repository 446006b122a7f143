"""Measure the reconciler on generated organisations: requests, seconds and peak memory per phase.

Runs the production code paths (auth0-python and gooddata-sdk over HTTP) against the sandbox:

    .venv/bin/python scripts/benchmark.py                 # 1,000 and 10,000 users
    .venv/bin/python scripts/benchmark.py --users 50000   # one size

First it measures the sandbox itself: how long ``Sandbox.start()`` takes until both servers answer (the
first start in a process also parses the OpenAPI description), and the median latency of a GET over a
kept-alive connection (a ``requests.Session``) and over a new connection each time. A server without
``TCP_NODELAY`` would show about 40 ms for the kept-alive GET instead of about a millisecond.

For each size it plans and applies a first load (everyone created), then changes 1% of the users in
Auth0 (role changes and departures) and plans and applies again, then plans once more (no changes).
Figures are printed as a table; nothing is asserted. The sandbox servers run in the same process, so
the seconds include their work (schema validation of every PUT body, for one).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from reconciler.desired_state.loader import DEFAULT_CONFIG_PATH, load_desired_state
from reconciler.engine import PlanContext, apply_plan, make_plan
from reconciler.gooddata.client import GoodDataClient, GoodDataSettings
from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.model import DesiredState
from reconciler.sandbox import Auth0Seed, Sandbox

T = TypeVar("T")


@dataclass
class Measure:
    """One phase's figures."""

    phase: str
    seconds: float
    peak_mib: float
    auth0_requests: int
    gooddata_requests: int
    changes: int


# --memory turns tracemalloc on; it slows Python code several times, so the seconds are then inflated.
TRACE_MEMORY = False


def measured(phase: str, sandbox: Sandbox, action: Callable[[], tuple[T, int]]) -> tuple[T, Measure]:
    """Run ``action`` and record its wall time, request counts and (with --memory) Python heap peak."""
    sandbox.auth0.counters.reset()
    sandbox.gooddata.counters.reset()
    if TRACE_MEMORY:
        tracemalloc.start()
    started = time.perf_counter()
    value, changes = action()
    seconds = time.perf_counter() - started
    peak = 0
    if TRACE_MEMORY:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return value, Measure(
        phase,
        seconds,
        peak / 2**20,
        sandbox.auth0.counters.count(),
        sandbox.gooddata.counters.count(),
        changes,
    )


def plan_once(state: DesiredState, sandbox: Sandbox) -> tuple[PlanContext, GoodDataClient]:
    """One plan with fresh adapters (as one CLI run would do)."""
    env = sandbox.env()
    gooddata = GoodDataClient(GoodDataSettings.from_env(env))
    context = make_plan(state, identity=Auth0Provider(Auth0Settings.from_env(env)), gooddata=gooddata)
    return context, gooddata


def churn(sandbox: Sandbox, fraction: float, seed: int) -> int:
    """Change roles of, or remove, ``fraction`` of the Auth0 users."""
    rng = random.Random(seed)
    users = sandbox.auth0.state.users()
    picked = rng.sample(users, max(1, int(len(users) * fraction)))
    for index, user in enumerate(picked):
        if index % 2:
            sandbox.auth0.state.remove_user(user["user_id"])
        else:
            sandbox.auth0.state.set_roles(user["user_id"], ["Analyst", "User"])
    return len(picked)


def run_size(users: int, state: DesiredState) -> list[Measure]:
    """All phases for one organisation size."""
    measures: list[Measure] = []
    seed = Auth0Seed.generate(users=users, roles=5, seed=1)
    with Sandbox.start(auth0_seed=seed) as sandbox:

        def plan_phase() -> tuple[tuple[PlanContext, GoodDataClient], int]:
            context, gooddata = plan_once(state, sandbox)
            return (context, gooddata), context.plan.counts.total

        def apply_phase(context: PlanContext, gooddata: GoodDataClient) -> Callable[[], tuple[None, int]]:
            def run() -> tuple[None, int]:
                report = apply_plan(context.plan, gooddata=gooddata, backup_dir=None)
                if report.error:
                    raise SystemExit(f"apply failed: {report.error}")
                return None, len(report.applied)

            return run

        (context, gooddata), m = measured("plan: first load", sandbox, plan_phase)
        measures.append(m)
        _, m = measured("apply: first load (documents)", sandbox, apply_phase(context, gooddata))
        measures.append(m)
        churned = churn(sandbox, 0.01, seed=users)
        (context, gooddata), m = measured(f"plan: {churned} users changed in Auth0", sandbox, plan_phase)
        if context.plan.failed_guards(force=True):
            raise SystemExit("a non-overridable guard failed")
        measures.append(m)
        _, m = measured("apply: the churn (documents)", sandbox, apply_phase(context, gooddata))
        measures.append(m)
        (context, _), m = measured("plan: no changes", sandbox, plan_phase)
        if not context.plan.is_empty:
            raise SystemExit("the plan after apply is not empty")
        measures.append(m)
    return measures


@dataclass
class SandboxFigures:
    """How fast the sandbox starts and answers, in milliseconds."""

    cold_start_ms: float
    warm_start_ms: float
    keep_alive_get_ms: float
    new_connection_get_ms: float
    requests_timed: int


def _start_until_ready() -> tuple[Sandbox, float]:
    """Start a sandbox and wait until both servers have answered one request; the milliseconds it took."""
    started = time.perf_counter()
    sandbox = Sandbox.start()
    headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
    if requests.get(sandbox.gooddata.url + "/api/v1/profile", headers=headers, timeout=10).status_code != 200:
        raise SystemExit("the GoodData sandbox did not answer its profile")
    if requests.get(sandbox.auth0.url + "/api/v2/roles", timeout=10).status_code != 401:
        raise SystemExit("the Auth0 sandbox did not answer")
    return sandbox, (time.perf_counter() - started) * 1000


def _median_get_ms(get: Callable[[], requests.Response], times: int) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        response = get()
        durations.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET answered {response.status_code}")
    return statistics.median(durations)


def measure_sandbox(requests_timed: int = 50, warm_starts: int = 5) -> SandboxFigures:
    """Start times (first and median later start) and median GET latency of ``/api/v1/profile``."""
    sandbox, cold = _start_until_ready()
    sandbox.stop()
    warm_times = []
    for _ in range(warm_starts):
        sandbox, warm = _start_until_ready()
        sandbox.stop()
        warm_times.append(warm)
    with Sandbox.start() as sandbox:
        url = sandbox.gooddata.url + "/api/v1/profile"
        headers = {"Authorization": f"Bearer {sandbox.gooddata.token}"}
        with requests.Session() as session:
            session.headers.update(headers)
            session.get(url, timeout=10)  # opens the connection the timed GETs reuse
            keep_alive = _median_get_ms(lambda: session.get(url, timeout=10), requests_timed)
        fresh = _median_get_ms(
            lambda: requests.get(url, headers={**headers, "Connection": "close"}, timeout=10), requests_timed
        )
    return SandboxFigures(cold, statistics.median(warm_times), keep_alive, fresh, requests_timed)


def print_sandbox_figures(figures: SandboxFigures) -> None:
    """The sandbox's own figures, before the reconciler's table."""
    rows = [
        ("start until both servers answer, first in process", f"{figures.cold_start_ms:.1f} ms"),
        ("start until both servers answer, later (median)", f"{figures.warm_start_ms:.1f} ms"),
        (
            f"GET /api/v1/profile, kept-alive Session (median of {figures.requests_timed})",
            f"{figures.keep_alive_get_ms:.2f} ms",
        ),
        (
            f"GET /api/v1/profile, new connection (median of {figures.requests_timed})",
            f"{figures.new_connection_get_ms:.2f} ms",
        ),
    ]
    print("sandbox (servers in this process)")
    for label, value in rows:
        print(f"  {label:<56} {value:>10}")
    print()


def main() -> None:
    """Parse arguments, run each size, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000], help="organisation sizes")
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH, help="desired-state file")
    parser.add_argument("--memory", action="store_true", help="trace the Python heap peak (slower)")
    args = parser.parse_args()
    global TRACE_MEMORY
    TRACE_MEMORY = args.memory
    state = load_desired_state(args.config)
    print_sandbox_figures(measure_sandbox())
    header = (
        f"{'users':>7}  {'phase':<38} {'seconds':>8} {'heap MiB':>9} "
        f"{'auth0 req':>9} {'gd req':>7} {'changes':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in args.users:
        for m in run_size(size, state):
            print(
                f"{size:>7}  {m.phase:<38} {m.seconds:>8.2f} "
                f"{f'{m.peak_mib:.1f}' if TRACE_MEMORY else '-':>9} "
                f"{m.auth0_requests:>9} {m.gooddata_requests:>7} {m.changes:>8}"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS (sandbox servers included): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
