"""Every malformed suite in tests/malformed_suites/ fails with ONE SuiteError naming file:line.

Each corpus file starts with `# expect: <substring of the message>` and
`# line: <N>`, the line the message must point at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clipsafety.util.errors import SuiteError
from clipsafety.suite import load_suite

CORPUS = Path(__file__).parents[1] / "malformed_suites"
FILES = sorted(CORPUS.glob("*.yaml"))


def header(path: Path) -> tuple[str, int | None]:
    text = path.read_text(encoding="utf-8")
    expect = re.search(r"^# expect: (.+)$", text, re.M)
    line = re.search(r"^# line: (\d+)$", text, re.M)
    assert expect, f"{path.name} has no '# expect:' header"
    return expect.group(1).strip(), int(line.group(1)) if line else None


def test_corpus_is_large_enough():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed_suite_fails_with_file_line_and_reason(path: Path):
    expect, line = header(path)
    try:
        load_suite(path)
    except SuiteError as err:
        message = str(err)
    except Exception as err:  # noqa: BLE001 - any other type escaping is the bug under test
        pytest.fail(f"{path.name}: {type(err).__name__} escaped instead of SuiteError: {err}")
    else:
        pytest.fail(f"{path.name} loaded without error; expected {expect!r}")
    assert path.name in message
    if line is not None:
        assert f"{path.name}:{line}:" in message, message
    assert expect in message, message
    assert "Traceback" not in message


def test_missing_file_is_a_suite_error(tmp_path: Path):
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "absent.yaml")


def test_non_utf8_file_is_a_suite_error(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("clipsafety: 1\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(path)
