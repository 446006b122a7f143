"""The row model every renderer formats: a ``Plan`` as ordered sections of one-line changes.

``build_sections`` decides *what* is shown and in which order; the text and Markdown renderers
only decide *how*. Every piece of text is a ``Span`` that says whether it is our own wording
(``text``), a value coming from data (``value``: ids, names, reasons, permissions) or an email
address (``email``), so that each renderer can escape and mask data without touching its own
wording.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.model import Grant
from reconciler.plan import (
    ACTION_ORDER,
    ChangeAction,
    FieldChange,
    GrantChange,
    GroupChange,
    Plan,
    UserChange,
)

SpanKind = Literal["text", "value", "email"]
SectionCategory = Literal["users", "groups", "organization_grants", "workspace_grants", "data_source_grants"]


_EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@dataclass(frozen=True)
class Span:
    """A piece of a rendered phrase; ``kind`` says how a renderer must treat it."""

    text: str
    kind: SpanKind = "text"


Phrase = tuple[Span, ...]


@dataclass(frozen=True)
class Row:
    """One change on one line.

    ``subject`` names what changes (``user jane (...)``, ``MANAGE -> group admins``), ``details``
    are the inline facts (groups added, fields before -> after, the reason), ``where`` names the
    object a grant belongs to (empty for users and groups), for lists that mix sections.
    """

    category: SectionCategory
    action: ChangeAction
    subject: Phrase
    details: tuple[Phrase, ...] = ()
    where: Phrase = ()
    removal: bool = False
    privilege_increase: bool = False


@dataclass(frozen=True)
class Section:
    """A titled group of rows: users, groups, or the grants of one object."""

    category: SectionCategory
    target: str  # workspace or data source id; "" for users, groups and the organization
    title: Phrase
    rows: tuple[Row, ...]


# --------------------------------------------------------------------------------------------
# Masking and phrase formatting
# --------------------------------------------------------------------------------------------


def mask_email(email: str) -> str:
    """Hide an email address but keep it recognisable: ``chloe@acme-analytics.com`` -> ``c***@a***.com``.

    Neither the local part nor the full domain is revealed; only their first characters and
    the top-level domain are kept.
    """
    if not email:
        return ""
    local, at, domain = email.rpartition("@")
    if not at:
        return f"{email[0]}***"
    masked_local = f"{local[0]}***" if local else "***"
    host, dot, tld = domain.rpartition(".")
    if not dot or not host:
        return f"{masked_local}@{domain[:1]}***"
    return f"{masked_local}@{host[0]}***.{tld}"


def mask_emails_in(text: str) -> str:
    """Mask every email-looking part of ``text`` (e.g. an IdP subject such as ``samlp|acme|jo@acme.com``)."""
    return _EMAIL_PATTERN.sub(lambda match: mask_email(match.group(0)), text)


def format_phrase(
    phrase: Iterable[Span],
    *,
    value: Callable[[str], str] = str,
    email: Callable[[str], str] = str,
) -> str:
    """Join a phrase, passing data values and emails through the renderer's own functions."""
    parts: list[str] = []
    for span in phrase:
        if span.kind == "value":
            parts.append(value(span.text))
        elif span.kind == "email":
            parts.append(email(span.text))
        else:
            parts.append(span.text)
    return "".join(parts)


def plain_text(phrase: Iterable[Span]) -> str:
    """The phrase as-is, nothing escaped or masked."""
    return format_phrase(phrase)


# --------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------


def privileged_groups_of(plan: Plan) -> frozenset[str]:
    """The group ids ``plan.metadata["privileged_groups"]`` lists (joining them is a privilege increase)."""
    raw = plan.metadata.get("privileged_groups", [])
    if isinstance(raw, str):
        return frozenset({raw})
    if isinstance(raw, Iterable):
        return frozenset(str(item) for item in raw)
    return frozenset()


def is_privilege_increase(
    change: UserChange | GroupChange | GrantChange, *, privileged_groups: Collection[str] = ()
) -> bool:
    """True for a change that gives someone more power than before.

    That is: a new ``MANAGE`` grant anywhere, any new organization grant, a user added to a
    privileged group, or a group given a privileged parent (its members inherit the parent's
    grants).
    """
    if isinstance(change, GrantChange):
        return change.action == "create" and (change.grant.name == "MANAGE" or change.scope == "organization")
    if isinstance(change, UserChange):
        return change.action != "delete" and any(g in privileged_groups for g in change.groups_added)
    return change.action != "delete" and any(p in privileged_groups for p in change.parents_added)


