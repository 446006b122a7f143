"""Check a desired-state file offline: ``python -m reconciler.desired_state [PATH]``.

Prints every error and warning as ``file:line:column: level: message`` and exits 1 when the
file has errors, 0 otherwise.
"""

from __future__ import annotations

import sys

from reconciler.desired_state.loader import DEFAULT_CONFIG_PATH, load_desired_state_with_warnings
from reconciler.model import InputError


def main(argv: list[str] | None = None) -> int:
    """Validate the file named in ``argv`` (default ``desired-state/access.yaml``); return the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    path = arguments[0] if arguments else DEFAULT_CONFIG_PATH
    try:
        state, warnings = load_desired_state_with_warnings(path)
    except InputError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"{len(exc.diagnostics)} problem(s) found in {path}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning, file=sys.stderr)
    print(
        f"{state.source}: valid (version {state.version}, {len(state.groups)} groups, "
        f"{len(state.role_mappings)} role mappings, {len(state.workspaces)} workspaces, "
        f"{len(state.data_sources)} data sources)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
