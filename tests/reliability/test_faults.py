"""Apply under injected faults: every run converges or stops cleanly, and nothing desired is lost."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from typing import Any

from reconciler.desired_state.loader import load_desired_state
from reconciler.engine import apply_plan, make_plan
from reconciler.model import ReconcilerError, RemovalThreshold
from reconciler.sandbox import FaultConfig, Sandbox
from reconciler.transport import RetryPolicy

from .harness import EXAMPLE, adapters, live_facts, planned_facts

FAST = RetryPolicy(attempts=3, base_delay=0.005, max_delay=0.02, timeout=5.0)
BRITTLE = RetryPolicy(attempts=1, timeout=5.0)  # every fourth run writes without retries: some stop mid-apply
# reply_lost: the server acts, then the connection drops before the answer (a write applied, its reply lost).
KINDS = ("500", "503", "429", "drop", "reply_lost")
ROLE_CHOICES = (["User"], ["Analyst"], ["Analyst", "User"], ["Finance Viewer", "User"], ["Contractor"])


def mutate(sandbox: Sandbox, rng: random.Random, away: list[tuple[dict[str, Any], list[str]]]) -> None:
    """People join, leave and change roles between runs."""
    state = sandbox.auth0.state
    users = [u for u in state.users() if not u.get("blocked")]
    changed = rng.choice(users)["user_id"]
    state.set_roles(changed, rng.choice(ROLE_CHOICES))
    if away and rng.random() < 0.5:
        user, roles = away.pop(0)
        state.add_user(user, roles=roles)
    leaving = rng.choice([u for u in users if u["user_id"] != changed])
    away.append((leaving, state.roles_of(leaving["user_id"])))
    state.remove_user(leaving["user_id"])


def test_fifty_seeded_runs_with_twenty_percent_faults() -> None:
    example = load_desired_state(EXAMPLE)
    # People leave faster than they come back here, and a stopped run leaves its removals for the
    # next one: a roomier threshold keeps the runs about faults rather than about the guard.
    roomy = RemovalThreshold(percent=50.0, text="50%")
    state = dataclasses.replace(example, policy=dataclasses.replace(example.policy, max_removals=roomy))
    outcomes: Counter[str] = Counter()
    rng = random.Random(2026)
    away: list[tuple[dict[str, Any], list[str]]] = []
    with Sandbox.start() as sandbox:
        env = sandbox.env()
        for seed in range(50):
            mutate(sandbox, rng, away)
            identity, gooddata = adapters(env, FAST)
            expected = make_plan(state, identity=identity, gooddata=gooddata).plan
            kept = live_facts(sandbox) & planned_facts(expected, sandbox)
            faults = FaultConfig(error_rate=0.2, seed=seed, error_kinds=KINDS)
            sandbox.gooddata.faults.configure(faults)
            sandbox.auth0.faults.configure(faults)
            try:
                identity, gooddata = adapters(env, FAST)
                _, writer = adapters(env, BRITTLE if seed % 4 == 0 else FAST)
                context = make_plan(state, identity=identity, gooddata=gooddata)
                if context.plan.failed_guards():  # as apply does: the guards come before any write
                    outcome = "refused by the guards"
                else:
                    report = apply_plan(context.plan, gooddata=writer, backup_dir=None)
                    outcome = "converged" if report.error is None else "stopped during apply"
                    if report.error is not None:
                        assert report.not_applied and report.not_applied[0] not in report.applied
            except ReconcilerError:
                outcome = "stopped before writing"
            finally:
                sandbox.gooddata.faults.reset()
                sandbox.auth0.faults.reset()
            outcomes[outcome] += 1
            lost = kept - live_facts(sandbox)
            assert not lost, f"run {seed} lost {sorted(lost)[:5]}"
            if outcome == "converged":  # a run that says it converged did: a fresh plan is empty
                identity, gooddata = adapters(env, FAST)
                assert make_plan(state, identity=identity, gooddata=gooddata).plan.is_empty, seed
        injected = sandbox.gooddata.counters.faults_injected() + sandbox.auth0.counters.faults_injected()
        print(f"outcomes {dict(outcomes)}, faults injected {injected}")
        assert injected > 100
        assert outcomes["stopped during apply"] > 0 and outcomes["stopped before writing"] > 0, outcomes
        assert sum(outcomes.values()) == 50
        assert outcomes["converged"] >= 25, outcomes

        identity, gooddata = adapters(env, FAST)
        final = make_plan(state, identity=identity, gooddata=gooddata).plan
        assert apply_plan(final, gooddata=gooddata, backup_dir=None).error is None
        identity, gooddata = adapters(env, FAST)
        assert make_plan(state, identity=identity, gooddata=gooddata).plan.is_empty
