"""Loading and checking the desired-state YAML file."""

from reconciler.desired_state.export import render_desired_state_yaml
from reconciler.desired_state.loader import (
    DEFAULT_CONFIG_PATH,
    load_desired_state,
    load_desired_state_with_warnings,
)
from reconciler.desired_state.schema import schema, schema_text

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "load_desired_state",
    "load_desired_state_with_warnings",
    "render_desired_state_yaml",
    "schema",
    "schema_text",
]
