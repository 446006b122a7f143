"""Render a plain-dict desired state (the file's own shape) as a commented, loadable YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

SCHEMA_COMMENT = "# yaml-language-server: $schema=../reconciler/desired_state/schema.json"

_TOP_ORDER = (
    "version",
    "identity",
    "groups",
    "role_mappings",
    "default_groups",
    "users",
    "permissions",
    "policy",
)
#: Key order inside the objects of a given kind, by the parent key they appear under.
_ORDER_BY_CONTAINER: dict[str, tuple[str, ...]] = {
    "identity": ("provider", "user_id"),
    "groups": ("name", "parents"),
    "users": ("groups", "email", "firstname", "lastname", "auth_id"),
    "permissions": ("organization", "workspaces", "data_sources"),
    "workspaces": ("permissions", "hierarchy_permissions"),
    "data_sources": ("permissions",),
    "policy": ("departed_users", "unmanaged_users", "unmanaged_groups", "protected", "max_removals"),
}
#: Containers whose own keys are ids or names: kept in the order given, their values ordered by the container.
_ID_KEYED = frozenset({"groups", "users", "workspaces", "data_sources"})


class _QuotedKey(str):
    """A string always written in double quotes (``user:`` grant keys)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    """Block-style dumper that never sorts keys and indents lists under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_quoted(dumper: yaml.SafeDumper, value: _QuotedKey) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(_QuotedKey, _represent_quoted)


def _ordered(mapping: Mapping[str, Any], order: tuple[str, ...]) -> list[str]:
    known = [key for key in order if key in mapping]
    return known + [key for key in mapping if key not in order]


def _escape(value: Any) -> Any:
    """Protect literal ``${`` from the loader's environment substitution."""
    return value.replace("${", "$${") if isinstance(value, str) else value


def _prepare(value: Any, container: str) -> Any:
    """Rebuild ``value`` with keys in the documented order, ``user:`` keys quoted and ``${`` escaped."""
    if isinstance(value, Mapping):
        if container in _ID_KEYED:
            return {_key(k): _prepare(v, f"{container}.item") for k, v in value.items()}
        order = _ORDER_BY_CONTAINER.get(container.removesuffix(".item"), ())
        if container == "":
            order = _TOP_ORDER
        return {_key(k): _prepare(value[k], str(k)) for k in _ordered(value, order)}
    if isinstance(value, list | tuple):
        return [_prepare(item, container) for item in value]
    return _escape(value)


def _key(key: Any) -> Any:
    text = _escape(key)
    if isinstance(text, str) and (text.startswith("user:") or ":" in text):
        return _QuotedKey(text)
    return text


def render_desired_state_yaml(data: Mapping[str, Any], *, schema_ref: str | None = None) -> str:
    """Dump ``data`` (same shape as the desired-state file) as block-style YAML the loader reads back.

    The first line is the ``yaml-language-server`` schema comment (``schema_ref`` overrides the
    schema path written in it); keys follow the documented order and ``user:`` keys are quoted.
    """
    body = yaml.dump(
        _prepare(data, ""),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=110,
    )
    comment = SCHEMA_COMMENT if schema_ref is None else f"# yaml-language-server: $schema={schema_ref}"
    return f"{comment}\n{body}"