def is_removal(change: UserChange | GroupChange | GrantChange) -> bool:
    """True for a user deleted, stripped or taken out of a group, a group deleted, or a grant revoked.

    A lost group membership takes access away like a revoked grant, and the safety guard counts it
    as a removal too.
    """
    if isinstance(change, UserChange):
        lost_groups = change.action == "update" and bool(change.groups_removed)
        return change.action == "delete" or change.stripped or lost_groups
    return change.action == "delete"


# --------------------------------------------------------------------------------------------
# Summary wording
# --------------------------------------------------------------------------------------------

EMPTY_PLAN_MESSAGE = "No changes. GoodData matches the desired state."


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 user``, ``2 users``; ``plural_form`` for irregular nouns."""
    noun = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {noun}"


def _category_clause(noun: str, items: list[tuple[int, str, str]]) -> str | None:
    """``3 users to create, 1 to update (1 stripped)``; zero counts are left out."""
    words: list[str] = []
    for count, verb, suffix in items:
        if count == 0:
            continue
        head = plural(count, noun) if not words else str(count)
        words.append(f"{head} to {verb}{suffix}")
    return ", ".join(words) if words else None


def summary_line(plan: Plan) -> str:
    """One sentence of counts, or the no-changes message for an empty plan."""
    counts = plan.counts
    if plan.is_empty and counts.total == 0:
        return EMPTY_PLAN_MESSAGE
    clauses = [
        _category_clause(
            "user",
            [
                (counts.users_created, "create", ""),
                (
                    counts.users_updated,
                    "update",
                    f" ({counts.users_stripped} stripped)" if counts.users_stripped else "",
                ),
                (counts.users_deleted, "remove", ""),
            ],
        ),
        _category_clause(
            "group",
            [
                (counts.groups_created, "create", ""),
                (counts.groups_updated, "update", ""),
                (counts.groups_deleted, "remove", ""),
            ],
        ),
        _category_clause("grant", [(counts.grants_added, "add", ""), (counts.grants_revoked, "revoke", "")]),
    ]
    present = [clause for clause in clauses if clause]
    if not present:
        return f"Plan: no user, group or grant changes; {plural(len(plan.writes), 'document')} to rewrite."
    return "Plan: " + "; ".join(present) + "."


def attention_line(removals: int, privilege_increases: int) -> str | None:
    """``Needs attention: 2 removals, 1 privilege increase.``, or None when there is nothing to flag."""
    parts = []
    if removals:
        parts.append(plural(removals, "removal"))
    if privilege_increases:
        parts.append(plural(privilege_increases, "privilege increase"))
    return f"Needs attention: {', '.join(parts)}." if parts else None


def count_flags(plan: Plan) -> tuple[int, int]:
    """``(removals, privilege_increases)`` over every change of the plan."""
    privileged = privileged_groups_of(plan)
    changes: list[UserChange | GroupChange | GrantChange] = [
        *plan.user_changes,
        *plan.group_changes,
        *plan.grant_changes,
    ]
    removals = sum(1 for change in changes if is_removal(change))
    increases = sum(1 for change in changes if is_privilege_increase(change, privileged_groups=privileged))
    return removals, increases


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _value(text: Any) -> Span:
    return Span(str(text), "value")


def _field_value(field_name: str, value: Any) -> Span:
    if value is None:
        return Span("(none)")
    if isinstance(value, str):
        return Span(value, "email" if field_name == "email" else "value")
    if isinstance(value, float) and not math.isfinite(value):
        return _value(str(value))
    return _value(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _field_phrase(change: FieldChange) -> Phrase:
    return (
        _value(change.field),
        Span(": "),
        _field_value(change.field, change.before),
        Span(" -> "),
        _field_value(change.field, change.after),
    )


def _id_list(prefix: str, ids: Iterable[str]) -> list[Span]:
    spans: list[Span] = []
    for index, item in enumerate(ids):
        spans.append(Span((" " if index else "") + prefix))
        spans.append(_value(item))
    return spans


def _membership_phrase(label: str, added: tuple[str, ...], removed: tuple[str, ...]) -> Phrase | None:
    if not added and not removed:
        return None
    spans = [Span(f"{label} "), *_id_list("+", added)]
    if added and removed:
        spans.append(Span(" "))
    spans.extend(_id_list("-", removed))
    return tuple(spans)


def _user_row(change: UserChange, privileged: Collection[str]) -> Row:
    subject: list[Span] = [Span("user "), _value(change.user_id)]
    identity: list[Span] = []
    if change.auth_id:
        identity += [Span("authId "), _value(change.auth_id)]
    if change.email:
        identity += [Span(", " if identity else ""), Span("email "), Span(change.email, "email")]
    if identity:
        subject += [Span(" ("), *identity, Span(")")]
    details: list[Phrase] = []
    if change.action == "delete":
        details.append((Span("removed from GoodData"),))
    if change.stripped:
        details.append((Span("stripped: account kept, groups and grants dropped"),))
    membership = _membership_phrase("groups", change.groups_added, change.groups_removed)
    if membership:
        details.append(membership)
    details.extend(_field_phrase(item) for item in change.fields)
    details.append((Span("reason: "), _value(change.reason)))
    return Row(
        category="users",
        action=change.action,
        subject=tuple(subject),
        details=tuple(details),
        removal=is_removal(change),
        privilege_increase=is_privilege_increase(change, privileged_groups=privileged),
    )


def _group_row(change: GroupChange, privileged: Collection[str]) -> Row:
    subject: list[Span] = [Span("group "), _value(change.group_id)]
    if change.name:
        subject += [Span(' "'), _value(change.name), Span('"')]
    details: list[Phrase] = []
    if change.action == "delete":
        details.append((Span("removed from GoodData"),))
    parents = _membership_phrase("parents", change.parents_added, change.parents_removed)
    if parents:
        details.append(parents)
    details.extend(_field_phrase(item) for item in change.fields)
    details.append((Span("reason: "), _value(change.reason)))
    return Row(
        category="groups",
        action=change.action,
        subject=tuple(subject),
        details=tuple(details),
        removal=is_removal(change),
        privilege_increase=is_privilege_increase(change, privileged_groups=privileged),
    )


def grant_phrase(grant: Grant) -> Phrase:
    """``MANAGE -> group admins`` or ``VIEW -> user jane``."""
    kind = "user" if grant.assignee_type == "user" else "group"
    return (_value(grant.name), Span(f" -> {kind} "), _value(grant.assignee_id))


def _where(change: GrantChange) -> Phrase:
    if change.scope == "organization":
        return (Span("organization"),)
    if change.scope == "workspace":
        suffix = " (hierarchy)" if change.hierarchy else ""
        return (Span("workspace "), _value(change.target), Span(suffix))
    return (Span("data source "), _value(change.target))


def _grant_row(change: GrantChange, category: SectionCategory) -> Row:
    details: list[Phrase] = []
    if change.hierarchy:
        details.append((Span("hierarchy: also applies to child workspaces"),))
    return Row(
        category=category,
        action=change.action,
        subject=grant_phrase(change.grant),
        details=tuple(details),
        where=_where(change),
        removal=is_removal(change),
        privilege_increase=is_privilege_increase(change),
    )


def _grant_sort_key(change: GrantChange) -> tuple[Any, ...]:
    grant = change.grant
    return (change.hierarchy, ACTION_ORDER[change.action], grant.assignee_type, grant.assignee_id, grant.name)


_GRANT_CATEGORY: Mapping[str, SectionCategory] = {
    "organization": "organization_grants",
    "workspace": "workspace_grants",
    "data_source": "data_source_grants",
}


def _grant_title(category: SectionCategory, target: str) -> Phrase:
    if category == "organization_grants":
        return (Span("Organization grants"),)
    if category == "workspace_grants":
        return (Span("Workspace "), _value(target), Span(" grants"))
    return (Span("Data source "), _value(target), Span(" grants"))


def build_sections(plan: Plan) -> tuple[Section, ...]:
    """The plan's changes as ordered, non-empty sections.

    Order: users, groups, organization grants, then each workspace's grants and each data
    source's grants by id. Inside a section, creations come first, then updates, then
    removals, each sorted by id; hierarchy grants follow the plain grants of their workspace.
    """
    privileged = privileged_groups_of(plan)
    sections: list[Section] = []
    users = sorted(plan.user_changes, key=lambda c: (ACTION_ORDER[c.action], c.user_id))
    if users:
        rows = tuple(_user_row(change, privileged) for change in users)
        sections.append(Section("users", "", (Span("Users"),), rows))
    groups = sorted(plan.group_changes, key=lambda c: (ACTION_ORDER[c.action], c.group_id))
    if groups:
        rows = tuple(_group_row(change, privileged) for change in groups)
        sections.append(Section("groups", "", (Span("Groups"),), rows))
    by_object: dict[tuple[SectionCategory, str], list[GrantChange]] = {}
    for change in plan.grant_changes:
        category = _GRANT_CATEGORY[change.scope]
        target = "" if category == "organization_grants" else change.target
        by_object.setdefault((category, target), []).append(change)
    category_order = {"organization_grants": 0, "workspace_grants": 1, "data_source_grants": 2}
    for category, target in sorted(by_object, key=lambda key: (category_order[key[0]], key[1])):
        changes = sorted(by_object[(category, target)], key=_grant_sort_key)
        rows = tuple(_grant_row(change, category) for change in changes)
        sections.append(Section(category, target, _grant_title(category, target), rows))
    return tuple(sections)
