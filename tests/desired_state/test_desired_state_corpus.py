"""Every invalid file in the corpus is refused with a located, actionable diagnostic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.desired_state.loader import load_desired_state
from reconciler.desired_state.yaml_source import MAX_FILE_BYTES
from reconciler.model import InputError

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "bad-desired-state"
EXPECT = re.compile(rb"^# expect: (\d+): (.+)$")
CORPUS_FILES = sorted(CORPUS.glob("*.yaml"))


def _expectation(path: Path) -> tuple[int, str]:
    match = EXPECT.match(path.read_bytes().splitlines()[0])
    assert match, f"{path.name} has no '# expect: <line>: <substring>' header"
    return int(match.group(1)), match.group(2).decode("utf-8")


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS_FILES) >= 45


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_bad_file_is_refused_at_the_expected_line(path: Path) -> None:
    line, substring = _expectation(path)
    with pytest.raises(InputError) as caught:
        load_desired_state(path, environ={})
    diagnostics = caught.value.diagnostics
    assert diagnostics, "an InputError must carry at least one diagnostic"
    assert all(d.level == "error" for d in diagnostics)
    assert all(d.location is None or d.location.file == str(path) for d in diagnostics)
    matching = [d for d in diagnostics if d.location and d.location.line == line and substring in d.message]
    assert matching, f"expected line {line} with {substring!r}, got:\n" + "\n".join(map(str, diagnostics))


def test_missing_file_names_the_path_and_the_default() -> None:
    with pytest.raises(InputError) as caught:
        load_desired_state("no/such/access.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert "no/such/access.yaml does not exist" in diagnostic.message
    assert "desired-state/access.yaml" in diagnostic.message


def test_directory_without_access_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_desired_state(tmp_path)
    (diagnostic,) = caught.value.diagnostics
    assert f"the directory {tmp_path} holds no access.yaml" in diagnostic.message


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    line = b"# padding comment that makes the file large\n"
    with huge.open("wb") as handle:
        handle.write(b"version: 1\n")
        handle.write(line * (MAX_FILE_BYTES // len(line) + 10))
    with pytest.raises(InputError) as caught:
        load_desired_state(huge)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.location is not None and diagnostic.location.line == 1
    assert f"over the {MAX_FILE_BYTES}-byte (5 MB) limit" in diagnostic.message


def test_file_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    body = b"version: 1\n"
    path.write_bytes(body + b"#" * (MAX_FILE_BYTES - len(body) - 1) + b"\n")
    assert load_desired_state(path).version == 1
