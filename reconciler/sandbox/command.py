"""``reconcile sandbox``: run both sandbox servers until interrupted."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
import yaml

from reconciler.sandbox.auth0 import Auth0Seed
from reconciler.sandbox.gooddata import GoodDataSeed
from reconciler.sandbox.http import FaultConfig
from reconciler.sandbox.sandbox import Sandbox

T = TypeVar("T")


@click.command("sandbox")
@click.option(
    "--seed",
    "auth0_seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Auth0 tenant file: JSON with users (as the Management API returns them), roles and "
    "role_members (role id -> user ids), like reconciler/sandbox/data/auth0-tenant-sample.json.",
)
@click.option(
    "--gooddata-seed",
    "gooddata_seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GoodData seed, YAML or JSON: users and userGroups (declarative layout), workspaces "
    "([{id, name, parent}]), dataSources (ids), workspacePermissions, dataSourcePermissions, "
    "organizationPermissions, tokenUserId (default admin, which must be among the users), "
    "organizationId and organizationName.",
)
@click.option(
    "--generate-users",
    type=click.IntRange(min=0),
    default=None,
    help="Seed Auth0 with N generated users instead of a file.",
)
@click.option(
    "--gooddata-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the GoodData server on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--auth0-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the Auth0 server on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Latency added to every request of both servers.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of requests answered with a random fault.",
)
def sandbox_command(
    auth0_seed_path: Path | None,
    gooddata_seed_path: Path | None,
    generate_users: int | None,
    gooddata_port: int,
    auth0_port: int,
    latency_ms: float,
    error_rate: float,
) -> None:
    """Run local Auth0 and GoodData servers and print the environment that points the reconciler at them."""
    if auth0_seed_path is not None and generate_users is not None:
        raise click.UsageError("--seed and --generate-users are mutually exclusive")
    if generate_users is not None:
        auth0_seed = Auth0Seed.generate(users=generate_users)
    elif auth0_seed_path is not None:
        auth0_seed = _seed(auth0_seed_path, "Auth0 tenant", Auth0Seed.from_file)
    else:
        auth0_seed = Auth0Seed.default()
    gooddata_seed = (
        _seed(gooddata_seed_path, "GoodData", GoodDataSeed.from_file)
        if gooddata_seed_path
        else GoodDataSeed.default()
    )
    faults = FaultConfig(latency_ms=latency_ms, error_rate=error_rate)
    try:
        sandbox = Sandbox.start(
            auth0_seed=auth0_seed,
            gooddata_seed=gooddata_seed,
            gooddata_port=gooddata_port,
            auth0_port=auth0_port,
            gooddata_faults=faults,
            auth0_faults=faults,
        )
    except OSError as error:  # the port is taken, for one
        raise click.ClickException(f"cannot start the sandbox: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:  # the seed's content (RequestRejected included)
        raise click.ClickException(f"the seed is not a usable organisation: {error}") from None
    try:
        for key, value in sandbox.env().items():
            click.echo(f"export {key}={shlex.quote(value)}")
        click.echo("# sandbox running; press Ctrl-C to stop", err=True)
        # Wake up now and then: a Ctrl-C that the kernel hands to a server thread would otherwise
        # never interrupt an untimed wait in this one, and Python runs signal handlers here only.
        forever = threading.Event()
        while not forever.wait(0.2):
            pass
    except KeyboardInterrupt:
        click.echo("# sandbox stopped", err=True)
    finally:
        sandbox.stop()


def _seed(path: Path, what: str, load: Callable[[Path], T]) -> T:
    """Load a seed file; anything wrong with it is one line naming the file."""
    try:
        return load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as error:
        reason = str(error).removeprefix(f"{path}: ")
        raise click.ClickException(f"{path}: not a usable {what} seed ({reason})") from None
