"""Merge the desired state, the IdP snapshot and the live organisation into a ``Plan``.

The merge follows these rules (each one has a table-driven test):

1. Desired users are the IdP users that are not blocked and hold at least one mapped role (or get
   ``default_groups``), plus the users listed under ``users:``.
2. A live user is matched to an IdP user by ``authId`` first and keeps its live id; a live user with
   the derived id and no ``authId`` is adopted; one with a different ``authId`` is a conflict.
3. Live users with an ``authId`` no desired user has are *departed* (``policy.departed_users``);
   live users without one that ``users:`` does not list are *unmanaged* (``policy.unmanaged_users``);
   live groups the file does not declare are *unmanaged* (``policy.unmanaged_groups``).
4. Fields the file does not manage (settings, SEE permissions, ``systemAccount``, memberships of
   unmanaged groups, grant lists the file does not name) are carried over from the live documents.
5. Protected principals (bootstrap admin, ``adminGroup``, the token's user, ``policy.protected``)
   are carried over verbatim, and their grants are never revoked.

Everything here is pure: inputs in, ``Plan`` out, ``InputError`` for conflicts.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deepdiff import DeepDiff

from reconciler.canonical import (
    grants_of,
    group_and_ancestors,
    group_ids,
    group_refs,
    identity_checksum,
    live_checksum,
    wire_grants,
)
from reconciler.model import (
    BOOTSTRAP_ADMIN_GROUP,
    BOOTSTRAP_ADMIN_USER,
    MAX_TEXT_LENGTH,
    DesiredState,
    Diagnostic,
    Grant,
    GrantSet,
    IdentitySnapshot,
    IdentityUser,
    InputError,
    JsonDict,
    LiveOrganization,
    UserIdStrategy,
    is_valid_id,
)
from reconciler.plan import (
    ACTION_ORDER,
    FieldChange,
    GrantChange,
    GrantScope,
    GroupChange,
    Plan,
    UserChange,
    sha256_of,
)
from reconciler.writes import GrantDocs, order_writes

_INVALID_ID_CHARS = re.compile(r"[^.A-Za-z0-9_-]")
_PROFILE_FIELDS = ("authId", "email", "firstname", "lastname")


def derive_user_id(subject: str, strategy: UserIdStrategy = "strip-auth0-prefix") -> str:
    """GoodData user id for an IdP subject.

    ``strip-auth0-prefix``: ``auth0|64f1`` -> ``64f1``; any other subject is sanitised
    (``google-oauth2|1093`` -> ``google-oauth2_1093``). ``sanitize``: every subject is sanitised.
    """
    if strategy == "strip-auth0-prefix" and subject.startswith("auth0|"):
        candidate = subject[len("auth0|") :]
    else:
        candidate = subject
    candidate = _INVALID_ID_CHARS.sub("_", candidate)
    if candidate.startswith("."):
        candidate = "_" + candidate[1:]
    return candidate


def protected_principals(state: DesiredState, live: LiveOrganization) -> frozenset[str]:
    """Ids that are never changed or removed: built-in, the token's user and ``policy.protected``."""
    return frozenset(
        {BOOTSTRAP_ADMIN_USER, BOOTSTRAP_ADMIN_GROUP, live.token_user_id, *state.policy.protected}
    )


# --------------------------------------------------------------------------------------------
# The merge
# --------------------------------------------------------------------------------------------


@dataclass
class _DesiredUser:
    """A user the desired state wants, before it is matched to a live user."""

    derived_id: str
    groups: frozenset[str]
    reason: str
    auth_id: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    source: str = "idp"  # "idp" or "file"
    linked_by: str | None = None  # the users: entry that gives this IdP user its GoodData id


