"""Terminal rendering of a plan, in the manner of ``terraform plan``.

One line per change (``+`` create, ``~`` update, ``-`` delete) with its details inline, so that
a plan of ten thousand changes stays greppable. Warnings and blocked guards come first.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from reconciler.model import Diagnostic
from reconciler.plan import GuardResult, Plan
from reconciler.render.rows import (
    EMPTY_PLAN_MESSAGE,
    Phrase,
    Row,
    Span,
    attention_line,
    build_sections,
    count_flags,
    format_phrase,
    mask_email,
    mask_emails_in,
    summary_line,
)

SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
COLORS = {"create": "green", "update": "yellow", "delete": "red"}
OVERRIDE_HINT = "(apply with --force to override)"


def _identity(text: str) -> str:
    return text


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, *, fg: str | None = None, bold: bool | None = None) -> str:
        return click.style(text, fg=fg, bold=bold) if color else text

    return style


BLOCKED_HEADING = "Blocked by safety guards:"


def guard_line(guard: GuardResult) -> str:
    """``<guard name>: <message>`` plus the --force hint for overridable guards."""
    hint = f" {OVERRIDE_HINT}" if guard.overridable else ""
    return f"{guard.name}: {guard.message}{hint}"


def warning_line(warning: Diagnostic) -> str:
    """``file:line:col: warning: message`` (the location only when known)."""
    return str(warning)


def render_text(plan: Plan, *, color: bool = False, show_emails: bool = True) -> str:
    """The plan for a terminal; ``color`` adds ANSI colours, ``show_emails=False`` masks addresses."""
    style = _styler(color)
    value = _identity if show_emails else mask_emails_in
    email = _identity if show_emails else mask_email

    def phrase(parts: Phrase) -> str:
        return format_phrase(parts, value=value, email=email)

    def row_line(row: Row) -> str:
        line = f"{SYMBOLS[row.action]} {phrase(row.subject)}"
        if row.details:
            line += ": " + "; ".join(phrase(detail) for detail in row.details)
        line = style(line, fg=COLORS[row.action])
        if row.privilege_increase:
            line += "  " + style("[privilege increase]", fg="magenta", bold=True)
        return "  " + line

    lines: list[str] = []
    failed = [guard for guard in plan.guards if not guard.passed]
    if failed:
        lines.append(style(BLOCKED_HEADING, fg="red", bold=True))
        lines.extend("  " + style(mask_text(guard_line(g), show_emails), fg="red") for g in failed)
        lines.append("")
    if plan.warnings:
        lines.append(style("Warnings:", fg="yellow", bold=True))
        lines.extend(
            "  " + style(mask_text(warning_line(w), show_emails), fg="yellow") for w in plan.warnings
        )
        lines.append("")

    sections = build_sections(plan)
    for section in sections:
        lines.append(style(f"{phrase(section.title)} ({len(section.rows)}):", bold=True))
        lines.extend(row_line(row) for row in section.rows)
        lines.append("")

    summary = summary_line(plan)
    if summary == EMPTY_PLAN_MESSAGE:
        lines.append(style(summary, fg="green", bold=True))
        return "\n".join(lines) + "\n"
    if plan.writes:
        labels = ", ".join(document.label for document in plan.writes)
        lines.append(f"Documents to write, in order: {phrase((Span(labels, 'value'),))}")
    lines.append(style(summary, bold=True))
    attention = attention_line(*count_flags(plan))
    if attention:
        lines.append(style(attention, fg="yellow", bold=True))
    if failed:  # said again last, where a reader's eye lands
        lines.append(style(blocked_line(plan), fg="red", bold=True))
    return "\n".join(lines) + "\n"


def blocked_line(plan: Plan) -> str:
    """``Blocked: apply refuses this plan (...)``, naming what would lift each failed guard."""
    failed = [guard for guard in plan.guards if not guard.passed]
    lifted = [guard.name for guard in failed if guard.overridable]
    kept = [guard.name for guard in failed if not guard.overridable]
    parts = []
    if lifted:
        parts.append(f"{', '.join(lifted)}: apply --force lifts it")
    if kept:
        parts.append(f"{', '.join(kept)}: change the desired state or GoodData, no flag lifts it")
    return f"Blocked: apply refuses this plan ({'; '.join(parts)})."


def mask_text(text: str, show_emails: bool) -> str:
    """``text`` with email-looking parts masked unless ``show_emails``."""
    return text if show_emails else mask_emails_in(text)
