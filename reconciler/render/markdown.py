"""Markdown rendering of a plan for pull-request comments, issue bodies and job summaries.

Layout: a heading, a table of counts and the summary sentence; a "Needs attention" block
(blocked guards, warnings, removals, privilege increases); one collapsible ``<details>``
section per category; a footer with the checksums. Every value coming from data is escaped,
emails are masked unless asked otherwise, and the result never exceeds ``max_chars``: a long
plan is cut between rows, its open section closed, and a note says what was left out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.model import Diagnostic
from reconciler.plan import GuardResult, Plan
from reconciler.render.rows import (
    EMPTY_PLAN_MESSAGE,
    Phrase,
    Row,
    Section,
    build_sections,
    format_phrase,
    mask_email,
    mask_emails_in,
    plural,
    summary_line,
)

DEFAULT_FULL_PLAN_HINT = "The complete plan is in the JSON plan artifact."
HEADING = "## GoodData access plan"
SYMBOLS = {"create": "➕", "update": "✏️", "delete": "➖"}
#: How many items of each kind the "Needs attention" block lists before "and N more".
ATTENTION_ITEMS = 5
#: How many warnings the "Needs attention" block lists; all of them follow in their own section.
ATTENTION_WARNINGS = 10

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>#|~&])")
#: An ``@`` where GitHub would see a mention (line start or after a non-word character).
_MENTION = re.compile(r"(?<![\w.+-])@(?=\w)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def escape_markdown(text: str) -> str:
    """Make ``text`` from data render literally in Markdown, on one line, without notifying anyone.

    Backslash-escapes the characters that start emphasis, code, links, HTML, headings, tables
    or strikethrough; turns line breaks into spaces; and breaks ``@name`` mentions with a
    zero-width space so a plan comment never pings a GitHub user or team.
    """
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))
    return _MENTION.sub("@&#8203;", escaped)


def escape_html(text: str) -> str:
    """Escape ``text`` for raw HTML context (``<summary>``), where Markdown escapes do not apply."""
    return html.escape(_LINE_BREAKS.sub(" ", text), quote=True)


@dataclass(frozen=True)
class _Block:
    """One collapsible section: its ``<summary>`` HTML and one Markdown line per item."""

    summary: str
    lines: tuple[str, ...]
    counts_as_changes: bool


class _Formatter:
    """Formats phrases for Markdown or HTML, masking emails unless ``show_emails``."""

    def __init__(self, *, show_emails: bool) -> None:
        self.show_emails = show_emails

    def _masked(self, text: str) -> str:
        return text if self.show_emails else mask_emails_in(text)

    def _masked_email(self, text: str) -> str:
        return text if self.show_emails else mask_email(text)

    def markdown(self, phrase: Phrase) -> str:
        """The phrase with data escaped for Markdown."""
        return format_phrase(
            phrase,
            value=lambda text: escape_markdown(self._masked(text)),
            email=lambda text: escape_markdown(self._masked_email(text)),
        )

    def html(self, phrase: Phrase) -> str:
        """The phrase with data escaped for raw HTML."""
        return format_phrase(
            phrase,
            value=lambda text: escape_html(self._masked(text)),
            email=lambda text: escape_html(self._masked_email(text)),
        )

    def data(self, text: str) -> str:
        """A free-form data string (a guard or warning message) for Markdown."""
        return escape_markdown(self._masked(text))

    def row(self, row: Row, *, with_where: bool = False) -> str:
        """One change as a list-item body."""
        text = f"{SYMBOLS[row.action]} {self.markdown(row.subject)}"
        if with_where and row.where:
            text += f" on {self.markdown(row.where)}"
        if row.details:
            text += ": " + "; ".join(self.markdown(detail) for detail in row.details)
        if row.privilege_increase:
            text += " — **privilege increase**"
        return text


def _count_table(plan: Plan) -> list[str]:
    counts = plan.counts
    stripped = f" ({counts.users_stripped} stripped)" if counts.users_stripped else ""
    return [
        "| | Create / add | Update | Remove / revoke |",
        "|---|---:|---:|---:|",
        f"| Users | {counts.users_created} | {counts.users_updated}{stripped} | {counts.users_deleted} |",
        f"| Groups | {counts.groups_created} | {counts.groups_updated} | {counts.groups_deleted} |",
        f"| Grants | {counts.grants_added} | – | {counts.grants_revoked} |",
        f"| **Total: {counts.total}** | {counts.users_created + counts.groups_created + counts.grants_added} "
        f"| {counts.users_updated + counts.groups_updated} "
        f"| {counts.users_deleted + counts.groups_deleted + counts.grants_revoked} |",
    ]


def _guard_item(guard: GuardResult, fmt: _Formatter) -> str:
    hint = " (apply with `--force` to override)" if guard.overridable else ""
    return f"- ⛔ **blocked by safety guard {fmt.data(guard.name)}:** {fmt.data(guard.message)}{hint}"


def _warning_text(warning: Diagnostic, fmt: _Formatter) -> str:
    where = f"{fmt.data(str(warning.location))}: " if warning.location is not None else ""
    return f"**{warning.level}:** {where}{fmt.data(warning.message)}"


def _flagged_items(title: str, rows: Sequence[Row], fmt: _Formatter) -> list[str]:
    if not rows:
        return []
    items = [f"- **{title}**"]
    items.extend(f"  - {fmt.row(row, with_where=True)}" for row in rows[:ATTENTION_ITEMS])
    if len(rows) > ATTENTION_ITEMS:
        items.append(f"  - …and {len(rows) - ATTENTION_ITEMS} more")
    return items


_INCREASE_ORDER: Mapping[str, int] = {
    "organization_grants": 0,
    "workspace_grants": 1,
    "data_source_grants": 2,
    "groups": 3,
    "users": 4,
}


def _attention(plan: Plan, sections: Sequence[Section], fmt: _Formatter) -> list[str]:
    rows = [row for section in sections for row in section.rows]
    removals = [row for row in rows if row.removal]
    # the grants that create power first (organization, then MANAGE elsewhere), then who joins it
    increases = sorted(
        (row for row in rows if row.privilege_increase), key=lambda row: _INCREASE_ORDER[row.category]
    )
    items = [_guard_item(guard, fmt) for guard in plan.guards if not guard.passed]
    items.extend(f"- ⚠️ {_warning_text(w, fmt)}" for w in plan.warnings[:ATTENTION_WARNINGS])
    if len(plan.warnings) > ATTENTION_WARNINGS:
        more = len(plan.warnings) - ATTENTION_WARNINGS
        items.append(f"- …and {plural(more, 'more warning')} (listed below)")
    items += _flagged_items(plural(len(removals), "removal"), removals, fmt)
    items += _flagged_items(plural(len(increases), "privilege increase"), increases, fmt)
    return ["### Needs attention", "", *items, ""] if items else []


def _head(plan: Plan, sections: Sequence[Section], fmt: _Formatter) -> str:
    summary = summary_line(plan)
    lines = [HEADING, ""]
    if summary == EMPTY_PLAN_MESSAGE:
        lines += [f"**{summary}**", ""]
    else:
        lines += [*_count_table(plan), "", f"**{summary}**", ""]
    lines += _attention(plan, sections, fmt)
    return "\n".join(lines) + "\n"


def _blocks(plan: Plan, sections: Sequence[Section], fmt: _Formatter) -> list[_Block]:
    blocks: list[_Block] = []
    if len(plan.warnings) > ATTENTION_WARNINGS:
        lines = tuple(f"- {_warning_text(w, fmt)}\n" for w in plan.warnings)
        blocks.append(_Block(f"All warnings ({len(plan.warnings)})", lines, counts_as_changes=False))
    for section in sections:
        summary = f"{fmt.html(section.title)} ({len(section.rows)})"
        lines = tuple(f"- {fmt.row(row)}\n" for row in section.rows)
        blocks.append(_Block(summary, lines, counts_as_changes=True))
    return blocks


def _footer(plan: Plan) -> str:
    return (
        "---\n"
        f"<sub>Plan checksum {escape_markdown(plan.checksum[:12])} · "
        f"desired state {escape_markdown(plan.desired_checksum)} · "
        f"live state {escape_markdown(plan.live_checksum)}</sub>\n"
    )


def _opening(block: _Block) -> str:
    return f"<details><summary>{block.summary}</summary>\n\n"


_CLOSING = "\n</details>\n\n"


def _truncation_note(changes_left_out: int, total_changes: int, warnings_left_out: int, hint: str) -> str:
    warnings = f" and {plural(warnings_left_out, 'warning')}" if warnings_left_out else ""
    return (
        f"\n> **Plan truncated:** {changes_left_out} of {plural(total_changes, 'change')}{warnings} "
        f"not shown. {hint}\n"
    )


def _fit(text: str, limit: int) -> str:
    """Last resort when even the head does not fit: cut at a line boundary."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut + 1] if cut >= 0 else text[:limit]


