"""Bodies of the pull-request comment and the drift issue, and safe truncation of Markdown.

GitHub rejects a comment or issue body longer than 65,536 characters. A plan can be longer, so
bodies are cut at a line boundary, with any open code fence or ``<details>`` block closed, and
a note that points to the complete JSON plan in the run's artifacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.github.api import APPLY_MARKER, DRIFT_MARKER, PLAN_MARKER, PlanInputs, checksum_marker
from reconciler.render.markdown import escape_markdown

#: GitHub's limit for a comment or issue body, in characters.
GITHUB_BODY_LIMIT = 65_536
#: What we allow ourselves, leaving room for GitHub counting a few characters differently.
BODY_BUDGET = 65_000
#: Step summaries may hold 1 MiB; 250,000 characters stay below it whatever the UTF-8 width.
SUMMARY_BUDGET = 250_000
#: Name of the artifact the workflows upload the complete JSON plan as.
PLAN_ARTIFACT = "reconciler-plan"
#: Name of the artifact apply.yml keeps the replaced live documents in.
BACKUP_ARTIFACT = "reconciler-backup"
#: How many error lines a failed-plan comment quotes, and how long each may be.
MAX_ERROR_LINES = 30
MAX_ERROR_LINE_CHARS = 300

_FENCE = re.compile(r"^\s*(```|~~~)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"(^|: )error: ")
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


def planned_on(commit: str | None, merge_commit: str | None = None, base: str | None = None) -> str:
    """Which tree a pull-request plan was computed on: GitHub's test merge of the head into the
    base branch (``refs/pull/N/merge``), not the head commit by itself."""
    into = f"`{base}`" if base else "the base branch"
    if commit and merge_commit:
        return (
            f"Planned on the test merge of `{commit[:12]}` into {into} (merge commit `{merge_commit[:12]}`)."
        )
    if commit:
        return f"Planned on the test merge of `{commit[:12]}` into {into}."
    if merge_commit:
        return f"Planned on the test merge commit `{merge_commit[:12]}` of this pull request into {into}."
    return ""


def plan_comment_body(
    markdown: str,
    plan: Mapping[str, Any] | None,
    *,
    url: str | None,
    commit: str | None = None,
    merge_commit: str | None = None,
    base: str | None = None,
    limit: int = BODY_BUDGET,
) -> str:
    """The pull-request comment: markers, plan Markdown, and the checksum a merge will apply.

    Besides the checksum, a hidden marker records the checksums of the three inputs (desired
    state, identity provider, live GoodData), so a refused apply can say which one changed.
    """
    checksum = _checksum_of(plan)
    inputs = PlanInputs.of_plan(plan)
    header = f"{PLAN_MARKER}\n"
    if checksum:
        header += f"{checksum_marker(checksum)}\n"
        if inputs:
            header += f"{inputs.marker()}\n"
    footer_lines = ["", "---"]
    if where := planned_on(commit, merge_commit, base):
        footer_lines.append(
            f"{where} If the base branch moves before the merge, push again (or update the branch) "
            "to re-plan."
        )
    if checksum:
        footer_lines.append(
            f"Plan checksum `{checksum}`. Merging applies exactly this plan, or refuses (and says so "
            "here) if the desired state, the identity provider or GoodData changed in the meantime."
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


def error_lines(output: str) -> list[str]:
    """The error lines of a failed ``validate`` or ``plan`` (``file:line:col: error: ...`` or
    ``error: ...``), without colour codes."""
    lines = []
    for raw in output.splitlines():
        line = _ANSI.sub("", raw).strip()
        if _ERROR_LINE.search(line):
            lines.append(line)
    return lines


def _quoted_errors(errors: Sequence[str]) -> str:
    if not errors:
        return ""
    shown = errors[:MAX_ERROR_LINES]
    items = []
    for line in shown:
        cut = line if len(line) <= MAX_ERROR_LINE_CHARS else line[: MAX_ERROR_LINE_CHARS - 1] + "…"
        items.append(f"- {escape_markdown(cut)}")
    if len(errors) > len(shown):
        items.append(f"- … and {len(errors) - len(shown)} more in the run log")
    return "**Errors:**\n\n" + "\n".join(items) + "\n\n"


def failed_comment_body(
    *,
    url: str | None,
    commit: str | None = None,
    merge_commit: str | None = None,
    base: str | None = None,
    errors: Sequence[str] = (),
) -> str:
    """The comment posted when validation or planning failed (no checksum: merging applies nothing).

    Quotes the first ``MAX_ERROR_LINES`` error lines, escaped so that they render as text."""
    where = f"[the run log]({url})" if url else "the run log"
    planned = planned_on(commit, merge_commit, base)
    return (
        f"{PLAN_MARKER}\n"
        "### GoodData access plan: failed\n\n"
        f"Validating or planning the desired state failed; see {where} for details."
        f"{' ' + planned if planned else ''}\n\n"
        f"{_quoted_errors(errors)}"
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


def _run_link(url: str | None, text: str = "this run") -> str:
    return f"[{text}]({url})" if url else text


def apply_refused_body(
    *,
    headline: str,
    reasons: Sequence[str],
    proceed: Sequence[str],
    url: str | None,
) -> str:
    """The comment on a merged pull request whose apply was refused: why, and how to proceed.

    ``reasons`` and ``proceed`` are Markdown written by the reconciler (no data from outside)."""
    lines = [
        APPLY_MARKER,
        "### GoodData access: apply refused",
        "",
        f"{headline} Nothing was written to GoodData ({_run_link(url)}).",
        "",
    ]
    if reasons:
        lines += [f"- {reason}" for reason in reasons] + [""]
    if proceed:
        lines += ["**To proceed:**", ""] + [f"- {step}" for step in proceed] + [""]
    lines.append(
        "Until the desired state is applied, the hourly drift check reports the difference in the "
        "drift issue (label `gooddata-drift`)."
    )
    return "\n".join(lines) + "\n"


def apply_result_body(*, exit_code: int, checksum: str | None, stage: str, url: str | None) -> str:
    """The comment on a merged pull request after its apply ran: applied, or what went wrong."""
    planned = f" `{checksum}`" if checksum else ""
    if exit_code == 0:
        return (
            f"{APPLY_MARKER}\n"
            "### GoodData access: applied\n\n"
            f"The reviewed plan{planned} was applied to GoodData and verified ({_run_link(url)}).\n"
        )
    if stage == "plan":
        what = (
            f"Planning before the apply failed (exit code {exit_code}); nothing was written to GoodData. "
            f"See the log of {_run_link(url)}."
        )
    else:
        what = (
            f"The apply of the reviewed plan{planned} did not complete (exit code {exit_code}); see the "
            f"log of {_run_link(url)} for why. A stopped apply lists what it wrote and what it did not, "
            f"and the documents it replaced are in the run's `{BACKUP_ARTIFACT}` artifact "
            "(`reconcile restore`)."
        )
    return (
        f"{APPLY_MARKER}\n"
        "### GoodData access: apply failed\n\n"
        f"{what}\n\n"
        "**To proceed:** fix the cause, then run the **Apply** workflow by hand (Actions → Apply → Run "
        "workflow) with the checksum of a fresh plan you reviewed; the next apply converges. Until then the "
        "hourly drift check reports the difference in the drift issue (label `gooddata-drift`).\n"
    )
