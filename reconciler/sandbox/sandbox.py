"""Both sandbox servers together, with the environment that points the reconciler at them."""

from __future__ import annotations

from types import TracebackType

from reconciler.sandbox.auth0 import Auth0Seed, Auth0Server
from reconciler.sandbox.gooddata import GoodDataSeed, GoodDataServer
from reconciler.sandbox.http import FaultConfig


class Sandbox:
    """A running GoodData server and Auth0 server on 127.0.0.1; a context manager that stops both on exit."""

    def __init__(self, gooddata: GoodDataServer, auth0: Auth0Server) -> None:
        self.gooddata = gooddata
        self.auth0 = auth0

    @classmethod
    def start(
        cls,
        *,
        auth0_seed: Auth0Seed | None = None,
        gooddata_seed: GoodDataSeed | None = None,
        gooddata_port: int = 0,
        auth0_port: int = 0,
        gooddata_faults: FaultConfig | None = None,
        auth0_faults: FaultConfig | None = None,
    ) -> Sandbox:
        """Start both servers (port 0: any free port); default seeds are the ones shipped in the package."""
        gooddata = GoodDataServer(gooddata_seed, port=gooddata_port, faults=gooddata_faults)
        try:
            auth0 = Auth0Server(auth0_seed, port=auth0_port, faults=auth0_faults)
        except BaseException:
            gooddata.stop()
            raise
        return cls(gooddata, auth0)

    def env(self) -> dict[str, str]:
        """Environment variables that point the reconciler at the two servers."""
        return {
            "AUTH0_DOMAIN": self.auth0.url,
            "AUTH0_CLIENT_ID": self.auth0.client_id,
            "AUTH0_CLIENT_SECRET": self.auth0.client_secret,
            "GOODDATA_HOST": self.gooddata.url,
            "GOODDATA_TOKEN": self.gooddata.token,
        }

    def stop(self) -> None:
        """Stop both servers (idempotent)."""
        try:
            self.auth0.stop()
        finally:
            self.gooddata.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
