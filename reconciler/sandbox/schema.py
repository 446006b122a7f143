"""Validation of GoodData request bodies against the shipped OpenAPI description.

The 2.3 MB description is parsed once per process and validators are cached per schema, so starting a server
costs nothing after the first one. The published file lags gooddata-api-client 1.78, which also accepts a few
newer workspace permission names; those are added to the two workspace-permission enums on load.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPEC_URI = "urn:gooddata-api-client"
EXTRA_WORKSPACE_PERMISSIONS = (
    "CREATE_METRIC",
    "MANAGE_VISUALIZATIONS",
    "CREATE_VISUALIZATION",
    "CREATE_COMPUTED_ATTRIBUTE",
)
_WORKSPACE_PERMISSION_SCHEMAS = (
    "DeclarativeSingleWorkspacePermission",
    "DeclarativeWorkspaceHierarchyPermission",
)


@functools.cache
def openapi_spec() -> dict[str, Any]:
    """The shipped GoodData OpenAPI description, with the newer workspace permission names added."""
    text = resources.files("reconciler.sandbox").joinpath("data/gooddata-api-client.json").read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    schemas = spec["components"]["schemas"]
    for name in _WORKSPACE_PERMISSION_SCHEMAS:
        schema = copy.deepcopy(schemas[name])
        enum = schema["properties"]["name"]["enum"]
        schema["properties"]["name"]["enum"] = enum + [
            p for p in EXTRA_WORKSPACE_PERMISSIONS if p not in enum
        ]
        schemas[name] = schema
    return spec


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT7.create_resource(openapi_spec())
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


@functools.cache
def _validator(schema_name: str, as_array: bool) -> jsonschema.Draft7Validator:
    if schema_name not in openapi_spec()["components"]["schemas"]:
        raise KeyError(f"no component schema named {schema_name}")
    ref: dict[str, Any] = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    schema = {"type": "array", "items": ref} if as_array else ref
    return jsonschema.Draft7Validator(schema, registry=_registry())


def validation_errors(schema_name: str, body: Any, *, as_array: bool = False) -> list[str]:
    """Readable problems of ``body`` against a component schema (or an array of it); empty when valid."""
    validator = _validator(schema_name, as_array)
    messages = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(
            "."
        )
        messages.append(f"{location or '(body)'}: {error.message}")
    return messages
