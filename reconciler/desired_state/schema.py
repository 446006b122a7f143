"""The JSON Schema (draft 2020-12) of the desired-state file, shipped as ``schema.json``."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE_NAME = "schema.json"


@cache
def _load_schema_text() -> str:
    return resources.files("reconciler.desired_state").joinpath(SCHEMA_FILE_NAME).read_text(encoding="utf-8")


@cache
def _load_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_load_schema_text())
    return loaded


def schema() -> dict[str, Any]:
    """The desired-state JSON Schema as a dict (a fresh copy the caller may modify)."""
    return copy.deepcopy(_load_schema())


def schema_text() -> str:
    """The desired-state JSON Schema as the JSON text shipped with the package."""
    return _load_schema_text()


def schema_file() -> Path | None:
    """Where the shipped ``schema.json`` lies on disk (``None`` when the package is not on a file system)."""
    resource = resources.files("reconciler.desired_state").joinpath(SCHEMA_FILE_NAME)
    return Path(str(resource)) if isinstance(resource, Path) else None


def shared_schema() -> dict[str, Any]:
    """The cached schema dict for read-only use (validation), avoiding a copy per load."""
    return _load_schema()
