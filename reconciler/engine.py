"""The reconciler's workflow: read both sides, plan, guard, back up, write, verify.

This module ties the pure core (``diff``, ``safety``) to the adapters through two small
Protocols, so it can be driven by the CLI and by tests with any implementation of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from reconciler.canonical import canonical_users_and_groups
from reconciler.diff import compute_plan, protected_principals
from reconciler.identity import IdentityProvider
from reconciler.model import (
    AssigneeType,
    DesiredState,
    Document,
    DocumentKind,
    IdentitySnapshot,
    LiveOrganization,
    ReconcilerError,
)
from reconciler.plan import Plan
from reconciler.safety import with_guards

Progress = Callable[[str], None]


class GoodDataPort(Protocol):
    """What the workflow needs from a GoodData adapter."""

    @property
    def requests(self) -> int:
        """HTTP requests made so far."""
        ...

    @property
    def host(self) -> str:
        """The GoodData host written to (recorded in backups, checked by restore)."""
        ...

    def read(
        self, *, workspace_ids: Iterable[str], data_source_ids: Iterable[str], organization_permissions: bool
    ) -> LiveOrganization:
        """Read the live documents the desired state needs."""
        ...

    def read_document(self, kind: DocumentKind, target: str) -> Any:
        """Read one declarative document as raw wire-format JSON."""
        ...

    def granted_objects(self, assignee_type: AssigneeType, assignee_id: str) -> tuple[list[str], list[str]]:
        """The workspace ids and data source ids that grant something to this principal directly."""
        ...

    def write(self, document: Document) -> None:
        """Put one declarative document."""
        ...


@dataclass(frozen=True)
class PlanContext:
    """A plan together with what it was computed from."""

    plan: Plan
    state: DesiredState
    identity: IdentitySnapshot
    live: LiveOrganization


def make_plan(
    state: DesiredState,
    *,
    identity: IdentityProvider,
    gooddata: GoodDataPort,
    progress: Progress = lambda _: None,
) -> PlanContext:
    """Read the IdP and GoodData, merge with ``state`` and attach the guards' verdicts."""
    started = time.perf_counter()
    progress(f"Reading {identity.name} users and roles...")
    snapshot = identity.fetch()
    idp_seconds = time.perf_counter() - started
    progress(
        f"  {len(snapshot.users)} users, {len(snapshot.role_names)} roles "
        f"({snapshot.requests} requests, {idp_seconds:.2f} s)"
    )
    progress("Reading GoodData organization...")
    before = gooddata.requests
    started = time.perf_counter()
    live = gooddata.read(
        workspace_ids=sorted(state.workspaces),
        data_source_ids=sorted(state.data_sources),
        organization_permissions=True,
    )
    gd_seconds = time.perf_counter() - started
    progress(
        f"  {len(live.users_and_groups.get('users', []))} users, "
        f"{len(live.users_and_groups.get('userGroups', []))} groups, {len(live.workspaces)} workspaces "
        f"({gooddata.requests - before} requests, {gd_seconds:.2f} s)"
    )
    started = time.perf_counter()

    def planned(live: LiveOrganization) -> Plan:
        return compute_plan(
            state,
            snapshot,
            live,
            metadata={
                "config": state.source,
                "identity_provider": snapshot.provider,
                "organization_id": live.organization_id,
                "identity_requests": snapshot.requests,
                "gooddata_read_requests": gooddata.requests - before,
            },
        )

    protected = protected_principals(state, live)
    plan = with_guards(planned(live), state=state, idp=snapshot, live=live, protected=protected)
    # A plan that no flag can let through (an empty or partial IdP answer, a lock-out) is not worth
    # one more request per leaving principal: it is refused as it is.
    if not plan.failed_guards(force=True):
        with_unlisted = _with_unlisted_grants(plan, live, gooddata, progress)
        if with_unlisted is not live:
            live = with_unlisted
            plan = with_guards(planned(live), state=state, idp=snapshot, live=live, protected=protected)
        else:  # the lookups found nothing more to read; count them all the same
            reads = gooddata.requests - before
            plan = dataclasses.replace(plan, metadata={**plan.metadata, "gooddata_read_requests": reads})
    progress(f"Planned in {time.perf_counter() - started:.2f} s.")
    return PlanContext(plan, state, snapshot, live)


