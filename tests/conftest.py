"""Fixtures shared by every test folder; a folder's own conftest or module may override them."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from reconciler.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """Both sandbox servers with the seeds shipped in the package, shared by the tests of one module."""
    with Sandbox.start() as running:
        yield running


@pytest.fixture()
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 but not listening: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]
