"""Bodies of the pull-request comment and the drift issue, and safe truncation of Markdown.

GitHub rejects a comment or issue body longer than 65,536 characters. A plan can be longer, so
bodies are cut at a line boundary, with any open code fence or ``<details>`` block closed, and
a note that points to the complete JSON plan in the run's artifacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from reconciler.github.api import DRIFT_MARKER, PLAN_MARKER, checksum_marker

#: GitHub's limit for a comment or issue body, in characters.
GITHUB_BODY_LIMIT = 65_536
#: What we allow ourselves, leaving room for GitHub counting a few characters differently.
BODY_BUDGET = 65_000
#: Step summaries may hold 1 MiB; 250,000 characters stay below it whatever the UTF-8 width.
SUMMARY_BUDGET = 250_000
#: Name of the artifact the workflows upload the complete JSON plan as.
PLAN_ARTIFACT = "reconciler-plan"

_FENCE = re.compile(r"^\s*(```|~~~)")
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


def run_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Link to the current GitHub Actions run, when running in one."""
    env = os.environ if environ is None else environ
    server, repository, run_id = (
        env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repository and run_id:
        return f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
    return None


def truncation_note(url: str | None) -> str:
    """The note appended to a cut plan, pointing to the complete one."""
    where = (
        f"the `{PLAN_ARTIFACT}` artifact of [this run]({url})" if url else f"the `{PLAN_ARTIFACT}` artifact"
    )
    return (
        "\n\n> [!WARNING]\n"
        f"> The plan is too long to show here and was truncated. The complete plan is in {where}.\n"
    )


def truncate_markdown(text: str, limit: int, note: str) -> str:
    """``text`` unchanged when it fits in ``limit`` characters; otherwise cut at a line boundary,
    open code fences and ``<details>`` blocks closed, ``note`` appended, the whole within ``limit``."""
    if len(text) <= limit:
        return text
    budget = limit - len(note)
    while budget > 0:
        kept = _cut_at_line(text, budget)
        closed = kept + _closers(kept)
        if len(closed) + len(note) <= limit:
            return closed + note
        budget -= len(closed) + len(note) - limit
    return note[:limit]


def _cut_at_line(text: str, budget: int) -> str:
    head = text[:budget]
    newline = head.rfind("\n")
    return head[: newline + 1] if newline > 0 else head


def _closers(kept: str) -> str:
    closers = ""
    fence: str | None = None
    for line in kept.splitlines():
        match = _FENCE.match(line)
        if match:
            fence = None if fence == match.group(1) else (fence or match.group(1))
    if fence:
        closers += f"\n{fence}\n"
    open_details = len(_DETAILS_OPEN.findall(kept)) - len(_DETAILS_CLOSE.findall(kept))
    closers += "\n</details>\n" * max(open_details, 0)
    return closers


def _checksum_of(plan: Mapping[str, Any] | None) -> str | None:
    if not plan:
        return None
    checksum = plan.get("checksum")
    return checksum if isinstance(checksum, str) and re.fullmatch(r"[0-9a-f]{64}", checksum) else None


def plan_comment_body(
    markdown: str,
    plan: Mapping[str, Any] | None,
    *,
    url: str | None,
    commit: str | None = None,
    limit: int = BODY_BUDGET,
) -> str:
    """The pull-request comment: marker, plan Markdown, and the checksum a merge will apply."""
    checksum = _checksum_of(plan)
    header = f"{PLAN_MARKER}\n"
    if checksum:
        header += f"{checksum_marker(checksum)}\n"
    footer_lines = ["", "---"]
    if commit:
        footer_lines.append(f"Planned for commit `{commit[:12]}`.")
    if checksum:
        footer_lines.append(
            f"Plan checksum `{checksum}`. Merging applies exactly this plan, "
            "or refuses if GoodData or Auth0 changed in the meantime (re-plan needed)."
        )
    else:
        footer_lines.append("No plan checksum recorded: merging this pull request will not apply anything.")
    artifact = f"Complete JSON plan: `{PLAN_ARTIFACT}` artifact"
    footer_lines.append(f"{artifact} of [this run]({url})." if url else f"{artifact}.")
    footer = "\n".join(footer_lines) + "\n"
    room = limit - len(header) - len(footer)
    return header + truncate_markdown(markdown.rstrip("\n") + "\n", room, truncation_note(url)) + footer


def fork_comment_body(*, url: str | None) -> str:
    """The comment posted on a pull request from a fork, which gets no secrets."""
    where = f" ([run]({url}))" if url else ""
    return (
        f"{PLAN_MARKER}\n"
        "### GoodData access plan: not computed\n\n"
        "This pull request comes from a fork. GitHub does not give workflows of fork pull requests "
        f"the repository's secrets, so the reconciler could not read Auth0 or GoodData{where}.\n\n"
        "A maintainer can push the branch to this repository (or open the same change from a branch "
        "here) to get a plan. Merging without a plan applies nothing: apply only runs reviewed plans.\n"
    )


def failed_comment_body(*, url: str | None, commit: str | None = None) -> str:
    """The comment posted when validation or planning failed (no checksum: merging applies nothing)."""
    where = f"[the run log]({url})" if url else "the run log"
    planned = f" for commit `{commit[:12]}`" if commit else ""
    return (
        f"{PLAN_MARKER}\n"
        "### GoodData access plan: failed\n\n"
        f"Validating or planning the desired state{planned} failed; see {where} for the error.\n\n"
        "No plan checksum is recorded, so merging this pull request will not apply anything.\n"
    )


def drift_issue_body(
    markdown: str,
    plan: Mapping[str, Any] | None,
    *,
    url: str | None,
    checked_at: str,
    limit: int = BODY_BUDGET,
) -> str:
    """The drift issue: what differs between GoodData/Auth0 and the desired state, and how to resolve it."""
    checksum = _checksum_of(plan)
    where = f" ([run]({url}))" if url else ""
    header = (
        f"{DRIFT_MARKER}\n"
        "The live GoodData organisation no longer matches the desired state in this repository: "
        "someone changed access in GoodData, or people joined or left in the identity provider.\n\n"
        f"Last checked: {checked_at}{where}. This issue is updated on every check and closed "
        "automatically once there is no drift.\n\n"
        "**To resolve:** either change `desired-state/` in a pull request so that it describes the "
        "live state you want to keep, or re-apply the desired state"
    )
    if checksum:
        header += f" by running the apply workflow manually with checksum `{checksum}`"
    header += ".\n\n"
    if checksum:
        header = header.replace(DRIFT_MARKER + "\n", f"{DRIFT_MARKER}\n{checksum_marker(checksum)}\n", 1)
    room = limit - len(header)
    return header + truncate_markdown(markdown.rstrip("\n") + "\n", room, truncation_note(url))