def _with_unlisted_grants(
    plan: Plan, live: LiveOrganization, gooddata: GoodDataPort, progress: Progress
) -> LiveOrganization:
    """``live`` plus the permissions of the workspaces and data sources the file does not list that
    grant something to a user or group the plan removes or strips (``live`` itself when there are none).

    Their grants then go in the plan like any other: shown, counted by the guards, backed up, and
    revoked before the principal goes.
    """
    leaving: list[tuple[AssigneeType, str]] = [
        ("user", c.user_id) for c in plan.user_changes if c.action == "delete" or c.stripped
    ]
    leaving += [("userGroup", c.group_id) for c in plan.group_changes if c.action == "delete"]
    if not leaving:
        return live
    workspaces: set[str] = set()
    data_sources: set[str] = set()
    for assignee_type, assignee_id in leaving:
        granting_workspaces, granting_data_sources = gooddata.granted_objects(assignee_type, assignee_id)
        workspaces.update(w for w in granting_workspaces if w not in live.workspace_permissions)
        data_sources.update(d for d in granting_data_sources if d not in live.data_source_permissions)
    if not workspaces and not data_sources:
        return live
    progress(
        f"  {len(leaving)} leaving users and groups hold grants on {len(workspaces)} workspaces and "
        f"{len(data_sources)} data sources the file does not list; reading those too"
    )
    workspace_docs = dict(live.workspace_permissions)
    for workspace_id in sorted(workspaces):
        doc = gooddata.read_document("workspace_permissions", workspace_id)
        if isinstance(doc, dict):  # None: the workspace went away since
            workspace_docs[workspace_id] = {
                "permissions": doc.get("permissions") or [],
                "hierarchyPermissions": doc.get("hierarchyPermissions") or [],
            }
    data_source_docs = dict(live.data_source_permissions)
    for data_source_id in sorted(data_sources):
        doc = gooddata.read_document("data_source_permissions", data_source_id)
        if isinstance(doc, dict):
            data_source_docs[data_source_id] = {"permissions": doc.get("permissions") or []}
    return dataclasses.replace(
        live, workspace_permissions=workspace_docs, data_source_permissions=data_source_docs
    )


class StaleSavedPlanError(ReconcilerError):
    """A saved plan no longer matches the inputs; it must be planned again."""


def check_saved_plan(saved: Mapping[str, Any], fresh: Plan) -> None:
    """Refuse a saved plan (JSON) whose inputs changed since it was computed, saying which."""
    saved_meta = saved.get("metadata") or {}
    fresh_meta = fresh.metadata
    changed = []
    if saved_meta.get("config") not in (None, fresh_meta.get("config")):
        # Another file reads other documents, so nothing else can be compared meaningfully.
        raise StaleSavedPlanError(
            f"the saved plan {str(saved.get('checksum', ''))[:12]} was made from {saved_meta['config']}, "
            f"not {fresh_meta.get('config')}; pass --config {saved_meta['config']}"
        )
    if saved_meta.get("config_checksum") != fresh_meta.get("config_checksum"):
        changed.append("the desired-state file changed")
    if saved_meta.get("identity_checksum") != fresh_meta.get("identity_checksum"):
        changed.append("the identity provider's users or roles changed")
    if saved.get("live_checksum") != fresh.live_checksum:
        changed.append("the live GoodData state changed")
    if not changed and saved.get("checksum") != fresh.checksum:
        changed.append("the plan differs")
    if changed:
        raise StaleSavedPlanError(
            f"the saved plan {str(saved.get('checksum', ''))[:12]} is stale: {', '.join(changed)} "
            "since it was made; run plan again and review the new plan"
        )


@dataclass
class ApplyReport:
    """What an apply wrote and what it left undone."""

    applied: list[Document] = field(default_factory=list)
    not_applied: list[Document] = field(default_factory=list)
    backup_folder: Path | None = None
    error: str | None = None


