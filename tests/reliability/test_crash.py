"""A process that dies between two writes leaves a state from which the next apply converges."""

from __future__ import annotations

import pytest
import yaml

from reconciler.desired_state.loader import load_desired_state
from reconciler.engine import apply_plan, make_plan
from reconciler.model import Document
from reconciler.sandbox import Sandbox
from reconciler.transport import RetryPolicy

from .harness import EXAMPLE, adapters, live_facts, planned_facts

POLICY = RetryPolicy(attempts=3, base_delay=0.005, max_delay=0.02, timeout=5.0)


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the reconciler catches it."""


def legacy_setup(sandbox: Sandbox) -> None:
    """A live group the file does not declare, holding a grant in a managed workspace."""
    state = sandbox.gooddata.state
    doc = state.users_and_groups()
    doc["userGroups"].append({"id": "legacy", "name": "Legacy", "permissions": []})
    doc["users"][0]["userGroups"].append({"id": "legacy", "type": "userGroup"})
    state.put_users_and_groups(doc)
    state.put_workspace_permissions(
        "demo",
        {
            "permissions": [{"name": "VIEW", "assignee": {"id": "legacy", "type": "userGroup"}}],
            "hierarchyPermissions": [],
        },
    )


@pytest.mark.parametrize("killed_after", [1, 2, 3, 4, 5])
def test_next_apply_converges_after_a_kill_between_writes(killed_after: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "access.yaml"
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["policy"].update({"unmanaged_groups": "remove", "max_removals": 100})
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    state = load_desired_state(config)
    with Sandbox.start() as sandbox:
        legacy_setup(sandbox)
        env = sandbox.env()
        identity, gooddata = adapters(env, POLICY)
        plan = make_plan(state, identity=identity, gooddata=gooddata).plan
        # revoke-before-delete: the users document is written first without, last with the deletion
        assert [w.kind for w in plan.writes] == [
            "users_and_groups",
            "workspace_permissions",
            "workspace_permissions",
            "data_source_permissions",
            "users_and_groups",
        ]
        kept = live_facts(sandbox) & planned_facts(plan, sandbox)
        written: list[Document] = []

        def die_after(document: Document) -> None:
            written.append(document)
            if len(written) == killed_after:
                raise Killed

        with pytest.raises(Killed):
            apply_plan(plan, gooddata=gooddata, backup_dir=None, after_write=die_after)
        assert sandbox.gooddata.counters.writes() == killed_after
        assert kept <= live_facts(sandbox)  # nothing the desired state keeps was lost mid-way
        if killed_after < 5:
            assert any(fact[:2] == ("group", "legacy") for fact in live_facts(sandbox))

        identity, gooddata = adapters(env, POLICY)
        again = make_plan(state, identity=identity, gooddata=gooddata).plan
        assert again.failed_guards() == ()
        assert apply_plan(again, gooddata=gooddata, backup_dir=None).error is None
        identity, gooddata = adapters(env, POLICY)
        assert make_plan(state, identity=identity, gooddata=gooddata).plan.is_empty
        assert ("group", "legacy") not in live_facts(sandbox)
