"""Fixtures that run the sandbox servers for the sandbox tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gooddata_sdk import GoodDataSdk

from reconciler.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Both servers with the default seeds, stopped after the test."""
    with Sandbox.start() as running:
        yield running


@pytest.fixture
def sdk(sandbox: Sandbox) -> GoodDataSdk:
    """A gooddata-sdk client pointed at the sandbox."""
    return GoodDataSdk.create(sandbox.gooddata.url, sandbox.gooddata.token)
