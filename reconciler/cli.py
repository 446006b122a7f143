"""The ``reconcile`` command line: validate, plan, apply, export, restore, schema, sandbox, demo.

Every command is a thin layer over the engine: it loads inputs, builds adapters from the
environment, and turns errors into one-line messages with exit code 1. Progress and logs go to
stderr; stdout carries only the requested output (so ``--format json`` pipes into ``jq``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from reconciler import __version__
from reconciler.desired_state.loader import DEFAULT_CONFIG_PATH, load_desired_state_with_warnings
from reconciler.engine import (
    ApplyReport,
    GoodDataPort,
    PlanContext,
    apply_plan,
    check_saved_plan,
    describe_replacement,
    load_backup,
    make_plan,
    restore_plan,
    write_private,
)
from reconciler.environment import required_values
from reconciler.identity import IdentityProvider
from reconciler.model import SECRET_VARIABLES, DesiredState, InputError, ReconcilerError, RemovalThreshold
from reconciler.plan import Plan
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.rows import plural
from reconciler.render.text import render_text
from reconciler.safety import check_lockout

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
DEFAULT_BACKUP_DIR = ".reconciler-backups"

log = logging.getLogger("reconciler")


@dataclass
class Runtime:
    """Per-invocation settings shared by the commands."""

    environ: Mapping[str, str]
    debug: bool = False
    secrets: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        """``text`` with every known secret value replaced."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


class _RedactingFilter(logging.Filter):
    """Removes secret values from every log record, whatever logged them."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.runtime.redact(record.getMessage())
        record.args = None
        return True


def _say(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str) -> NoReturn:
    raise click.exceptions.Exit(_report_error(message))


def _report_error(message: str) -> int:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    return EXIT_ERROR


@contextmanager
def _clean_errors(runtime: Runtime, *, writes: bool = True) -> Iterator[None]:
    """Turn every failure into one-line messages and exit code 1; no traceback unless --debug."""
    try:
        yield
    except InputError as error:
        for diagnostic in error.diagnostics:
            click.echo(runtime.redact(str(diagnostic)), err=True)
        count = sum(1 for d in error.diagnostics if d.level == "error")
        _say(plural(count, "error") + ("; nothing was written." if writes else "."))
        raise click.exceptions.Exit(EXIT_ERROR) from None
    except ReconcilerError as error:
        raise click.exceptions.Exit(_report_error(runtime.redact(str(error)))) from None
    except (click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except OSError as error:  # a file or folder the user named: say which and why
        where = f"{error.filename}: " if error.filename else ""
        message = runtime.redact(f"{where}{error.strerror or error}")
        raise click.exceptions.Exit(_report_error(message)) from None
    except Exception as error:  # an unexpected failure: still one line, never a secret
        if runtime.debug:
            click.echo(runtime.redact(traceback.format_exc()), err=True)
        message = runtime.redact(f"{type(error).__name__}: {error}".splitlines()[0])
        raise click.exceptions.Exit(_report_error(f"unexpected failure: {message}")) from None


class _ReconcileGroup(click.Group):
    """A click group whose usage errors exit 1, keeping exit code 2 for "changes pending"."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:  # usage errors and bad parameters, with the usage line
            error.show()
            code = EXIT_ERROR
        except click.ClickException as error:  # a command's own refusal: the same "error:" line as ours
            code = _report_error(error.format_message())
        except click.Abort:
            click.echo("Aborted!", err=True)
            code = EXIT_ERROR
        else:
            code = result if isinstance(result, int) else EXIT_OK
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(
    cls=_ReconcileGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="reconcile")
