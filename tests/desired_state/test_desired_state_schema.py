"""The shipped JSON Schema: valid, documented, strict, and in step with the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.desired_state.loader import DEFAULT_CONFIG_PATH
from reconciler.desired_state.schema import schema, schema_text
from reconciler.model import DATA_SOURCE_PERMISSIONS, ORGANIZATION_PERMISSIONS, WORKSPACE_PERMISSIONS

EXAMPLE = Path(__file__).resolve().parent.parent.parent / DEFAULT_CONFIG_PATH


def objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, f"{path}/{index}")


def test_schema_is_valid_draft_2020_12() -> None:
    loaded = schema()
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(loaded)
    assert json.loads(schema_text()) == loaded


def test_schema_returns_a_copy() -> None:
    schema()["properties"].clear()
    assert "version" in schema()["properties"]


def test_every_fixed_shape_object_refuses_unknown_keys_and_documents_its_properties() -> None:
    checked = 0
    for path, node in objects(schema()):
        properties = node.get("properties")
        if not isinstance(properties, dict) or path.endswith("/properties"):
            continue
        checked += 1
        assert node.get("additionalProperties") is False, path
        for name, spec in properties.items():
            assert spec.get("description"), f"{path}/properties/{name} has no description"
    assert checked >= 8


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("workspacePermission", WORKSPACE_PERMISSIONS),
        ("dataSourcePermission", DATA_SOURCE_PERMISSIONS),
        ("organizationPermission", ORGANIZATION_PERMISSIONS),
    ],
)
def test_permission_enums_match_the_model(definition: str, expected: frozenset[str]) -> None:
    assert set(schema()["$defs"][definition]["enum"]) == expected


def test_example_file_validates_against_the_schema_directly() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema()).iter_errors(data)) == []


def test_example_file_points_editors_at_the_schema() -> None:
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../reconciler/desired_state/schema.json"
    assert (EXAMPLE.parent / "../reconciler/desired_state/schema.json").resolve().is_file()
