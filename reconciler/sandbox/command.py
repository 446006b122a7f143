"""``reconcile sandbox``: run both sandbox servers until interrupted."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import click

from reconciler.sandbox.auth0 import Auth0Seed
from reconciler.sandbox.gooddata import GoodDataSeed
from reconciler.sandbox.http import FaultConfig
from reconciler.sandbox.sandbox import Sandbox


@click.command("sandbox")
@click.option(
    "--seed",
    "auth0_seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Auth0 tenant file (JSON shaped like the shipped tenant sample).",
)
@click.option(
    "--gooddata-seed",
    "gooddata_seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GoodData layout seed (YAML or JSON).",
)
@click.option(
    "--generate-users",
    type=click.IntRange(min=0),
    default=None,
    help="Seed Auth0 with N generated users instead of a file.",
)
@click.option("--gooddata-port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option("--auth0-port", type=click.IntRange(0, 65535), default=0, show_default=True)
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
        auth0_seed = Auth0Seed.from_file(auth0_seed_path)
    else:
        auth0_seed = Auth0Seed.default()
    gooddata_seed = (
        GoodDataSeed.from_file(gooddata_seed_path) if gooddata_seed_path else GoodDataSeed.default()
    )
    faults = FaultConfig(latency_ms=latency_ms, error_rate=error_rate)
    sandbox = Sandbox.start(
        auth0_seed=auth0_seed,
        gooddata_seed=gooddata_seed,
        gooddata_port=gooddata_port,
        auth0_port=auth0_port,
        gooddata_faults=faults,
        auth0_faults=faults,
    )
    try:
        for key, value in sandbox.env().items():
            click.echo(f"export {key}={shlex.quote(value)}")
        click.echo("# sandbox running; press Ctrl-C to stop", err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("# sandbox stopped", err=True)
    finally:
        sandbox.stop()