def _assemble_truncated(
    head: str, blocks: Sequence[_Block], footer: str, limit: int, hint: str, total_changes: int
) -> str:
    total_warnings = sum(len(b.lines) for b in blocks if not b.counts_as_changes)
    # The note is sized for the worst case so that it always fits once written.
    reserve = len(footer) + len(_truncation_note(total_changes, total_changes, total_warnings, hint))
    budget = limit - reserve
    parts = [_fit(head, max(budget, 0))]
    used = len(parts[0])
    shown_changes = shown_warnings = 0
    stopped = False
    for block in blocks:
        opening = _opening(block)
        first_line = len(block.lines[0]) if block.lines else 0
        if stopped or used + len(opening) + first_line + len(_CLOSING) > budget:
            break
        parts.append(opening)
        used += len(opening)
        for line in block.lines:
            if used + len(line) + len(_CLOSING) > budget:
                stopped = True
                break
            parts.append(line)
            used += len(line)
            if block.counts_as_changes:
                shown_changes += 1
            else:
                shown_warnings += 1
        parts.append(_CLOSING)
        used += len(_CLOSING)
    left_out = total_changes - shown_changes
    parts += [footer, _truncation_note(left_out, total_changes, total_warnings - shown_warnings, hint)]
    return _fit("".join(parts), limit)


def render_markdown(
    plan: Plan,
    *,
    show_emails: bool = False,
    max_chars: int = 60_000,
    full_plan_hint: str = DEFAULT_FULL_PLAN_HINT,
) -> str:
    """The plan as Markdown of at most ``max_chars`` characters.

    ``show_emails`` reveals email addresses (masked by default, the comment may be public).
    ``full_plan_hint`` is written, as Markdown, in the note of a truncated plan.
    """
    fmt = _Formatter(show_emails=show_emails)
    sections = build_sections(plan)
    head = _head(plan, sections, fmt)
    blocks = _blocks(plan, sections, fmt)
    footer = _footer(plan)
    full = head + "".join(_opening(b) + "".join(b.lines) + _CLOSING for b in blocks) + footer
    if len(full) <= max_chars:
        return full
    total_changes = sum(len(section.rows) for section in sections)
    return _assemble_truncated(head, blocks, footer, max_chars, full_plan_hint, total_changes)
