"""``reconcile github ...``: the commands GitHub Actions workflows run around ``plan`` and ``apply``.

* ``pr-comment``: post or update the single plan comment on a pull request;
* ``summary``: append the plan to the job summary;
* ``drift``: open, update or close the single drift issue from ``plan --detailed-exitcode``;
* ``apply-check``: before an apply, compare a fresh plan with the plan reviewed on the pull
  request that a merge commit merged (or a checksum given by hand); print the checksum to pass
  to ``apply --checksum``, or refuse, saying which input changed, on the pull request too;
* ``apply-result``: after an apply, say on the merged pull request how it went.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.github.api import (
    APPLY_MARKER,
    DRIFT_CLOSED_MARKER,
    DRIFT_LABEL,
    DRIFT_MARKER,
    PLAN_MARKER,
    GitHubClient,
    GitHubError,
    PlanInputs,
    PullRequest,
    extract_checksum,
    extract_inputs,
)
from reconciler.github.markdown import (
    BODY_BUDGET,
    PLAN_ARTIFACT,
    SUMMARY_BUDGET,
    apply_refused_body,
    apply_result_body,
    drift_issue_body,
    error_lines,
    failed_comment_body,
    fork_comment_body,
    plan_comment_body,
    run_url,
    truncate_markdown,
    truncation_note,
)
from reconciler.render.markdown import escape_markdown

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
    """Commands for GitHub Actions: plan comment, job summary, drift issue, apply check and result.

    They read GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL (default https://api.github.com),
    GITHUB_STEP_SUMMARY (the job summary file), GITHUB_SERVER_URL and GITHUB_RUN_ID (for links to the
    run), and RECONCILER_COMMENT_AUTHOR (whose comments count as the tool's; default
    github-actions[bot]) from the environment.
    """


def _markdown_option(*, required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--markdown",
        "markdown_path",
        type=click.Path(path_type=Path),
        required=required,
        help="Plan rendered as Markdown.",
    )


_json_option = click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Complete JSON plan (for its checksum)."
)


@github_group.command("pr-comment")
@click.option("--pr", "pr_number", type=click.IntRange(min=1), required=True, help="Pull request number.")
@_markdown_option(required=False)
@_json_option
@click.option(
    "--fork", is_flag=True, help="The pull request comes from a fork: explain why there is no plan."
)
@click.option("--failed", is_flag=True, help="Validation or planning failed: say so, record no checksum.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(path_type=Path),
    help="With --failed: output of the failed command; its error lines are quoted (escaped, capped).",
)
@click.option("--commit", help="Head commit of the pull request (shown to reviewers).")
@click.option("--merge-commit", help="GitHub's test merge commit the plan was computed on.")
@click.option("--base", help="Base branch the head was merged into for the plan.")
def pr_comment(
    pr_number: int,
    markdown_path: Path | None,
    json_path: Path | None,
    fork: bool,
    failed: bool,
    errors_path: Path | None,
    commit: str | None,
    merge_commit: str | None,
    base: str | None,
) -> None:
    """Create or update the one plan comment on a pull request."""
    url = run_url()
    if fork:
        body = fork_comment_body(url=url)
    elif failed:
        errors = error_lines(_read_text(errors_path)) if errors_path is not None else []
        body = failed_comment_body(
            url=url, errors=errors, commit=commit, merge_commit=merge_commit, base=base
        )
    elif markdown_path is None:
        raise click.UsageError("--markdown is required unless --fork or --failed is given")
    else:
        body = plan_comment_body(
            _read_text(markdown_path),
            _read_plan(json_path),
            url=url,
            commit=commit,
            merge_commit=merge_commit,
            base=base,
        )
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
@_markdown_option(required=True)
def summary(markdown_path: Path) -> None:
    """Append the Markdown plan to the job summary ($GITHUB_STEP_SUMMARY)."""
    if not _append_summary(_read_text(markdown_path)):
        raise click.ClickException("GITHUB_STEP_SUMMARY is not set (not running in GitHub Actions?)")
    click.echo("plan written to the job summary")


@github_group.command("drift")
@_markdown_option(required=True)
@_json_option
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
            client.create_comment(
                issue.number, f"No drift any more as of {_now()}{where}. Closing.", DRIFT_CLOSED_MARKER
            )
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
            created = client.create_issue(DRIFT_TITLE, body, (DRIFT_LABEL,), DRIFT_MARKER)
            click.echo(f"drift: opened issue #{created.number}")
        else:
            client.update_issue(issue.number, body=body)
            click.echo(f"drift: updated issue #{issue.number}")
    except GitHubError as error:
        raise click.ClickException(str(error)) from error


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _merged_pull(pulls: list[PullRequest], sha: str) -> PullRequest | None:
    """The merged pull request whose merge commit is ``sha``, or None.

    Only that one counts: a pull request that merely contains the commit (one merged earlier,
    or an open one built on top of it) had a different plan reviewed.
    """
    for pull in pulls:
        if pull.merged and pull.merge_commit_sha and pull.merge_commit_sha.lower() == sha.lower():
            return pull
    return None


@dataclass(frozen=True)
class _Reviewed:
    """The plan an apply may carry out: its checksum and inputs, and where it was reviewed."""

    checksum: str
    inputs: PlanInputs | None
    source: str


class _Refused(Exception):
    """The apply must not run; the texts are Markdown written by the reconciler."""

    def __init__(self, headline: str, reasons: Sequence[str] = (), proceed: Sequence[str] = ()) -> None:
        super().__init__(headline)
        self.headline = headline
        self.reasons = list(reasons)
        self.proceed = list(proceed)


def _link(url: str | None) -> str:
    return f"[this run]({url})" if url else "this run"


def _by_hand(checksum: str, *, force: bool = False) -> str:
    with_force = " and **force** checked" if force else ""
    return (
        f"run the **Apply** workflow by hand (Actions → Apply → Run workflow) with checksum `{checksum}`"
        f"{with_force}; the protected environment's required reviewers approve that run"
    )


def _check_fresh_plan(plan: Mapping[str, Any], reviewed: _Reviewed, *, force: bool, url: str | None) -> None:
    """Refuse unless the fresh plan is the reviewed one and no guard that ``force`` leaves blocks it."""
    fresh = str(plan["checksum"])
    summary = plan.get("summary")
    total = summary.get("total") if isinstance(summary, Mapping) else None
    changes = f", {total} changes" if isinstance(total, int) else ""
    if fresh != reviewed.checksum:
        fresh_inputs = PlanInputs.of_plan(plan)
        if reviewed.inputs is not None and fresh_inputs is not None:
            changed = fresh_inputs.changed_since(reviewed.inputs)
            reasons = [f"Changed since the review: {what}." for what in changed] or [
                "The desired state, the identity provider and live GoodData are as reviewed, but the plan "
                "differs: the reconciler itself changed since the review."
            ]
        else:
            reasons = ["Which input changed is not recorded for the reviewed plan."]
        if (
            reviewed.inputs is not None
            and fresh_inputs is not None
            and fresh_inputs.config != reviewed.inputs.config
        ):
            reasons.append(
                "The desired state differs when the branch moved after the plan: another pull request merged "
                "first, or a run of this workflow was superseded by a newer one while waiting."
            )
        raise _Refused(
            f"The plan computed now (checksum `{fresh}`{changes}) is not the plan reviewed on "
            f"{reviewed.source} (checksum `{reviewed.checksum}`).",
            reasons,
            [
                f"Review the plan computed now in the job summary or the `{PLAN_ARTIFACT}` artifact of "
                f"{_link(url)}; to apply it, {_by_hand(fresh)}.",
                "Or change `desired-state/` in a new pull request, whose plan is reviewed as usual.",
            ],
        )
    guards = plan.get("guards")
    blocked = [
        guard
        for guard in (guards if isinstance(guards, list) else [])
        if isinstance(guard, Mapping)
        and guard.get("passed") is False
        and not (force and guard.get("overridable") is True)
    ]
    if not blocked:
        return
    reasons = []
    for guard in blocked:
        name = re.sub(r"[^A-Za-z0-9_-]", "", str(guard.get("name", ""))) or "unnamed"
        lift = "force lifts it" if guard.get("overridable") is True else "not even force lifts it"
        reasons.append(f"`{name}` ({lift}): {escape_markdown(str(guard.get('message', '')))}")
    proceed = []
    if any(guard.get("overridable") is True for guard in blocked):
        proceed.append(f"If the removals are intended, {_by_hand(fresh, force=True)}.")
    if any(guard.get("overridable") is not True for guard in blocked):
        proceed.append(
            "Change `desired-state/` in a new pull request so that the plan passes the protected, "
            "lock-out and identity-provider guards."
        )
    raise _Refused(
        f"The plan reviewed on {reviewed.source} (checksum `{fresh}`) is blocked by safety guards.",
        reasons,
        proceed,
    )


def _refuse(client: GitHubClient | None, pull: int | None, refusal: _Refused, url: str | None) -> NoReturn:
    body = apply_refused_body(
        headline=refusal.headline, reasons=refusal.reasons, proceed=refusal.proceed, url=url
    )
    _append_summary(body)
    if client is not None and pull is not None:
        try:
            comment, _ = client.upsert_comment(pull, body, APPLY_MARKER)
            click.echo(f"the refusal is posted on pull request #{pull} (comment {comment.id})", err=True)
        except GitHubError as error:
            click.echo(f"::warning::cannot post the refusal on pull request #{pull}: {error}", err=True)
    details = " ".join([refusal.headline, *refusal.reasons])
    raise click.ClickException(f"apply refused: {details}")


@github_group.command("apply-check")
@click.option("--sha", required=True, help="The commit being applied (the merge commit).")
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Fresh JSON plan of that commit (`reconcile plan --out`).",
)
@click.option(
    "--explicit",
    default="",
    help="A checksum given by hand (manual workflow run); used instead of looking up a pull request.",
)
@click.option(
    "--force", is_flag=True, help="The apply will run with --force (lifts the max_removals threshold only)."
)
def apply_check(sha: str, plan_path: Path, explicit: str, force: bool) -> None:
    """Before `reconcile apply --checksum`: may the fresh plan of SHA be applied?

    \b
    Prints nothing when the fresh plan is empty (nothing to apply, whatever was reviewed);
    prints the checksum to apply when it is the plan reviewed on the pull request that SHA
    merged (or the checksum given by hand) and no safety guard blocks it; otherwise exits 1,
    saying which input changed since the review (desired state, identity provider, live
    GoodData) or which guard blocks, in the job summary and on the merged pull request.
    """
    plan = _read_plan(plan_path) or {}
    fresh = plan.get("checksum")
    if not isinstance(fresh, str) or not _SHA256.fullmatch(fresh):
        raise click.ClickException(
            f"{plan_path} has no plan checksum (not written by `reconcile plan --out`?)"
        )
    if plan.get("empty") is True:
        click.echo(
            f"Nothing to apply: GoodData already matches the desired state of commit {sha[:12]}.", err=True
        )
        _append_summary(
            "### GoodData access: nothing to apply\n\nGoodData already matches the desired state.\n"
        )
        return
    url = run_url()
    explicit = explicit.strip()
    client: GitHubClient | None = None
    pull: int | None = None
    try:
        if explicit:
            if not re.fullmatch(r"[0-9a-fA-F]{12,64}", explicit):
                raise click.ClickException(
                    "the checksum given by hand must be 12 to 64 hex digits, as `reconcile plan` prints it"
                )
            # A prefix of the fresh plan's checksum stands for it, as with `reconcile apply --checksum`.
            given = explicit.lower()
            reviewed = _Reviewed(
                fresh if fresh.startswith(given) else given, None, "the checksum given by hand"
            )
        else:
            client = _client()
            merged = _merged_pull(client.pulls_for_commit(sha), sha)
            if merged is None:
                raise _Refused(
                    f"Commit `{sha[:12]}` was not merged through a pull request, "
                    "so no plan was reviewed for it.",
                    proceed=[
                        f"Review the plan computed now in the job summary of {_link(url)}; to apply it, "
                        f"{_by_hand(fresh)}."
                    ],
                )
            pull = merged.number
            comment = client.find_comment(pull, PLAN_MARKER)
            checksum = extract_checksum(comment.body) if comment else None
            if comment is None or checksum is None:
                raise _Refused(
                    f"Pull request #{pull} has no successful plan comment (planning failed, or it came "
                    "from a fork), so no plan was reviewed for it.",
                    proceed=[
                        f"Review the plan computed now in the job summary or the `{PLAN_ARTIFACT}` artifact "
                        f"of {_link(url)}; to apply it, {_by_hand(fresh)}."
                    ],
                )
            reviewed = _Reviewed(checksum, extract_inputs(comment.body), f"pull request #{pull}")
        _check_fresh_plan(plan, reviewed, force=force, url=url)
    except _Refused as refusal:
        _refuse(client, pull, refusal, url)
    except GitHubError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"applying the plan reviewed on {reviewed.source} (checksum {fresh[:12]})"
        + (" with --force" if force else ""),
        err=True,
    )
    click.echo(fresh)


@github_group.command("apply-result")
@click.option("--sha", required=True, help="The commit that was applied (the merge commit).")
@click.option(
    "--exit-code", "exit_code", type=int, required=True, help="Exit code of `reconcile apply` (or plan)."
)
@click.option(
    "--stage",
    type=click.Choice(["plan", "apply"]),
    default="apply",
    show_default=True,
    help="plan: planning failed before the apply, so nothing was written.",
)
@click.option("--checksum", default="", help="Checksum of the plan that was applied.")
@click.option("--explicit", is_flag=True, help="The checksum was given by hand: no pull request to tell.")
def apply_result(sha: str, exit_code: int, stage: str, checksum: str, explicit: bool) -> None:
    """After an apply: say how it went in the job summary and on the pull request SHA merged.

    GitHub failures are warnings here: they never turn a successful apply into a failed job.
    """
    body = apply_result_body(exit_code=exit_code, checksum=checksum or None, stage=stage, url=run_url())
    _append_summary(body)
    if explicit:
        click.echo("checksum given by hand: the result is in the job summary only", err=True)
        return
    try:
        client = GitHubClient.from_env()
        merged = _merged_pull(client.pulls_for_commit(sha), sha)
        if merged is None:
            click.echo(
                f"commit {sha[:12]} merged no pull request: the result is in the job summary only", err=True
            )
            return
        comment, _ = client.upsert_comment(merged.number, body, APPLY_MARKER)
    except GitHubError as error:
        click.echo(f"::warning::cannot post the apply result: {error}", err=True)
        return
    click.echo(f"apply result posted on pull request #{merged.number} (comment {comment.id})", err=True)