@dataclass
class _Merge:
    """Working state of one merge; turned into a Plan at the end."""

    state: DesiredState
    idp: IdentitySnapshot
    live: LiveOrganization
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    idp_users: dict[str, IdentityUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.idp_users = {user.subject: user for user in self.idp.users}

    def error(self, message: str, *, path: str | None = None, subject: str | None = None) -> None:
        location = self.state.location_of(path) if path else None
        self.errors.append(Diagnostic("error", message, location, subject))

    def warn(self, message: str, *, path: str | None = None, subject: str | None = None) -> None:
        location = self.state.location_of(path) if path else None
        self.warnings.append(Diagnostic("warning", message, location, subject))


def compute_plan(
    state: DesiredState,
    idp: IdentitySnapshot,
    live: LiveOrganization,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Plan:
    """Compute the plan that makes ``live`` match ``state`` + ``idp``; raise ``InputError`` on conflicts."""
    merge = _Merge(state, idp, live)
    protected = protected_principals(state, live)
    _check_references_after_read(merge)
    _check_roles(merge)
    wanted = _desired_users(merge)
    live_doc = live.users_and_groups
    live_users: dict[str, JsonDict] = {u["id"]: u for u in live_doc.get("users", [])}
    live_groups: dict[str, JsonDict] = {g["id"]: g for g in live_doc.get("userGroups", [])}
    _check_live_auth_ids(merge, live_users)
    _check_protected_exist(merge, live_users, live_groups)

    matched = _match_users(merge, wanted, live_users, protected)
    if merge.errors:
        raise InputError(merge.errors)

    group_changes, desired_groups, deleted_groups = _plan_groups(merge, live_groups, protected)
    managed_groups = _managedgroup_ids(state)
    user_changes, desired_users, deleted_users, stripped_users = _plan_users(
        merge, matched, live_users, protected, managed_groups, deleted_groups
    )
    _check_group_references(merge, desired_groups, desired_users)
    gone = frozenset(deleted_users) | frozenset(deleted_groups)
    grant_changes, grant_docs = _plan_grants(
        merge, desired_users, desired_groups, gone, stripped_users, protected
    )
    if merge.errors:
        raise InputError(merge.errors)

    desired_doc = {"users": list(desired_users.values()), "userGroups": list(desired_groups.values())}
    writes, replaced = order_writes(live, desired_doc, grant_docs, gone, frozenset(stripped_users))
    config_sum = state.checksum
    idp_sum = identity_checksum(idp)
    meta: dict[str, Any] = {
        "config_checksum": config_sum,
        "identity_checksum": idp_sum,
        "privileged_groups": sorted(_privileged_groups(grant_docs, live, desired_groups)),
        "identity_users": len(idp.users),
        "live_users": len(live_users),
        **(metadata or {}),
    }
    return Plan(
        user_changes=tuple(sorted(user_changes, key=lambda c: (ACTION_ORDER[c.action], c.user_id))),
        group_changes=tuple(sorted(group_changes, key=lambda c: (ACTION_ORDER[c.action], c.group_id))),
        grant_changes=tuple(sorted(grant_changes)),
        writes=tuple(writes),
        replaced=replaced,
        desired_checksum=sha256_of([config_sum, idp_sum]),
        live_checksum=live_checksum(live),
        warnings=tuple(merge.warnings),
        metadata=meta,
    )


def _check_references_after_read(merge: _Merge) -> None:
    """Workspaces and data sources the file names must exist in GoodData."""
    state, live = merge.state, merge.live
    for workspace_id in state.workspaces:
        if workspace_id not in live.workspaces:
            close = difflib.get_close_matches(workspace_id, list(live.workspaces), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            merge.error(
                f"workspace '{workspace_id}' does not exist in GoodData{hint}",
                path=f"permissions.workspaces.{workspace_id}",
            )
    for data_source_id in sorted(live.missing_data_sources):
        merge.error(
            f"data source '{data_source_id}' does not exist in GoodData",
            path=f"permissions.data_sources.{data_source_id}",
        )


def _check_roles(merge: _Merge) -> None:
    """A mapped role the IdP lacks is a warning naming the closest existing role."""
    existing = merge.idp.role_names
    by_folded = {name.casefold(): name for name in existing}
    for role in merge.state.role_mappings:
        if role in existing:
            continue
        real = by_folded.get(role.casefold())
        if real is not None:
            hint = f"; the IdP has '{real}' (role names are case-sensitive)"
        else:
            close = difflib.get_close_matches(role, sorted(existing), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
        merge.warn(
            f"role '{role}' does not exist in {merge.idp.provider}{hint}", path=f"role_mappings.{role}"
        )


def _desired_users(merge: _Merge) -> dict[str, _DesiredUser]:
    """Rule 1: desired users by derived id, with errors for colliding or invalid ids."""
    state = merge.state
    wanted: dict[str, _DesiredUser] = {}
    by_id_subject: dict[str, str] = {}
    emails: dict[str, str] = {}
    for user in sorted(merge.idp.users, key=lambda u: u.subject):
        if user.blocked:
            continue
        groups = _groups_for_roles(state, user)
        if groups is None:
            continue
        if not _idp_user_is_valid(merge, user):
            continue
        user_id = derive_user_id(user.subject, state.user_id_strategy)
        if not is_valid_id(user_id):
            merge.error(
                f"IdP user '{user.subject}' gives GoodData id '{user_id[:60]}', which is not a valid id "
                "(1-255 characters of A-Z a-z 0-9 . _ -)",
                subject=user.subject,
            )
            continue
        if user_id in by_id_subject:
            other = by_id_subject[user_id]
            stripped = state.user_id_strategy == "strip-auth0-prefix" and "auth0|" in (
                other[:6],
                user.subject[:6],
            )
            hint = "use identity.user_id: sanitize or fix the IdP data" if stripped else "fix the IdP data"
            merge.error(
                f"IdP users '{other}' and '{user.subject}' both map to GoodData user id '{user_id}'; {hint}",
                subject=user.subject,
            )
            continue
        by_id_subject[user_id] = user.subject
        if not user.email:
            merge.warn(
                f"IdP user '{user.subject}' has no email; the GoodData user gets none", subject=user.subject
            )
        else:
            folded = user.email.casefold()
            if folded in emails:
                merge.warn(
                    f"IdP users '{emails[folded]}' and '{user.subject}' share the email '{user.email}'",
                    subject=user.subject,
                )
            else:
                emails[folded] = user.subject
        roles = ", ".join(sorted(user.roles)) or "no role"
        wanted[user_id] = _DesiredUser(
            derived_id=user_id,
            groups=groups,
            reason=f"{merge.idp.provider} roles: {roles}",
            auth_id=user.subject,
            email=user.email,
            firstname=user.given_name,
            lastname=user.family_name,
        )
    derived_by_subject = {w.auth_id: key for key, w in wanted.items()}
    file_auth_ids: dict[str, str] = {}
    for spec in state.users.values():
        if spec.auth_id and spec.auth_id in file_auth_ids:
            merge.error(
                f"users.{spec.id} and users.{file_auth_ids[spec.auth_id]} have the same auth_id "
                f"'{spec.auth_id}'; only one GoodData user can log in with it",
                path=f"users.{spec.id}",
            )
            continue
        if spec.auth_id:
            file_auth_ids[spec.auth_id] = spec.id
        linked = derived_by_subject.get(spec.auth_id) if spec.auth_id else None
        if linked is not None:
            # users: names the GoodData id an IdP user keeps (adopting an existing account): one
            # user, with the groups of its roles and of the file; the IdP's profile unless the file's
            idp_user = wanted.pop(linked)
            if spec.id in wanted:
                merge.error(
                    f"users.{spec.id} links auth_id '{spec.auth_id}', but GoodData user id '{spec.id}' is "
                    f"also what the IdP user '{wanted[spec.id].auth_id}' maps to; pick another id",
                    path=f"users.{spec.id}",
                )
                continue
            wanted[spec.id] = dataclasses.replace(
                idp_user,
                derived_id=spec.id,
                groups=idp_user.groups | frozenset(spec.groups),
                reason=f"{idp_user.reason}; linked by users.{spec.id}.auth_id",
                linked_by=f"users.{spec.id}.auth_id",
                email=spec.email or idp_user.email,
                firstname=spec.firstname or idp_user.firstname,
                lastname=spec.lastname or idp_user.lastname,
            )
            continue
        if spec.id in wanted:
            merge.error(
                f"user '{spec.id}' is listed under users: and also comes from the IdP "
                f"('{wanted[spec.id].auth_id}'); remove one of them",
                path=f"users.{spec.id}",
            )
            continue
        wanted[spec.id] = _DesiredUser(
            derived_id=spec.id,
            groups=frozenset(spec.groups),
            reason="listed under users:",
            auth_id=spec.auth_id,
            email=spec.email,
            firstname=spec.firstname,
            lastname=spec.lastname,
            source="file",
        )
    return wanted


def _groups_for_roles(state: DesiredState, user: IdentityUser) -> frozenset[str] | None:
    """The union of the groups of the user's mapped roles; ``None`` when the user gets no account.

    A user holding a mapped role is desired even when that role maps to no group; a user with no
    mapped role gets ``default_groups``, and no account when those are empty.
    """
    mappings = [state.role_mappings[role] for role in user.roles if role in state.role_mappings]
    if not mappings:
        return frozenset(state.default_groups) or None
    return frozenset(group for mapping in mappings for group in mapping.groups)


def _idp_user_is_valid(merge: _Merge, user: IdentityUser) -> bool:
    valid = True
    for label, value in (
        ("subject", user.subject),
        ("email", user.email),
        ("given_name", user.given_name),
        ("family_name", user.family_name),
    ):
        if value is not None and len(value) > MAX_TEXT_LENGTH:
            merge.error(
                f"IdP user '{user.subject[:80]}' has a {label} of {len(value)} characters; "
                f"GoodData accepts at most {MAX_TEXT_LENGTH}",
                subject=user.subject,
            )
            valid = False
    return valid


def _check_protected_exist(
    merge: _Merge, live_users: Mapping[str, JsonDict], live_groups: Mapping[str, JsonDict]
) -> None:
    """An id under policy.protected that GoodData does not have is probably a typo."""
    for principal in merge.state.policy.protected:
        if (
            principal not in live_users
            and principal not in live_groups
            and principal not in merge.state.groups
        ):
            close = difflib.get_close_matches(principal, [*live_users, *live_groups], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            merge.warn(
                f"protected '{principal}' is neither a user nor a group in GoodData{hint}",
                path="policy.protected",
            )


def _check_live_auth_ids(merge: _Merge, live_users: Mapping[str, JsonDict]) -> None:
    """Two live users with one authId: only one of them can log in; the operator must decide."""
    holders: dict[str, list[str]] = defaultdict(list)
    for user_id, user in live_users.items():
        if user.get("authId"):
            holders[user["authId"]].append(user_id)
    for auth_id, ids in sorted(holders.items()):
        if len(ids) > 1:
            merge.error(
                f"live GoodData users {', '.join(repr(i) for i in sorted(ids))} share authId '{auth_id}'; "
                "only the first can log in — delete or fix the others in GoodData",
                subject=auth_id,
            )


def _match_users(
    merge: _Merge,
    wanted: Mapping[str, _DesiredUser],
    live_users: Mapping[str, JsonDict],
    protected: frozenset[str],
) -> dict[str, _DesiredUser]:
    """Rule 2: map each desired user to the live id it will have (its live id when matched)."""
    by_auth_id = {u["authId"]: uid for uid, u in live_users.items() if u.get("authId")}
    matched: dict[str, _DesiredUser] = {}
    for desired in wanted.values():
        target = desired.derived_id
        if desired.auth_id and desired.auth_id in by_auth_id:
            target = by_auth_id[desired.auth_id]
        elif target in live_users:
            live_auth = live_users[target].get("authId")
            if desired.source == "file" and desired.auth_id is None:
                pass  # a file user keeps whatever authId it has live
            elif live_auth and live_auth != desired.auth_id:
                merge.error(
                    f"GoodData user '{target}' has authId '{live_auth}', but the IdP user "
                    f"'{desired.auth_id}' maps to the same id; fix the user in GoodData or the IdP",
                    subject=target,
                )
                continue
        if target in matched:
            merge.error(
                f"two desired users resolve to GoodData user '{target}': "
                f"'{matched[target].auth_id or matched[target].derived_id}' and "
                f"'{desired.auth_id or desired.derived_id}'",
                subject=target,
            )
            continue
        matched[target] = desired
    return matched


def _managedgroup_ids(state: DesiredState) -> frozenset[str]:
    """Groups whose membership the file decides: declared ones and every group it references."""
    referenced: set[str] = set(state.groups)
    for mapping in state.role_mappings.values():
        referenced.update(mapping.groups)
    referenced.update(state.default_groups)
    for spec in state.users.values():
        referenced.update(spec.groups)
    return frozenset(referenced)


def _plan_groups(
    merge: _Merge, live_groups: Mapping[str, JsonDict], protected: frozenset[str]
) -> tuple[list[GroupChange], dict[str, JsonDict], list[str]]:
    state = merge.state
    changes: list[GroupChange] = []
    desired: dict[str, JsonDict] = {}
    for group_id, live_group in live_groups.items():
        spec = state.groups.get(group_id)
        if group_id in protected or spec is None:
            desired[group_id] = copy.deepcopy(live_group)
            if group_id in protected and spec is not None and not _group_matches(live_group, spec):
                merge.warn(
                    f"group '{group_id}' is protected; the file's name or parents differ and are not applied",
                    path=f"groups.{group_id}",
                )
            continue
        wanted = copy.deepcopy(live_group)
        if spec.name is not None:
            wanted["name"] = spec.name
        wanted["parents"] = group_refs(spec.parents)
        if not wanted["parents"] and "parents" not in live_group:
            del wanted["parents"]
        desired[group_id] = wanted
        change = _group_update(live_group, wanted)
        if change is not None:
            changes.append(change)
    for group_id, spec in state.groups.items():
        if group_id in live_groups:
            continue
        body: JsonDict = {"id": group_id, "permissions": []}
        if spec.name is not None:
            body["name"] = spec.name
        if spec.parents:
            body["parents"] = group_refs(spec.parents)
        desired[group_id] = body
        changes.append(
            GroupChange(
                "create", group_id, "declared in the desired state", spec.name, tuple(sorted(spec.parents))
            )
        )
    deleted: list[str] = []
    if state.policy.unmanaged_groups == "remove":
        referenced = _managedgroup_ids(state)
        for group_id in sorted(live_groups):
            if group_id in referenced or group_id in protected:
                continue
            deleted.append(group_id)
            del desired[group_id]
            changes.append(
                GroupChange(
                    "delete",
                    group_id,
                    "not in the desired state (unmanaged_groups: remove)",
                    live_groups[group_id].get("name"),
                )
            )
    for group in desired.values():  # a deleted group cannot stay a parent
        if deleted and group.get("parents"):
            group["parents"] = [p for p in group["parents"] if p["id"] not in deleted]
    return changes, desired, deleted


def _group_matches(live_group: Mapping[str, Any], spec: Any) -> bool:
    name_ok = spec.name is None or live_group.get("name") == spec.name
    return name_ok and group_ids(live_group.get("parents")) == sorted(set(spec.parents))


def _group_update(before: Mapping[str, Any], after: Mapping[str, Any]) -> GroupChange | None:
    left = {"name": before.get("name"), "parents": group_ids(before.get("parents"))}
    right = {"name": after.get("name"), "parents": group_ids(after.get("parents"))}
    if left == right:
        return None
    fields, added, removed = _translate_deepdiff(left, right, list_field="parents")
    return GroupChange(
        "update",
        after["id"],
        "desired state differs",
        after.get("name"),
        tuple(added),
        tuple(removed),
        tuple(fields),
    )


def _translate_deepdiff(
    before: Mapping[str, Any], after: Mapping[str, Any], *, list_field: str
) -> tuple[list[FieldChange], list[str], list[str]]:
    """Turn deepdiff's tree view into our field changes and the list field's additions/removals."""
    tree = DeepDiff(dict(before), dict(after), ignore_order=True, view="tree")
    fields: dict[str, FieldChange] = {}
    added: set[str] = set()
    removed: set[str] = set()
    for report_type, items in tree.items():
        for item in items:
            path = item.path(output_format="list")
            name = str(path[0]) if path else ""
            if name != list_field:
                fields[name] = FieldChange(name, before.get(name), after.get(name))
            elif len(path) > 1 and report_type == "iterable_item_added":
                added.add(item.t2)
            elif len(path) > 1 and report_type == "iterable_item_removed":
                removed.add(item.t1)
            else:  # the whole list was replaced (for example empty -> non-empty)
                added.update(set(after.get(name) or ()) - set(before.get(name) or ()))
                removed.update(set(before.get(name) or ()) - set(after.get(name) or ()))
    return [fields[k] for k in sorted(fields)], sorted(added), sorted(removed)


def _plan_users(
    merge: _Merge,
    matched: Mapping[str, _DesiredUser],
    live_users: Mapping[str, JsonDict],
    protected: frozenset[str],
    managed_groups: frozenset[str],
    deleted_groups: list[str],
) -> tuple[list[UserChange], dict[str, JsonDict], list[str], list[str]]:
    state = merge.state
    changes: list[UserChange] = []
    desired: dict[str, JsonDict] = {}
    deleted: list[str] = []
    stripped: list[str] = []
    gone_groups = frozenset(deleted_groups)
    kept_departed: list[str] = []
    for user_id, live_user in live_users.items():
        wanted_user = matched.get(user_id)
        if user_id in protected:
            if wanted_user is None and live_user.get("authId") and live_user.get("userGroups"):
                kept_departed.append(user_id)
            desired[user_id] = _without_groups(dict(live_user), gone_groups)
            if wanted_user is not None and wanted_user.source == "file":
                live_ids = set(group_ids(live_user.get("userGroups")))
                if live_ids != set(wanted_user.groups):
                    merge.warn(
                        f"user '{user_id}' is protected; its groups in the file differ from GoodData "
                        "and are not applied",
                        path=f"users.{user_id}",
                    )
            continue
        if wanted_user is not None:
            body = _updated_user(live_user, wanted_user, managed_groups, gone_groups)
            desired[user_id] = body
            change = _user_update(live_user, body, wanted_user)
            if change is not None:
                changes.append(change)
            continue
        auth_id = live_user.get("authId")
        if auth_id:
            reason = _departure_reason(merge, auth_id)
            policy = state.policy.departed_users
            policy_text = f"departed_users: {policy}"
        else:
            reason = "not in the desired state"
            policy = state.policy.unmanaged_users
            policy_text = f"unmanaged_users: {state.policy.unmanaged_users}"
        if policy == "keep":
            desired[user_id] = _without_groups(dict(live_user), gone_groups)
            if auth_id and live_user.get("userGroups"):
                kept_departed.append(user_id)
        elif policy == "remove":
            deleted.append(user_id)
            changes.append(
                UserChange(
                    "delete",
                    user_id,
                    f"{reason} ({policy_text})",
                    auth_id,
                    live_user.get("email"),
                    groups_removed=tuple(group_ids(live_user.get("userGroups"))),
                )
            )
        else:
            body = dict(live_user)
            body["userGroups"] = []
            desired[user_id] = body
            stripped.append(user_id)  # its grants in the documents read are dropped too
            lost = tuple(group_ids(live_user.get("userGroups")))
            if not lost:
                continue  # stripped by an earlier run: nothing left to change
            changes.append(
                UserChange(
                    "update",
                    user_id,
                    f"{reason} ({policy_text})",
                    auth_id,
                    live_user.get("email"),
                    groups_removed=lost,
                    stripped=True,
                )
            )
    for user_id, wanted_user in matched.items():
        if user_id in live_users:
            continue
        body = {
            "id": user_id,
            "userGroups": group_refs(g for g in wanted_user.groups if g not in gone_groups),
            "permissions": [],
            "settings": [],
        }
        for key, value in _profile_of(wanted_user).items():
            if value is not None:
                body[key] = value
        desired[user_id] = body
        changes.append(
            UserChange(
                "create",
                user_id,
                wanted_user.reason,
                wanted_user.auth_id,
                wanted_user.email,
                groups_added=tuple(sorted(wanted_user.groups)),
            )
        )
    if kept_departed:
        shown = ", ".join(sorted(kept_departed)[:5]) + (" …" if len(kept_departed) > 5 else "")
        count = f"{len(kept_departed)} user{'s' if len(kept_departed) != 1 else ''}"
        merge.warn(
            f"{count} that left {merge.idp.provider} or lost every mapped role keep their groups "
            f"(departed_users: keep, or protected): {shown}",
            path="policy.departed_users",
        )
    return changes, desired, deleted, stripped


def _departure_reason(merge: _Merge, auth_id: str) -> str:
    provider = merge.idp.provider
    user = merge.idp_users.get(auth_id)
    if user is None:
        return f"departed from {provider}"
    return f"blocked in {provider}" if user.blocked else f"no mapped role in {provider}"


def _profile_of(wanted: _DesiredUser) -> dict[str, str | None]:
    return {
        "authId": wanted.auth_id,
        "email": wanted.email,
        "firstname": wanted.firstname,
        "lastname": wanted.lastname,
    }


# Desired users are shallow copies of the live ones: the merge only ever replaces top-level keys
# (profile fields, userGroups), never edits a nested value, so settings and SEE permissions can be
# shared with the live document. With 100,000 users a deep copy each was a sixth of a plan's time.


def _without_groups(user: JsonDict, gone: frozenset[str]) -> JsonDict:
    if gone and user.get("userGroups"):
        user["userGroups"] = [g for g in user["userGroups"] if g["id"] not in gone]
    return user


def _updated_user(
    live_user: Mapping[str, Any], wanted: _DesiredUser, managed: frozenset[str], gone: frozenset[str]
) -> JsonDict:
    """The live user with the managed fields replaced; everything else carried over (rule 4)."""
    body = dict(live_user)
    for key, value in _profile_of(wanted).items():
        if value is not None:
            body[key] = value
    kept = {g for g in group_ids(live_user.get("userGroups")) if g not in managed and g not in gone}
    body["userGroups"] = group_refs(kept | set(wanted.groups))
    return body


def _user_update(
    before: Mapping[str, Any], after: Mapping[str, Any], wanted: _DesiredUser
) -> UserChange | None:
    left = {k: before.get(k) for k in _PROFILE_FIELDS} | {"userGroups": group_ids(before.get("userGroups"))}
    right = {k: after.get(k) for k in _PROFILE_FIELDS} | {"userGroups": group_ids(after.get("userGroups"))}
    if left == right:
        return None
    fields, added, removed = _translate_deepdiff(left, right, list_field="userGroups")
    if not left["authId"] and right["authId"]:
        how = f"linked by {wanted.linked_by}" if wanted.linked_by else "existing user with the derived id"
        reason = f"adopted: {how}, authId set"
    elif (added or removed) and wanted.source == "idp":
        reason = f"role change ({wanted.reason})"
    elif added or removed:
        reason = "groups changed in the desired state"
    else:
        reason = "profile changed" if wanted.source == "idp" else "desired state differs"
    return UserChange(
        "update",
        after["id"],
        reason,
        after.get("authId"),
        after.get("email"),
        tuple(added),
        tuple(removed),
        tuple(fields),
    )


def _check_group_references(
    merge: _Merge, desired_groups: Mapping[str, JsonDict], desired_users: Mapping[str, JsonDict]
) -> None:
    """Every group a user or group points to must exist after the plan."""
    for group in desired_groups.values():
        for parent in group_ids(group.get("parents")):
            if parent not in desired_groups:
                merge.error(
                    f"group '{group['id']}' has parent '{parent}', which is neither declared nor in GoodData",
                    path=f"groups.{group['id']}",
                )
    missing: dict[str, str] = {}
    for user in desired_users.values():
        for group_id in group_ids(user.get("userGroups")):
            if group_id not in desired_groups:
                missing.setdefault(group_id, user["id"])
    for group_id, user_id in sorted(missing.items()):
        merge.error(
            f"group '{group_id}' (given to user '{user_id}') is neither declared under groups: "
            "nor in GoodData; declare it",
            path="groups",
        )


def _plan_grants(
    merge: _Merge,
    desired_users: Mapping[str, JsonDict],
    desired_groups: Mapping[str, JsonDict],
    gone: frozenset[str],
    stripped: list[str],
    protected: frozenset[str],
) -> tuple[list[GrantChange], GrantDocs]:
    state, live = merge.state, merge.live
    dropped = gone | frozenset(stripped)
    changes: list[GrantChange] = []
    docs = GrantDocs()

    def resolve(managed: GrantSet | None, live_items: Any, path: str) -> frozenset[Grant]:
        live_grants = grants_of(live_items)
        if managed is None:
            return frozenset(g for g in live_grants if g.assignee_id not in dropped)
        for grant in sorted(managed.grants):
            kind = "user" if grant.assignee_type == "user" else "group"
            location = managed.grant_locations.get(grant) or state.location_of(path)
            if grant.assignee_id in dropped:
                # someone left: the plan goes on without the grant, so every other change still lands
                merge.warnings.append(
                    Diagnostic(
                        "warning",
                        f"{path}: {kind} '{grant.assignee_id}' leaves in this plan, so its {grant.name} "
                        "listed here is not given; remove it from the file",
                        location,
                        grant.assignee_id,
                    )
                )
                continue
            exists = desired_users if grant.assignee_type == "user" else desired_groups
            if grant.assignee_id not in exists:
                merge.errors.append(
                    Diagnostic(
                        "error",
                        f"{path}: {kind} '{grant.assignee_id}' does not exist in GoodData and is not created "
                        "by this plan",
                        location,
                        grant.assignee_id,
                    )
                )
        kept_protected = frozenset(g for g in live_grants if g.assignee_id in protected)
        for grant in sorted(kept_protected - managed.grants):
            merge.warn(
                f"{path}: {grant.name} of protected '{grant.assignee_id}' is kept although the file does not "
                "list it (protected principals never lose grants)",
                path=path,
            )
        return frozenset(g for g in managed.grants if g.assignee_id not in dropped) | kept_protected

    # Objects the file does not list are read only when they grant something to a principal the plan
    # removes or strips; their grants stay as they are, but for that principal's.
    unlisted_workspaces = sorted(set(live.workspace_permissions) - set(state.workspaces))
    for workspace_id in sorted(state.workspaces) + unlisted_workspaces:
        if workspace_id not in live.workspaces:
            continue
        spec = state.workspaces.get(workspace_id)
        live_doc = live.workspace_permissions.get(workspace_id, {})
        path = f"permissions.workspaces.{workspace_id}"
        plain = resolve(spec.permissions if spec else None, live_doc.get("permissions"), path)
        hierarchy = resolve(
            spec.hierarchy_permissions if spec else None, live_doc.get("hierarchyPermissions"), path
        )
        changes += _grant_changes("workspace", workspace_id, grants_of(live_doc.get("permissions")), plain)
        changes += _grant_changes(
            "workspace",
            workspace_id,
            grants_of(live_doc.get("hierarchyPermissions")),
            hierarchy,
            hierarchy=True,
        )
        docs.workspaces[workspace_id] = {
            "permissions": wire_grants(plain),
            "hierarchyPermissions": wire_grants(hierarchy),
        }
    for data_source_id in sorted(set(state.data_sources) | set(live.data_source_permissions)):
        if data_source_id in live.missing_data_sources or data_source_id not in live.data_source_permissions:
            continue
        ds_spec = state.data_sources.get(data_source_id)
        live_doc = live.data_source_permissions[data_source_id]
        path = f"permissions.data_sources.{data_source_id}"
        grants = resolve(ds_spec.permissions if ds_spec else None, live_doc.get("permissions"), path)
        changes += _grant_changes(
            "data_source", data_source_id, grants_of(live_doc.get("permissions")), grants
        )
        docs.data_sources[data_source_id] = {"permissions": wire_grants(grants)}
    if live.organization_permissions is not None and (state.organization_permissions is not None or dropped):
        grants = resolve(
            state.organization_permissions, live.organization_permissions, "permissions.organization"
        )
        changes += _grant_changes("organization", "", grants_of(live.organization_permissions), grants)
        docs.organization = wire_grants(grants)
    return changes, docs


def _grant_changes(
    scope: GrantScope,
    target: str,
    before: frozenset[Grant],
    after: frozenset[Grant],
    *,
    hierarchy: bool = False,
) -> list[GrantChange]:
    added = [GrantChange(scope, target, "create", g, hierarchy) for g in sorted(after - before)]
    revoked = [GrantChange(scope, target, "delete", g, hierarchy) for g in sorted(before - after)]
    return added + revoked


def _privileged_groups(docs: GrantDocs, live: LiveOrganization, groups: Mapping[str, JsonDict]) -> set[str]:
    """Groups holding MANAGE anywhere after the plan, directly or through a parent, so renderers
    can flag users added to them."""
    grants: list[Grant] = []
    for doc in docs.workspaces.values():
        grants += grants_of(doc["permissions"]) | grants_of(doc["hierarchyPermissions"])
    for doc in docs.data_sources.values():
        grants += grants_of(doc["permissions"])
    organization = docs.organization if docs.organization is not None else live.organization_permissions
    grants += grants_of(organization)
    holders = {g.assignee_id for g in grants if g.name == "MANAGE" and g.assignee_type == "userGroup"}
    parents = {group_id: group_ids(group.get("parents")) for group_id, group in groups.items()}
    return holders | {g for g in parents if group_and_ancestors(g, parents) & holders}
