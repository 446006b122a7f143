"""Scanning captured output for secret values (the sandbox's credentials and issued tokens)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler.sandbox import Sandbox


def secrets_of(sandbox: Sandbox) -> set[str]:
    """The client secret, the GoodData token and every Auth0 access token issued so far."""
    env = sandbox.env()
    return {env["AUTH0_CLIENT_SECRET"], env["GOODDATA_TOKEN"], *sandbox.auth0.issued_tokens()}


def leaks(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Descriptions of every secret found in ``texts`` (empty when clean)."""
    found = []
    for index, text in enumerate(texts):
        for secret in secrets:
            if secret and secret in text:
                found.append(f"text #{index} contains a secret ({secret[:3]}...)")
    return found


def files_under(folder: Path) -> list[str]:
    """The text of every file below ``folder`` (plans, backups, exports)."""
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()]
