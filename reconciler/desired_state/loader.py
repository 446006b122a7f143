"""Load the desired-state file, check it completely, and build the frozen ``DesiredState``.

Every problem is collected first and reported at once in one ``InputError``, each with the file,
line and column it concerns and a message that says what to change.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import jsonschema

from reconciler.desired_state.schema import shared_schema
from reconciler.desired_state.yaml_source import KeyPath, SourceMap, parse_document, read_text
from reconciler.model import (
    BOOTSTRAP_ADMIN_GROUP,
    ID_PATTERN,
    DataSourceSpec,
    DesiredState,
    Diagnostic,
    Grant,
    GrantSet,
    GroupSpec,
    InputError,
    Location,
    Policy,
    RemovalThreshold,
    RoleMapping,
    UserSpec,
    WorkspaceSpec,
    is_valid_id,
)
from reconciler.plan import sha256_of

#: Where the reconciler looks for the desired state when no path is given.
DEFAULT_CONFIG_PATH = "desired-state/access.yaml"
#: The file looked for when a directory is given.
CONFIG_FILE_NAME = "access.yaml"
SUPPORTED_VERSION = 1
USER_GRANT_PREFIX = "user:"

_TYPE_NAMES = {
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "string": "a text string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
_GRANT_CONTAINERS = {
    "organization": "organization permission",
    "workspaces": "workspace permission",
    "data_sources": "data source permission",
}


def _error(message: str, location: Location | None, subject: str | None = None) -> Diagnostic:
    return Diagnostic(level="error", message=message, location=location, subject=subject)


def _warning(message: str, location: Location | None, subject: str | None = None) -> Diagnostic:
    return Diagnostic(level="warning", message=message, location=location, subject=subject)


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text string"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "empty (null)"
    return type(value).__name__


def _suggest(value: str, candidates: list[str]) -> str | None:
    """The candidate ``value`` probably meant: the same letters in another case, or a close spelling."""
    by_upper = {c.upper(): c for c in candidates}
    if value.upper() in by_upper:
        return by_upper[value.upper()]
    matches = difflib.get_close_matches(value, candidates, n=1, cutoff=0.7)
    return matches[0] if matches else None


def id_problem(value: str) -> str:
    """Why ``value`` is not a valid GoodData id, in words (empty when it is valid)."""
    if ID_PATTERN.match(value):
        return ""
    if not value:
        return "it is empty"
    if len(value) > 255:
        return f"it is {len(value)} characters long, over 255"
    if value.startswith("."):
        return "it starts with '.'"
    bad = sorted({ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "._-"))})
    return "it contains " + ", ".join(repr(ch) for ch in bad)


def _id_message(value: str, what: str) -> str:
    return (
        f"'{value}' is not a valid {what} ({id_problem(value)}); GoodData ids use only letters, digits, "
        "'.', '_' and '-', 1-255 characters, not starting with '.'"
    )


def _grant_key_message(key: str) -> str:
    if key.startswith(USER_GRANT_PREFIX):
        user_id = key[len(USER_GRANT_PREFIX) :]
        if not user_id:
            return f"'{key}' names no user; write user:<user id>, e.g. user:jane"
        return _id_message(user_id, "user id in a user: grant")
    if ":" in key:
        return _id_message(key, "group id") + "; a direct user grant is written user:<id>"
    return _id_message(key, "group id")


class _Checker:
    """Collects diagnostics for one document: schema errors, integrity errors and warnings."""

    def __init__(self, data: Any, source_map: SourceMap) -> None:
        self.data = data
        self.source_map = source_map
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    # ---------------------------------------------------------------- helpers

    def _show(self, path: KeyPath, value: Any) -> str:
        """How to show a value in a message; values taken from the environment are never echoed."""
        if path in self.source_map.substituted:
            names = ", ".join(f"${{{n}}}" for n in self.source_map.substituted[path])
            return f"the value from {names}"
        if isinstance(value, str):
            return f"'{value}'"
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "an empty value"
        if isinstance(value, dict | list):
            return _kind_of(value)
        return str(value)

    def _where(self, path: KeyPath) -> str:
        return f" in {_dotted(path)}" if path else ""

    # ---------------------------------------------------------------- schema

    def check_version(self) -> bool:
        """Report a missing or unsupported version; False when the rest must not be checked as v1."""
        if not isinstance(self.data, dict):
            return True
        if "version" not in self.data:
            self.errors.append(
                _error(
                    f"version is missing; add 'version: {SUPPORTED_VERSION}' as the first key "
                    f"(this reconciler reads version {SUPPORTED_VERSION})",
                    self.source_map.root,
                )
            )
            return True
        version = self.data["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version == SUPPORTED_VERSION:
            return True
        location = self.source_map.value_at(("version",))
        if isinstance(version, int) and not isinstance(version, bool):
            self.errors.append(
                _error(
                    f"version: {version} is not supported; this reconciler reads version {SUPPORTED_VERSION} "
                    "— convert the file to version 1 or use a reconciler that reads this version",
                    location,
                )
            )
            return False
        self.errors.append(
            _error(
                f"version: {self._show(('version',), version)} is not supported; this reconciler reads "
                f"version {SUPPORTED_VERSION} — write 'version: {SUPPORTED_VERSION}' (a number, not quoted)",
                location,
            )
        )
        return True

    def check_schema(self) -> None:
        """Validate against the JSON Schema and turn each error into a located, actionable diagnostic."""
        validator = jsonschema.Draft202012Validator(shared_schema())
        for error in validator.iter_errors(self.data):
            if tuple(error.absolute_path) == ("version",) or (
                error.validator == "required" and not error.absolute_path
            ):
                continue  # reported by check_version
            if tuple(error.absolute_path) in self.source_map.unresolved:
                continue  # the failed ${VAR} substitution is reported already
            self.errors.extend(self._schema_diagnostics(error))

    def _schema_diagnostics(self, error: jsonschema.ValidationError) -> Iterator[Diagnostic]:
        path: KeyPath = tuple(error.absolute_path)
        kind = error.validator
        value = error.instance
        if "propertyNames" in error.schema_path:
            yield self._bad_key(path, str(value))
            return
        shown = self._show(path, value)
        location = self.source_map.value_at(path)
        where = _dotted(path)
        if kind == "additionalProperties" and isinstance(value, dict):
            allowed = sorted(_schema_of(error).get("properties", {}))
            for key in value:
                if key in allowed:
                    continue
                suggestion = _suggest(key, allowed)
                hint = (
                    f"did you mean '{suggestion}'?"
                    if suggestion
                    else f"allowed keys here: {', '.join(allowed)}"
                )
                yield _error(
                    f"unknown key '{key}'{self._where(path)}; {hint}", self.source_map.key_at((*path, key))
                )
        elif kind == "enum":
            allowed = [str(v) for v in cast(list[Any], error.validator_value)]
            what = self._enum_subject(path)
            suggestion = (
                _suggest(value, allowed)
                if isinstance(value, str) and path not in self.source_map.substituted
                else None
            )
            hint = f"did you mean '{suggestion}'? Otherwise u" if suggestion else "u"
            yield _error(f"{shown} is not a valid {what}; {hint}se one of: {', '.join(allowed)}", location)
        elif kind == "type":
            yield _error(self._type_message(path, value, error), location)
        elif kind == "pattern":
            yield _error(
                _id_message(str(value), "id")
                if path not in self.source_map.substituted
                else (f"{where}: {shown} is not a valid GoodData id; use letters, digits, '.', '_' and '-'"),
                location,
            )
        elif kind == "uniqueItems" and isinstance(value, list):
            seen: set[str] = set()
            for index, item in enumerate(value):
                marker = repr(item)
                if marker in seen:
                    yield _error(
                        f"{self._show((*path, index), item)} is listed twice in {where}; remove the repeat",
                        self.source_map.value_at((*path, index)),
                    )
                    break
                seen.add(marker)
        elif kind == "minLength":
            yield _error(f"{where} is empty; write a value or remove the key", location)
        elif kind == "maxLength":
            yield _error(
                f"{where} is {len(str(value))} characters long; GoodData accepts at most "
                f"{error.validator_value} — shorten it",
                location,
            )
        elif kind == "oneOf" and path == ("policy", "max_removals"):
            yield _error(
                "policy.max_removals must be a count (a whole number >= 0, e.g. 5) or a percentage from 0% "
                f'to 100% written as a string (e.g. "10%"), not {shown}; fix the value',
                location,
            )
        else:
            yield _error(f"{where or 'the file'}: {error.message}; fix the value", location)

    def _bad_key(self, path: KeyPath, key: str) -> Diagnostic:
        location = self.source_map.key_at((*path, key))
        container = path[-1] if path else ""
        if container in ("permissions", "hierarchy_permissions", "organization"):
            return _error(_grant_key_message(key), location)
        if container == "role_mappings":
            return _error(
                f"role name '{key}' must be 1-255 characters long; write the IdP role name exactly", location
            )
        what = {
            "groups": "group id",
            "users": "user id",
            "workspaces": "workspace id",
            "data_sources": "data source id",
        }.get(str(container), "id")
        message = _id_message(key, what)
        if container == "users" and "|" in key:
            message += "; an IdP subject such as 'auth0|123' belongs in auth_id, with a derived id as the key"
        return _error(message, location)

    def _enum_subject(self, path: KeyPath) -> str:
        if path[:1] == ("permissions",) and len(path) >= 2:
            return _GRANT_CONTAINERS.get(str(path[1]), "permission")
        if path and isinstance(path[-1], str):
            return f"value for {_dotted(path)}"
        return f"value in {_dotted(path)}"

    def _type_message(self, path: KeyPath, value: Any, error: jsonschema.ValidationError) -> str:
        expected = error.validator_value
        expected_list = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected_list)
        where = _dotted(path) or "the top level"
        message = f"{where} must be {wanted}, not {_kind_of(value)}"
        if "array" in expected_list and isinstance(value, str) and path not in self.source_map.substituted:
            message += f"; write [{value}]"
        elif "string" in expected_list and not isinstance(value, dict | list):
            message += "; put the value in quotes"
        elif "object" in expected_list and value is None:
            message += "; write {} for an empty mapping"
        elif "object" in expected_list and isinstance(value, list):
            message += "; write 'key: value' lines instead of '- item' lines"
        description = _schema_of(error).get("description")
        if isinstance(description, str):
            message += f" ({description.rstrip('.')})"
        return message

    # ---------------------------------------------------------------- integrity

    def check_integrity(self) -> None:
        """Cross-reference checks the schema cannot express: declared groups and parent cycles."""
        if not isinstance(self.data, dict):
            return
        groups = self.data.get("groups")
        declared = set(groups) if isinstance(groups, dict) else set()
        # adminGroup always exists; policy.protected may name groups (or users, which cannot be told apart)
        protected = {BOOTSTRAP_ADMIN_GROUP, *_strings(_get(self.data, "policy", "protected"))}
        known = declared | protected
        used: set[str] = set()
        for group_id, path, is_key in self._group_references():
            used.add(group_id)
            if group_id in known or not is_valid_id(group_id):
                continue
            location = self.source_map.key_at(path) if is_key else self.source_map.value_at(path)
            suggestion = _suggest(group_id, sorted(known))
            hint = f"did you mean '{suggestion}'? Otherwise d" if suggestion else "d"
            self.errors.append(
                _error(
                    f"group '{group_id}' ({_dotted(path)}) is not declared under groups:; {hint}eclare it "
                    "under groups:, or list it in policy.protected if it exists only in GoodData",
                    location,
                    subject=group_id,
                )
            )
        if isinstance(groups, dict):
            self._check_cycles(groups)
            for group_id in groups:
                if group_id not in used and group_id not in protected:
                    self.warnings.append(
                        _warning(
                            f"group '{group_id}' is declared but no role mapping, default group, user, "
                            "parent link or grant uses it; it will exist empty",
                            self.source_map.key_at(("groups", group_id)),
                            subject=group_id,
                        )
                    )
        self._check_grant_warnings()

    def _group_references(self) -> Iterator[tuple[str, KeyPath, bool]]:
        """Every group id the file refers to: (id, key path, whether the id is a key rather than a value)."""
        data = cast(dict[str, Any], self.data)
        for role, groups in _items(data.get("role_mappings")):
            yield from _list_references(groups, ("role_mappings", role))
        yield from _list_references(data.get("default_groups"), ("default_groups",))
        for group_id, spec in _items(data.get("groups")):
            yield from _list_references(_get(spec, "parents"), ("groups", group_id, "parents"))
        for user_id, spec in _items(data.get("users")):
            yield from _list_references(_get(spec, "groups"), ("users", user_id, "groups"))
        for path, grants in _grant_mappings(data):
            for key in grants:
                if isinstance(key, str) and not key.startswith(USER_GRANT_PREFIX):
                    yield key, (*path, key), True

    def _check_cycles(self, groups: Mapping[str, Any]) -> None:
        parents = {
            gid: [p for p in _strings(_get(spec, "parents")) if p in groups] for gid, spec in groups.items()
        }
        order = {gid: index for index, gid in enumerate(groups)}
        reported: set[frozenset[str]] = set()
        state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
        # Iterative depth-first search: a long parent chain must not hit Python's recursion limit.
        for start in groups:
            if start in state:
                continue
            path: list[str] = [start]
            pending: list[Iterator[str]] = [iter(parents[start])]
            state[start] = 1
            while pending:
                parent = next(pending[-1], None)
                if parent is None:
                    state[path.pop()] = 2
                    pending.pop()
                elif state.get(parent) == 1:
                    self._report_cycle(path[path.index(parent) :], order, reported)
                elif parent not in state:
                    state[parent] = 1
                    path.append(parent)
                    pending.append(iter(parents[parent]))

    def _report_cycle(
        self, cycle: list[str], order: Mapping[str, int], reported: set[frozenset[str]]
    ) -> None:
        if frozenset(cycle) in reported:
            return
        reported.add(frozenset(cycle))
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        ordered = cycle[start:] + cycle[:start]
        text = " -> ".join([*ordered, ordered[0]])
        self.errors.append(
            _error(
                f"group parents form a cycle: {text}; remove one of these parent links",
                self.source_map.key_at(("groups", ordered[0])),
                subject=ordered[0],
            )
        )

    def _check_grant_warnings(self) -> None:
        data = cast(dict[str, Any], self.data)
        for kind in ("workspaces", "data_sources"):
            for object_id, spec in _items(_get(data, "permissions", kind)):
                if isinstance(spec, dict) and not spec:
                    self.warnings.append(
                        _warning(
                            f"{_dotted(('permissions', kind, object_id))} lists no permissions, so nothing "
                            "is managed for it; add permissions: {} to revoke every grant, or drop the entry",
                            self.source_map.key_at(("permissions", kind, object_id)),
                            subject=object_id,
                        )
                    )
        for path, grants in _grant_mappings(data):
            for key, names in grants.items():
                if names == []:
                    self.warnings.append(
                        _warning(
                            f"{_dotted((*path, key))} grants nothing; remove the key or list permissions",
                            self.source_map.key_at((*path, key)),
                            subject=str(key),
                        )
                    )


def _schema_of(error: jsonschema.ValidationError) -> Mapping[str, Any]:
    schema = error.schema
    return schema if isinstance(schema, Mapping) else {}


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _items(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _list_references(value: Any, path: KeyPath) -> Iterator[tuple[str, KeyPath, bool]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield item, (*path, index), False


def _grant_mappings(data: Mapping[str, Any]) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
    """Every grant mapping in the file with its key path (organization, workspaces, data sources)."""
    organization = _get(data, "permissions", "organization")
    if isinstance(organization, dict):
        yield ("permissions", "organization"), organization
    for workspace_id, spec in _items(_get(data, "permissions", "workspaces")):
        for list_name in ("permissions", "hierarchy_permissions"):
            grants = _get(spec, list_name)
            if isinstance(grants, dict):
                yield ("permissions", "workspaces", workspace_id, list_name), grants
    for data_source_id, spec in _items(_get(data, "permissions", "data_sources")):
        grants = _get(spec, "permissions")
        if isinstance(grants, dict):
            yield ("permissions", "data_sources", data_source_id, "permissions"), grants


# -------------------------------------------------------------------- building the model


def _grant_set(grants: Mapping[str, list[str]], path: KeyPath, source_map: SourceMap) -> GrantSet:
    members: set[Grant] = set()
    grant_locations: dict[Grant, Location] = {}
    for key, names in grants.items():
        if key.startswith(USER_GRANT_PREFIX):
            assignee_id, assignee_type = key[len(USER_GRANT_PREFIX) :], "user"
        else:
            assignee_id, assignee_type = key, "userGroup"
        for index, name in enumerate(names):
            grant = Grant(name=name, assignee_id=assignee_id, assignee_type=assignee_type)  # type: ignore[arg-type]
            members.add(grant)
            grant_locations.setdefault(grant, source_map.value_at((*path, key, index)))
    return GrantSet(frozenset(members), source_map.key_at(path), grant_locations)


def _optional_grant_set(spec: Any, key: str, path: KeyPath, source_map: SourceMap) -> GrantSet | None:
    grants = _get(spec, key)
    return None if grants is None else _grant_set(grants, (*path, key), source_map)


def _removal_threshold(value: Any) -> RemovalThreshold:
    if value is None:
        return RemovalThreshold(percent=10.0, text="10%")
    if isinstance(value, int):
        return RemovalThreshold(count=value, text=str(value))
    return RemovalThreshold(percent=float(str(value).rstrip("%")), text=str(value))


def _build(data: dict[str, Any], source_map: SourceMap, display_path: str) -> DesiredState:
    identity = data.get("identity") or {}
    policy = data.get("policy") or {}
    permissions = data.get("permissions") or {}

    groups = {
        group_id: GroupSpec(
            id=group_id,
            name=_get(spec, "name"),
            parents=tuple(_get(spec, "parents") or ()),
            location=source_map.key_at(("groups", group_id)),
        )
        for group_id, spec in (data.get("groups") or {}).items()
    }
    role_mappings = {
        role: RoleMapping(
            role=role, groups=tuple(group_ids), location=source_map.key_at(("role_mappings", role))
        )
        for role, group_ids in (data.get("role_mappings") or {}).items()
    }
    users = {
        user_id: UserSpec(
            id=user_id,
            groups=tuple(_get(spec, "groups") or ()),
            location=source_map.key_at(("users", user_id)),
            email=_get(spec, "email"),
            firstname=_get(spec, "firstname"),
            lastname=_get(spec, "lastname"),
            auth_id=_get(spec, "auth_id"),
        )
        for user_id, spec in (data.get("users") or {}).items()
    }
    organization = permissions.get("organization")
    workspaces = {
        workspace_id: WorkspaceSpec(
            id=workspace_id,
            location=source_map.key_at(("permissions", "workspaces", workspace_id)),
            permissions=_optional_grant_set(
                spec, "permissions", ("permissions", "workspaces", workspace_id), source_map
            ),
            hierarchy_permissions=_optional_grant_set(
                spec, "hierarchy_permissions", ("permissions", "workspaces", workspace_id), source_map
            ),
        )
        for workspace_id, spec in (permissions.get("workspaces") or {}).items()
    }
    data_sources = {
        data_source_id: DataSourceSpec(
            id=data_source_id,
            location=source_map.key_at(("permissions", "data_sources", data_source_id)),
            permissions=_optional_grant_set(
                spec, "permissions", ("permissions", "data_sources", data_source_id), source_map
            ),
        )
        for data_source_id, spec in (permissions.get("data_sources") or {}).items()
    }
    locations = {
        ".".join(cast(tuple[str, ...], path)): location
        for path, location in source_map.key_locations.items()
        if all(isinstance(part, str) for part in path)
    }
    return DesiredState(
        source=display_path,
        version=int(data["version"]),
        provider=identity.get("provider", "auth0"),
        user_id_strategy=identity.get("user_id", "strip-auth0-prefix"),
        groups=groups,
        role_mappings=role_mappings,
        default_groups=tuple(data.get("default_groups") or ()),
        users=users,
        organization_permissions=(
            None
            if organization is None
            else _grant_set(organization, ("permissions", "organization"), source_map)
        ),
        workspaces=workspaces,
        data_sources=data_sources,
        policy=Policy(
            departed_users=policy.get("departed_users", "remove"),
            unmanaged_users=policy.get("unmanaged_users", "keep"),
            unmanaged_groups=policy.get("unmanaged_groups", "keep"),
            protected=tuple(policy.get("protected") or ()),
            max_removals=_removal_threshold(policy.get("max_removals")),
        ),
        checksum=sha256_of(data),
        locations=locations,
    )


# -------------------------------------------------------------------- entry points


def _resolve(path: str | Path) -> tuple[str, Path]:
    """The path to show in messages (as the user gave it) and the file to read."""
    given = os.fspath(path)
    actual = Path(given)
    if actual.is_dir():
        return os.path.join(given, CONFIG_FILE_NAME), actual / CONFIG_FILE_NAME
    return given, actual


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    def key(diagnostic: Diagnostic) -> tuple[int, int]:
        location = diagnostic.location
        return (location.line, location.column) if location else (0, 0)

    return sorted(diagnostics, key=key)


def load_desired_state_with_warnings(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[DesiredState, list[Diagnostic]]:
    """Load and check the desired-state file, returning it with its non-blocking warnings.

    ``path`` is the file, or a directory holding ``access.yaml``. ``${VAR}`` in string values is
    replaced from ``environ`` (default ``os.environ``). Raises ``InputError`` carrying every problem.
    """
    given = os.fspath(path)
    display_path, actual = _resolve(path)
    if not actual.exists():
        if Path(given).is_dir():
            message = (
                f"the directory {given} holds no {CONFIG_FILE_NAME}; create {display_path} "
                "or pass the path of the desired-state file"
            )
        else:
            message = (
                f"the desired-state file {given} does not exist; pass the right path "
                f"(the default is {DEFAULT_CONFIG_PATH})"
            )
        raise InputError([_error(message, None)])
    if not actual.is_file():
        raise InputError(
            [_error(f"{display_path} is not a regular file; pass the desired-state YAML file", None)]
        )
    try:
        text, diagnostics = read_text(actual, display_path)
    except OSError as exc:
        raise InputError(
            [_error(f"cannot read {display_path}: {exc.strerror}; check the file's permissions", None)]
        ) from None
    if text is None:
        raise InputError(diagnostics)
    document = parse_document(text, display_path, environ)
    if document.data is None:
        raise InputError(document.diagnostics)
    errors = list(document.diagnostics)
    checker = _Checker(document.data, document.source_map)
    if not isinstance(document.data, dict):
        errors.append(
            _error(
                f"the top level must be a mapping of keys (version:, groups:, role_mappings:, ...), "
                f"not {_kind_of(document.data)}; rewrite the file as 'key: value' lines",
                document.source_map.root,
            )
        )
        raise InputError(_sorted(errors))
    if checker.check_version():
        checker.check_schema()
        checker.check_integrity()
    errors.extend(checker.errors)
    if errors:
        raise InputError(_sorted(errors))
    state = _build(document.data, document.source_map, display_path)
    return state, _sorted(checker.warnings)


def load_desired_state(path: str | Path, *, environ: Mapping[str, str] | None = None) -> DesiredState:
    """Load and check the desired-state file; raises ``InputError`` carrying every problem found."""
    state, _warnings = load_desired_state_with_warnings(path, environ=environ)
    return state