@click.option(
    "--debug",
    is_flag=True,
    envvar="RECONCILER_DEBUG",
    help="Log HTTP requests and retries, show tracebacks (secrets stay redacted). Also RECONCILER_DEBUG=1.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Keep GoodData Cloud access in line with a desired-state YAML file and your identity provider.

    \b
    Typical use:
      reconcile validate            check desired-state/access.yaml offline
      reconcile plan                show what would change (reads Auth0 and GoodData)
      reconcile apply               plan, confirm, write, verify

    Credentials come from the environment: AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET
    (or AUTH0_SECRET), GOODDATA_HOST, GOODDATA_TOKEN. `reconcile sandbox` prints values that point
    at local sandbox servers; `reconcile demo` runs everything against them.
    """
    runtime = Runtime(environ=dict(os.environ), debug=debug)
    runtime.secrets = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    ctx.obj = runtime
    _configure_logging(runtime)


def _configure_logging(runtime: Runtime) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter(runtime))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if runtime.debug else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)  # its DEBUG is a socket-level trace


config_option = click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    type=click.Path(path_type=Path),
    help="Desired-state file, or a directory holding access.yaml.",
)


def backup_dir_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--backup-dir`` option of the commands that replace live documents."""
    return click.option(
        "--backup-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=DEFAULT_BACKUP_DIR,
        show_default=True,
        help=help_text,
    )


def _load_state(runtime: Runtime, path: Path) -> DesiredState:
    state, warnings = load_desired_state_with_warnings(str(path), environ=runtime.environ)
    for warning in warnings:
        _say(str(warning))
    return state


@main.command()
@config_option
@click.pass_obj
def validate(runtime: Runtime, config_path: Path) -> None:
    """Check the desired-state file offline: YAML, schema and references.

    Every problem is listed as `file:line:col: error: message` (warnings as `...: warning: ...`);
    exit code 1 if there is any error.
    """
    with _clean_errors(runtime, writes=False):
        state = _load_state(runtime, config_path)
        counts = [
            plural(len(state.groups), "group"),
            plural(len(state.role_mappings), "role mapping"),
            plural(len(state.users), "user"),
            plural(len(state.workspaces), "workspace"),
            plural(len(state.data_sources), "data source"),
        ]
        _say(f"{state.source}: valid — {', '.join(counts)}")


def _adapters(runtime: Runtime, state: DesiredState) -> tuple[IdentityProvider, GoodDataPort]:
    from reconciler.gooddata.client import GoodDataClient, GoodDataSettings
    from reconciler.identity.auth0 import Auth0Provider, Auth0Settings

    required_values(runtime.environ, Auth0Settings.VARIABLES + GoodDataSettings.VARIABLES)  # all at once
    identity = Auth0Provider(Auth0Settings.from_env(runtime.environ))
    gooddata = GoodDataClient(GoodDataSettings.from_env(runtime.environ))
    if runtime.debug:  # the generated GoodData client quietens urllib3 to WARNING when it is created
        logging.getLogger("urllib3").setLevel(logging.DEBUG)
    return identity, gooddata


def _plan(runtime: Runtime, state: DesiredState) -> tuple[PlanContext, GoodDataPort]:
    identity, gooddata = _adapters(runtime, state)
    context = make_plan(state, identity=identity, gooddata=gooddata, progress=_say)
    return context, gooddata


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _render(plan: Plan, output_format: str, *, show_emails: bool) -> str:
    if output_format == "json":
        return render_json(plan)
    if output_format == "markdown":
        return render_markdown(plan, show_emails=show_emails)
    return render_text(plan, color=_use_color(), show_emails=True)


def _say_checksum(plan: Plan) -> None:
    if plan.is_empty:
        return
    if plan.failed_guards(force=True):
        _say(f"Plan checksum: {plan.checksum} (apply refuses it: see the guards above)")
        return
    force = " --force" if plan.failed_guards() else ""
    _say(
        f"Plan checksum: {plan.checksum} "
        f"(apply exactly this: reconcile apply{force} --checksum {plan.checksum[:12]})"
    )


def _write_plan_file(plan: Plan, out: Path, text: str | None = None) -> None:
    try:
        write_private(out, text if text is not None else render_json(plan))
    except OSError as error:
        raise ReconcilerError(f"{out}: cannot write the plan ({error.strerror})") from None
    _say(f"Saved the complete plan to {out} (checksum {plan.checksum[:12]}).")


@main.command()
@config_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="What stdout shows. json: only the plan document (progress goes to stderr).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the complete JSON plan here; `reconcile apply FILE` applies exactly it.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error."
)
@click.option("--show-emails", is_flag=True, help="Show email addresses in Markdown (masked by default).")
@click.pass_obj
def plan(
    runtime: Runtime,
    config_path: Path,
    output_format: str,
    out: Path | None,
    detailed_exitcode: bool,
    show_emails: bool,
) -> None:
    """Read Auth0 and GoodData and show what apply would change. Writes nothing to GoodData."""
    with _clean_errors(runtime, writes=False):
        if out is not None and not out.parent.is_dir():
            raise ReconcilerError(f"{out}: the folder {out.parent} does not exist")
        state = _load_state(runtime, config_path)
        context, _ = _plan(runtime, state)
        rendered = _render(context.plan, output_format, show_emails=show_emails)
        click.echo(rendered, nl=False)
        _say_checksum(context.plan)
        if out is not None:
            _write_plan_file(context.plan, out, rendered if output_format == "json" else None)
        if detailed_exitcode and not context.plan.is_empty:
            raise click.exceptions.Exit(EXIT_CHANGES)


