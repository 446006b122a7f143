"""Validation of GoodData request bodies against the shipped OpenAPI description.

The 2.3 MB description is parsed once per process and validators are cached per schema, so starting a server
costs nothing after the first one. The published file lags gooddata-api-client 1.78, which also accepts a few
newer workspace permission names; those are added to the two workspace-permission enums on load.
``known_properties_only`` drops the properties a request schema does not define, as the real server ignores
them.
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


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` chains to a component schema of the shipped description."""
    components = openapi_spec()["components"]["schemas"]
    while "$ref" in schema:
        schema = components[str(schema["$ref"]).rsplit("/", 1)[-1]]
    return schema


def _single_alternative(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The one schema of a one-element ``oneOf``/``anyOf`` (the description wraps nullable links so)."""
    alternatives = schema.get("oneOf") or schema.get("anyOf") or []
    return _resolve(alternatives[0]) if len(alternatives) == 1 else None


def _prune(schema: dict[str, Any], value: Any) -> Any:
    schema = _resolve(schema)
    single = _single_alternative(schema)
    if single is not None:
        return _prune(single, value)
    if isinstance(value, list) and "items" in schema:
        return [_prune(schema["items"], item) for item in value]
    # Free-form objects, open ones and compositions (none on the sandbox's request bodies) are kept whole.
    closed = "properties" in schema and schema.get("additionalProperties") in (None, False)
    if isinstance(value, dict) and closed and not ({"allOf", "oneOf", "anyOf"} & set(schema)):
        properties = schema["properties"]
        return {key: _prune(properties[key], item) for key, item in value.items() if key in properties}
    return copy.deepcopy(value)


def known_properties_only(schema_name: str, body: Any, *, as_array: bool = False) -> Any:
    """A copy of a valid ``body`` without the object properties its component schema does not define.

    The description's request schemas do not say ``additionalProperties: false``, and the real server (Spring
    with Jackson's defaults) ignores unknown properties: they are neither rejected nor stored. Free-form
    objects (a schema without ``properties``, such as a setting's ``content``) are kept whole.
    """
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{schema_name}"}
    return _prune({"type": "array", "items": ref} if as_array else ref, body)
