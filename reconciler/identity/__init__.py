"""Identity-provider adapters. Each one reads the IdP completely or raises ``IdentityFetchError``."""

from __future__ import annotations

from typing import Protocol

from reconciler.model import IdentitySnapshot


class IdentityProvider(Protocol):
    """Reads every user of an identity provider with the role names each one holds."""

    name: str

    def fetch(self) -> IdentitySnapshot:
        """Return the complete snapshot, or raise ``IdentityFetchError``; never a partial one."""
        ...