def _checked_checksum(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{12,64}", value):
        raise click.BadParameter("give the plan checksum: 12 to 64 hex digits, as `reconcile plan` prints it")
    return value.lower() if value else None


def _read_saved_plan(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReconcilerError(f"{path}: cannot read the saved plan ({error.strerror})") from None
    except ValueError as error:
        raise ReconcilerError(f"{path}: not a JSON plan ({error})") from None
    if (
        not isinstance(data, dict)
        or data.get("format_version") != 1
        or "checksum" not in data
        or not isinstance(data.get("metadata") or {}, dict)
    ):
        raise ReconcilerError(f"{path}: not a plan written by `reconcile plan --out` (format_version 1)")
    return data


@main.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@config_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Lift the max_removals threshold (never the other guards).")
@click.option(
    "--checksum",
    callback=lambda _ctx, _param, value: _checked_checksum(value),
    help="Apply only if the fresh plan has this checksum (12 to 64 hex digits, as `plan` prints).",
)
@backup_dir_option("Where each replaced live document is saved before it is written.")
@click.pass_obj
def apply(
    runtime: Runtime,
    plan_file: Path | None,
    config_path: Path,
    yes: bool,
    force: bool,
    checksum: str | None,
    backup_dir: Path,
) -> None:
    """Plan, show the plan, ask, write in a safe order, then verify that a fresh plan is empty.

    With PLAN_FILE (from `plan --out`), applies only if nothing changed since that plan was made.
    """
    with _clean_errors(runtime):
        saved = _read_saved_plan(plan_file) if plan_file is not None else None
        recorded = ((saved or {}).get("metadata") or {}).get("config")
        default_config = (
            click.get_current_context().get_parameter_source("config_path") is ParameterSource.DEFAULT
        )
        if isinstance(recorded, str) and recorded and default_config:
            config_path = Path(recorded)  # the saved plan names the file it was made from
            if not config_path.exists():
                raise ReconcilerError(
                    f"{plan_file}: the plan was made from {recorded}, which is not here (a relative path is "
                    "taken from the folder `plan` ran in); run apply there, or pass --config"
                )
        state = _load_state(runtime, config_path)
        context, gooddata = _plan(runtime, state)
        fresh = context.plan
        if saved is not None:
            check_saved_plan(saved, fresh)
        if fresh.is_empty:  # nothing would be written, whatever checksum was reviewed
            click.echo(render_text(fresh, color=_use_color()), nl=False)
            _say("Nothing to apply: GoodData already matches the desired state.")
            return
        if checksum is not None and not fresh.checksum.startswith(checksum):
            _fail(
                f"the fresh plan's checksum is {fresh.checksum[:12]}, not {checksum[:12]}: the desired "
                "state, the identity provider or GoodData changed since that plan was made; plan again"
            )
        click.echo(render_text(fresh, color=_use_color()), nl=False)
        blocked = fresh.failed_guards(force=force)
        if blocked:
            for guard in blocked:
                hint = " (use --force to override)" if guard.overridable else ""
                _report_error(f"{guard.name}: {guard.message}{hint}")
            _fail("apply refused by the safety guards; nothing was written")
        _check_backup_dir(backup_dir)
        _confirm(yes)
        _say(f"Applying {len(fresh.writes)} document write(s)...")
        report = apply_plan(fresh, gooddata=gooddata, backup_dir=backup_dir, progress=_say)
        _finish_apply(runtime, report, state)


def _check_backup_dir(backup_dir: Path) -> None:
    """Fail before anything is written if the backups could not be saved."""
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReconcilerError(f"{backup_dir}: cannot create the backup folder ({error.strerror})") from None
    if not os.access(backup_dir, os.W_OK | os.X_OK):
        raise ReconcilerError(f"{backup_dir}: the backup folder is not writable")


def _confirm(yes: bool, action: str = "apply") -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        _fail(f"refusing to {action} without confirmation: not a terminal; pass --yes")
    if not click.confirm(f"{action.capitalize()} these changes?", default=False, err=True):
        _fail("cancelled; nothing was written")


def _finish_apply(runtime: Runtime, report: ApplyReport, state: DesiredState) -> None:
    if report.backup_folder is not None:
        _say(f"Backups of the replaced documents: {report.backup_folder}")
    if report.error is not None:
        _say(f"Applied: {', '.join(d.label for d in report.applied) or 'nothing'}")
        _say(f"Not applied: {', '.join(d.label for d in report.not_applied)}")
        _fail(f"apply stopped: {report.error}; run apply again to converge")
    _say("Verifying: planning again...")
    written = plural(len(report.applied), "document")
    try:
        verify, _ = _plan(runtime, state)
    except InputError as error:  # the writes happened: say so, not "nothing was written"
        for diagnostic in error.diagnostics:
            click.echo(runtime.redact(str(diagnostic)), err=True)
        _fail(
            f"apply wrote {written}, but the plan made to verify it fails (above); fix that, then plan again"
        )
    except ReconcilerError as error:
        _fail(f"apply wrote {written}, but the plan made to verify it failed: {runtime.redact(str(error))}")
    if not verify.plan.is_empty:
        click.echo(render_text(verify.plan), err=True, nl=False)
        _fail("GoodData does not match the desired state after apply (the plan above is not empty)")
    _say(click.style("Apply complete: GoodData matches the desired state.", fg="green"))


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Restore even though it removes more than 10% of the live users.")
@backup_dir_option("Where the documents the restore replaces are saved first (so a restore can be undone).")
@click.pass_obj
def restore(runtime: Runtime, folder: Path, yes: bool, force: bool, backup_dir: Path) -> None:
    """Put back the documents an apply saved in FOLDER (one of the --backup-dir subfolders).

    Shows what each document would change; refuses a backup of another organisation, one that
    names a workspace or data source that is gone, one that would leave nobody with organization
    MANAGE, and (unless --force) one that removes more than 10% of the live users; asks, saves the
    documents it replaces, then writes users and groups first (so every principal a grant names
    exists again) and the grants after them.
    """
    from reconciler.gooddata.client import GoodDataClient, GoodDataSettings

    with _clean_errors(runtime):
        backup = load_backup(folder)
        gooddata = GoodDataClient(GoodDataSettings.from_env(runtime.environ))
        restoring = restore_plan(backup, gooddata=gooddata)
        plan_ = restoring.plan
        documents = backup.documents
        for document in documents:
            current = plan_.replaced[(document.kind, document.target)]
            _say(f"  {document.label}: {describe_replacement(document, current)}")
        lockout = check_lockout(plan_, live=restoring.live)
        if not lockout.passed:
            _fail(f"restore refused: {lockout.message}")
        live_users = len(restoring.live.users_and_groups.get("users", []))
        limit = RemovalThreshold().limit_for(live_users)
        if len(restoring.users_removed) > limit and not force:
            _fail(
                f"restore refused: it removes {len(restoring.users_removed)} of the {live_users} live users "
                f"(more than {limit}); review the preview above and pass --force if that is what you want"
            )
        _confirm(yes, "restore")
        report = apply_plan(plan_, gooddata=gooddata, backup_dir=backup_dir, progress=_say)
        if report.backup_folder is not None:
            _say(f"The documents the restore replaced are saved in {report.backup_folder}")
        if report.error is not None:
            _fail(f"restore stopped: {report.error}; run it again")
        _say(f"Restored {len(documents)} document(s) from {folder}.")


@main.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.option("--data-source", "data_sources", multiple=True, help="Also export this data source's grants.")
@click.pass_obj
def export(runtime: Runtime, out: Path | None, data_sources: tuple[str, ...]) -> None:
    """Write a desired-state file from the live GoodData organization.

    The first plan against it is empty: every live user is listed under users: (with its authId),
    every group and every workspace's grants are listed. Then add role_mappings and let the IdP
    take over users one group at a time.
    """
    from reconciler.desired_state.schema import schema_file
    from reconciler.exporter import export_desired_state
    from reconciler.gooddata.client import GoodDataClient, GoodDataSettings

    with _clean_errors(runtime, writes=False):
        if out is not None and not out.parent.is_dir():
            raise ReconcilerError(f"{out}: the folder {out.parent} does not exist")
        gooddata = GoodDataClient(GoodDataSettings.from_env(runtime.environ))
        shipped = schema_file()
        # From the file written, the schema this installation ships (editors resolve it relative to the file).
        schema_ref = os.path.relpath(shipped, out.resolve().parent) if out is not None and shipped else None
        text = export_desired_state(
            gooddata, data_source_ids=data_sources, progress=_say, schema_ref=schema_ref
        )
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            _say(f"Wrote {out}.")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the desired-state file."""
    from reconciler.desired_state.schema import schema_text

    click.echo(schema_text())


@main.command()
@config_option
@click.pass_obj
def demo(runtime: Runtime, config_path: Path) -> None:
    """Run validate, plan, apply and plan again against a fresh local sandbox.

    Then someone leaves and someone changes role in Auth0, and the loop runs once more.
    """
    from reconciler.sandbox import Sandbox

    with _clean_errors(runtime), Sandbox.start() as sandbox:
        environ = {**runtime.environ, **sandbox.env()}
        demo_runtime = Runtime(environ=environ, debug=runtime.debug, secrets=list(runtime.secrets))
        demo_runtime.secrets += [sandbox.env()[name] for name in ("AUTH0_CLIENT_SECRET", "GOODDATA_TOKEN")]
        _say(f"Sandbox running: Auth0 at {sandbox.auth0.url}, GoodData at {sandbox.gooddata.url}.")
        state = _demo_step("reconcile validate", lambda: _load_state(demo_runtime, config_path))
        _say(f"  {state.source}: valid")
        _demo_step("reconcile plan", lambda: _demo_plan(demo_runtime, state))
        _demo_step("reconcile apply --yes", lambda: _demo_apply(demo_runtime, state))
        _demo_step(
            "reconcile plan   # again: nothing left to do", lambda: _demo_plan(demo_runtime, state, True)
        )
        leaver, mover = DEMO_LEAVER, DEMO_MOVER
        names = {s: (sandbox.auth0.state.user(s) or {}).get("name", s) for s in (leaver, mover)}
        _say("")
        _say(f"Meanwhile in Auth0: {names[leaver]} ({leaver}) leaves the company and her account is deleted;")
        _say(f"{names[mover]} ({mover}) also becomes a Finance Viewer. The next run picks both up:")
        sandbox.auth0.state.remove_user(leaver)
        sandbox.auth0.state.set_roles(mover, ["Analyst", "Finance Viewer"])
        _demo_step("reconcile plan", lambda: _demo_plan(demo_runtime, state))
        _demo_step("reconcile apply --yes", lambda: _demo_apply(demo_runtime, state))
        _demo_step("reconcile plan   # nothing left to do", lambda: _demo_plan(demo_runtime, state, True))
        _say("")
        _say(click.style("Demo complete: GoodData matches desired-state and Auth0.", fg="green"))


#: Users of the shipped sample tenant the demo changes after the first apply.
DEMO_LEAVER = "auth0|b6589fc6ab0dc82cf12099d1"
DEMO_MOVER = "auth0|0a57cb53ba59c46fc4b69252"

T = TypeVar("T")


def _demo_step(title: str, action: Callable[[], T]) -> T:
    _say("")
    _say(click.style(f"$ {title}", bold=True))
    return action()


def _demo_plan(runtime: Runtime, state: DesiredState, expect_empty: bool = False) -> None:
    context, _ = _plan(runtime, state)
    click.echo(render_text(context.plan, color=_use_color()), nl=False)
    if expect_empty and not context.plan.is_empty:
        _fail("the plan after apply is not empty")


def _demo_apply(runtime: Runtime, state: DesiredState) -> None:
    context, gooddata = _plan(runtime, state)
    blocked = context.plan.failed_guards()
    if blocked:
        _fail("; ".join(g.message for g in blocked))
    report = apply_plan(context.plan, gooddata=gooddata, backup_dir=None, progress=_say)
    if report.error:
        _fail(report.error)
    _say(f"  {len(report.applied)} document(s) written.")


def _attach_feature_commands() -> None:
    """Commands that live with their feature (sandbox, GitHub integration)."""
    from reconciler.github.command import github_group
    from reconciler.sandbox.command import sandbox_command

    main.add_command(sandbox_command, "sandbox")
    main.add_command(github_group, "github")


_attach_feature_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
