"""``reconcile github ...``: the commands GitHub Actions workflows run around ``plan`` and ``apply``.

* ``pr-comment``: post or update the single plan comment on a pull request;
* ``summary``: append the plan to the job summary;
* ``drift``: open, update or close the single drift issue from ``plan --detailed-exitcode``;
* ``reviewed-checksum``: print the checksum of the plan reviewed on the pull request a merge
  commit merged, for ``apply --checksum``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reconciler.github.api import (
    DRIFT_LABEL,
    DRIFT_MARKER,
    PLAN_MARKER,
    GitHubClient,
    GitHubError,
    PullRequest,
    extract_checksum,
)
from reconciler.github.markdown import (
    BODY_BUDGET,
    SUMMARY_BUDGET,
    drift_issue_body,
    failed_comment_body,
    fork_comment_body,
    plan_comment_body,
    run_url,
    truncate_markdown,
    truncation_note,
)

DRIFT_TITLE = "GoodData access drift detected"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from error


def _read_plan(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{path} is not a JSON plan: {error.msg} at line {error.lineno}"
        ) from error
    if not isinstance(loaded, dict):
        raise click.ClickException(f"{path} is not a JSON plan (expected an object)")
    return loaded


def _client() -> GitHubClient:
    try:
        return GitHubClient.from_env()
    except GitHubError as error:
        raise click.ClickException(str(error)) from error


@click.group(name="github")
def github_group() -> None:
    """Commands for GitHub Actions: plan comment, job summary, drift issue, reviewed checksum.

    They read GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL from the environment.
    """


@github_group.command("pr-comment")
@click.option("--pr", "pr_number", type=click.IntRange(min=1), required=True, help="Pull request number.")
@click.option(
    "--markdown", "markdown_path", type=click.Path(path_type=Path), help="Plan rendered as Markdown."
)
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Complete JSON plan (for its checksum)."
)
@click.option(
    "--fork", is_flag=True, help="The pull request comes from a fork: explain why there is no plan."
)
@click.option("--failed", is_flag=True, help="Validation or planning failed: say so, record no checksum.")
@click.option("--commit", help="Commit the plan was computed for (shown to reviewers).")
def pr_comment(
    pr_number: int,
    markdown_path: Path | None,
    json_path: Path | None,
    fork: bool,
    failed: bool,
    commit: str | None,
) -> None:
    """Create or update the one plan comment on a pull request."""
    url = run_url()
    if fork:
        body = fork_comment_body(url=url)
    elif failed:
        body = failed_comment_body(url=url, commit=commit)
    elif markdown_path is None:
        raise click.UsageError("--markdown is required unless --fork or --failed is given")
    else:
        body = plan_comment_body(_read_text(markdown_path), _read_plan(json_path), url=url, commit=commit)
    client = _client()
    try:
        comment, created = client.upsert_comment(pr_number, body, PLAN_MARKER)
    except GitHubError as error:
        if fork and error.status == 403:
            # Fork pull requests also get a read-only token; the job summary still tells the author.
            click.echo(f"::warning::cannot comment on pull request #{pr_number} from a fork: {error}")
            _append_summary(body)
            return
        raise click.ClickException(str(error)) from error
    click.echo(
        f"{'created' if created else 'updated'} plan comment {comment.id} on pull request #{pr_number}"
    )


def _append_summary(markdown: str) -> bool:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    text = truncate_markdown(markdown.rstrip("\n") + "\n", SUMMARY_BUDGET, truncation_note(run_url()))
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(text + "\n")
    return True


@github_group.command("summary")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), required=True)
def summary(markdown_path: Path) -> None:
    """Append the Markdown plan to the job summary ($GITHUB_STEP_SUMMARY)."""
    if not _append_summary(_read_text(markdown_path)):
        raise click.ClickException("GITHUB_STEP_SUMMARY is not set (not running in GitHub Actions?)")
    click.echo("plan written to the job summary")


@github_group.command("drift")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Complete JSON plan (for its checksum)."
)
@click.option(
    "--exit-code", "plan_exit_code", type=int, required=True, help="Exit code of `plan --detailed-exitcode`."
)
def drift(markdown_path: Path, json_path: Path | None, plan_exit_code: int) -> None:
    """Open or update the drift issue (exit code 2), close it (0), or fail (anything else)."""
    if plan_exit_code not in (0, 2):
        raise click.ClickException(
            f"plan failed (exit code {plan_exit_code}); drift unknown, the drift issue is left as it is"
        )
    client = _client()
    try:
        issue = client.find_open_issue(DRIFT_MARKER, DRIFT_LABEL)
        if plan_exit_code == 0:
            if issue is None:
                click.echo("no drift")
                return
            where = f" ([run]({url}))" if (url := run_url()) else ""
            client.create_comment(issue.number, f"No drift any more as of {_now()}{where}. Closing.")
            client.update_issue(issue.number, state="closed", state_reason="completed")
            click.echo(f"no drift: closed issue #{issue.number}")
            return
        body = drift_issue_body(
            _read_text(markdown_path),
            _read_plan(json_path),
            url=run_url(),
            checked_at=_now(),
            limit=BODY_BUDGET,
        )
        if issue is None:
            created = client.create_issue(DRIFT_TITLE, body, (DRIFT_LABEL,))
            click.echo(f"drift: opened issue #{created.number}")
        else:
            client.update_issue(issue.number, body=body)
            click.echo(f"drift: updated issue #{issue.number}")
    except GitHubError as error:
        raise click.ClickException(str(error)) from error


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _merged_pull(pulls: list[PullRequest], sha: str) -> PullRequest | None:
    merged = [pull for pull in pulls if pull.merged]
    for pull in merged:
        if pull.merge_commit_sha and pull.merge_commit_sha.lower() == sha.lower():
            return pull
    return merged[0] if merged else None


@github_group.command("reviewed-checksum")
@click.option("--sha", required=True, help="The commit being applied (the merge commit).")
@click.option(
    "--explicit",
    default="",
    help="A checksum given by hand (manual workflow run); used instead of looking up a pull request.",
)
def reviewed_checksum(sha: str, explicit: str) -> None:
    """Print the checksum of the plan reviewed on the pull request merged by SHA.

    Fails with an explanation when the commit was not merged through a pull request or the
    pull request has no successful plan comment.
    """
    explicit = explicit.strip()
    if explicit:
        if not _SHA256.fullmatch(explicit):
            raise click.ClickException(
                "the checksum given by hand is not a 64-character lowercase hex SHA-256"
            )
        click.echo(f"using the checksum given by hand for commit {sha[:12]}", err=True)
        click.echo(explicit)
        return
    client = _client()
    try:
        pull = _merged_pull(client.pulls_for_commit(sha), sha)
        if pull is None:
            raise click.ClickException(
                f"commit {sha[:12]} was not merged through a pull request, so no plan was reviewed for it; "
                "refusing to apply. Run the apply workflow manually with the checksum of a plan you "
                "reviewed to apply anyway."
            )
        comment = client.find_comment(pull.number, PLAN_MARKER)
    except GitHubError as error:
        raise click.ClickException(str(error)) from error
    checksum = extract_checksum(comment.body) if comment else None
    if checksum is None:
        raise click.ClickException(
            f"pull request #{pull.number} has no successful plan comment (planning failed, or it came from "
            "a fork); refusing to apply. Re-plan in a new pull request."
        )
    click.echo(f"reviewed plan from pull request #{pull.number}", err=True)
    click.echo(checksum)


def main() -> None:
    """Run the group standalone (``python -m reconciler.github``)."""
    github_group(prog_name="reconcile github")
