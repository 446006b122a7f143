"""Reading a YAML file into plain Python values while remembering where every key and value was written.

PyYAML's composer gives a node tree whose nodes carry marks (line and column). This module turns
that tree into dicts, lists and scalars itself, instead of letting PyYAML construct it, so that it can
report duplicate keys (PyYAML silently keeps the last one), refuse alias bombs and recursive aliases,
substitute ``${VAR}`` from the environment, and keep a source map from every key path to its location.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.model import SECRET_VARIABLES, Diagnostic, Location

#: Files larger than this are refused before parsing.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Most nodes a document may expand to once aliases are followed (an alias bomb expands exponentially).
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting accepted; the format itself needs fewer than ten levels.
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_CONSTRUCTED_SCALAR_TAGS = frozenset(
    {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
)
_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
_MAX_TAB_REPORTS = 20


@dataclass
class SourceMap:
    """Where each key and value of a parsed document was written, by key path."""

    file: str
    root: Location
    key_locations: dict[KeyPath, Location] = field(default_factory=dict)
    value_locations: dict[KeyPath, Location] = field(default_factory=dict)
    #: key paths whose string value came (partly) from environment variables, with the variable names
    substituted: dict[KeyPath, tuple[str, ...]] = field(default_factory=dict)
    #: key paths whose substitution failed (already reported; their value is not checked further)
    unresolved: set[KeyPath] = field(default_factory=set)

    def value_at(self, path: KeyPath) -> Location:
        """Where the value at ``path`` was written, or its nearest enclosing value."""
        while path:
            if path in self.value_locations:
                return self.value_locations[path]
            path = path[:-1]
        return self.root

    def key_at(self, path: KeyPath) -> Location:
        """Where the key of ``path`` was written (falls back to the value location)."""
        if path in self.key_locations:
            return self.key_locations[path]
        return self.value_at(path)


@dataclass
class ParsedDocument:
    """A parsed document: plain data plus its source map; ``data`` is None when parsing failed."""

    data: Any
    source_map: SourceMap
    diagnostics: list[Diagnostic]


def _location(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


def _error(message: str, location: Location | None, subject: str | None = None) -> Diagnostic:
    return Diagnostic(level="error", message=message, location=location, subject=subject)


def read_text(actual_path: Path, display_path: str) -> tuple[str | None, list[Diagnostic]]:
    """Read ``actual_path`` as UTF-8 text, refusing huge files and reporting undecodable bytes."""
    size = actual_path.stat().st_size
    if size > MAX_FILE_BYTES:
        limit_mb = MAX_FILE_BYTES // (1024 * 1024)
        message = (
            f"the file is {size} bytes, over the {MAX_FILE_BYTES}-byte ({limit_mb} MB) limit; a "
            "desired-state file is far smaller — check that this is the right file and shrink it"
        )
        return None, [_error(message, Location(display_path, 1, 1))]
    raw = actual_path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        message = (
            f"byte 0x{raw[offset]:02x} at byte offset {offset} (line {line}) is not valid UTF-8; "
            "save the file as UTF-8 or retype that character"
        )
        return None, [_error(message, Location(display_path, line, column))]


def find_tab_indentation(text: str, display_path: str) -> list[Diagnostic]:
    """Report lines indented with tabs, which YAML forbids, with a clearer message than the parser's."""
    diagnostics: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.lstrip(" \t")
        indentation = line[: len(line) - len(content)]
        if "\t" in indentation and content and not content.startswith("#"):
            message = (
                "a tab is used for indentation; YAML indents with spaces only — replace the tab with spaces"
            )
            diagnostics.append(_error(message, Location(display_path, number, indentation.index("\t") + 1)))
            if len(diagnostics) >= _MAX_TAB_REPORTS:
                break
    return diagnostics