def apply_plan(
    plan: Plan,
    *,
    gooddata: GoodDataPort,
    backup_dir: Path | None,
    progress: Progress = lambda _: None,
    after_write: Callable[[Document], None] | None = None,
) -> ApplyReport:
    """Write the plan's documents in order, saving each replaced document first.

    Stops at the first failed write; the report says what was applied and what was not, and
    the next run converges because every write is a whole declarative document.
    """
    report = ApplyReport()
    folder = _backup_folder(backup_dir) if backup_dir is not None else None
    report.backup_folder = folder
    previous: dict[tuple[str, str], Any] = dict(plan.replaced)
    for index, document in enumerate(plan.writes):
        key = (document.kind, document.target)
        if folder is not None:
            origin = {"host": gooddata.host, "organization_id": plan.metadata.get("organization_id")}
            _save_backup(folder, index, document, previous.get(key), origin)
        try:
            gooddata.write(document)
        except ReconcilerError as error:
            report.error = str(error)
            report.not_applied = list(plan.writes[index:])
            return report
        previous[key] = document.body
        report.applied.append(document)
        progress(f"  wrote {document.label}")
        if after_write is not None:
            after_write(document)
    return report


def _backup_folder(root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    folder = root / stamp
    try:
        folder.mkdir(parents=True, exist_ok=False, mode=0o700)
    except OSError as error:
        raise ReconcilerError(f"{folder}: cannot create the backup folder ({error.strerror})") from None
    return folder


def _backup_name(index: int, document: Document) -> str:
    target = f"-{document.target}" if document.target else ""
    return f"{index:03d}-{document.kind}{target}.json"


def _save_backup(folder: Path, index: int, document: Document, body: Any, origin: Mapping[str, Any]) -> None:
    record = {"kind": document.kind, "target": document.target, "body": body, **origin}
    path = folder / _backup_name(index, document)
    write_private(path, json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only: plans and backups hold email addresses."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


@dataclass(frozen=True)
class Backup:
    """The documents of one backup folder, and the organisation they were taken from (``None`` for
    backups written before that was recorded)."""

    folder: Path
    documents: tuple[Document, ...]
    host: str | None
    organization_id: str | None


def load_backup(folder: Path) -> Backup:
    """The documents to put back from a backup folder: the oldest backup of each document,
    users and groups first so that every principal a grant names exists again."""
    if not folder.is_dir():
        raise ReconcilerError(f"{folder}: no such backup folder")
    files = sorted(folder.glob("*.json"))
    if not files:
        runs = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.json")))
        if runs:
            raise ReconcilerError(
                f"{folder}: this is the backup root; pass one of its folders, "
                f"e.g. {folder / runs[-1]} (the newest)"
            )
        raise ReconcilerError(f"{folder}: the folder holds no backup documents")
    first: dict[tuple[str, str], Document] = {}
    origins: set[tuple[str | None, str | None]] = set()
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ReconcilerError(f"{path}: not a backup document (not readable JSON: {error})") from None
        missing = [
            key for key in ("kind", "target", "body") if not isinstance(record, dict) or key not in record
        ]
        if missing:
            raise ReconcilerError(
                f"{path}: not a backup document (no {', '.join(missing)}); "
                "pass a folder that `reconcile apply` wrote under --backup-dir"
            )
        key = (record["kind"], record["target"])
        document = Document(record["kind"], record["target"], record["body"])
        if document.kind not in _RESTORE_ORDER:
            raise ReconcilerError(f"{path}: unknown document kind '{document.kind}'")
        first.setdefault(key, document)
        origins.add((record.get("host"), record.get("organization_id")))
    if len(origins) > 1:
        raise ReconcilerError(
            f"{folder}: the documents come from different organisations; restore them one by one"
        )
    [(host, organization_id)] = origins
    documents = tuple(sorted(first.values(), key=lambda d: (_RESTORE_ORDER[d.kind], d.target)))
    return Backup(folder, documents, host, organization_id)


_RESTORE_ORDER = {
    "users_and_groups": 0,
    "organization_permissions": 1,
    "workspace_permissions": 2,
    "data_source_permissions": 3,
}


def describe_replacement(document: Document, current: Any) -> str:
    """What putting ``document`` back would change (for the restore preview): counts, and the first
    few ids of what comes back, goes away or changes."""
    if document.kind == "users_and_groups":
        parts = []
        current_doc = canonical_users_and_groups(current or {"users": [], "userGroups": []})
        restored_doc = canonical_users_and_groups(document.body)
        for key, noun in (("users", "users"), ("userGroups", "groups")):
            before = {item["id"]: item for item in current_doc[key]}
            after = {item["id"]: item for item in restored_doc[key]}
            back, removed = after.keys() - before.keys(), before.keys() - after.keys()
            changed = [i for i in before.keys() & after.keys() if before[i] != after[i]]
            text = f"+{len(back)} -{len(removed)} ~{len(changed)} {noun}"
            named = (_named("back", back), _named("removed", removed), _named("changed", changed))
            details = "; ".join(n for n in named if n)
            parts.append(f"{text} ({details})" if details else text)
        return ", ".join(parts)
    before_grants = _grant_keys(current)
    after_grants = _grant_keys(document.body)
    granted = [f"{name} -> {assignee}" for name, _, assignee, _ in after_grants - before_grants]
    revoked = [f"{name} -> {assignee}" for name, _, assignee, _ in before_grants - after_grants]
    text = f"+{len(granted)} -{len(revoked)} grants"
    details = "; ".join(n for n in (_named("back", granted), _named("revoked", revoked)) if n)
    return f"{text} ({details})" if details else text


def _named(label: str, ids: Iterable[str], limit: int = 5) -> str:
    ordered = sorted(ids)
    if not ordered:
        return ""
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return f"{label}: {', '.join(ordered[:limit])}{more}"


def _grant_keys(body: Any) -> set[tuple[str, str, str, bool]]:
    if body is None:
        return set()
    if isinstance(body, list):
        items = [(g, False) for g in body]
    else:
        items = [(g, False) for g in body.get("permissions", [])]
        items += [(g, True) for g in body.get("hierarchyPermissions", [])]
    return {(g["name"], g["assignee"]["type"], g["assignee"]["id"], hierarchy) for g, hierarchy in items}


@dataclass(frozen=True)
class RestorePlan:
    """What a restore would write, what it replaces, and what the checks found."""

    plan: Plan
    live: LiveOrganization
    users_removed: frozenset[str]


def restore_plan(backup: Backup, *, gooddata: GoodDataPort) -> RestorePlan:
    """A plan that puts the backup's documents back, replacing what is live now (so that is backed
    up too). Refused before anything is written when the backup comes from another organisation or
    names a workspace or data source that no longer exists."""
    live = gooddata.read(workspace_ids=(), data_source_ids=(), organization_permissions=True)
    if backup.host is not None and backup.host != gooddata.host:
        raise ReconcilerError(
            f"{backup.folder}: the backup was taken from {backup.host}, not {gooddata.host} (GOODDATA_HOST); "
            "nothing was written"
        )
    if backup.organization_id is not None and backup.organization_id != live.organization_id:
        raise ReconcilerError(
            f"{backup.folder}: the backup was taken from organization '{backup.organization_id}', not "
            f"'{live.organization_id}'; nothing was written"
        )
    current: dict[tuple[str, str], Any] = {}
    for document in backup.documents:
        if document.kind == "users_and_groups":
            body: Any = live.users_and_groups
        elif document.kind == "organization_permissions":
            body = list(live.organization_permissions or ())
        else:
            body = gooddata.read_document(document.kind, document.target)
            if body is None:
                raise ReconcilerError(
                    f"{backup.folder}: {document.label} cannot be put back: the "
                    f"{'workspace' if document.kind == 'workspace_permissions' else 'data source'} "
                    f"'{document.target}' no longer exists; nothing was written"
                )
        current[(document.kind, document.target)] = body
    removed: set[str] = set()
    for document in backup.documents:
        if document.kind == "users_and_groups":
            kept = {user["id"] for user in document.body.get("users", [])}
            removed = {user["id"] for user in live.users_and_groups.get("users", [])} - kept
    plan = Plan(
        (),
        (),
        (),
        backup.documents,
        current,
        desired_checksum="",
        live_checksum="",
        metadata={"organization_id": live.organization_id},
    )
    return RestorePlan(plan, live, frozenset(removed))