def _syntax_error(exc: yaml.YAMLError, text: str, display_path: str) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        position = exc.position
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        message = (
            f"the control character U+{code:04X} cannot appear in a YAML file; delete it or retype the text"
        )
        return _error(message, Location(display_path, line, column))
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        context = exc.context
        start = exc.context_mark
        if context and start is not None and mark is not None and start.line != mark.line:
            # an unclosed bracket or quote is noticed lines later: say where it was opened
            context = f"{context} (opened at line {start.line + 1}, column {start.column + 1})"
        parts = [p for p in (context, exc.problem) if p]
        detail = ", ".join(parts) if parts else "invalid YAML"
        return _error(
            f"YAML syntax error: {detail}; fix the syntax here (check indentation, colons and quotes)",
            _location(display_path, mark),
        )
    return _error(f"YAML syntax error: {exc}; fix the syntax", Location(display_path, 1, 1))


def compose(text: str, display_path: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    """Parse ``text`` into one node tree with a safe loader; syntax errors become diagnostics."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # the reader checks every character up front
        return None, [_syntax_error(exc, text, display_path)]
    try:
        return loader.get_single_node(), []
    except yaml.YAMLError as exc:
        return None, [_syntax_error(exc, text, display_path)]
    except RecursionError:
        message = f"the document is nested too deeply; the format needs fewer than {MAX_DEPTH} levels"
        return None, [_error(message, Location(display_path, 1, 1))]
    finally:
        loader.dispose()


def _expanded_sizes(root: yaml.Node, display_path: str) -> tuple[dict[int, int], list[Diagnostic]]:
    """Size of every node once aliases are expanded, computed without expanding them."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    diagnostics: list[Diagnostic] = []

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    def size_of(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            message = (
                "an alias (*name) refers to the anchor (&name) that contains it, a recursive structure; "
                "replace the alias with the values it should hold"
            )
            diagnostics.append(_error(message, _location(display_path, node.start_mark)))
            return MAX_EXPANDED_NODES + 1
        if depth > MAX_DEPTH:
            message = f"the document is nested deeper than {MAX_DEPTH} levels; the format needs far fewer"
            diagnostics.append(_error(message, _location(display_path, node.start_mark)))
            return MAX_EXPANDED_NODES + 1
        on_path.add(key)
        total = 1
        for child in children(node):
            total += size_of(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                break
        on_path.discard(key)
        sizes[key] = total
        return total

    size_of(root, 0)
    return sizes, diagnostics


def _alias_bomb(root: yaml.Node, sizes: Mapping[int, int], display_path: str) -> Diagnostic:
    """Point at the innermost node whose expansion is over the limit: where the aliases multiply."""
    node = root
    while True:
        if isinstance(node, yaml.MappingNode):
            candidates = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            candidates = list(node.value)
        else:
            candidates = []
        bigger = [c for c in candidates if sizes.get(id(c), 0) > MAX_EXPANDED_NODES]
        if not bigger:
            break
        node = bigger[0]
    message = (
        f"aliases (*name) here expand to more than {MAX_EXPANDED_NODES} values, refused as an alias bomb; "
        "write the values out or use far fewer aliases"
    )
    return _error(message, _location(display_path, node.start_mark))


class _Converter:
    """Turns a node tree into plain data, filling a ``SourceMap`` and collecting diagnostics."""

    def __init__(self, display_path: str, environ: Mapping[str, str], root: yaml.Node) -> None:
        self.display_path = display_path
        self.environ = environ
        self.source_map = SourceMap(display_path, _location(display_path, root.start_mark))
        self.diagnostics: list[Diagnostic] = []
        self._scalars = yaml.constructor.SafeConstructor()

    def _loc(self, node: yaml.Node) -> Location:
        return _location(self.display_path, node.start_mark)

    def _add_error(self, message: str, node: yaml.Node) -> None:
        self.diagnostics.append(_error(message, self._loc(node)))

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        """Plain data for ``node``, recording the locations of everything below ``path``."""
        self.source_map.value_locations[path] = self._loc(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self._add_error(f"the YAML tag {node.tag} is not supported; remove the tag", node)
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping_pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """Key/value pairs with merge keys (``<<: *base``) resolved; the flag marks merged pairs."""
        explicit: list[tuple[yaml.Node, yaml.Node, bool]] = []
        merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                explicit.append((key_node, value_node, False))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend((k, v, True) for k, v, _ in self._mapping_pairs(source))
                else:
                    self._add_error(
                        "a merge key (<<) takes a mapping or a list of mappings; fix its value", source
                    )
        return explicit + merged

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        if node.tag != _MAP_TAG:
            self._add_error(f"the YAML tag {node.tag} is not supported; remove the tag", node)
        result: dict[str, Any] = {}
        first_seen: dict[str, yaml.Node] = {}
        for key_node, value_node, is_merged in self._mapping_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                self._add_error("a key must be plain text, not a list or mapping; rewrite the key", key_node)
                continue
            # Keys are names and ids: keep them as written, so that `no:` or `123:` stay strings.
            key = str(key_node.value)
            if key in first_seen:
                if is_merged:
                    continue  # an explicit key overrides a merged one, as YAML specifies
                first_line = first_seen[key].start_mark.line + 1
                message = (
                    f"duplicate key '{key}' (first written on line {first_line}, again on line "
                    f"{key_node.start_mark.line + 1}); YAML would silently keep only the last one — "
                    "remove or rename one of them"
                )
                self._add_error(message, key_node)
                continue
            first_seen[key] = key_node
            child_path = (*path, key)
            self.source_map.key_locations[child_path] = self._loc(key_node)
            result[key] = self.convert(value_node, child_path)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag == _STR_TAG:
            return self._substitute(str(node.value), node, path)
        if node.tag == _TIMESTAMP_TAG:
            return str(node.value)  # the format has no dates; keep what was written
        if node.tag in _CONSTRUCTED_SCALAR_TAGS:
            try:
                return self._scalars.construct_object(node, deep=True)
            except yaml.YAMLError:
                self._add_error(f"'{node.value}' cannot be read as {node.tag}; fix the value", node)
                return node.value
        self._add_error(f"the YAML tag {node.tag} is not supported; remove the tag", node)
        return node.value

    def _substitute(self, text: str, node: yaml.ScalarNode, path: KeyPath) -> str:
        if "${" not in text:
            return text
        used: list[str] = []

        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            if whole == "$${":
                return "${"
            name = match.group(1)
            if name is None:
                self._add_error(
                    "'${' starts no valid ${NAME} reference (NAME: letters, digits and '_', closed by '}'); "
                    "fix the reference, or write '$${' for a literal '${'",
                    node,
                )
                self.source_map.unresolved.add(path)
                return whole
            used.append(name)
            if name in SECRET_VARIABLES:
                self._add_error(
                    f"${{{name}}} is a credential: its value would be shown in plans and written to "
                    "GoodData; remove the reference",
                    node,
                )
                self.source_map.unresolved.add(path)
                return ""
            if name not in self.environ:
                self._add_error(
                    f"environment variable {name} is not set (used as ${{{name}}}); set it before running, "
                    "or write '$${' for a literal '${'",
                    node,
                )
                self.source_map.unresolved.add(path)
                return ""
            return self.environ[name]

        result = _ENV_REFERENCE.sub(replace, text)
        if used:
            self.source_map.substituted[path] = tuple(used)
        return result


def parse_document(text: str, display_path: str, environ: Mapping[str, str] | None = None) -> ParsedDocument:
    """Parse YAML ``text`` into plain data with a source map; every problem becomes a diagnostic."""
    empty_map = SourceMap(display_path, Location(display_path, 1, 1))
    tab_errors = find_tab_indentation(text, display_path)
    if tab_errors:
        return ParsedDocument(None, empty_map, tab_errors)
    root, errors = compose(text, display_path)
    if errors:
        return ParsedDocument(None, empty_map, errors)
    if root is None:
        message = "the file is empty; write at least 'version: 1' (see the example desired-state/access.yaml)"
        return ParsedDocument(None, empty_map, [_error(message, Location(display_path, 1, 1))])
    sizes, errors = _expanded_sizes(root, display_path)
    if errors:
        return ParsedDocument(None, empty_map, errors)
    if sizes[id(root)] > MAX_EXPANDED_NODES:
        return ParsedDocument(None, empty_map, [_alias_bomb(root, sizes, display_path)])
    converter = _Converter(display_path, os.environ if environ is None else environ, root)
    data = converter.convert(root, ())
    return ParsedDocument(data, converter.source_map, converter.diagnostics)
